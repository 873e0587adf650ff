"""One room: its Yjs document, sequencing, replay, presence and history, without any I/O.

Theory of operation
-------------------
A room is driven by calls from an adapter and answers with :class:`Outbound` items: "send
this frame to these sessions". It never awaits, so each call is atomic with respect to the
event loop; that atomicity *is* the room's lock. An adapter delivers the outbounds of a
call in order, which gives the ordering guarantee below.

Message kinds in (binary, y-protocols): sync step 1 (the sender's state vector; answered
with step 2), sync step 2 and update (document changes), awareness, query-awareness.
annotd.v1 sessions may also send JSON presence; JSON-RPC is handled by the adapter through
the command layer, which changes documents through :meth:`Room.apply_local`.

Sequencing: an incoming change is applied to the room's document; only what actually
changed the document (the update pycrdt emits) becomes ``Event(seq, ts, userId, update)``
with ``seq = head + 1``, is appended to the log and relayed to every other session: stock
clients get the plain sync-update frame, annotd.v1 clients the same message wrapped with
its seq. Each frame is encoded once per event, never per recipient. The sender gets no
data back, only (annotd.v1) an ``ack`` with the seq: exactly one ack per sync-update or
sync-step-2 message, in order. A duplicate or not-yet-integrable
update changes nothing and gets no seq.

Replay vs resync (annotd.v1): a session joining with ``lastSeq`` from this room's epoch
and still covered by the log receives exactly events ``(lastSeq, head]``, then live
traffic: join and the first live event happen in separate atomic calls, so there is no gap
and no duplicate. An epoch names one numbering of the room's events; ``earlier_epochs``
holds numberings that ended (a crash lost seqs that had been relayed, see
:mod:`annotd.storage.recovery`) with the last seq each shares with this one: a ``lastSeq``
from such an epoch at or below that seq is replayed the same way (the client learns the new
epoch from ``roomInfo``). Otherwise (no ``lastSeq``, an unknown epoch, ``lastSeq`` past what
its epoch shares, in the future or pruned) it resyncs with the standard state-vector
exchange; its step-2 reply carries the seq it brings the client to. ``roomInfo.sync`` says which happened. Either way the server
also sends its own step 1, so edits a client made while offline come back as step 2 and are
sequenced like any other change.

What a snapshot pins: the full document state at one seq (see :mod:`annotd.core.history`).

Size: a change that would take the document past ``max_document_bytes`` is refused before
it touches the document (:class:`~annotd.base.errors.DocumentTooLarge`, close 4413): the check
uses the history's running bound (newest snapshot + bytes logged since + bytes held as
*pending* inside Yjs); when that bound is stale and says no, the room asks its caller to
measure first (:class:`~annotd.base.errors.MeasureFirst`: take a snapshot, off the relay path)
and to retry. Updates Yjs cannot integrate yet (a gap in a client's clock) change nothing
visible but are kept inside the document; their bytes are counted until they integrate.

Big documents (over ``inline_encode_bytes``) are never encoded whole on the caller's
thread: a joiner that lacks more than the last few events gets the newest snapshot's
bytes (framed once, shared by every joiner) and the events after it; snapshots of big
rooms are built by the hub in a worker process from :meth:`Room.snapshot_parts`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from pycrdt import Doc, TransactionEvent

from ..base import docstate
from ..base.docstate import StateParts
from ..base.errors import DocumentTooLarge, InvalidParams, LimitReached, MalformedFrame, MeasureFirst
from ..base.pending import PendingParts
from . import yproto
from .history import Event, History, Snapshot
from .limits import RoomLimits
from .outbound import Outbound
from .presence import Presence, validate_presence

T = TypeVar("T")


@dataclass(slots=True)
class Session:
    id: str
    user_id: str
    v1: bool


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _ack(seq: int, changed: bool) -> str:
    """The sender's ``ack`` frame, the bytes ``_json`` would give (one per update: formatted
    directly rather than through a dict)."""
    return f'{{"type":"ack","seq":{seq},"changed":{"true" if changed else "false"}}}'


@dataclass
class Room:
    id: str
    name: str
    created_at: float
    limits: RoomLimits
    epoch: str = field(default_factory=lambda: secrets.token_hex(6))
    describe: Callable[[Doc], dict[str, Any]] = field(default=lambda doc: {})
    """What the room's info (and so ``roomInfo``) says about its document's content: a live
    room's is :func:`annotd.live.liveroom.describe_document` (the base image, read by the canvas
    layer); the room itself never reads a canvas root."""
    stored_oldest: Callable[[], int | None] = field(default=lambda: None)
    """The oldest seq a store outside memory can rebuild (a live room's room store, with
    ``rooms.data_dir``), or ``None``: the history's window is all there is."""

    earlier_epochs: dict[str, int] = field(default_factory=dict)
    """Epochs that ended with seqs lost after being relayed → the last seq each shares with
    this epoch's numbering (a room restored after a crash has them)."""

    def __post_init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self.history = History(
            every_ops=self.limits.snapshot_every_ops,
            every_s=self.limits.snapshot_every_s,
            every_bytes=self.limits.snapshot_every_bytes,
            tail_ratio=self.limits.snapshot_tail_ratio,
            keep=self.limits.snapshots_kept,
            cache_size=self.limits.reconstruct_cache,
            cache_bytes=self.limits.max_document_bytes,
            now=self.created_at,
        )
        self.presence = Presence(self.limits.presence_ttl_s, self.limits.presence_min_interval_s)
        self.sessions: dict[str, Session] = {}
        self._stock: tuple[str, ...] = ()
        self._v1: tuple[str, ...] = ()
        self._all: tuple[str, ...] = ()
        self._captured: bytes | None = None
        self._sub = self.doc.observe(self._capture)
        self.pending = PendingParts()
        """What Yjs keeps pending of past updates: in memory, in no encoded state."""

    # -- internals ---------------------------------------------------------------------
    def _capture(self, event: TransactionEvent) -> None:
        self._captured = event.update

    def _regroup(self) -> None:
        self._all = tuple(self.sessions)
        self._stock = tuple(s.id for s in self.sessions.values() if not s.v1)
        self._v1 = tuple(s.id for s in self.sessions.values() if s.v1)

    # -- size ------------------------------------------------------------------------------
    @property
    def state_bytes(self) -> int:
        """Upper bound of what the document holds: encoded state (see History.state_bytes)
        plus updates kept pending inside Yjs."""
        return self.history.state_bytes + self.pending.nbytes

    @property
    def is_big(self) -> bool:
        """Encoding this document whole would hold the loop (see ``inline_encode_bytes``)."""
        return self.state_bytes > self.limits.inline_encode_bytes

    def check_fits(self, incoming: int) -> None:
        """Raise :class:`DocumentTooLarge` unless ``incoming`` more bytes, made elsewhere and
        about to be applied in parts (an import), keep the document within its limit."""
        self._fits(incoming, measured=True)

    def _fits(self, incoming: int, measured: bool) -> None:
        """Raise unless ``incoming`` more bytes keep the document within its limit (nothing
        has been applied when this raises)."""
        limit = self.limits.max_document_bytes
        size = self.state_bytes
        if size + incoming <= limit:
            return
        if not measured and (self.history.tail_bytes > 0 or self.pending.nbytes > 0):
            raise MeasureFirst(self.id)
        raise DocumentTooLarge(
            f"the room's document is {size} bytes; this change would take it past "
            f"limits.max_document_bytes ({limit}) and was refused",
            data={"limit": limit, "size": size, "incoming": incoming})

    def settle_pending(self) -> None:
        """Forget pending parts the document has integrated since (called when measured)."""
        self.pending.settle(self.doc)

    def _apply(self, update: bytes) -> bytes | None:
        """Apply a remote update; return what changed the document, or ``None``."""
        self._captured = None
        try:
            self.doc.apply_update(update)
        except ValueError as exc:
            raise MalformedFrame(f"undecodable Yjs update: {exc}") from None
        changed, self._captured = self._captured, None
        if not changed or changed == yproto.EMPTY_UPDATE:
            return None
        return changed

    def _sequence(self, update: bytes, user_id: str, now: float, origin: str | None) -> tuple[Event, list[Outbound]]:
        event = self.history.append(now, user_id, update)
        message = yproto.sync_update(update)
        out: list[Outbound] = []
        if self._stock:
            out.append(Outbound(self._stock, message, exclude=origin))
        if self._v1:
            out.append(Outbound(self._v1, yproto.with_seq(event.seq, message), exclude=origin))
        return event, out

    # -- sessions ------------------------------------------------------------------------
    @property
    def head(self) -> int:
        return self.history.log.head

    def replays_from(self, last_seq: int, epoch: str | None) -> bool:
        """A client that has every event up to ``last_seq`` of ``epoch``'s numbering can be
        sent exactly the events after it: they are numbered the same here and still logged."""
        shares = self.head if epoch == self.epoch else self.earlier_epochs.get(epoch or "", -1)
        return last_seq <= shares and self.history.log.covers_after(last_seq)

    def join(
        self, session_id: str, user_id: str, *, v1: bool, last_seq: int | None, epoch: str | None, now: float
    ) -> list[Outbound]:
        """Admit a session; return what it must receive first (in order)."""
        if len(self.sessions) >= self.limits.max_clients:
            raise LimitReached(f"room {self.id!r} already has {self.limits.max_clients} clients")
        self.sessions[session_id] = Session(session_id, user_id, v1)
        self._regroup()
        me = (session_id,)
        out: list[Outbound] = []
        if v1:
            log = self.history.log
            if last_seq is None:
                mode = "fresh"
            elif self.replays_from(last_seq, epoch):
                mode = "replay"
            else:
                mode = "resync"
            info = self.info()
            info.update({"type": "roomInfo", "userId": user_id, "session": session_id, "sync": mode,
                         "replayFrom": last_seq if mode == "replay" else None})
            out.append(Outbound(me, _json(info)))
            if mode == "replay":
                for ev in log.after(last_seq):  # type: ignore[arg-type]
                    out.append(Outbound(me, yproto.with_seq(ev.seq, yproto.sync_update(ev.update))))
            present = self.presence.snapshot()
            if present:
                out.append(Outbound(me, _json({"type": "presenceSnapshot", "sessions": present})))
        out.append(Outbound(me, yproto.sync_step1(self.doc.get_state())))
        states = self.presence.awareness_all()
        if states:
            out.append(Outbound(me, yproto.awareness(states)))
        return out

    def leave(self, session_id: str) -> list[Outbound]:
        """Forget a session and announce at once that its presence is gone."""
        if self.sessions.pop(session_id, None) is None:
            return []
        self._regroup()
        out: list[Outbound] = []
        removal = self.presence.drop_awareness(session_id)
        if removal and self._all:
            out.append(Outbound(self._all, yproto.awareness(removal)))
        left = self.presence.remove(session_id)
        if left and self._v1:
            out.append(Outbound(self._v1, _json(left)))
        return out

    # -- incoming frames -----------------------------------------------------------------
    def receive(self, session_id: str, data: bytes, now: float, *,
                measured: bool = False) -> tuple[Event | None, list[Outbound]]:
        """Handle one binary frame; raise :class:`MalformedFrame` (nothing changed) if bad,
        :class:`DocumentTooLarge` (nothing changed) if it would grow the document past its
        limit, :class:`MeasureFirst` (nothing changed) if the caller must measure the
        document and call again with ``measured=True``."""
        session = self.sessions[session_id]
        msg = yproto.parse(data)
        kind = msg.kind
        if kind is yproto.Kind.SYNC_UPDATE or kind is yproto.Kind.SYNC_STEP2:
            payload = msg.payload
            changed = None
            if payload != yproto.EMPTY_UPDATE:
                self._fits(len(payload), measured)
                changed = self._apply(payload)
                if changed is None or len(changed) < len(payload):
                    self.pending.note(self.doc, payload)
            out: list[Outbound] = []
            event = None
            if changed is not None:
                event, out = self._sequence(changed, session.user_id, now, session_id)
            if session.v1:
                out.append(Outbound((session_id,), _ack(event.seq if event else self.head, event is not None), ack=True))
            return event, out
        if kind is yproto.Kind.SYNC_STEP1:
            return None, self._answer_step1(session, msg.payload)
        if kind is yproto.Kind.AWARENESS:
            self.presence.apply_awareness(session_id, msg.payload)
            # Echoed to the sender too, as the reference server does: y-websocket closes a
            # socket that received nothing for 30 s and counts on its own awareness renewals.
            return None, [Outbound(self._all, data, noisy=True, key=f"aw:{session_id}")]
        # QUERY_AWARENESS
        states = self.presence.awareness_all()
        return None, ([Outbound((session_id,), yproto.awareness(states))] if states else [])

    def _answer_step1(self, session: Session, state_vector: bytes) -> list[Outbound]:
        """Sync step 2 for a client at ``state_vector``: the diff, encoded here when it is
        small; for a big document whose client lacks more than the events after the newest
        snapshot, that snapshot's bytes (framed once) followed by those events."""
        me = (session.id,)
        if self.is_big:
            client = yproto.decode_state_vector(state_vector)
            snap = self.history.latest
            small_diff = yproto.covers(client, yproto.decode_state_vector(self.doc.get_state())) or (
                self.history.tail_bytes <= self.limits.inline_encode_bytes
                and yproto.covers(client, yproto.decode_state_vector(snap.state_vector)))
            if not small_diff:
                # the snapshot and the events after it as (header, update): nothing copied per joiner
                out = [Outbound(me, yproto.sync_step2_parts(snap.seq if session.v1 else None, snap.blob))]
                out.extend(Outbound(me, yproto.sync_update_parts(ev.seq if session.v1 else None, ev.update))
                           for ev in self.history.log.after(snap.seq))
                return out
        try:
            diff = self.doc.get_update(state_vector)
        except ValueError as exc:
            raise MalformedFrame(f"undecodable state vector: {exc}") from None
        return [Outbound(me, yproto.sync_step2_with_seq(self.head if session.v1 else None, diff))]

    def receive_presence(self, session_id: str, msg: dict[str, Any], now: float) -> list[Outbound]:
        session = self.sessions[session_id]
        state = validate_presence(msg)
        if msg.get("userId") not in (None, session.user_id):
            raise InvalidParams("userId", "must be the userId this socket joined with")
        out = self.presence.update(session_id, session.user_id, state, now)
        if out is None:
            return []
        return [Outbound(self._v1, _json(out), exclude=session_id, noisy=True, key=f"pr:{session_id}")]

    # -- server-side changes -----------------------------------------------------------
    def apply_local(self, user_id: str, mutate: Callable[[Doc], T], now: float, *, check: bool = True,
                    measured: bool = False) -> tuple[T, Event | None, list[Outbound]]:
        """Run ``mutate`` in one transaction; a change becomes one sequenced event relayed to all.

        If ``mutate`` raises, pycrdt has already committed whatever it wrote before the
        exception, so operations validate fully *before* writing (see annotd.canvas.ops).
        With ``check`` (API changes; not the server's own upkeep) a document already at its
        size limit refuses the change before it runs (``DocumentTooLarge`` or
        ``MeasureFirst``, as :meth:`receive`); one change may pass the limit by its own size,
        which the schema's caps bound.
        """
        if check:
            self._fits(0, measured)
        self._captured = None
        with self.doc.transaction(origin="annotd"):
            result = mutate(self.doc)
        changed, self._captured = self._captured, None
        if not changed or changed == yproto.EMPTY_UPDATE:
            return result, None, []
        event, out = self._sequence(changed, user_id, now, None)
        return result, event, out

    def apply_update(self, update: bytes, user_id: str, now: float, *,
                     measured: bool = False) -> tuple[Event | None, list[Outbound]]:
        """Apply a Yjs update made elsewhere (a bundle's step, an import built in a worker) as
        one sequenced event, like a client's; raise :class:`MalformedFrame` if Yjs cannot
        decode it, :class:`DocumentTooLarge` or :class:`MeasureFirst` (nothing applied) as
        :meth:`receive`."""
        self._fits(len(update), measured)
        changed = self._apply(update)
        if changed is None:
            return None, []
        return self._sequence(changed, user_id, now, None)

    def notify(self, method: str, params: dict[str, Any], *, session: str | None = None) -> list[Outbound]:
        """A server-pushed JSON-RPC notification for every annotd.v1 session, or for
        ``session`` alone (the one way notifications are built)."""
        to = self._v1 if session is None else (session,)
        if not to:
            return []
        return [Outbound(to, _json({"jsonrpc": "2.0", "method": method, "params": params}))]

    def tick(self, now: float, *, snapshots: bool = True) -> tuple[Snapshot | None, list[Outbound]]:
        """Periodic work: held-back and stale presence, expiry, and (``snapshots``, for a room
        used on its own) a snapshot when the history says one is due. A live room passes
        ``snapshots=False``: :mod:`annotd.live.snapshots` decides when and where it is taken."""
        out: list[Outbound] = []
        send, gone = self.presence.due(now, self.limits.presence_rebroadcast_s)
        if self._v1:
            out.extend(Outbound(self._v1, _json(m), exclude=m["session"], noisy=True, key=f"pr:{m['session']}")
                       for m in send)
            out.extend(Outbound(self._v1, _json(m)) for m in gone)
        snap = None
        if snapshots and self.history.snapshot_due(now):
            snap = self.snapshot(now)
        return snap, out

    def snapshot(self, now: float) -> Snapshot:
        """Snapshot the head now, encoding the live document here (small documents; the
        hub builds big ones from :meth:`snapshot_parts` in a worker process)."""
        self.settle_pending()
        return self.history.add(Snapshot.encoded(docstate.encode_doc(self.doc, self.head), now))

    def snapshot_parts(self) -> StateParts:
        """The head as data, for building its snapshot elsewhere."""
        return self.history.parts_at(self.head)

    @property
    def oldest_seq(self) -> int:
        """The oldest seq a read can reach (from here to the head, every seq): the
        history's window, or the store's when that reaches further back."""
        stored = self.stored_oldest()
        window = self.history.oldest_seq
        return window if stored is None else min(window, stored)

    def info(self) -> dict[str, Any]:
        return {
            "roomId": self.id,
            "name": self.name,
            "createdAt": self.created_at,
            "seq": self.head,
            "headSeq": self.head,
            "snapshotSeq": self.history.snapshot_seq,
            "oldestSeq": self.oldest_seq,
            "epoch": self.epoch,
            "users": sorted({s.user_id for s in self.sessions.values()}),
            "clients": len(self.sessions),
            **self.describe(self.doc),
        }

    def close(self) -> None:
        self.doc.unobserve(self._sub)
