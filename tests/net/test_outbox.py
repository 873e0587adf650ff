"""The connection's write policy, without sockets: plain calls and a made-up clock."""

from __future__ import annotations

from annotd.base.errors import CLOSE_GOING_AWAY, CLOSE_TOO_SLOW
from annotd.net.outbox import Offer, Outbox

WINDOW = 0.012


def outbox(max_frames: int = 3) -> Outbox[str]:
    return Outbox(max_frames=max_frames, window_s=WINDOW)


def test_fast_path_writes_at_once_only_when_nothing_waits() -> None:
    box = outbox()
    assert box.offer("a", ready=True) is Offer.WRITE
    assert box.offer("b", ready=False) is Offer.QUEUED  # the transport is busy
    # ready again, but "b" waits: "c" must not overtake it
    assert box.offer("c", ready=True) is Offer.QUEUED
    assert box.wait_time(0.0) == 0.0
    assert box.take_batch() == ["b", "c"]
    assert box.take_batch() == []
    assert box.offer("d", ready=True) is Offer.WRITE


def test_bounded_queue_says_too_slow_and_keeps_what_it_holds() -> None:
    box = outbox(max_frames=2)
    assert [box.offer(f, ready=False) for f in "abc"] == [Offer.QUEUED, Offer.QUEUED, Offer.TOO_SLOW]
    assert list(box.queue) == ["a", "b"]


def test_too_slow_close_drops_everything_and_is_requested_once() -> None:
    box = outbox()
    box.offer("a", ready=False)
    box.offer_noisy("k", "p1", 0.0, ready=False)
    assert box.request_close(CLOSE_TOO_SLOW, "too slow") is True
    assert box.closing and box.aborted
    assert box.take_batch() == [] and box.take_noisy(1.0) == []
    assert box.request_close(CLOSE_GOING_AWAY, "bye") is False
    assert box.close_request == (CLOSE_TOO_SLOW, "too slow")


def test_other_closes_send_what_is_queued_first() -> None:
    box = outbox()
    box.offer("a", ready=False)
    assert box.request_close(CLOSE_GOING_AWAY, "bye") is True
    assert box.closing and not box.aborted
    assert box.offer("late", ready=True) is Offer.QUEUED  # never written ahead of the close
    assert box.take_batch() == ["a", "late"]


def test_noisy_frames_coalesce_latest_per_key_and_flush_once_per_window() -> None:
    box = outbox()
    assert box.offer_noisy("alice", "a1", 10.0, ready=True) is True  # idle: at once
    # within the window: held, latest per sender wins
    assert box.offer_noisy("alice", "a2", 10.001, ready=True) is False
    assert box.offer_noisy("bob", "b1", 10.002, ready=True) is False
    assert box.offer_noisy("alice", "a3", 10.003, ready=True) is False
    assert box.noisy_due == 10.0 + WINDOW
    assert box.wait_time(10.004) == 10.0 + WINDOW - 10.004
    assert box.take_noisy(10.005) == []  # not due yet
    assert box.take_noisy(10.0 + WINDOW) == ["a3", "b1"]
    assert box.wait_time(10.02) is None  # nothing left: sleep until woken
    # the next one within a window of that flush waits again
    assert box.offer_noisy("bob", "b2", 10.0 + WINDOW + 0.001, ready=True) is False


def test_noisy_frames_wait_behind_queued_documents() -> None:
    box = outbox()
    box.offer("doc", ready=False)
    assert box.offer_noisy("alice", "a1", 5.0, ready=True) is False
    assert box.take_batch() == ["doc"]
    assert box.take_noisy(5.0) == ["a1"]
