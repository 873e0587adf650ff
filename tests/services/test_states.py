"""The state worker lets go of a job's arguments, also when the job's caller was cancelled.

Why: a process pool's queue feeder thread keeps the last job it pickled until it pickles
the next one, so the worker queues an empty job after each; a room deleted during its
snapshot build cancels the caller, and the 4 MB state it had sent stayed held
(BENCHMARKS.md, "Round two, continued").
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor, Future
from typing import Any

import pytest

from annotd.base import procpool
from annotd.services import states
from annotd.services.states import StateWorker

from ..helpers import T


async def test_a_cancelled_job_still_releases_what_it_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    released: list[Executor] = []
    real = procpool.release_last_job

    def spy(pool: Executor) -> None:
        released.append(pool)
        real(pool)

    monkeypatch.setattr(states.procpool, "release_last_job", spy)
    worker = StateWorker()
    try:
        assert await asyncio.wait_for(worker.run(abs, -3), T) == 3
        assert len(released) == 1
        pool = released[0]
        submitted = asyncio.Event()
        real_submit = pool.submit

        def submit(fn: Any, /, *args: Any) -> Future[Any]:
            submitted.set()
            return real_submit(fn, *args)

        monkeypatch.setattr(pool, "submit", submit)
        job = asyncio.create_task(worker.run(time.sleep, 1.0))
        await asyncio.wait_for(submitted.wait(), T)  # the job is in the pool: pickled and sent
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        assert len(released) == 2 and released[1] is released[0]
    finally:
        await worker.close()
