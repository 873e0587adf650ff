"""Export jobs: a bounded queue, workers that render off the event loop, results kept in
memory under a byte cap and a TTL.

Theory of operation
-------------------
``submit`` validates against the room (seq retained, tag known), takes the document state
blob **on the loop** (``history.state_at``: a cached full update, so the job exports exactly
what was there when it was asked for) and admits the job only while fewer than
``export.queue_size`` jobs are queued or running (else :class:`LimitReached`, 429/-32029).

``export.workers`` worker tasks take jobs in order. Each hands *picklable* inputs (state
blob, base image bytes, :class:`RenderOptions`, provenance) to :func:`render_export`, which
decodes the Doc, builds the view and renders in an executor: a process pool (forkserver,
workers at nice +5) by default, because in a thread the render holds the GIL long enough
(aggdraw, Pillow glue) to delay the relay: measured room10 relay p50/p99 during back-to-back
exports 0.69/4.9 ms with processes vs 3.1/33 ms with a thread (idle 0.73/4.8 ms), figures in
``bench/bench_export.py``. A thread pool is kept for comparison (``ANNOTD_EXPORT_EXECUTOR=thread``).
Scripts that embed the daemon need the usual ``if __name__ == "__main__":`` guard.

Which base image a seq shows is only known after decoding the Doc, so the worker is given
the room's *current* image as a guess; when the view at that seq names another one it
answers :class:`NeedImage` and the job is resubmitted once with the right bytes.

Results live in memory, oldest evicted first, when their total passes
``export.result_bytes_cap`` or their age passes ``export.result_ttl_s``; an evicted job keeps
its record (``status: "evicted"``, download 410). At most :data:`JOB_RECORDS_KEPT` job
records are remembered; the oldest finished ones are forgotten (then 404).

A job asked for on an annotd.v1 room socket is announced to that session only, with
``exports.finished`` / ``exports.failed`` carrying the job JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import os
import secrets
import signal
import statistics
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson
from aiohttp import web

from .errors import AnnotdError, Conflict, Gone, InvalidParams, LimitReached, NotFound
from .render.options import RenderOptions

if TYPE_CHECKING:
    from .commands.base import Caller
    from .hub import Hub

log = logging.getLogger("annotd.exports")

JOB_ID_PATTERN = r"[A-Za-z0-9_-]{1,32}"
JOB_RECORDS_KEPT = 1000
"""Job records remembered (any status); beyond it the oldest finished record is forgotten."""
RECENT_TIMES = 100
"""Finished jobs whose wall time feeds ``export_time_ms`` p50/p95."""
MIME = {"png": "image/png", "jpg": "image/jpeg", "svg": "image/svg+xml"}
CHUNK = 64 * 1024

Status = Literal["queued", "running", "done", "failed", "evicted"]


class RenderCrashed(AnnotdError):
    """The worker process rendering a job died; the job fails with this message."""


# --------------------------------------------------------------------------------------
# What runs in the worker (thread or process): picklable in, picklable out.
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NeedImage:
    """The view at this seq shows another base image than the one passed in."""

    sha256: str


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    cpu_ms: float


def render_export(
    blob: bytes,
    image: tuple[str, bytes | None] | None,
    options: RenderOptions,
    provenance: dict[str, str],
) -> Rendered | NeedImage:
    """Decode ``blob`` into a Doc, build its view and render it; CPU-heavy, never on the loop.

    ``image`` is ``(sha256, bytes)`` of the base image the caller expects (bytes ``None``
    when the store no longer has it: the canvas keeps its size and shows the background).
    """
    from PIL import Image
    from pycrdt import Doc

    from .canvas.view import build_view
    from .render import render, render_svg

    t0 = time.process_time()
    doc: Doc[Any] = Doc()
    doc.apply_update(blob)
    view = build_view(doc)
    data: bytes | None = None
    if view.image is not None:
        if image is None or image[0] != view.image.sha256:
            return NeedImage(view.image.sha256)
        data = image[1]
    if options.format == "svg":
        png = data
        if data is not None and not data.startswith(b"\x89PNG"):
            buf = io.BytesIO()
            with Image.open(io.BytesIO(data)) as img:
                img.save(buf, format="PNG", compress_level=1)
            png = buf.getvalue()
        out = render_svg(view, png, options, provenance)
    else:
        base = None
        if data is not None:
            with Image.open(io.BytesIO(data)) as img:
                base = img.convert("RGBA")
        out = render(view, base, options, provenance)
    return Rendered(out, (time.process_time() - t0) * 1000)


def _worker_init(nice: int) -> None:
    # Ctrl-C reaches the whole process group; the daemon decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(nice)
    # Import the renderer (fonts, aggdraw) before the first job, not during it.
    from . import render  # noqa: F401
    from .canvas import view  # noqa: F401


def _terminate_processes(pool: ProcessPoolExecutor) -> None:
    """SIGTERM every worker process of ``pool`` (no public API for this before Python 3.14)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError):
            proc.terminate()


def _warm() -> int:
    return os.getpid()


# --------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------
@dataclass(eq=False)
class Job:
    id: str
    room_id: str
    format: str
    seq: int
    tag: str | None
    options: RenderOptions
    options_json: dict[str, Any]
    blob: bytes | None
    created_at: int
    session: str | None = None
    status: Status = "queued"
    started_at: int | None = None
    finished_at: int | None = None
    finished_mono: float | None = None
    render_ms: float | None = None
    cpu_ms: float | None = None
    size: int | None = None
    error: str | None = None
    result: bytes | None = field(default=None, repr=False)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def mime(self) -> str:
        return MIME[self.format]

    @property
    def filename(self) -> str:
        tag = f"-{self.tag}" if self.tag else ""
        return f"{self.room_id}-seq{self.seq}{tag}.{self.format}"

    def to_json(self) -> dict[str, Any]:
        return {
            "jobId": self.id,
            "roomId": self.room_id,
            "status": self.status,
            "format": self.format,
            "seq": self.seq,
            "tag": self.tag,
            "mime": self.mime,
            "fileName": self.filename,
            "size": self.size,
            "error": self.error,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "renderMs": None if self.render_ms is None else round(self.render_ms, 1),
            "options": self.options_json,
        }


def _ms(t: float) -> int:
    return int(t * 1000)


class ExportService:
    """Owns the export queue, its worker tasks, the executor and the held results."""

    def __init__(self, hub: Hub, *, executor: str | None = None) -> None:
        self.hub = hub
        self.config = hub.config.export
        self.clock: Callable[[], float] = time.monotonic
        """Ages results for the TTL; tests replace it."""
        self.before_render: Callable[[Job], Awaitable[None]] | None = None
        """Test hook awaited on the loop once a job is running, before it is rendered."""
        # Render processes run ``export.worker_nice`` nicer than the daemon so that, when they
        # share a core with the relay loop, the loop wins (measured: bench/bench_export.py).
        self.executor_kind = executor or self.config.executor
        self._executor: Executor | None = None
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._held: OrderedDict[str, Job] = OrderedDict()  # done jobs with bytes, oldest first
        self._held_bytes = 0
        # Bounded: create() admits at most queue_size jobs; the extra places are the stop sentinels.
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=self.config.queue_size + self.config.workers)
        self._pending = 0  # queued + running
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False
        self._times: deque[float] = deque(maxlen=RECENT_TIMES)
        self._failures = 0
        self._completed = 0
        self._evicted = 0
        self._ttl_timer: asyncio.TimerHandle | None = None
        self._changed = asyncio.Event()
        """Set (then replaced) whenever any job changes status; see :meth:`wait`."""

    def _status_changed(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, job_id: str, statuses: tuple[str, ...] = ("done", "failed", "evicted")) -> Job:
        """Wait until job ``job_id`` has one of ``statuses`` (for in-process callers and tests)."""
        while (job := self.get(job_id)).status not in statuses:
            await self._changed.wait()
        return job

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Create the executor and the worker tasks; called by the daemon after both ports listen."""
        self._executor = self._new_executor()
        self._workers = [asyncio.create_task(self._work(), name=f"export-worker-{i}")
                         for i in range(self.config.workers)]

    def _new_executor(self) -> Executor:
        n = self.config.workers
        if self.executor_kind == "thread":
            return ThreadPoolExecutor(n, thread_name_prefix="annotd-export")
        # forkserver, not fork: the daemon has threads (executors, resolver), and a forked
        # child of a threaded process can deadlock. The server preloads the renderer once.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["annotd.exports", "annotd.render", "annotd.canvas.view"])
        pool = ProcessPoolExecutor(n, mp_context=ctx, initializer=_worker_init,
                                   initargs=(self.config.worker_nice,))
        # Start the processes now, in the background, so the first export does not pay
        # for process start and imports.
        loop = asyncio.get_running_loop()
        for _ in range(n):
            fut = loop.run_in_executor(pool, _warm)
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        return pool

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
        if terminate and isinstance(ex, ProcessPoolExecutor):
            # End a render still running after the deadline rather than let interpreter
            # exit wait for it.
            _terminate_processes(ex)
        if terminate and isinstance(ex, ThreadPoolExecutor):
            ex.shutdown(wait=False, cancel_futures=True)  # a thread cannot be stopped; it ends on its own
            return
        # Joining the (idle or terminated) workers takes milliseconds; done in a thread so
        # the loop is not blocked, and so that interpreter exit finds nothing left to join.
        await asyncio.to_thread(ex.shutdown, wait=True, cancel_futures=True)

    def kill_workers(self) -> None:
        """Terminate render processes now (a forced exit must not leave orphans behind)."""
        if isinstance(self._executor, ProcessPoolExecutor):
            _terminate_processes(self._executor)

    # -- jobs ----------------------------------------------------------------------------
    def submit(
        self,
        room_id: str,
        options: RenderOptions,
        options_json: dict[str, Any],
        *,
        seq: int | None,
        tag: str | None,
        caller: Caller | None = None,
    ) -> Job:
        """Check the room, seq and tag, take the state blob and queue the job.

        Raises ``RoomNotFound``, ``NotFound`` (tag), ``InvalidParams``/``Gone`` (seq),
        ``LimitReached`` (queue full or shutting down). Nothing is queued on error.
        """
        room = self.hub.room(room_id)
        if seq is not None and tag is not None:
            raise InvalidParams("tag", "give seq or tag, not both")
        if tag is not None:
            seq = room.history.version(tag).seq
        elif seq is None:
            seq = room.head
        room.history.check_seq(seq, "seq")
        if self._closing:
            raise LimitReached("the server is shutting down; no new exports")
        if self._pending >= self.config.queue_size:
            raise LimitReached(f"the export queue is full ({self.config.queue_size} jobs queued or running); retry later",
                               data={"queueSize": self.config.queue_size})
        blob = room.history.state_at(seq)
        session = caller.session if caller is not None and caller.room_id == room_id else None
        job = Job(secrets.token_urlsafe(9), room_id, options.format, seq, tag, options, options_json, blob,
                  _ms(self.hub.clock()), session=session)
        self._remember(job)
        self._pending += 1
        self._queue.put_nowait(job)
        log.info("export queued", extra={"roomId": room_id, "jobId": job.id, "seq": seq, "format": job.format})
        return job

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        if len(self._jobs) > JOB_RECORDS_KEPT:
            for old in list(self._jobs.values()):
                if len(self._jobs) <= JOB_RECORDS_KEPT:
                    break
                if old.status in ("done", "failed", "evicted"):
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

    # -- the worker ----------------------------------------------------------------------
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
        job.status = "running"
        self._status_changed()
        job.started_at = _ms(self.hub.clock())
        t0 = time.perf_counter()
        if self.before_render is not None:
            await self.before_render(job)
        room = self.hub.rooms.get(job.room_id)
        if room is None:
            raise Gone(f"room {job.room_id!r} was deleted before the export ran")
        blob, job.blob = job.blob, None
        assert blob is not None and self._executor is not None
        provenance = {"roomId": job.room_id, "seq": str(job.seq)}
        if job.tag:
            provenance["tag"] = job.tag
        ref = room.image_ref()
        image = self._image(ref.get("sha256") if ref else None)
        try:
            out = await loop.run_in_executor(self._executor, render_export, blob, image, job.options, provenance)
            if isinstance(out, NeedImage):
                image = self._image(out.sha256)
                out = await loop.run_in_executor(self._executor, render_export, blob, image, job.options, provenance)
        except BrokenExecutor:
            # The render process died (killed, out of memory): replace the pool so later
            # jobs still run, and fail this one.
            log.error("export worker process died; restarting the pool", extra={"jobId": job.id})
            broken, self._executor = self._executor, self._new_executor()
            broken.shutdown(wait=False, cancel_futures=True)
            raise RenderCrashed("the render process died (out of memory?)") from None
        if not isinstance(out, Rendered):
            raise RuntimeError("the base image changed twice during one export")
        job.render_ms = (time.perf_counter() - t0) * 1000
        job.cpu_ms = out.cpu_ms
        self._finish(job, data=out.data)

    def _image(self, sha256: Any) -> tuple[str, bytes | None] | None:
        if not isinstance(sha256, str):
            return None
        stored = self.hub.images.get(sha256)
        return sha256, stored.data if stored is not None else None

    def _finish(self, job: Job, *, data: bytes | None = None, error: str | None = None) -> None:
        if job.status in ("done", "failed", "evicted"):
            return
        self._pending -= 1
        job.blob = None
        job.finished_at = _ms(self.hub.clock())
        job.finished_mono = self.clock()
        cap = self.config.result_bytes_cap
        if data is not None and len(data) > cap:
            error = f"the export is {len(data)} bytes, more than export.result_bytes_cap ({cap})"
            data = None
        if data is None:
            job.status = "failed"
            self._status_changed()
            job.error = error or "failed"
            self._failures += 1
            log.warning("export failed", extra={"roomId": job.room_id, "jobId": job.id, "error": job.error})
        else:
            job.status = "done"
            self._status_changed()
            job.result = data
            job.size = len(data)
            self._completed += 1
            if job.render_ms is not None:
                self._times.append(job.render_ms)
            self._held[job.id] = job
            self._held_bytes += len(data)
            self._evict_over_cap()
            self._arm_ttl()
            log.info("export done", extra={"roomId": job.room_id, "jobId": job.id, "bytes": len(data),
                                           "ms": round(job.render_ms or 0.0, 1)})
        job.done.set()
        self._announce(job)

    def _announce(self, job: Job) -> None:
        if job.session is None or job.room_id not in self.hub.rooms:
            return
        from .room import Outbound

        method = "exports.finished" if job.status == "done" else "exports.failed"
        text = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": job.to_json()}).decode()
        self.hub.delivery.deliver(job.room_id, [Outbound((job.session,), text)])

    # -- eviction ------------------------------------------------------------------------
    def _release(self, job: Job, why: str) -> None:
        if self._held.pop(job.id, None) is not None:
            self._held_bytes -= job.size or 0
            job.result = None
            job.status = "evicted"
            self._status_changed()
            self._evicted += 1
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

    # -- metrics and routes ----------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        self.evict_expired()
        times = sorted(self._times)
        p50 = p95 = None
        if times:
            p50 = round(statistics.median(times), 1)
            p95 = round(times[min(len(times) - 1, max(0, int(round(0.95 * len(times) + 0.5)) - 1))], 1)
        return {
            "export_jobs_pending": self._pending,
            "export_time_ms": {"p50": p50, "p95": p95},
            "export_jobs_completed_total": self._completed,
            "export_failures_total": self._failures,
            "export_evictions_total": self._evicted,
            "export_bytes_held": self._held_bytes,
        }

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes that are not commands (the download)."""
        return [web.get("/v1/exports/{jobId}/download", self._download)]

    async def _download(self, request: web.Request) -> web.StreamResponse:
        job_id = request.match_info["jobId"]
        job, data = self.result(job_id)
        resp = web.StreamResponse(headers={
            "Content-Type": job.mime,
            "Content-Disposition": f'attachment; filename="{job.filename}"',
            "Cache-Control": "no-store",
            "X-Annotd-Seq": str(job.seq),
        })
        resp.content_length = len(data)
        await resp.prepare(request)
        view = memoryview(data)
        for i in range(0, len(view), CHUNK):
            await resp.write(view[i : i + CHUNK])
        await resp.write_eof()
        return resp
