"""One exception tree, mapped once.

Every error a client can cause is an :class:`AnnotdError` subclass that knows its JSON-RPC
code, its HTTP status and, where it ends a WebSocket, its close code. Adapters
(``rpc``, ``httpserver``, ``wsserver``) translate by reading those attributes and never
invent codes of their own, so the same mistake gets the same answer on every surface.
Anything that is *not* an ``AnnotdError`` is a bug: adapters log it and answer
-32603 / 500 / 1011 without details.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

# JSON-RPC 2.0 standard codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# WebSocket close codes (RFC 6455 and annotd's 4xxx range; documented in protocol.md).
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED = 1003
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TOO_SLOW = 4008
CLOSE_NOT_FOUND = 4404
CLOSE_ROOM_DELETED = 4410
CLOSE_ROOM_FULL = 4429
CLOSE_BAD_REQUEST = 4400
CLOSE_DOCUMENT_TOO_LARGE = 4413


class CloseCode(NamedTuple):
    """What a close code means to a client: ``final`` when reconnecting cannot help (the
    same request would be refused again), else the client reconnects (with backoff, or at
    once for 4008) and resumes with ``lastSeq``."""

    name: str
    final: bool
    meaning: str


CLOSE_CODES: dict[int, CloseCode] = {
    CLOSE_GOING_AWAY: CloseCode("going_away", False, "the server is shutting down or restarting"),
    CLOSE_PROTOCOL_ERROR: CloseCode("protocol_error", True, "a frame broke the protocol"),
    CLOSE_UNSUPPORTED: CloseCode("unsupported", True, "a frame of a kind the server does not accept"),
    CLOSE_TOO_BIG: CloseCode("too_big", True, "a frame larger than limits.max_frame_bytes"),
    CLOSE_INTERNAL: CloseCode("internal", False, "a server bug; reconnecting may help"),
    CLOSE_TOO_SLOW: CloseCode("too_slow", False, "the client fell behind its send queue; reconnect at once"),
    CLOSE_BAD_REQUEST: CloseCode("bad_request", True, "the connection request was invalid"),
    CLOSE_NOT_FOUND: CloseCode("room_not_found", True, "the room does not exist"),
    CLOSE_DOCUMENT_TOO_LARGE: CloseCode("document_too_large", True,
                                        "an update would take the document past limits.max_document_bytes"),
    CLOSE_ROOM_DELETED: CloseCode("room_deleted", True, "the room was deleted"),
    CLOSE_ROOM_FULL: CloseCode("room_full", False, "the room has limits.max_clients_per_room clients; retry later"),
}
"""Every close code annotd sends, the one home of which are final (protocol.md's table and
the clients read this)."""

FINAL_CLOSE_CODES = frozenset(code for code, c in CLOSE_CODES.items() if c.final)


class AnnotdError(Exception):
    """Base of every error a client can cause.

    ``code`` is a stable string clients may switch on; ``rpc_code`` and ``http_status``
    are how the adapters present it; ``data`` is optional structured detail.
    """

    code = "internal"
    rpc_code = INTERNAL_ERROR
    http_status = 500
    close_code = CLOSE_INTERNAL

    def __init__(self, message: str, *, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        return error_json(self.code, self.message, self.data)


def error_json(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error object of every surface (HTTP bodies, socket ``error`` frames, refused
    handshakes): ``{"code", "message"}`` and ``data`` when there is any. Built only here."""
    body: dict[str, Any] = {"code": code, "message": message}
    if data:
        body["data"] = data
    return body


def error_body(code: str, message: str, data: dict[str, Any] | None = None) -> bytes:
    """An HTTP error body: ``{"error": <error_json>}`` as JSON bytes."""
    return orjson.dumps({"error": error_json(code, message, data)})


class InvalidParams(AnnotdError):
    """A parameter is missing, of the wrong type or out of range; ``field`` names it."""

    code = "invalid_params"
    rpc_code = INVALID_PARAMS
    http_status = 422
    close_code = CLOSE_BAD_REQUEST

    def __init__(self, field: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{field}: {message}", data={"field": field, **(data or {})})
        self.field = field


class BadRequest(AnnotdError):
    """The request as a whole is unusable (wrong content type, unreadable body)."""

    code = "bad_request"
    rpc_code = INVALID_REQUEST
    http_status = 400
    close_code = CLOSE_BAD_REQUEST


class NotFound(AnnotdError):
    code = "not_found"
    rpc_code = -32004
    http_status = 404
    close_code = CLOSE_NOT_FOUND


class RoomNotFound(NotFound):
    code = "room_not_found"
    rpc_code = -32001

    def __init__(self, room_id: str) -> None:
        super().__init__(f"room {room_id!r} does not exist", data={"roomId": room_id})


class Conflict(AnnotdError):
    """The request clashes with current state (a taken id or tag, a job not done yet)."""

    code = "conflict"
    rpc_code = -32009
    http_status = 409
    close_code = CLOSE_BAD_REQUEST


class LimitReached(AnnotdError):
    """A configured limit (rooms, clients, queue length) is full."""

    code = "limit_reached"
    rpc_code = -32029
    http_status = 429
    close_code = CLOSE_ROOM_FULL


class PayloadTooLarge(AnnotdError):
    code = "payload_too_large"
    rpc_code = -32013
    http_status = 413
    close_code = CLOSE_TOO_BIG


class DocumentTooLarge(AnnotdError):
    """A change would grow the room's document past ``limits.max_document_bytes``; nothing
    of it was applied."""

    code = "document_too_large"
    rpc_code = -32014
    http_status = 413
    close_code = CLOSE_DOCUMENT_TOO_LARGE


class MeasureFirst(Exception):  # noqa: N818 - a signal, not an error a client sees
    """Internal: a change may not fit the room's size limit by the running estimate, which
    is stale (it counts updates since the last snapshot at their full size). The room's door
    (:class:`annotd.live.liveroom.LiveRoom`) measures the document exactly
    (:meth:`annotd.live.snapshots.SnapshotSchedule.measure`), off the relay path, and retries
    once; nothing was applied."""

    def __init__(self, room_id: str) -> None:
        super().__init__(room_id)
        self.room_id = room_id


class UnsupportedMedia(AnnotdError):
    code = "unsupported_media"
    rpc_code = -32015
    http_status = 415
    close_code = CLOSE_UNSUPPORTED


class InvalidImage(AnnotdError):
    """The bytes are not a complete PNG, JPEG or WebP image within the limits."""

    code = "invalid_image"
    rpc_code = -32022
    http_status = 422
    close_code = CLOSE_BAD_REQUEST


class RenderCrashed(AnnotdError):
    """The worker process rendering an export job died; the job fails with this message
    (an internal error: nothing the client sent caused it)."""


class Gone(AnnotdError):
    """What was asked for existed but is no longer retained (a pruned seq, an evicted export)."""

    code = "gone"
    rpc_code = -32010
    http_status = 410
    close_code = CLOSE_BAD_REQUEST


class Forbidden(AnnotdError):
    code = "forbidden"
    rpc_code = -32003
    http_status = 403
    close_code = CLOSE_BAD_REQUEST


class MalformedFrame(AnnotdError):
    """A binary frame that is not a decodable y-protocols message."""

    code = "malformed_frame"
    rpc_code = INVALID_REQUEST
    http_status = 400
    close_code = CLOSE_PROTOCOL_ERROR


class StorageFull(AnnotdError):
    """The disk refused a write (no space left, a file-size limit, a failed write): the
    change was not made durable. Nothing half-written is kept (the transaction rolled
    back), the room stays readable, and writes succeed again once space is back.

    HTTP 507 (Insufficient Storage) and -32007 (the -320xx code of its status). A socket
    is not closed for it (the update that could not be stored gets an ``error`` frame and
    no ``ack``); where an adapter must close, 1011 is the right code: it is not final, and
    the client reconnects with backoff and resends, through the Yjs sync, whatever was
    never acknowledged."""

    code = "storage_full"
    rpc_code = -32007
    http_status = 507
    close_code = CLOSE_INTERNAL


class RoomDamaged(AnnotdError):
    """A room kept on disk (``rooms.data_dir``) failed its checks when it was loaded (a
    checksum, a missing event, a bad page): it cannot be opened, and retrying will not help
    until an operator restores it. Every other room is unaffected; the room stays listed
    and can be deleted. A socket asking for it is closed with 1011."""

    code = "room_damaged"
    rpc_code = -32050
    http_status = 500
    close_code = CLOSE_INTERNAL

    def __init__(self, room_id: str, reason: str) -> None:
        super().__init__(f"room {room_id!r} is damaged on disk and cannot be opened: {reason}",
                         data={"roomId": room_id, "reason": reason})
        self.room_id = room_id
        self.reason = reason
