"""Event-loop lag: the window's arithmetic with made-up clocks, and the monitor on a real loop
(a deliberate stall must show at least as long as it was; a loaded machine only adds)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from annotd.base.looplag import LagMonitor, LagWindow, lateness
from annotd.process.daemon import TICK_S, Daemon

from ..helpers import clients_on, create_room, within


def stall(seconds: float) -> None:
    """Hold the event loop (what a big encode on the loop does): the thing being measured."""
    time.sleep(seconds)


def test_lateness_is_never_negative() -> None:
    assert lateness(10.0, 10.25) == 0.25
    assert lateness(10.0, 10.0) == 0.0
    assert lateness(10.0, 9.999) == 0.0  # a timer that fired early is not negative lag


def test_window_max_and_p99_nearest_rank() -> None:
    w = LagWindow(window_s=10.0)
    assert w.stats(0.0).max_ms is None and w.stats(0.0).p99_ms is None and w.stats(0.0).samples == 0
    for i in range(198):
        w.add(i * 0.01, 0.001)  # 1 ms
    w.add(1.98, 0.030)
    w.add(1.99, 0.500)
    s = w.stats(2.0)
    # 200 samples: p99 is the 198th smallest, so the two worst samples stay out of it
    assert (s.max_ms, s.p99_ms, s.samples) == (500.0, 1.0, 200)
    assert s.to_json() == {"max": 500.0, "p99": 1.0}
    w.add(2.0, 0.040)  # 201 samples: now rank 199, the 30 ms one
    assert w.stats(2.0).p99_ms == 30.0


def test_window_forgets_samples_older_than_the_interval() -> None:
    w = LagWindow(window_s=10.0)
    w.add(0.0, 0.800)
    w.add(5.0, 0.002)
    assert w.stats(9.0).max_ms == 800.0
    s = w.stats(10.5)  # the 800 ms stall is now more than 10 s old
    assert (s.max_ms, s.p99_ms, s.samples) == (2.0, 2.0, 1)
    assert w.stats(30.0).samples == 0


def test_window_is_bounded() -> None:
    w = LagWindow(window_s=10.0, max_samples=50)
    for i in range(1000):
        w.add(i * 0.001, 0.001)
    assert w.stats(1.0).samples == 50


async def test_monitor_sees_a_stall_and_feeds_the_observer() -> None:
    seen: list[float] = []
    window = LagWindow()
    monitor = LagMonitor(window, period_s=0.01, observe=seen.append)
    task = asyncio.create_task(monitor.run())
    try:
        await within(monitor.sampled.wait(), "a first lag sample")
        monitor.sampled.clear()
        # The monitor is asleep (due in <= 10 ms); hold the loop for 200 ms: its timer fires
        # at least 190 ms late, however loaded the machine is.
        stall(0.2)
        await within(monitor.sampled.wait(), "the sample after the stall")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert window.current().max_ms is not None and window.current().max_ms >= 190.0
    assert max(seen) >= 0.19 and len(seen) == window.current().samples


async def test_idle_monitor_samples_at_the_tick_and_runs_its_timer_only_while_busy() -> None:
    now = [100.0]
    busy = [False]
    window = LagWindow()
    monitor = LagMonitor(window, period_s=0.01, clock=lambda: now[0], busy=lambda: busy[0])
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0)  # one yield: the task's first step (run's start) is queued first
    try:
        assert not monitor.sampling  # idle from the start: no timer
        monitor.tick(99.95)  # the owner's timer, due 50 ms ago: its lateness is the sample
        assert window.stats(now[0]).max_ms == 50.0 and window.stats(now[0]).samples == 1
        assert monitor.sampled.is_set() and not monitor.sampling
        busy[0] = True
        monitor.tick(100.0)  # the owner's next tick finds it busy: the timer starts
        assert monitor.sampling and window.stats(now[0]).samples == 2
        monitor.tick(100.0)  # while the timer runs, ticks add nothing
        assert window.stats(now[0]).samples == 2
        monitor.sampled.clear()
        await within(monitor.sampled.wait(), "a sample of the timer")
        assert monitor.sampling and window.stats(now[0]).samples == 3  # still busy: re-armed
        busy[0] = False
        monitor.sampled.clear()
        await within(monitor.sampled.wait(), "the sample that finds it idle")
        assert not monitor.sampling  # stopped: an idle loop is not woken any more
        samples = window.stats(now[0]).samples
        monitor.tick(100.0)
        assert window.stats(now[0]).samples == samples + 1 and not monitor.sampling
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not monitor.sampling
    monitor.tick(100.0)  # after run ended: nothing
    assert window.stats(now[0]).samples == samples + 1


async def test_metrics_report_the_lag_and_the_daemon_owns_the_task(make_daemon: object) -> None:
    d: Daemon = await make_daemon()  # type: ignore[operator]
    async with aiohttp.ClientSession(base_url=d.http_url) as http, clients_on(d) as open_client:
        # Idle (no socket, no room): the monitor's timer is off; the 50 ms tick samples.
        await d.next_tick()
        assert not d.lag_monitor.sampling
        d.lag_monitor.sampled.clear()
        await within(d.lag_monitor.sampled.wait(), "a lag sample of the tick")
        d.lag_monitor.sampled.clear()
        stall(0.2)  # a 200 ms stall of the daemon's loop (it is the test's loop)
        await within(d.lag_monitor.sampled.wait(), "the sample after the stall")
        assert d.metrics.loop_lag.current().max_ms is not None
        assert d.metrics.loop_lag.current().max_ms >= 200.0 - 1000 * TICK_S
        # Someone connects: from the next tick on the monitor samples every 10 ms.
        await create_room(http, "lag")
        await open_client("lag")
        await d.next_tick()
        assert d.lag_monitor.sampling
        d.lag_monitor.sampled.clear()
        await within(d.lag_monitor.sampled.wait(), "a lag sample")
        d.lag_monitor.sampled.clear()
        stall(0.1)
        await within(d.lag_monitor.sampled.wait(), "the sample after the stall")
        lag = (await (await http.get("/metrics")).json())["event_loop_lag_ms"]
        assert set(lag) == {"max", "p99"}
        assert lag["max"] >= 90.0 and 0.0 <= lag["p99"] <= lag["max"]
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "loop-lag"]
    assert len(tasks) == 1
    await d.stop()
    assert tasks[0].done()
