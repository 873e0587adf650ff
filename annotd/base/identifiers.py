"""Every identifier and string pattern a client sends, defined once.

Why one module: the same id is checked by the params dataclasses (JSON-RPC, REST,
OpenAPI and protocol.md are generated from their ``pattern``), by the hub (rooms created
by a socket), by history (tags) and by the canvas (ids stored in the document); a
pattern written twice drifts. Each ``*_PATTERN`` is the text published in the docs and
matched with ``fullmatch``; each ``*_RE`` is the same pattern compiled.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Container
from typing import Any, Final, TypeGuard

from .errors import InvalidParams

ID_PATTERN: Final = r"[A-Za-z0-9_-]{1,64}"
"""Ids of rooms and of every canvas object (annotations, threads, messages, groups)."""
ID_RE: Final = re.compile(ID_PATTERN)

TAG_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
"""Version tags: safe in a URL path and a file name (exports are named after them)."""
TAG_RE: Final = re.compile(TAG_PATTERN)

MAX_VERSION_NAME_LENGTH: Final = 80
"""The longest display name of a version ("Review 1"): free text shown to people, while
its tag stays the URL- and file-safe id."""

JOB_ID_PATTERN: Final = r"[A-Za-z0-9_-]{1,32}"
"""Export job ids (the server makes them; a longer string cannot be one)."""

COLOR_PATTERN: Final = r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
"""Colours stored in an annotation's style (``none`` is allowed besides)."""
COLOR_RE: Final = re.compile(COLOR_PATTERN)

BACKGROUND_PATTERN: Final = r"transparent|white|#[0-9a-fA-F]{6}"
"""An export's background."""

MAX_USER_ID_LENGTH: Final = 128
"""The longest user id: a socket's ``userId``, REST's ``X-Annotd-User`` / ``?userId=``, and
every ``createdBy``/``author`` stored in a document."""
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")

SHA256_PATTERN: Final = r"[0-9a-f]{64}"
"""Base images are named by the lowercase hex sha256 of their bytes."""
SHA256_RE: Final = re.compile(SHA256_PATTERN)


def is_id(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None


def check_room_id(room_id: Any, field: str = "roomId") -> str:
    """``room_id`` if it is a valid id, else ``InvalidParams`` naming ``field``."""
    if not is_id(room_id):
        raise InvalidParams(field, f"must match {ID_PATTERN}")
    return room_id


def check_user_id(user_id: str, field: str = "userId") -> str:
    """``user_id`` if it is a usable user id (at most :data:`MAX_USER_ID_LENGTH` characters,
    no control characters), else ``InvalidParams`` naming ``field``. Refused, never cut:
    a truncated id would stamp someone else's name on edits."""
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidParams(field, f"at most {MAX_USER_ID_LENGTH} characters")
    if _CONTROL_RE.search(user_id):
        raise InvalidParams(field, "must not contain control characters")
    return user_id


def check_tag(tag: Any, field: str = "tag") -> str:
    """``tag`` if it is a valid version tag, else ``InvalidParams`` naming ``field``."""
    if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
        raise InvalidParams(field, f"must match {TAG_PATTERN}")
    return tag


def check_version_name(name: Any, field: str = "name") -> str:
    """``name`` stripped of surrounding blanks if it is a usable version name (1 to
    :data:`MAX_VERSION_NAME_LENGTH` characters, no control characters), else
    ``InvalidParams`` naming ``field``."""
    if not isinstance(name, str):
        raise InvalidParams(field, "must be a string")
    name = name.strip()
    if not name:
        raise InvalidParams(field, "must not be blank")
    if len(name) > MAX_VERSION_NAME_LENGTH:
        raise InvalidParams(field, f"at most {MAX_VERSION_NAME_LENGTH} characters")
    if _CONTROL_RE.search(name):
        raise InvalidParams(field, "must not contain control characters")
    return name


_TAG_UNSAFE_RE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def tag_from_name(name: str, taken: Container[str]) -> str:
    """The tag a version named ``name`` gets when none is given: the name with accents
    dropped and every run of other characters turned into one ``-`` ("Review 1" →
    ``Review-1``), cut to fit, ``-2``, ``-3``… appended while ``taken`` holds it. A name with
    no usable character gives ``version``. Derived by the server, so every client names the
    same version the same way."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    base = _TAG_UNSAFE_RE.sub("-", ascii_name).strip("-._")[:56].rstrip("-._") or "version"
    tag, n = base, 1
    while tag in taken:
        n += 1
        tag = f"{base}-{n}"
    return tag


def file_stem(room_id: str, tag: str | None, ts: float) -> str:
    """What a download of a room is named before its extension: ``<room>-<tag>`` for a
    version, else ``<room>-<YYYY-MM-DD-HHMM>`` (``ts``, seconds, in the server's local time:
    annotd listens on loopback, so that is the clock of the person downloading). People
    find files by version names and times; seqs stay in the API."""
    if tag:
        return f"{room_id}-{tag}"
    return f"{room_id}-{time.strftime('%Y-%m-%d-%H%M', time.localtime(ts))}"
