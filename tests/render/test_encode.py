"""The PNG writers: lossless in any banding, metadata as Pillow writes it, refusals."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from annotd.render.encode import PngWriter, encode_jpeg, encode_png


def sample(mode: str, size: tuple[int, int] = (37, 23)) -> Image.Image:
    gx = Image.linear_gradient("L").rotate(90).resize(size)
    gy = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 80).convert("L")
    bands = (gx, gy, noise) + ((Image.radial_gradient("L").resize(size),) if mode == "RGBA" else ())
    return Image.merge(mode, bands)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("rows", [1, 2, 7, 23])
def test_writer_is_lossless_in_any_banding(mode: str, rows: int) -> None:
    img = sample(mode)
    w = PngWriter(img.size, mode)
    for y in range(0, img.height, rows):
        w.write(img.crop((0, y, img.width, min(img.height, y + rows))))
    with Image.open(io.BytesIO(w.finish())) as got:
        assert got.mode == mode and got.size == img.size
        assert got.tobytes() == img.tobytes()


@pytest.mark.parametrize("speed", ["fast", "small"])
def test_encode_png_metadata_and_opacity(speed: str) -> None:
    rgba = sample("RGBA")
    prov = {"seq": "7", "roomId": "r1", "tag": "värsion ✓"}
    with Image.open(io.BytesIO(encode_png(rgba, speed=speed, dpi=192, provenance=prov))) as got:
        assert got.mode == "RGBA" and got.tobytes() == rgba.tobytes()
        assert got.info["dpi"] == pytest.approx((192, 192), abs=0.01)
        assert got.text == prov  # type: ignore[attr-defined]
    opaque = sample("RGB").convert("RGBA")
    with Image.open(io.BytesIO(encode_png(opaque, speed=speed))) as got:
        assert got.mode == "RGB" and got.tobytes() == opaque.convert("RGB").tobytes()


def test_fast_writer_matches_pillow_metadata_bytes_for_bytes_in_chunks() -> None:
    """Both writers describe the same image the same way: only IDAT differs."""
    img = sample("RGB")
    prov = {"b": "2", "a": "1"}

    def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
        out, i = [], 8
        while i < len(data):
            n = int.from_bytes(data[i : i + 4], "big")
            out.append((data[i + 4 : i + 8], data[i + 8 : i + 8 + n]))
            i += 12 + n
        return [c for c in out if c[0] != b"IDAT"]

    assert chunks(encode_png(img, dpi=300, provenance=prov)) == chunks(
        encode_png(img, speed="small", dpi=300, provenance=prov))


def test_writer_refuses_what_does_not_fit() -> None:
    w = PngWriter((4, 3), "RGB")
    with pytest.raises(ValueError, match="does not fit"):
        w.write(Image.new("RGB", (5, 1)))
    with pytest.raises(ValueError, match="does not fit"):
        w.write(Image.new("RGBA", (4, 1)))
    w.write(Image.new("RGB", (4, 2)))
    with pytest.raises(ValueError, match="2 of 3 rows"):
        w.finish()
    with pytest.raises(ValueError):
        PngWriter((4, 3), "L")
    with pytest.raises(ValueError, match="speed"):
        encode_png(Image.new("RGB", (2, 2)), speed="turbo")


def test_jpeg_of_rgb_and_transparent() -> None:
    with Image.open(io.BytesIO(encode_jpeg(sample("RGB"), quality=90))) as got:
        assert got.format == "JPEG" and got.size == (37, 23)
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    with Image.open(io.BytesIO(encode_jpeg(clear, quality=90))) as got:
        assert got.convert("RGB").getpixel((4, 4)) == (255, 255, 255)
