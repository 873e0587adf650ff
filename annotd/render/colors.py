"""CSS hex colours to RGBA tuples.

Why here and strict: the view has already validated colours, so anything else reaching the
renderer is a bug and raises instead of silently painting black.
"""

from __future__ import annotations

RGBA = tuple[int, int, int, int]


def parse_color(value: str) -> RGBA | None:
    """``#rgb``, ``#rrggbb`` or ``#rrggbbaa`` -> (r, g, b, a); ``none``/``transparent`` -> None."""
    v = value.strip().lower()
    if v in ("none", "transparent", ""):
        return None
    if v == "white":
        return (255, 255, 255, 255)
    if v == "black":
        return (0, 0, 0, 255)
    if not v.startswith("#"):
        raise ValueError(f"unsupported colour {value!r}")
    h = v[1:]
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    if len(h) not in (6, 8):
        raise ValueError(f"unsupported colour {value!r}")
    try:
        n = [int(h[i : i + 2], 16) for i in range(0, len(h), 2)]
    except ValueError as exc:
        raise ValueError(f"unsupported colour {value!r}") from exc
    if len(n) == 3:
        n.append(255)
    return (n[0], n[1], n[2], n[3])


def css_hex(color: RGBA) -> tuple[str, float]:
    """(``#rrggbb``, alpha 0..1) for SVG attributes."""
    return f"#{color[0]:02x}{color[1]:02x}{color[2]:02x}", color[3] / 255.0
