"""Which browser origins may open sockets and call the side port.

Browsers send ``Origin`` on cross-site WebSocket handshakes and do not apply CORS to them,
so without this check any web page a user visits could read their rooms. Requests
without an Origin (scripts, native clients) and loopback origins are allowed by default;
``server.allowed_origins`` adds exact origins (or ``"*"`` for any).

annotd's own web client is served by its side port, so its pages have the side port's
origin whatever address annotd is bound to: that exact origin (``http://<the host the
browser used>:<side port>``) is accepted too (:func:`is_own_origin`, :func:`same_origin`).
Nothing else is widened: another port or scheme on the same host stays refused. Which
``Host`` values are acceptable at all is checked before this, by :mod:`annotd.base.hosts` (the
DNS-rebinding defence), so "the host the browser used" is always an allowed one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOOPBACK = re.compile(r"https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?")


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    if origin is None:
        return True
    if LOOPBACK.fullmatch(origin):
        return True
    return "*" in allowed or origin in allowed


def _hostname(host_header: str) -> str | None:
    """The host part of a ``Host`` header (``[::1]:8765`` → ``[::1]``), lower-cased."""
    try:
        parts = urlsplit(f"//{host_header}")
        if parts.hostname is None:
            return None
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    name = parts.hostname.lower()
    return f"[{name}]" if ":" in name else name


def is_own_origin(origin: str | None, host_header: str | None, side_ports: tuple[int, ...]) -> bool:
    """True when ``origin`` is this daemon's side port on the host the browser connected to:
    a page annotd served itself opening its room socket (ws port ≠ side port, so the
    origins differ even though both are annotd)."""
    if origin is None or host_header is None or not side_ports:
        return False
    host = _hostname(host_header)
    if host is None:
        return False
    return any(origin.lower() == f"http://{host}:{port}" for port in side_ports)


def same_origin(origin: str | None, scheme: str, host_header: str | None) -> bool:
    """True for a request from a page of the same origin (the side port's own pages)."""
    if origin is None or host_header is None:
        return False
    return origin.lower() == f"{scheme}://{host_header}".lower()
