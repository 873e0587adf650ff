"""Renderer tests: goldens (pixels hashed for PNG, tolerance for JPEG), determinism across
processes, and pixel probes for behaviour a hash cannot explain when it breaks.

Goldens are only ever written by ``bin/regen-goldens``; a mismatch here means either a bug or
an intended change that someone must look at and regenerate on purpose.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from annotd.canvas.model import Annotation, Style
from annotd.render import FontMissing, RenderOptions, render, render_image, render_svg
from annotd.render import fonts as fonts_mod
from tests.goldens_regen import CASES, GOLDEN_DIR, JPEG_CASES, MANIFEST, ann, pixels_sha256, view

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_DATA: dict[str, dict[str, object]] = json.loads(MANIFEST.read_text())
REGEN_HINT = "if the change is intended, look at the new images and run bin/regen-goldens"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_png_golden_pixels(case) -> None:  # type: ignore[no-untyped-def]
    expected = MANIFEST_DATA[case.name]
    img = render_image(case.view, case.base() if case.base else None, case.options)
    assert list(img.size) == expected["size"]
    assert pixels_sha256(img) == expected["rgba_sha256"], f"{case.name}: pixels changed; {REGEN_HINT}"


@pytest.mark.parametrize("case", JPEG_CASES, ids=[c.name for c in JPEG_CASES])
def test_jpeg_golden_within_tolerance(case) -> None:  # type: ignore[no-untyped-def]
    data = render(case.view, case.base() if case.base else None, case.options)
    assert data[:2] == b"\xff\xd8"
    got = Image.open(io.BytesIO(data)).convert("RGB")
    ref = Image.open(GOLDEN_DIR / str(MANIFEST_DATA[case.name]["reference"])).convert("RGB")
    assert got.size == ref.size
    diff = ImageChops.difference(got, ref)
    max_diff = max(hi for _, hi in diff.getextrema())
    mean_diff = sum(ImageStat.Stat(diff).mean) / 3
    assert max_diff <= 6 and mean_diff <= 0.5, f"{case.name}: max {max_diff} mean {mean_diff:.3f}; {REGEN_HINT}"


_CHILD = """
import hashlib, sys
from tests.goldens_regen import CASES
from annotd.render import render
from dataclasses import replace
out = []
for case in CASES:
    base = case.base() if case.base else None
    for fmt in ("png", "jpg"):
        opts = replace(case.options, format=fmt)
        out.append(hashlib.sha256(render(case.view, base, opts, provenance={"room": "r1", "seq": "7"})).hexdigest())
print(",".join(out))
"""


def test_bytes_identical_across_processes() -> None:
    runs = [
        subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(runs[0].split(",")) == 2 * len(CASES)


def _probe_view(*annotations: Annotation):  # type: ignore[no-untyped-def]
    return view(*annotations)


def test_transparent_png_keeps_alpha() -> None:
    v = _probe_view(ann("r", "rect", 50, 50, 40, 40, fill="#ff0000", stroke="none"))
    img = Image.open(io.BytesIO(render(v, None, RenderOptions(background="transparent"))))
    assert img.mode == "RGBA"
    assert img.getpixel((5, 5))[3] == 0
    assert img.getpixel((70, 70)) == (255, 0, 0, 255)


def test_jpeg_background_never_transparent() -> None:
    v = _probe_view(ann("r", "rect", 50, 50, 40, 40, fill="#ff0000", stroke="none"))
    img = Image.open(io.BytesIO(render(v, None, RenderOptions(format="jpg", background="transparent"))))
    assert img.mode == "RGB"
    assert all(c >= 250 for c in img.getpixel((5, 5)))


def test_dpi_written_and_scales() -> None:
    v = _probe_view(ann("r", "rect", 10, 10, 40, 40, fill="#ff0000"))
    png = Image.open(io.BytesIO(render(v, None, RenderOptions(dpi=192))))
    assert png.size == (400, 300)
    assert png.info["dpi"] == pytest.approx((192, 192), abs=0.01)
    jpg = Image.open(io.BytesIO(render(v, None, RenderOptions(format="jpg", dpi=300))))
    assert jpg.info["dpi"] == (300, 300)
    assert jpg.size == (625, 469)


def test_provenance_written() -> None:
    v = _probe_view()
    png = Image.open(io.BytesIO(render(v, None, RenderOptions(), provenance={"seq": "7", "room": "r1"})))
    assert png.text == {"room": "r1", "seq": "7"}
    jpg = Image.open(io.BytesIO(render(v, None, RenderOptions(format="jpg"), provenance={"seq": "7"})))
    assert jpg.info["comment"] == b"seq=7"


def test_rotation_rotates() -> None:
    # A long thin bar along x; rotated 90 degrees about its centre it stands along y.
    bar = dict(fill="#000000", stroke="none")
    flat = render_image(_probe_view(ann("b", "rect", 40, 70, 120, 10, **bar)), None, RenderOptions())
    turned = render_image(_probe_view(ann("b", "rect", 40, 70, 120, 10, rotation=90, **bar)), None, RenderOptions())
    assert flat.getpixel((50, 75))[3] == 255 and flat.getpixel((100, 35))[3] == 0
    assert turned.getpixel((50, 75))[3] == 0 and turned.getpixel((100, 35))[3] == 255
    # 30 degrees clockwise (screen): the right end goes down.
    cw = render_image(_probe_view(ann("b", "rect", 40, 70, 120, 10, rotation=30, **bar)), None, RenderOptions())
    assert cw.getpixel((150, 103))[3] == 255 and cw.getpixel((150, 47))[3] == 0


def test_dashed_stroke_has_gaps() -> None:
    style = dict(stroke="#000000", strokeWidth=2)
    solid = render_image(_probe_view(ann("l", "line", 10, 50, 180, 0, points=[(0, 0), (180, 0)], **style)), None, RenderOptions())
    dashed = render_image(
        _probe_view(ann("l", "line", 10, 50, 180, 0, points=[(0, 0), (180, 0)], strokeStyle="dashed", **style)),
        None,
        RenderOptions(),
    )
    row_solid = [solid.getpixel((x, 50))[3] for x in range(15, 185)]
    row_dashed = [dashed.getpixel((x, 50))[3] for x in range(15, 185)]
    assert min(row_solid) == 255
    assert row_dashed.count(0) >= 20 and row_dashed.count(255) > 80  # ~12 gaps of 4 px (6 px minus round caps)


def test_bold_differs_from_normal() -> None:
    def text(weight: str) -> Image.Image:
        v = _probe_view(ann("t", "text", 10, 10, 180, 30, stroke="#000000", fontWeight=weight, text="Bold?"))
        return render_image(v, None, RenderOptions())

    normal, bold = text("normal"), text("bold")
    ink = lambda im: sum(im.getchannel("A").point(lambda a: 255 if a > 128 else 0).histogram()[255:])  # noqa: E731
    assert ink(bold) > ink(normal) * 1.2


def test_missing_font_raises(tmp_path: Path) -> None:
    gone = fonts_mod.FontFace("gone", "fonts-gone", "", str(tmp_path / "nope.ttf"), "Gone")
    with pytest.raises(FontMissing):
        fonts_mod.load_face(gone, "normal")
    with pytest.raises(FontMissing):
        fonts_mod.font_path("cursive")


def test_missing_font_package_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    face = fonts_mod.FACES["serif"]
    monkeypatch.setitem(fonts_mod.FACES, "serif", replace(face, module="no_such_fontpkg_module"))
    with pytest.raises(FontMissing):
        fonts_mod.font_path("serif")


def test_every_fallback_font_is_installed() -> None:
    """CI and the README install the Debian fonts; without them scripts would show boxes."""
    assert fonts_mod.missing() == []
    assert [f.key for f in fonts_mod.chain("serif", "bold")] == ["serif"] + [f.key for f in fonts_mod.FALLBACK]


def test_group_opacity_does_not_double_overlap() -> None:
    v = _probe_view(ann("r", "rect", 40, 40, 100, 60, stroke="#000000", fill="#000000", strokeWidth=10, opacity=0.5))
    img = render_image(v, None, RenderOptions())
    assert img.getpixel((40, 70))[3] == img.getpixel((90, 70))[3] == 128


def test_comment_badges_follow_states() -> None:
    from tests.goldens_regen import thread

    v = view(threads=(thread("a", 50, 50), thread("b", 150, 100, "resolved")))
    off = render_image(v, None, RenderOptions())
    only_open = render_image(v, None, RenderOptions(include_comments=True))
    both = render_image(v, None, RenderOptions(include_comments=True, comment_states=("open", "resolved")))
    assert off.getchannel("A").getextrema() == (0, 0)
    assert only_open.getpixel((50, 50))[3] == 255 and only_open.getpixel((150, 100))[3] == 0
    assert both.getpixel((150, 100))[3] == 255


def test_svg_is_deterministic_and_matches_scene() -> None:
    case = CASES[2]
    a = render_svg(case.view, None, RenderOptions(background="white"), provenance={"seq": "1"})
    assert a == render_svg(case.view, None, RenderOptions(background="white"), provenance={"seq": "1"})
    text = a.decode()
    assert text.startswith("<?xml") and 'width="200" height="150"' in text
    dashed = render_svg(CASES[1].view, None, RenderOptions()).decode()
    assert "stroke-dasharray" in dashed


def test_style_defaults_render() -> None:
    # Every annotation type with default style renders without error and paints something.
    for t in ("rect", "ellipse", "polygon", "line", "arrow", "freehand", "text"):
        a = Annotation(id=t, type=t, x=20, y=20, w=80, h=60, style=Style(), text="x",  # type: ignore[arg-type]
                       points=tuple(ann("p", "line", 0, 0, 0, 0, points=[(0, 0), (60, 40), (80, 0)]).points))
        img = render_image(view(a), None, RenderOptions())
        assert img.getchannel("A").getextrema()[1] > 0, t


def test_manifest_covers_all_cases() -> None:
    assert set(MANIFEST_DATA) == {c.name for c in CASES + JPEG_CASES}
    for name, entry in MANIFEST_DATA.items():
        if entry["kind"] == "png":
            assert (GOLDEN_DIR / f"{name}.png").is_file()
    assert hashlib.sha256(b"").hexdigest()  # keep hashlib import honest for readers


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("opts", [{}, {"scale": 2.5}, {"dpi": 300.0}, {"include_comments": True, "scale": 0.3}])
def test_output_size_is_the_rendered_size(case, opts) -> None:  # type: ignore[no-untyped-def]
    """What the pixel limit is checked against before queueing is what gets rendered."""
    from dataclasses import replace

    from annotd.render.frame import output_size

    options = replace(case.options, **opts)
    img = render_image(case.view, case.base() if case.base else None, options)
    assert output_size(case.view, options) == img.size


def test_svg_embeds_subset_fonts_for_every_script() -> None:
    """Each face the drawing uses is embedded once per weight, cut to its characters, and the
    text names them in fallback order; the bytes do not change between runs."""
    import base64
    import re

    import uharfbuzz as hb

    from tests.goldens_regen import MULTI_SCRIPT, multi_script_view

    svg = render_svg(multi_script_view(), None, RenderOptions())
    assert svg == render_svg(multi_script_view(), None, RenderOptions())
    text = svg.decode()
    faces = dict(re.findall(r'font-family:"(annotd-[a-z]+-\d+)";font-weight:\d+;src:url\(data:font/otf;base64,([^)]+)\)', text))
    assert {"annotd-sans-400", "annotd-arabic-400", "annotd-hebrew-400", "annotd-cjk-400", "annotd-emoji-400",
            "annotd-serif-700", "annotd-arabic-700"} <= set(faces)
    fonts = {name: hb.Font(hb.Face(base64.b64decode(data))) for name, data in faces.items()}
    for _, line in MULTI_SCRIPT:
        for ch in line.replace(" ", ""):
            assert any(f.get_nominal_glyph(ord(ch)) for n, f in fonts.items() if n.endswith("-400")), ch
    assert len(svg) < 400_000  # subsets, not the 20 MB CJK collection
    assert 'direction="rtl"' in text


@pytest.mark.parametrize("scale", [2.0, 0.5])
def test_large_outputs_resample_the_base_in_skia_alike(monkeypatch: pytest.MonkeyPatch, scale: float) -> None:
    """From SKIA_RESAMPLE_PIXELS on, Skia resamples the base (no output-sized copy of it);
    the picture is the same as Pillow's resampling up to filter rounding."""
    from annotd.render import raster
    from tests.goldens_regen import base_image

    base = base_image(300, 200)
    v = view(ann("r", "rect", 20, 20, 100, 60, stroke="#e03131", strokeWidth=3),
             image=image_ref(300, 200))
    opts = RenderOptions(scale=scale)
    pillow = render_image(v, base, opts)
    monkeypatch.setattr(raster, "SKIA_RESAMPLE_PIXELS", 0)
    skia_side = render_image(v, base, opts)
    diff = ImageChops.difference(pillow, skia_side)
    assert sum(ImageStat.Stat(diff).mean) / 3 < 1.0
    assert max(hi for _, hi in diff.getextrema()) <= 24  # along the gradients' steepest edges


def image_ref(w: int, h: int):  # type: ignore[no-untyped-def]
    from annotd.canvas.model import ImageRef

    return ImageRef("1" * 64, w, h, "image/png")


def test_without_the_debian_fonts_exports_still_run_and_serve_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """A machine without fonts-noto-core/-cjk/symbola: the fallback list skips what is not
    installed (those scripts show the primary face's box), and ``annotd serve`` says so."""
    from annotd.process import app

    gone = replace(fonts_mod.FALLBACK[2], relpath=str(tmp_path / "NotoSansHebrew-Regular.ttf"),
                   bold=str(tmp_path / "NotoSansHebrew-Bold.ttf"))
    from annotd.render.textlayout import shape

    monkeypatch.setattr(fonts_mod, "FALLBACK", (*fonts_mod.FALLBACK[:2], gone, *fonts_mod.FALLBACK[3:]))
    fonts_mod.chain.cache_clear()
    shape.cache_clear()
    try:
        assert "hebrew" not in [f.key for f in fonts_mod.chain("sans", "normal")]
        with caplog.at_level("WARNING", logger="annotd"):
            app._warn_missing_fonts()
        assert "fonts-noto-core" in caplog.text and "boxes" in caplog.text
        img = render_image(view(ann("t", "text", 10, 10, 180, 30, stroke="#000000", text="שלום abc")), None, RenderOptions())
        assert img.getchannel("A").getextrema()[1] == 255
        assert 0 in shape("שלום", "sans", "normal").runs[0].glyphs  # the box, from Noto Sans
    finally:
        fonts_mod.chain.cache_clear()  # shapes made without the face must not outlive the test
        shape.cache_clear()
