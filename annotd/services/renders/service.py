"""The export service: a bounded queue of jobs, worker tasks that hand each job to a render
worker off the event loop, and results kept in memory under a byte cap and a TTL.

Theory of operation
-------------------
``submit`` validates against the room (seq retained, tag known), takes the document state
**on the loop** as :class:`~annotd.base.docstate.StateParts` (references to the nearest snapshot
and the logged updates up to the seq: nothing is encoded, so the job exports exactly what
was there when it was asked for and a later prune cannot fail it; the render worker builds
the document) and admits the job only while fewer than ``export.queue_size`` jobs are
queued or running (else :class:`LimitReached`, 429/-32029).

``export.workers`` worker tasks take jobs in order. Each hands *picklable* inputs (state
parts, base image bytes, :class:`RenderOptions`, provenance) to
:func:`annotd.services.renders.worker.render_export` in the render pool (worker processes; why, and
the figures, in :mod:`annotd.services.renders.worker`). The worker is given the room's *current*
image as a guess; when the view at that seq names another one it answers ``NeedImage`` and
the job is resubmitted once with the right bytes.

Results live in memory, oldest evicted first, when their total passes
``export.result_bytes_cap`` or their age passes ``export.result_ttl_s``; an evicted job keeps
its record (``status: "evicted"``, download 410). At most :data:`JOB_RECORDS_KEPT` job
records are remembered; the oldest finished ones are forgotten (then 404).

A job asked for on an annotd.v1 room socket is announced to that session only, with
``exports.finished`` / ``exports.failed`` carrying the job JSON.

The service reaches the rooms only through :class:`Rooms` (the hub implements it), and
knows nothing of HTTP: the download route is :mod:`annotd.net.httpserver`'s.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from ...base import procpool
from ...base.docstate import StateParts
from ...base.errors import AnnotdError, Conflict, Gone, LimitReached, NotFound, RenderCrashed, RoomNotFound
from ...base.metrics import Metrics
from ...render.options import RenderOptions
from . import worker
from .jobs import FINISHED, Job, Status

if TYPE_CHECKING:
    from ...base.config import ExportConfig

log = logging.getLogger("annotd.exports")

JOB_RECORDS_KEPT = 1000
"""Job records remembered (any status); beyond it the oldest finished record is forgotten."""
RECENT_TIMES = 100
"""Finished jobs whose wall time feeds ``export_time_ms`` p50/p95."""


class Rooms(Protocol):
    """What the export service needs from the rooms, and nothing more."""

    def resolve_seq(self, room_id: str, seq: int | None, tag: str | None) -> int:
        """The retained seq a request names (raises as the API does for bad ones)."""

    async def state_parts(self, room_id: str, seq: int) -> StateParts:
        """The document at a reachable seq, as data (nothing encoded; read from the room
        store in a thread for a seq older than memory holds)."""

    def current_image(self, room_id: str) -> str | None:
        """The sha256 of the room's base image now; ``RoomNotFound`` if the room is gone."""

    def image_bytes(self, sha256: str) -> bytes | None:
        """The stored bytes of a base image, if still held."""

    def notify(self, room_id: str, method: str, params: dict[str, Any], *, session: str | None = None) -> None:
        """Send a JSON-RPC notification to the room's annotd.v1 sessions (or one of them)."""

    def now_ms(self) -> int: ...


class ExportService:
    """Owns the export queue, its worker tasks, the render pool and the held results."""

    def __init__(self, rooms: Rooms, config: ExportConfig, *, metrics: Metrics | None = None) -> None:
        self.rooms = rooms
        self.config = config
        self.recorder = metrics if metrics is not None else Metrics()
        """Where finished jobs and evictions are counted (the daemon's; a private one in tests)."""
        self.clock: Callable[[], float] = time.monotonic
        """Ages results for the TTL; tests replace it."""
        self.before_render: Callable[[Job], Awaitable[None]] | None = None
        """Test hook awaited on the loop once a job is running, before it is rendered."""
        self.executor_kind = config.executor
        self._executor: Executor | None = None
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._held: OrderedDict[str, Job] = OrderedDict()  # done jobs with bytes, oldest first
        self._held_bytes = 0
        # Bounded: submit() admits at most queue_size jobs; the extra places are the stop sentinels.
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=config.queue_size + config.workers)
        self._pending = 0  # queued + running
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False
        self._times: deque[float] = deque(maxlen=RECENT_TIMES)
        self._ttl_timer: asyncio.TimerHandle | None = None
        self._status_event = asyncio.Event()
        """Set (then replaced) whenever any job changes status: the one completion signal."""

    def _set_status(self, job: Job, status: Status) -> None:
        job.status = status
        self._status_event.set()
        self._status_event = asyncio.Event()

    def busy(self, room_id: str) -> bool:
        """Whether a job of ``room_id`` is queued or running (the room stays loaded meanwhile)."""
        return any(j.room_id == room_id and j.status in ("queued", "running") for j in self._jobs.values())

    async def wait(self, job_id: str, statuses: tuple[Status, ...] = FINISHED) -> Job:
        """Wait until job ``job_id`` has one of ``statuses`` (for in-process callers and tests)."""
        while (job := self.get(job_id)).status not in statuses:
            await self._status_event.wait()
        return job

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Create the render pool and the worker tasks; called by the daemon after both ports listen."""
        self._executor = self._new_executor()
        self._workers = [asyncio.create_task(self._work(), name=f"export-worker-{i}")
                         for i in range(self.config.workers)]

    def _new_executor(self) -> Executor:
        return worker.new_executor(self.executor_kind, self.config.workers, self.config.worker_nice)

    async def stop(self) -> None:
        """Refuse new jobs, fail queued ones, let running ones finish; cancelled at the deadline.

        The daemon bounds this with ``server.shutdown_timeout_s``: when that cancels us, the
        running jobs are marked failed and the render processes are terminated.
        """
        if self._closing:
            return
        self._closing = True
        if self._ttl_timer is not None:
            self._ttl_timer.cancel()
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job is not None:
                self._finish(job, error="the server is shutting down")
        for _ in self._workers:
            self._queue.put_nowait(None)
        try:
            if self._workers:
                await asyncio.gather(*self._workers)
        except BaseException:
            # The deadline passed (or we were cancelled): abandon the running renders.
            for task in self._workers:
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            await self._shutdown_executor(terminate=True)
            raise
        await self._shutdown_executor(terminate=False)

    async def _shutdown_executor(self, *, terminate: bool) -> None:
        ex, self._executor = self._executor, None
        if ex is None:
            return
        if terminate:
            # End a render still running after the deadline rather than let interpreter
            # exit wait for it.
            worker.terminate_processes(ex)
            if isinstance(ex, ThreadPoolExecutor):
                ex.shutdown(wait=False, cancel_futures=True)  # a thread cannot be stopped; it ends on its own
                return
        # Joining the (idle or terminated) workers takes milliseconds; done in a thread so
        # the loop is not blocked, and so that interpreter exit finds nothing left to join.
        await asyncio.to_thread(ex.shutdown, wait=True, cancel_futures=True)

    def kill_workers(self) -> None:
        """Terminate render processes now (a forced exit must not leave orphans behind)."""
        if self._executor is not None:
            worker.terminate_processes(self._executor)

    # -- jobs ----------------------------------------------------------------------------
    async def submit(
        self,
        room_id: str,
        options: RenderOptions,
        options_json: dict[str, Any],
        *,
        seq: int | None,
        tag: str | None,
        session: str | None = None,
    ) -> Job:
        """Check the room, seq and tag, take the state (parts) and queue the job; ``session``
        (a socket of this room) is told when the job ends.

        Raises ``RoomNotFound``, ``NotFound`` (tag), ``InvalidParams``/``Gone`` (seq),
        ``LimitReached`` (queue full or shutting down). Nothing is queued on error.
        """
        seq = self.rooms.resolve_seq(room_id, seq, tag)
        self._check_queue_open()
        state = await self.rooms.state_parts(room_id, seq)
        self._check_queue_open()  # again: other jobs may have come while the state was read
        job = Job(secrets.token_urlsafe(9), room_id, options.format, seq, tag, options, options_json, state,
                  self.rooms.now_ms(), session=session)
        self._remember(job)
        self._pending += 1
        self._queue.put_nowait(job)
        log.info("export queued", extra={"roomId": room_id, "jobId": job.id, "seq": seq, "format": job.format})
        return job

    def _check_queue_open(self) -> None:
        if self._closing:
            raise LimitReached("the server is shutting down; no new exports")
        if self._pending >= self.config.queue_size:
            raise LimitReached(f"the export queue is full ({self.config.queue_size} jobs queued or running); retry later",
                               data={"queueSize": self.config.queue_size})

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        if len(self._jobs) > JOB_RECORDS_KEPT:
            for old in list(self._jobs.values()):
                if len(self._jobs) <= JOB_RECORDS_KEPT:
                    break
                if old.status in FINISHED:
                    if self._held.pop(old.id, None) is not None:
                        self._held_bytes -= old.size or 0
                    del self._jobs[old.id]

    def get(self, job_id: str) -> Job:
        self.evict_expired()
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"export job {job_id!r} does not exist", data={"field": "jobId"})
        return job

    def room_jobs(self, room_id: str) -> list[Job]:
        self.evict_expired()
        return [j for j in self._jobs.values() if j.room_id == room_id]

    def result(self, job_id: str) -> tuple[Job, bytes]:
        """The job and its bytes; ``Conflict`` while not done, ``Gone`` when evicted."""
        job = self.get(job_id)
        if job.status == "evicted":
            raise Gone(f"export {job_id} was evicted from memory; create it again", data={"jobId": job_id})
        if job.status == "failed":
            raise Conflict(f"export {job_id} failed: {job.error}", data={"jobId": job_id, "status": job.status})
        if job.status != "done" or job.result is None:
            raise Conflict(f"export {job_id} is {job.status}, not done yet", data={"jobId": job_id, "status": job.status})
        return job, job.result

    @property
    def pending(self) -> int:
        """Jobs queued or running (what ``export.queue_size`` limits)."""
        return self._pending

    @property
    def held_bytes(self) -> int:
        """Bytes of finished exports held for download."""
        return self._held_bytes

    # -- the worker tasks ----------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            if job is None:
                return
            try:
                await self._run(job)
            except asyncio.CancelledError:
                self._finish(job, error="cancelled: the server shut down before the export finished")
                raise
            except AnnotdError as exc:
                self._finish(job, error=exc.message)
            except Exception as exc:  # a renderer bug must not kill the worker
                log.exception("export failed", extra={"roomId": job.room_id, "jobId": job.id})
                self._finish(job, error=f"internal error: {type(exc).__name__}")

    async def _run(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        self._set_status(job, "running")
        job.started_at = self.rooms.now_ms()
        t0 = time.perf_counter()
        if self.before_render is not None:
            await self.before_render(job)
        try:
            current = self.rooms.current_image(job.room_id)
        except RoomNotFound:
            raise Gone(f"room {job.room_id!r} was deleted before the export ran") from None
        state, job.state = job.state, None
        assert state is not None and self._executor is not None
        provenance = {"roomId": job.room_id, "seq": str(job.seq)}
        if job.tag:
            provenance["tag"] = job.tag
        image = self._image(current)
        executor = self._executor
        try:
            out = await loop.run_in_executor(executor, worker.render_export, state, image, job.options, provenance)
            if isinstance(out, worker.NeedImage):
                image = self._image(out.sha256)
                out = await loop.run_in_executor(executor, worker.render_export, state, image, job.options, provenance)
        except BrokenExecutor:
            # The render process died (killed, out of memory): replace the pool so later
            # jobs still run, and fail this one.
            log.error("export worker process died; restarting the pool", extra={"jobId": job.id})
            broken, self._executor = self._executor, self._new_executor()
            broken.shutdown(wait=False, cancel_futures=True)
            raise RenderCrashed("the render process died (out of memory?)") from None
        finally:  # also when cancelled: the feeder thread would hold the job's state
            if isinstance(executor, ProcessPoolExecutor):
                procpool.release_last_job(executor)
        if not isinstance(out, worker.Rendered):
            raise RuntimeError("the base image changed twice during one export")
        job.render_ms = (time.perf_counter() - t0) * 1000
        job.cpu_ms = out.cpu_ms
        self._finish(job, data=out.data)

    def _image(self, sha256: str | None) -> tuple[str, bytes | None] | None:
        return None if sha256 is None else (sha256, self.rooms.image_bytes(sha256))

    def _finish(self, job: Job, *, data: bytes | None = None, error: str | None = None) -> None:
        if job.status in FINISHED:
            return
        self._pending -= 1
        job.state = None
        job.finished_at = self.rooms.now_ms()
        job.finished_mono = self.clock()
        cap = self.config.result_bytes_cap
        if data is not None and len(data) > cap:
            error = f"the export is {len(data)} bytes, more than export.result_bytes_cap ({cap})"
            data = None
        if data is None:
            job.error = error or "failed"
            self._set_status(job, "failed")
            self.recorder.export_finished(job.format, "failed", None)
            log.warning("export failed", extra={"roomId": job.room_id, "jobId": job.id, "error": job.error})
        else:
            job.result = data
            job.size = len(data)
            self._set_status(job, "done")
            self.recorder.export_finished(job.format, "done", None if job.render_ms is None else job.render_ms / 1000)
            if job.render_ms is not None:
                self._times.append(job.render_ms)
            self._held[job.id] = job
            self._held_bytes += len(data)
            self._evict_over_cap()
            self._arm_ttl()
            log.info("export done", extra={"roomId": job.room_id, "jobId": job.id, "bytes": len(data),
                                           "ms": round(job.render_ms or 0.0, 1)})
        if job.session is not None:
            method = "exports.finished" if job.status == "done" else "exports.failed"
            self.rooms.notify(job.room_id, method, job.to_json(), session=job.session)

    # -- eviction ------------------------------------------------------------------------
    def _release(self, job: Job, why: str) -> None:
        if self._held.pop(job.id, None) is not None:
            self._held_bytes -= job.size or 0
            job.result = None
            self._set_status(job, "evicted")
            self.recorder.export_evictions.inc()
            log.info("export evicted", extra={"roomId": job.room_id, "jobId": job.id, "why": why})

    def _evict_over_cap(self) -> None:
        cap = self.config.result_bytes_cap
        while self._held_bytes > cap and self._held:
            oldest = next(iter(self._held.values()))
            self._release(oldest, "byte cap")

    def evict_expired(self) -> None:
        """Drop results older than ``export.result_ttl_s`` (by :attr:`clock`)."""
        ttl, now = self.config.result_ttl_s, self.clock()
        while self._held:
            oldest = next(iter(self._held.values()))
            if oldest.finished_mono is None or now - oldest.finished_mono < ttl:
                break
            self._release(oldest, "ttl")

    def _arm_ttl(self) -> None:
        """A timer so memory is freed at the TTL even if nobody asks (lazy checks cover the rest)."""
        if self._ttl_timer is not None or self._closing or not self._held:
            return
        oldest = next(iter(self._held.values()))
        delay = max(0.0, (oldest.finished_mono or 0.0) + self.config.result_ttl_s - self.clock()) + 0.01

        def fire() -> None:
            self._ttl_timer = None
            self.evict_expired()
            self._arm_ttl()

        self._ttl_timer = asyncio.get_running_loop().call_later(delay, fire)

    # -- metrics -------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        self.evict_expired()
        times = sorted(self._times)
        p50 = p95 = None
        if times:
            p50 = round(statistics.median(times), 1)
            p95 = round(times[min(len(times) - 1, max(0, int(round(0.95 * len(times) + 0.5)) - 1))], 1)
        m = self.recorder
        return {
            "export_jobs_pending": self._pending,
            "export_time_ms": {"p50": p50, "p95": p95},
            "export_jobs_completed_total": int(m.total(m.exports, status="done")),
            "export_failures_total": int(m.total(m.exports, status="failed")),
            "export_evictions_total": int(m.total(m.export_evictions)),
            "export_bytes_held": self._held_bytes,
        }
