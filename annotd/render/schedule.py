"""In what order paint steps run: phases that batch aggdraw work, and disjoint buffers.

Why: aggdraw (AGG) paints shapes, Pillow paints text and composites group-opacity layers.
They cannot share one pixel buffer: aggdraw copies the pixels it draws on into its own buffer
and back, so every switch between the two costs copies of the area involved. Painting in the
user's z-order would switch hundreds of times. But two steps whose boxes do not intersect
touch disjoint pixels and commute: whichever runs first, every pixel sees the same sequence
of paint operations, so the result is identical. :func:`phases` uses that to group steps into
alternating phases (aggdraw, Pillow, aggdraw, ...) so that each step still runs after every
earlier step it overlaps; :func:`regions` then splits one aggdraw phase into disjoint
rectangles, each copied into aggdraw once.

Overlap is decided on a grid of ``cell`` px squares (conservative: boxes sharing a cell count
as overlapping), which keeps the scheduling linear in the number of steps.
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[int, int, int, int]
"""(x0, y0, x1, y1), half-open, output pixels."""

AGG, PIL = 0, 1
"""Step kinds; AGG phases are even, PIL phases odd."""


def phases(boxes: Sequence[Box], kinds: Sequence[int], cell: int) -> list[int]:
    """The phase of each step (in paint order): the lowest phase of the step's kind that is
    not before any overlapping earlier step of the same kind and after every overlapping
    earlier step of the other kind."""
    grid: dict[tuple[int, int], list[int]] = {}
    out: list[int] = []
    for (x0, y0, x1, y1), kind in zip(boxes, kinds, strict=True):
        cells = [(cx, cy) for cx in range(x0 // cell, (x1 - 1) // cell + 1)
                 for cy in range(y0 // cell, (y1 - 1) // cell + 1)]
        low = 0
        for c in cells:
            seen = grid.get(c)
            if seen is not None:
                low = max(low, seen[kind], seen[1 - kind] + 1)
        if low % 2 != kind:
            low += 1
        for c in cells:
            seen = grid.setdefault(c, [-1, -1])
            if seen[kind] < low:
                seen[kind] = low
        out.append(low)
    return out


def _meets(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def regions(boxes: Sequence[Box]) -> list[tuple[Box, list[int]]]:
    """Pairwise disjoint rectangles covering ``boxes``, each with the indices (ascending) of
    the boxes inside it. Boxes that intersect, directly or through a chain, share a region."""
    found: list[tuple[Box, list[int]]] = []
    for i, box in enumerate(boxes):
        members = [i]
        merged = True
        while merged:
            merged = False
            for j in range(len(found) - 1, -1, -1):
                other, idx = found[j]
                if _meets(box, other):
                    box = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                    members.extend(idx)
                    del found[j]
                    merged = True
        found.append((box, sorted(members)))
    return found
