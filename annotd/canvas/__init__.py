"""The canvas document: schema, reading and repair, the materialized view, pins, and the
operations that write it.

Nothing here does I/O; everything takes or returns a ``pycrdt.Doc`` or plain values.
Read side: :mod:`reader` → :mod:`repair` (with :mod:`coerce` and :mod:`pins`) →
:mod:`view`, encoded by :mod:`codec`. Write side: :mod:`validate` → :mod:`ops`.
"""
