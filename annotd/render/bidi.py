"""Unicode bidirectional algorithm (UAX #9) for one line of annotation text: embedding levels
and the visual order of runs.

Why written here: the shaper needs *levels* (to cut a line into runs of one direction, shape
each with HarfBuzz in that direction, then order the runs visually). python-bidi, the
maintained binding, returns only the reordered string (its levels are only printed in a debug
dump), and ICU's bindings build against the machine's libicu. The algorithm over a plain
paragraph is small: it is the implicit part of UAX #9 (rules P2-P3, W1-W7, N1-N2, I1-I2,
L1-L2). Two parts of the full algorithm are left out and documented in DESIGN.md: explicit
embeddings, overrides and isolates (LRE...PDI) are treated as boundary neutrals, and bracket
pairs (N0) resolve like other neutrals. ``tests/render/test_text_layout.py`` checks the visual order
against python-bidi on mixed-direction lines without those characters.

Mirrored glyphs (``(`` in a right-to-left run) are HarfBuzz's job: it mirrors in RTL buffers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_STRONG_R = frozenset(("R", "AL"))
_NEUTRAL = frozenset(("B", "S", "WS", "ON"))
_EXPLICIT = frozenset(("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"))


def classes(text: str) -> list[str]:
    """Bidi class of each character; explicit formatting characters count as BN."""
    out = []
    for ch in text:
        c = unicodedata.bidirectional(ch) or "L"
        out.append("BN" if c in _EXPLICIT else c)
    return out


def base_level(text: str) -> int:
    """P2-P3: 1 when the first strong character is right-to-left, else 0."""
    for c in classes(text):
        if c == "L":
            return 0
        if c in _STRONG_R:
            return 1
    return 0


def _resolve_weak(t: list[str], sos: str) -> None:
    n = len(t)
    prev = sos
    for i in range(n):  # W1: NSM takes the type before it
        if t[i] == "NSM":
            t[i] = prev if prev != "BN" else sos
        if t[i] != "BN":
            prev = t[i]
    strong = sos
    for i in range(n):  # W2, W3
        if t[i] in ("L", "R", "AL"):
            strong = t[i]
        if t[i] == "EN" and strong == "AL":
            t[i] = "AN"
    for i in range(n):
        if t[i] == "AL":
            t[i] = "R"
    for i in range(1, n - 1):  # W4
        if t[i] == "ES" and t[i - 1] == "EN" and t[i + 1] == "EN":
            t[i] = "EN"
        elif t[i] == "CS" and t[i - 1] == t[i + 1] and t[i - 1] in ("EN", "AN"):
            t[i] = t[i - 1]
    i = 0
    while i < n:  # W5: ET next to EN becomes EN
        if t[i] == "ET":
            j = i
            while j < n and t[j] == "ET":
                j += 1
            if (i > 0 and t[i - 1] == "EN") or (j < n and t[j] == "EN"):
                t[i:j] = ["EN"] * (j - i)
            i = j
        else:
            i += 1
    for i in range(n):  # W6
        if t[i] in ("ES", "ET", "CS"):
            t[i] = "ON"
    strong = sos
    for i in range(n):  # W7
        if t[i] in ("L", "R"):
            strong = t[i]
        if t[i] == "EN" and strong == "L":
            t[i] = "L"


def _direction(c: str) -> str | None:
    if c == "L":
        return "L"
    if c in ("R", "EN", "AN"):
        return "R"
    return None


def levels(text: str, base: int | None = None) -> list[int]:
    """The embedding level of each character of ``text`` (one line, no paragraph separators
    inside), with paragraph level ``base`` (default: from the first strong character)."""
    if base is None:
        base = base_level(text)
    orig = classes(text)
    t = list(orig)
    sos = "R" if base % 2 else "L"
    _resolve_weak(t, sos)
    n = len(t)
    i = 0
    while i < n:  # N1, N2: runs of neutrals between strong types
        if t[i] in _NEUTRAL or t[i] == "BN":
            j = i
            while j < n and (t[j] in _NEUTRAL or t[j] == "BN"):
                j += 1
            before = _direction(t[i - 1]) if i > 0 else sos
            after = _direction(t[j]) if j < n else sos
            fill = before if before == after and before is not None else sos
            t[i:j] = [fill] * (j - i)
            i = j
        else:
            i += 1
    out = []
    for c in t:  # I1, I2
        if base % 2 == 0:
            out.append(base + (1 if c == "R" else 2 if c in ("AN", "EN") else 0))
        else:
            out.append(base + (1 if c in ("L", "EN", "AN") else 0))
    j = n  # L1: trailing whitespace (and whitespace before a tab) goes back to the base level
    while j > 0 and orig[j - 1] in ("WS", "BN", "S"):
        j -= 1
        out[j] = base
    for k in range(n):
        if orig[k] == "S":
            out[k] = base
            m = k
            while m > 0 and orig[m - 1] in ("WS", "BN"):
                m -= 1
                out[m] = base
    return out


def runs(lv: Sequence[int]) -> list[tuple[int, int, int]]:
    """Maximal runs (start, end, level) of equal level, in logical order."""
    out: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(lv) + 1):
        if i == len(lv) or lv[i] != lv[start]:
            out.append((start, i, lv[start]))
            start = i
    return out


def visual_order(items: Sequence[tuple[int, int, int]]) -> list[int]:
    """L2: indices of ``items`` (start, end, level), given in logical order, in visual order:
    from the highest level down to the lowest odd one, reverse every sequence at or above it."""
    order = list(range(len(items)))
    if not items:
        return order
    lv = [it[2] for it in items]
    top = max(lv)
    low_odd = min((v for v in lv if v % 2), default=top + 1)
    for level in range(top, low_odd - 1, -1):
        i = 0
        while i < len(order):
            if lv[order[i]] >= level:
                j = i
                while j < len(order) and lv[order[j]] >= level:
                    j += 1
                order[i:j] = order[i:j][::-1]
                i = j
            else:
                i += 1
    return order
