"""``rooms.data_dir`` at start-up: take the folder and list its rooms, before serving.

The store (:mod:`annotd.storage`) is opened here, by the process, so that its lock is held
for the daemon's whole life and a second daemon on the same folder is refused before it
binds a port. The daemon then loads every stored room and writes every room through the
store (:mod:`annotd.process.persist`): a change is acknowledged only once it is on disk.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..base.config import Config
from ..storage import SqliteStore

log = logging.getLogger("annotd.datadir")


def open_store(cfg: Config) -> SqliteStore | None:
    """The store in ``rooms.data_dir`` (``None`` when unset); raises ``StoreLocked`` when
    another process holds it, ``OSError``/``sqlite3.DatabaseError`` when it is unusable."""
    if not cfg.rooms.data_dir:
        return None
    t0 = time.perf_counter()
    store = SqliteStore(Path(cfg.rooms.data_dir), cfg.storage)
    rooms = store.list_rooms()
    log.info("data_dir opened", extra={"dir": cfg.rooms.data_dir, "rooms": len(rooms), "sync": cfg.storage.sync,
                                       "ms": round((time.perf_counter() - t0) * 1e3, 1)})
    log.info("rooms are kept on disk: a change is acknowledged once it is committed "
             f"(storage.sync = {cfg.storage.sync!r})")
    return store
