"""Start and stop the whole daemon in order.

Start: hub → rooms listed from ``rooms.data_dir`` (if set; each is loaded on first use and
every room writes through the store) → rooms from ``rooms.save_dir`` (if set; with a
data_dir an import of the bundles the store does not hold yet, and nothing is saved back at
shutdown) → WebSocket server → HTTP side port →
background tasks (room ticker, event-loop lag monitor, memory trimmer).
Stop (SIGINT/SIGTERM or :meth:`Daemon.stop`): stop accepting on both ports, close every
socket with 1001, save every room to ``rooms.save_dir`` (if set), then finish or cancel
background tasks by ``shutdown_timeout_s``; exit 0, or ``savedir.EXIT_UNSAVED`` (4) when a
room could not be saved (:attr:`Daemon.exit_status`).
A second signal during that shutdown exits at once with status 3 (worker processes are
terminated and multiprocessing's semaphores released first, so nothing is reported
leaked). Every task the daemon starts is kept in ``self._tasks`` and awaited or cancelled
here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing.util
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from ..base import hosts, memtrim
from ..base.config import Config
from ..base.hosts import HostPolicy
from ..base.looplag import LagMonitor
from ..base.metrics import Metrics
from ..live.hub import Hub
from ..net.httpparse import SidePortRunner
from ..net.httpserver import build_app
from ..net.wsserver import WsServer
from ..roomfiles.savedir import EXIT_UNSAVED, SaveDir
from ..storage import SqliteStore
from .gcpolicy import GcPolicy
from .persist import Persist

log = logging.getLogger("annotd.daemon")
TICK_S = 0.05
TRIM_CHECK_S = 1.0
"""How often the trimmer looks whether deleted rooms freed enough to give memory back."""
TRIM_PASSES = 5
"""Trims after each large free: the first and one per check while the last sockets close."""


@dataclass
class Daemon:
    config: Config
    store: SqliteStore | None = None
    """The room store of ``rooms.data_dir``, opened (and locked) by the process."""
    hub: Hub = field(init=False)
    ws_url: str = ""
    http_url: str = ""

    def __post_init__(self) -> None:
        self.metrics = Metrics()
        """This daemon's registry and series (never the library's global registry)."""
        self.hub = Hub(self.config, metrics=self.metrics)
        self.ws = WsServer(self.hub)
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.ticked = asyncio.Event()
        """Set after every periodic tick (tests await :func:`Daemon.next_tick` instead of sleeping)."""
        self.lag_monitor = LagMonitor(self.metrics.loop_lag, observe=self.metrics.loop_lag_seconds.observe,
                                      busy=self._busy)
        # Sockets whose cycles the server broke (WsServer.unlinked) leave nothing to collect.
        self.gc = GcPolicy(self.metrics.gc_pause, freeze=self.config.server.gc_freeze,
                           units=lambda: len(self.hub.rooms) + self.metrics.connected_clients,
                           rooms_closed=lambda: self.hub.rooms_closed,
                           sockets_closed=lambda: max(0, self.metrics.sockets_closed - self.ws.unlinked),
                           observe=self.metrics.gc_pause_seconds.observe)
        """The collector's timing and freezing: installed by :meth:`run_until_signalled` (the
        process), not by :meth:`start` (an embedded daemon leaves its host's collector alone)."""
        save_dir = self.config.rooms.save_dir
        self.save_dir = SaveDir(self.hub, Path(save_dir)) if save_dir else None
        self.exit_status = 0
        """What ``annotd serve`` exits with after :meth:`stop` (``EXIT_UNSAVED``: a room was not saved)."""

    async def start(self) -> None:
        memtrim.configure()
        cfg = self.config.server
        persist: Persist | None = None
        if self.store is not None:  # before listening: every stored room is listed, none is read
            persist = Persist(self.store, self.hub, asyncio.get_running_loop())
            t0 = time.perf_counter()
            self.hub.shelf = persist.shelf()
            self.hub.storage = persist
            log.info("rooms listed from data_dir (each is loaded on first use)",
                     extra={"rooms": len(self.hub.shelf), "ms": round((time.perf_counter() - t0) * 1e3, 1)})
        if self.save_dir is not None:
            if persist is None:
                self.save_dir.open()
                await self.save_dir.load_all()
            elif self.save_dir.path.is_dir():  # an import source only: see annotd.roomfiles.savedir
                await self.save_dir.load_all(persist)
        policy = HostPolicy(cfg.host, cfg.allowed_hosts)
        if not hosts.is_loopback(cfg.host):
            log.warning("listening on a non-loopback address: annotd has no authentication; "
                        f"requests are accepted for Host names: {policy.describe()}",
                        extra={"host": cfg.host})
        if policy.disabled:
            log.warning('the Host check is off (server.allowed_hosts contains "*"): '
                        "a DNS-rebinding web page can read every room")
        server = await self.ws.start(cfg.host, cfg.ws_port)
        ws_port = server.sockets[0].getsockname()[1]
        self._runner = SidePortRunner(build_app(self.hub), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.http_port)
        await site.start()
        http_port = self._runner.addresses[0][1]
        self.ws.side_ports = (http_port,)
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        self.ws_url = f"ws://{host}:{ws_port}"
        self.http_url = f"http://{host}:{http_port}"
        self._tasks.append(asyncio.create_task(self._ticker(), name="room-ticker"))
        self._tasks.append(asyncio.create_task(self.lag_monitor.run(), name="loop-lag"))
        self._tasks.append(asyncio.create_task(self._trimmer(), name="memory-trimmer"))
        await self.hub.exports.start()
        log.info("listening", extra={"ws": self.ws_url, "http": self.http_url})

    def _busy(self) -> bool:
        """Whether anything may happen soon: a socket is open or a room has periodic work
        (the lag monitor samples every 10 ms only then; see :mod:`annotd.looplag`)."""
        return self.metrics.connected_clients > 0 or bool(self.hub.awake)

    async def _ticker(self) -> None:
        """The hub's periodic work (:meth:`Hub.tick`), the metrics' rate sample, and the lag
        monitor's sample while it is idle (this sleep's lateness)."""
        clock = self.lag_monitor.clock
        while True:
            due = clock() + TICK_S
            await asyncio.sleep(TICK_S)
            self.lag_monitor.tick(due)
            self.hub.metrics.sample(time.monotonic())
            self.hub.tick()
            self.gc.tick()
            self.ticked.set()

    async def next_tick(self) -> None:
        """Return once a whole periodic tick has run after this call began."""
        for _ in range(2):  # the first may have been under way already
            self.ticked.clear()
            await self.ticked.wait()

    async def _trimmer(self) -> None:
        """After rooms are deleted (their memory freed), give the heap back to the system
        (:mod:`annotd.base.memtrim`), in a thread, at most once per :data:`TRIM_CHECK_S`, and
        again at the next :data:`TRIM_PASSES` checks: a deleted room's sockets free their
        buffers only as they finish closing (a paced one can take seconds)."""
        passes = 0
        while True:
            await asyncio.sleep(TRIM_CHECK_S)
            freed = self.hub.freed_bytes
            if freed >= memtrim.TRIM_AFTER_BYTES:
                passes = TRIM_PASSES
            if passes == 0:
                continue
            self.gc.before_trim(first=passes == TRIM_PASSES)  # a deleted room's last cycles, frozen ones too
            passes -= 1
            self.hub.freed_bytes = 0
            before = memtrim.rss_bytes()
            await asyncio.to_thread(memtrim.trim)
            log.debug("memory given back", extra={"freed_mb": round(freed / 1e6, 1),
                                                  "rss_mb": round(memtrim.rss_bytes() / 1e6, 1),
                                                  "returned_mb": round((before - memtrim.rss_bytes()) / 1e6, 1)})

    async def stop(self) -> None:
        """Ordered, repeat-safe shutdown."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        log.info("shutting down")
        deadline = self.config.server.shutdown_timeout_s
        try:
            async with asyncio.timeout(deadline):
                await self.ws.close()
        except TimeoutError:
            log.warning("sockets did not close in time")
        if self._runner is not None:
            await self._runner.cleanup()
        if self.save_dir is not None and self.store is None:  # every socket and request is done: the rooms are final
            await self.save_dir.save_all()
            if self.save_dir.unsaved:
                self.exit_status = EXIT_UNSAVED
        try:
            async with asyncio.timeout(deadline):
                await self.hub.exports.stop()
        except TimeoutError:
            log.warning("export jobs did not finish in time")
        try:
            async with asyncio.timeout(deadline):
                await self.hub.close()
        except TimeoutError:
            self.hub.states.kill()
            log.warning("the state worker did not finish in time")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.gc.uninstall()
        log.info("stopped")

    def _force_exit(self) -> None:
        log.warning("second signal: exiting without waiting for the shutdown to finish")
        self.hub.exports.kill_workers()
        self.hub.states.kill()
        # os._exit skips the finalizers that unlink the worker pools' semaphores; the
        # resource tracker would then report them as leaked. Run those finalizers now
        # (exit priority >= 0: semaphores and queue closes; no joins).
        with contextlib.suppress(Exception):
            multiprocessing.util._run_finalizers(0)  # type: ignore[attr-defined]
        logging.shutdown()
        os._exit(EXIT_FORCED)

    async def run_until_signalled(self) -> None:
        import signal

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        # Everything allocated so far (modules, fonts, config) lives for the whole process:
        # moving it out of the collector's reach keeps full collections short, which showed
        # as multi-millisecond relay tail latency; with server.gc_freeze the survivors of
        # every later full collection follow (annotd.process.gcpolicy).
        if not self.config.server.gc_freeze:
            gc.collect()
            gc.freeze()
        self.gc.install()
        print(f"annotd listening: {self.ws_url}/v1/ws  {self.http_url}", flush=True)
        await stop.wait()
        # A second signal while shutting down means "now": skip the graceful deadline.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._force_exit)
        await self.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


EXIT_FORCED = 3

