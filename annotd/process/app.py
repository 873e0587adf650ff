"""Process entry for ``annotd serve``: logging, event loop choice, daemon lifetime."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from ..base import logsetup
from ..base.config import Config
from ..storage import SqliteStore, StoreLocked
from . import datadir
from .daemon import Daemon

EXIT_BAD_CONFIG = 2
"""As the CLI's: a data_dir held by another daemon is a start-up refusal, not a crash."""

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
    _warn_missing_fonts()
    try:
        store = datadir.open_store(cfg)
    except StoreLocked as exc:
        log.error("cannot start: %s", exc)
        return EXIT_BAD_CONFIG
    except (OSError, sqlite3.DatabaseError) as exc:
        log.error("cannot start: rooms.data_dir %s: %s", cfg.rooms.data_dir, exc)
        return EXIT_BAD_CONFIG
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(_serve(cfg, store))
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    finally:
        if store is not None:
            store.close()


def _warn_missing_fonts() -> None:
    """Exports still run without the Debian fallback fonts (the scripts they cover show the
    primary face's missing-glyph box); say so once, naming the packages to install."""
    from ..render.fonts import missing

    for line in missing():
        log.warning("export fallback font not installed, its scripts will show boxes: %s", line)


async def _serve(cfg: Config, store: SqliteStore | None) -> int:
    daemon = Daemon(cfg, store=store)
    await daemon.run_until_signalled()
    return daemon.exit_status
