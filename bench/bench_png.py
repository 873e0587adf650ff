"""PNG encoder comparison on the rendered bench scene: time, size, lossless, determinism.

Candidates are the PNG writers that install as wheels: Pillow's zlib writer at levels 0-3
(what annotd used), ``imagecodecs.png_encode`` (libpng + zlib-ng) and ``spng_encode``
(libspng), ``fpng`` (py-fpng-nb), and annotd's own writers (``annotd.render.encode``: "fast"
= Pillow's Up filter + ISA-L deflate, streamed in bands; "small" = Pillow at level 6). A
candidate whose package is not installed is listed as missing; imagecodecs, numpy and fpng
are not dependencies of annotd: install them into the venv by hand to measure them
(``.venv/bin/pip install imagecodecs fpng numpy``).

Images: the 500-annotation 1600x1000 scene of ``bench_render`` rendered at scale 1 and 3
(opaque: encoded as RGB), and the same annotations without base image on a transparent
background (RGBA). Each encode is checked to decode to exactly the input pixels, and run in
two fresh processes whose output hashes must match ("same bytes in 2 processes").

    .venv/bin/python -m bench.bench_png [--runs 5] [--only pillow-1,fpng]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PIL import Image

from annotd.render import RenderOptions, render_image

from .bench_render import base_image, scene

Encoder = Callable[[Image.Image], bytes]
ROOT = Path(__file__).resolve().parent.parent


def _pillow(level: int) -> Encoder:
    def enc(img: Image.Image) -> bytes:
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=level, optimize=False)
        return buf.getvalue()

    return enc


def _imagecodecs(kind: str, **kw: int) -> Encoder:
    def enc(img: Image.Image) -> bytes:
        import imagecodecs
        import numpy as np

        arr = np.asarray(img)
        fn = imagecodecs.png_encode if kind == "png" else imagecodecs.spng_encode
        return bytes(fn(arr, **kw))

    return enc


def _fpng(img: Image.Image) -> bytes:
    import fpng

    return bytes(fpng.from_pil(img))


def _annotd(speed: str) -> Encoder:
    def enc(img: Image.Image) -> bytes:
        from annotd.render.encode import encode_png

        return encode_png(img, speed=speed)

    return enc


CANDIDATES: dict[str, Encoder] = {
    "annotd-fast (up+isal-1)": _annotd("fast"),
    "annotd-small (pillow-6)": _annotd("small"),
    "pillow-0": _pillow(0),
    "pillow-1": _pillow(1),
    "pillow-2": _pillow(2),
    "pillow-3": _pillow(3),
    "imagecodecs-png-1": _imagecodecs("png", level=1),
    "imagecodecs-png-1-rle-sub": _imagecodecs("png", level=1, strategy=3, filter=16),
    "imagecodecs-png-3": _imagecodecs("png", level=3),
    "imagecodecs-spng-1": _imagecodecs("spng", level=1),
    "fpng": _fpng,
}


def images() -> dict[str, Image.Image]:
    view, base = scene(), base_image()
    out: dict[str, Image.Image] = {}
    for scale in (1.0, 3.0):
        img = render_image(view, base, RenderOptions(scale=scale, include_comments=True))
        out[f"{img.width}x{img.height} RGB"] = img.convert("RGB")
    bare = replace(view, image=None)
    img = render_image(bare, None, RenderOptions(include_comments=True))
    out[f"{img.width}x{img.height} RGBA"] = img
    return out


def available(name: str) -> bool:
    mod = {"fpng": "fpng"}.get(name, "imagecodecs" if name.startswith("imagecodecs") else "PIL")
    if name.startswith("annotd"):
        mod = "isal"
    try:
        __import__(mod)
        if mod == "imagecodecs":
            __import__("numpy")
    except ImportError:
        return False
    return True


def child(names: list[str]) -> None:
    """Print one sha256 per (image, candidate) so the parent can compare two processes."""
    imgs = images()
    out = {f"{k}|{n}": hashlib.sha256(CANDIDATES[n](im)).hexdigest() for k, im in imgs.items() for n in names}
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", type=lambda s: s.split(","), default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    names = [n for n in (args.only or list(CANDIDATES)) if n in CANDIDATES]
    if args.child:
        child(names)
        return
    missing = [n for n in names if not available(n)]
    names = [n for n in names if n not in missing]
    if missing:
        print(f"not installed: {', '.join(missing)}")
    imgs = images()
    hashes = [
        json.loads(subprocess.run([sys.executable, "-m", "bench.bench_png", "--child", "--only", ",".join(names)],
                                  cwd=ROOT, capture_output=True, text=True, check=True).stdout)
        for _ in range(2)
    ]
    print(f"{'image':18s} {'encoder':26s} {'p50 ms':>8s} {'min ms':>8s} {'MB':>7s}  lossless  same bytes in 2 processes")
    for key, img in imgs.items():
        for name in names:
            enc = CANDIDATES[name]
            data = enc(img)
            with Image.open(io.BytesIO(data)) as dec:
                lossless = dec.mode == img.mode and dec.tobytes() == img.tobytes()
            times = []
            for _ in range(args.runs if img.width < 3000 else max(2, args.runs // 2)):
                t0 = time.perf_counter()
                enc(img)
                times.append((time.perf_counter() - t0) * 1000)
            same = hashes[0][f"{key}|{name}"] == hashes[1][f"{key}|{name}"]
            print(f"{key:18s} {name:26s} {statistics.median(times):8.1f} {min(times):8.1f} {len(data) / 1e6:7.2f}  "
                  f"{'yes' if lossless else 'NO':8s}  {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
