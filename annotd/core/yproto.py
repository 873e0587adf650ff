"""y-protocols framing: classify incoming binary frames and build outgoing ones.

The codec itself is pycrdt's (``create_sync_message``, ``create_update_message``,
``create_awareness_message``, ``Decoder``); this module only adds the strictness a server
needs in front of it: pycrdt's decoder assumes well-formed input (a truncated varint
raises ``IndexError``, a short payload is silently cut), so every frame is checked here
and anything odd becomes a :class:`~annotd.base.errors.MalformedFrame` before it can touch a
document.

annotd.v1 adds one binary message type, ``MSG_SEQ`` (100): ``varuint(100) varuint(seq)``
followed by a complete standard y-protocols message. It tells an annotd.v1 client the
seq it has reached after applying the inner message.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from pycrdt import (
    Decoder,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
)
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message

from ..base.errors import MalformedFrame

MSG_AUTH = 2
MSG_QUERY_AWARENESS = 3
MSG_SEQ = 100
EMPTY_UPDATE = b"\x00\x00"
_SYNC_STEP1_PREFIX = bytes((YMessageType.SYNC, YSyncMessageType.SYNC_STEP1))


def is_sync_step1(data: bytes) -> bool:
    """Whether a frame is a sync step 1, from its first two bytes (no parse: the relay path
    uses it to time a joiner's first sync)."""
    return data[:2] == _SYNC_STEP1_PREFIX


class Kind(Enum):
    SYNC_STEP1 = "sync_step1"
    SYNC_STEP2 = "sync_step2"
    SYNC_UPDATE = "sync_update"
    AWARENESS = "awareness"
    QUERY_AWARENESS = "query_awareness"


class Message(NamedTuple):
    """One decoded incoming frame: its kind and its payload (state vector, update or awareness)."""

    kind: Kind
    payload: bytes


def _read_payload(data: bytes, start: int) -> bytes:
    decoder = Decoder(data[start:])
    try:
        length = decoder.read_var_uint()
    except (IndexError, RuntimeError):
        raise MalformedFrame("truncated length prefix") from None
    payload = data[start + decoder.i0 :]
    if len(payload) != length:
        raise MalformedFrame(f"payload length {len(payload)} does not match declared {length}")
    return payload


def parse(data: bytes) -> Message:
    """Decode one binary frame from a client, or raise :class:`MalformedFrame`."""
    if not data:
        raise MalformedFrame("empty frame")
    msg_type = data[0]
    if msg_type == YMessageType.SYNC:
        if len(data) < 2:
            raise MalformedFrame("sync message without a sub-type")
        sub = data[1]
        payload = _read_payload(data, 2)
        if sub == YSyncMessageType.SYNC_STEP1:
            return Message(Kind.SYNC_STEP1, payload)
        if sub == YSyncMessageType.SYNC_STEP2:
            return Message(Kind.SYNC_STEP2, payload)
        if sub == YSyncMessageType.SYNC_UPDATE:
            return Message(Kind.SYNC_UPDATE, payload)
        raise MalformedFrame(f"unknown sync sub-type {sub}")
    if msg_type == YMessageType.AWARENESS:
        return Message(Kind.AWARENESS, _read_payload(data, 1))
    if msg_type == MSG_QUERY_AWARENESS:
        return Message(Kind.QUERY_AWARENESS, b"")
    if msg_type == MSG_AUTH:
        raise MalformedFrame("auth messages are not supported (annotd has no authentication)")
    raise MalformedFrame(f"unknown message type {msg_type}")


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    """``{client id: clock}`` of an encoded state vector (``varuint(n)`` then ``n`` pairs of
    varuints), or :class:`MalformedFrame` when it is not one."""
    decoder = Decoder(state_vector)
    clocks: dict[int, int] = {}
    try:
        for _ in range(decoder.read_var_uint()):
            client = decoder.read_var_uint()
            clocks[client] = decoder.read_var_uint()
    except (IndexError, RuntimeError, ValueError):
        raise MalformedFrame("undecodable state vector") from None
    if decoder.i0 != len(state_vector):
        raise MalformedFrame("undecodable state vector: trailing bytes")
    return clocks


def covers(have: dict[int, int], need: dict[int, int]) -> bool:
    """Whether a state vector ``have`` includes everything ``need`` has (every clock >=)."""
    return all(have.get(client, 0) >= clock for client, clock in need.items())


def sync_step1(state_vector: bytes) -> bytes:
    return create_sync_step1_message(state_vector)


def sync_step2(update: bytes) -> bytes:
    return create_sync_step2_message(update)


_SMALL = tuple(bytes((i,)) for i in range(128))
_SYNC_UPDATE_PREFIX = bytes((YMessageType.SYNC, YSyncMessageType.SYNC_UPDATE))
_SEQ_PREFIX = bytes((MSG_SEQ,))


def varuint(num: int) -> bytes:
    """lib0's unsigned varint (pycrdt's ``write_var_uint``), without its list and enum
    conversions: two are written per relayed update."""
    if num < 0x80:
        return _SMALL[num]
    out = bytearray()
    while num > 0x7F:
        out.append(0x80 | (num & 0x7F))
        num >>= 7
    out.append(num)
    return bytes(out)


def sync_update(update: bytes) -> bytes:
    """The sync-update message of ``update`` (pycrdt's ``create_update_message``)."""
    return b"".join((_SYNC_UPDATE_PREFIX, varuint(len(update)), update))


def awareness(update: bytes) -> bytes:
    return create_awareness_message(update)


def sync_step2_with_seq(seq: int | None, update: bytes) -> bytes:
    """``sync_step2(update)``, wrapped with ``seq`` when given, built with one copy of ``update``."""
    return b"".join(sync_step2_parts(seq, update))


def sync_step2_parts(seq: int | None, update: bytes) -> tuple[bytes, bytes]:
    """:func:`sync_step2_with_seq` as (its few header bytes, ``update`` itself): a message in
    two parts, so a big state is sent without being copied into a new message."""
    return _sync_parts(YSyncMessageType.SYNC_STEP2, seq, update)


def sync_update_parts(seq: int | None, update: bytes) -> tuple[bytes, bytes]:
    """``with_seq(seq, sync_update(update))`` (unwrapped without ``seq``) as (header,
    ``update``): a logged event replayed to a joiner without copying it."""
    return _sync_parts(YSyncMessageType.SYNC_UPDATE, seq, update)


def _sync_parts(sub: int, seq: int | None, update: bytes) -> tuple[bytes, bytes]:
    head = _SEQ_PREFIX + varuint(seq) if seq is not None else b""
    return head + bytes((YMessageType.SYNC, sub)) + varuint(len(update)), update


def with_seq(seq: int, message: bytes) -> bytes:
    """Wrap a standard message for an annotd.v1 client: ``varuint(100) varuint(seq) message``."""
    return b"".join((_SEQ_PREFIX, varuint(seq), message))
