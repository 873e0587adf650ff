"""Worker processes for work that must not run on the event loop (renders, big document
states): started from a forkserver, nicer than the daemon, and gone when the daemon is.

Why a forkserver: the daemon has threads, and a child forked from a threaded process can
deadlock. Why nice: on a shared core the relay loop should win.

Why each worker watches the daemon: when the daemon is killed (SIGKILL, OOM killer), no
finalizer runs, and CPython's pool workers do not notice: a worker holds the write end of
its own job queue (so its read never sees EOF) and of the forkserver's "alive" pipe (so the
forkserver never sees EOF either). Measured before this: a killed daemon left its
forkserver and both workers running, holding the daemon's stdout/stderr open (a test that
waits for EOF on them hung). A parent-death signal does not help (a worker's parent is the
forkserver). So each worker opens a pidfd on the daemon and a thread exits the worker when
it becomes readable (the daemon ended); the forkserver then sees EOF and exits too. Where
pidfds are missing the thread checks once a second.

Each pool's ``preload`` modules are imported by the forkserver (when it starts) and by each
worker before its first job, so no job pays for imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import select
import signal
import threading
import time
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor

EXIT_ORPHANED = 70
"""A worker's exit status when it ends because the daemon is gone."""
_preload: set[str] = {__name__}


def exit_with(pid: int) -> None:
    """End this process as soon as process ``pid`` (the daemon) has ended."""
    try:
        fd: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(EXIT_ORPHANED)
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while True:
                time.sleep(1.0)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    continue
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="annotd-daemon-watch", daemon=True).start()


def _init(nice: int, modules: tuple[str, ...], daemon_pid: int) -> None:
    exit_with(daemon_pid)
    # Ctrl-C reaches the whole process group; the daemon decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(nice)
    for module in modules:  # before the first job, not during it
        importlib.import_module(module)


def _warm() -> int:
    return os.getpid()


def new_process_pool(workers: int, nice: int, preload: tuple[str, ...]) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes from the forkserver, started now in the background
    (so the first job does not pay for process start and imports). Call on the running loop."""
    ctx = multiprocessing.get_context("forkserver")
    _preload.update(preload)
    ctx.set_forkserver_preload(sorted(_preload))  # takes effect when the forkserver starts
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(nice, preload, os.getpid()))
    loop = asyncio.get_running_loop()
    for _ in range(workers):
        fut = loop.run_in_executor(pool, _warm)
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
    return pool


def _noop() -> None:
    return None


def release_last_job(pool: Executor) -> None:
    """Queue an empty job: a process pool's queue feeder thread keeps the last job it
    pickled alive until it pickles the next one (CPython's ``multiprocessing.queues._feed``),
    so after a big job (a 16 MB state) that memory would stay held while the pool idles.
    Not awaited, so that a caller can queue it when its job was cancelled (a deleted room's
    snapshot build): that job was pickled all the same."""
    with contextlib.suppress(BrokenExecutor, RuntimeError):  # a broken or shut-down pool sends nothing more
        pool.submit(_noop)


def terminate_processes(pool: Executor) -> None:
    """SIGTERM every worker process of a process ``pool`` (no public API for this before
    Python 3.14); a thread pool's threads cannot be stopped and are left to finish."""
    if not isinstance(pool, ProcessPoolExecutor):
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError):
            proc.terminate()
