"""The canvas document: schema, materialized view and mutations.

Nothing here does I/O; everything takes or returns a ``pycrdt.Doc`` or plain values.
"""
