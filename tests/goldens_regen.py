"""Golden documents for the renderer, and the command that (re)writes their expected output.

Run on purpose only, after checking the new pictures by eye: ``bin/regen-goldens``
(= ``python -m tests.goldens_regen``). Tests import the cases from here and never write
goldens themselves.

Each case is small (200x150 output) so the PNGs stay in the repo cheaply; the PNGs are there
for a person to look at, the JSON holds what the tests compare (sha256 of the raw RGBA pixels
for PNG; a decoded reference PNG plus tolerance for JPEG).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from annotd.canvas.model import Anchor, Annotation, CanvasView, ImageRef, Point, Style, Thread
from annotd.render import RenderOptions, render, render_image

GOLDEN_DIR = Path(__file__).resolve().parent / "goldens"
MANIFEST = GOLDEN_DIR / "render.json"


def ann(id: str, type: str, x: float, y: float, w: float, h: float, **kw: object) -> Annotation:
    """Annotation with a Style built from the style keywords, the rest as fields."""
    style_keys = set(Style.__dataclass_fields__)
    style = Style(**{k: v for k, v in kw.items() if k in style_keys})  # type: ignore[arg-type]
    rest = {k: v for k, v in kw.items() if k not in style_keys}
    if "points" in rest:
        rest["points"] = tuple(Point(*p) for p in rest["points"])  # type: ignore[attr-defined]
    return Annotation(id=id, type=type, x=x, y=y, w=w, h=h, style=style, **rest)  # type: ignore[arg-type]


IMG200 = ImageRef("0" * 64, 200, 150, "image/png")
"""A 200x150 image reference without bytes: fixes the canvas size, background only."""


def view(*annotations: Annotation, image: ImageRef | None = IMG200, threads: tuple[Thread, ...] = ()) -> CanvasView:
    return CanvasView(schemaVersion=1, image=image, annotations=tuple(annotations), threads=threads)


def thread(id: str, x: float, y: float, status: str = "open") -> Thread:
    return Thread(id=id, anchor=Anchor(kind="point", x=x, y=y), pin=(x, y), status=status, createdBy="u", createdAt=0)  # type: ignore[arg-type]


def base_image(w: int = 200, h: int = 150) -> Image.Image:
    """A deterministic photo-like base: colour gradients (no randomness, no files)."""
    gx = Image.linear_gradient("L").rotate(90).resize((w, h))
    gy = Image.linear_gradient("L").resize((w, h))
    rad = Image.radial_gradient("L").resize((w, h))
    return Image.merge("RGB", (gx, gy, rad))


@dataclass(frozen=True)
class Case:
    name: str
    view: CanvasView
    options: RenderOptions = field(default_factory=RenderOptions)
    base: Callable[[], Image.Image] | None = None


WHITE = RenderOptions(background="white")
FREEHAND = [(0, 30), (10, 10), (20, 5), (30, 20), (40, 40), (50, 45), (60, 30), (62, 10), (70, 0), (80, 20)]

MULTI_SCRIPT: tuple[tuple[str, str], ...] = (
    ("latin", "Latin ÀÉÎ ß Ωμέγα Кириллица"),
    ("arabic", "مرحبا بالعالم"),
    ("hebrew", "שלום עולם"),
    ("devanagari", "नमस्ते दुनिया क्षत्रिय"),
    ("thai", "สวัสดีชาวโลก"),
    ("cjk", "你好世界 こんにちは 안녕하세요"),
    ("emoji", "Emoji 😀 🚀 ❤ ✓"),
    ("mixed", "Hello שלום (123) مرحبا 4.5% end"),
)
"""One line per script (the multi-script golden, the browser scene and the layout tests)."""


def multi_script_view() -> CanvasView:
    lines = [ann(f"m{i}", "text", 6, 4 + 22 * i, 300, 20, stroke="#000000", text=text)
             for i, (_, text) in enumerate(MULTI_SCRIPT)]
    wrapped = ann("w", "text", 6, 182, 150, 60, stroke="#1971c2", fill="#fff3bf", fontSize=13,
                  text="Wrapped: Hello مرحبا بالعالم שלום עולם 你好世界你好世界 नमस्ते")
    rtl = ann("r", "text", 165, 182, 150, 60, stroke="#e03131", fontWeight="bold", textAlign="right",
              fontFamily="serif", text="عربي ثقيل bold وعبرית")
    return view(*lines, wrapped, rtl, image=ImageRef("0" * 64, 320, 250, "image/png"))


CASES: tuple[Case, ...] = (
    Case(
        "shapes",
        view(
            ann("r", "rect", 10, 10, 70, 50, stroke="#1971c2", fill="#a5d8ff", strokeWidth=3),
            ann("e", "ellipse", 100, 10, 90, 50, stroke="#2f9e44", fill="#b2f2bb", strokeWidth=2),
            ann("p", "polygon", 10, 80, 80, 60, stroke="#e03131", fill="#ffc9c9", points=[(0, 60), (40, 0), (80, 60)]),
            ann("q", "polygon", 110, 80, 80, 60, stroke="#6741d9", fill="#d0bfff", closed=False,
                points=[(0, 60), (20, 0), (60, 10), (80, 60)]),
        ),
        WHITE,
    ),
    Case(
        "stroke_styles",
        view(
            ann("r", "rect", 10, 10, 80, 55, stroke="#1971c2", strokeWidth=3, strokeStyle="dashed"),
            ann("e", "ellipse", 105, 10, 85, 55, stroke="#e03131", strokeWidth=2, strokeStyle="dashed"),
            ann("r2", "rect", 10, 80, 80, 55, stroke="#2f9e44", strokeWidth=3, strokeStyle="dotted"),
            ann("l", "line", 105, 90, 85, 40, stroke="#000000", strokeWidth=4, strokeStyle="dotted",
                points=[(0, 0), (85, 40)]),
            ann("l2", "line", 105, 135, 85, 0, stroke="#f08c00", strokeWidth=2, strokeStyle="dashed",
                points=[(0, 0), (85, 0)]),
        ),
        WHITE,
    ),
    Case(
        "arrows",
        view(
            ann("a1", "arrow", 10, 15, 180, 0, stroke="#000000", strokeWidth=2, endArrowhead="arrow",
                points=[(0, 0), (180, 0)]),
            ann("a2", "arrow", 10, 50, 180, 0, stroke="#1971c2", strokeWidth=3, startArrowhead="dot",
                endArrowhead="triangle", points=[(0, 0), (180, 0)]),
            ann("a3", "arrow", 10, 80, 180, 60, stroke="#e03131", strokeWidth=2, startArrowhead="triangle",
                endArrowhead="arrow", points=[(0, 60), (90, 0), (180, 60)]),
            ann("a4", "arrow", 60, 100, 80, 30, stroke="#2f9e44", strokeWidth=2, strokeStyle="dashed",
                endArrowhead="triangle", points=[(0, 30), (80, 0)]),
        ),
        WHITE,
    ),
    Case(
        "freehand",
        view(
            ann("f1", "freehand", 10, 10, 80, 45, stroke="#1971c2", strokeWidth=4, points=FREEHAND),
            ann("f2", "freehand", 110, 10, 80, 45, stroke="#e03131", strokeWidth=6,
                points=[(x, y, 0.1 + i * 0.1) for i, (x, y) in enumerate(FREEHAND)]),
            ann("f3", "freehand", 10, 80, 80, 45, stroke="#2f9e44", strokeWidth=3, strokeStyle="dashed",
                points=FREEHAND),
            ann("f4", "freehand", 110, 80, 80, 45, stroke="#000000", strokeWidth=12, opacity=0.5,
                points=[(0, 0), (80, 45), (80, 0), (0, 45)]),
        ),
        WHITE,
    ),
    Case(
        "text",
        view(
            ann("t1", "text", 5, 5, 190, 20, stroke="#000000", text="Sans normal Ag"),
            ann("t2", "text", 5, 25, 190, 20, stroke="#000000", fontWeight="bold", text="Sans bold Ag"),
            ann("t3", "text", 5, 45, 190, 20, stroke="#1971c2", fontFamily="serif", text="Serif centre",
                textAlign="center"),
            ann("t4", "text", 5, 65, 190, 20, stroke="#e03131", fontFamily="mono", fontWeight="bold",
                text="mono right", textAlign="right"),
            ann("t5", "text", 5, 88, 110, 60, stroke="#000000", fill="#fff3bf", fontSize=13,
                text="Wrapped inside the box when wrap is on"),
            ann("t6", "text", 120, 95, 40, 20, stroke="#2f9e44", fontSize=12, wrap=False, text="no wrap here"),
        ),
        WHITE,
    ),
    Case(
        "rotation",
        view(
            ann("r", "rect", 30, 30, 60, 30, stroke="#1971c2", fill="#a5d8ff", strokeWidth=2, rotation=30),
            ann("t", "text", 110, 60, 80, 24, stroke="#e03131", fontWeight="bold", fontSize=18, text="Rotated",
                rotation=-45),
            ann("a", "arrow", 20, 100, 80, 40, stroke="#000000", strokeWidth=2, endArrowhead="triangle",
                rotation=90, points=[(0, 20), (80, 20)]),
            ann("e", "ellipse", 120, 100, 70, 30, stroke="#2f9e44", strokeStyle="dashed", rotation=60),
        ),
        WHITE,
    ),
    Case(
        "alpha_transparent",
        view(
            ann("r1", "rect", 20, 20, 90, 70, stroke="#1971c2", fill="#1971c2", strokeWidth=10, opacity=0.5),
            ann("r2", "rect", 80, 50, 90, 70, stroke="none", fill="#e0313180"),
            ann("e", "ellipse", 40, 70, 60, 60, stroke="#2f9e44cc", strokeWidth=6),
        ),
        RenderOptions(background="transparent"),
    ),
    Case(
        "comments_on_base",
        view(
            ann("r", "rect", 10, 10, 60, 40, stroke="#ffffff", strokeWidth=2),
            ann("a", "arrow", 60, 60, 30, 10, stroke="#ffff00", strokeWidth=2, endArrowhead="arrow",
                points=[(0, 10), (30, 0)]),
            image=ImageRef("0" * 64, 100, 75, "image/png"),
            threads=(thread("t1", 20, 20), thread("t2", 80, 40, "resolved"), thread("t3", 50, 60)),
        ),
        RenderOptions(scale=2.0, include_comments=True),
        lambda: base_image(100, 75),
    ),
    Case(
        "content_bounds",
        view(
            ann("r", "rect", 500, 300, 100, 60, stroke="#1971c2", fill="#ffffff", rotation=20),
            ann("t", "text", 505, 315, 90, 30, stroke="#000000", text="No base image"),
            image=None,
        ),
        RenderOptions(background="#f1f3f5"),
    ),
    Case("multi_script", multi_script_view(), WHITE),
)

JPEG_CASES: tuple[Case, ...] = (
    replace(CASES[0], name="shapes_jpg", options=RenderOptions(format="jpg", quality=85)),
    replace(CASES[7], name="comments_on_base_jpg", options=RenderOptions(format="jpg", scale=2.0, include_comments=True)),
)


def pixels_sha256(img: Image.Image) -> str:
    return hashlib.sha256(img.convert("RGBA").tobytes()).hexdigest()


def main() -> None:
    manifest: dict[str, dict[str, object]] = {}
    for case in CASES:
        base = case.base() if case.base else None
        img = render_image(case.view, base, case.options)
        (GOLDEN_DIR / f"{case.name}.png").write_bytes(render(case.view, base, case.options))
        manifest[case.name] = {"kind": "png", "size": list(img.size), "rgba_sha256": pixels_sha256(img)}
    for case in JPEG_CASES:
        base = case.base() if case.base else None
        data = render(case.view, base, case.options)
        decoded = Image.open(io.BytesIO(data)).convert("RGB")
        decoded.save(GOLDEN_DIR / f"{case.name}.ref.png", format="PNG", compress_level=9)
        manifest[case.name] = {"kind": "jpg", "size": list(decoded.size), "reference": f"{case.name}.ref.png"}
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(manifest)} goldens to {GOLDEN_DIR}")


if __name__ == "__main__":
    main()
