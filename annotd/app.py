"""Process entry for ``annotd serve``: logging, event loop choice, daemon lifetime."""

from __future__ import annotations

import asyncio
import logging

from . import logsetup
from .config import Config
from .daemon import Daemon

log = logging.getLogger("annotd")


def run(cfg: Config) -> int:
    logsetup.configure(cfg.log.level, cfg.log.format)
    loop_factory = None
    if cfg.server.use_uvloop:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            log.warning("uvloop is not installed; using the default asyncio loop")
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(_serve(cfg))
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1


async def _serve(cfg: Config) -> int:
    daemon = Daemon(cfg)
    await daemon.run_until_signalled()
    return daemon.exit_status
