"""The on-disk room store (``rooms.data_dir``): rooms that survive ``kill -9``.

:class:`RoomStore` is the interface the room's door calls; :class:`SqliteStore` is its
implementation on SQLite from the standard library (WAL, one writer thread with group
commit). ``DESIGN.md`` in this folder is the design: schema, what each ``storage.sync``
level promises, how the door uses it, what is not done yet.
"""

from .records import RoomDamaged, RoomRecord, RoomSummary, StoreClosed, StoredRoom, StoreError, StoreLocked, StoreRefused
from .sqlite import SqliteStore
from .store import CommitListener, RoomStore

__all__ = ["CommitListener", "RoomDamaged", "RoomRecord", "RoomStore", "RoomSummary", "SqliteStore", "StoreClosed", "StoreError",
           "StoreLocked", "StoreRefused", "StoredRoom"]
