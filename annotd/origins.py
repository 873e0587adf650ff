"""Which browser origins may open sockets and call the side port.

Browsers send ``Origin`` on cross-site WebSocket handshakes and do not apply CORS to
them, so without this check any web page a user visits could read their rooms. Requests
without an Origin (scripts, native clients) and loopback origins are allowed by default;
``server.allowed_origins`` adds exact origins (or ``"*"`` for any).
"""

from __future__ import annotations

import re

LOOPBACK = re.compile(r"https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?")


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    if origin is None:
        return True
    if LOOPBACK.fullmatch(origin):
        return True
    return "*" in allowed or origin in allowed
