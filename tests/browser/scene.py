"""One scene with every primitive and style, for the screen-vs-export comparison and the
README screenshot. Coordinates are image pixels on a 720 x 480 base image."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 720, 480


def base_png() -> bytes:
    img = Image.new("RGB", (WIDTH, HEIGHT), (236, 239, 243))
    d = ImageDraw.Draw(img)
    for x in range(0, WIDTH, 40):
        d.line([(x, 0), (x, HEIGHT)], fill=(222, 226, 232))
    for y in range(0, HEIGHT, 40):
        d.line([(0, y), (WIDTH, y)], fill=(222, 226, 232))
    d.rectangle([500, 300, 700, 460], fill=(200, 214, 190))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def annotations() -> list[dict[str, Any]]:
    return [
        {"type": "rect", "x": 20, "y": 20, "w": 140, "h": 90, "style": {"stroke": "#e03131", "strokeWidth": 3}},
        {"type": "rect", "x": 180, "y": 20, "w": 140, "h": 90,
         "style": {"stroke": "#1971c2", "fill": "#a5d8ff80", "strokeWidth": 4, "strokeStyle": "dashed"}},
        {"type": "rect", "x": 340, "y": 30, "w": 120, "h": 70, "rotation": 20,
         "style": {"stroke": "#2f9e44", "strokeWidth": 2, "strokeStyle": "dotted"}},
        {"type": "ellipse", "x": 480, "y": 20, "w": 160, "h": 90,
         "style": {"stroke": "#9c36b5", "fill": "#e599f7", "strokeWidth": 5, "opacity": 0.6}},
        {"type": "line", "x": 20, "y": 140, "points": [0, 0, 140, 40, 60, 80],
         "style": {"stroke": "#f08c00", "strokeWidth": 4, "strokeStyle": "dotted"}},
        {"type": "arrow", "x": 190, "y": 140, "points": [0, 60, 130, 0], "style": {"stroke": "#1e1e1e", "strokeWidth": 3}},
        {"type": "arrow", "x": 340, "y": 140, "points": [0, 0, 120, 70], "startArrowhead": "dot", "endArrowhead": "triangle",
         "style": {"stroke": "#c2255c", "strokeWidth": 2, "strokeStyle": "dashed"}},
        {"type": "polygon", "x": 490, "y": 140, "points": [0, 80, 60, 0, 150, 30, 110, 90], "closed": True,
         "style": {"stroke": "#0c8599", "fill": "#99e9f2", "strokeWidth": 2}},
        {"type": "polygon", "x": 20, "y": 250, "points": [0, 0, 60, 70, 120, 10, 150, 60], "closed": False,
         "style": {"stroke": "#5c940d", "strokeWidth": 3}},
        {"type": "freehand", "x": 190, "y": 250, "points": [0, 30, 20, 5, 45, 0, 70, 25, 95, 50, 120, 40, 140, 10],
         "pressures": [0.1, 0.4, 0.7, 1.0, 0.8, 0.5, 0.2], "style": {"stroke": "#e03131", "strokeWidth": 6}},
        {"type": "freehand", "x": 350, "y": 250, "points": [0, 0, 30, 40, 60, 10, 90, 50, 120, 20],
         "style": {"stroke": "#1971c2", "strokeWidth": 3, "strokeStyle": "dashed"}},
        {"type": "text", "x": 20, "y": 340, "w": 200, "h": 50, "text": "Crack in the weld, left side of the seam",
         "style": {"stroke": "#1e1e1e", "fontSize": 18, "fill": "#fff3bf"}},
        {"type": "text", "x": 240, "y": 340, "w": 220, "h": 60, "text": "Serif bold\ncentred",
         "style": {"stroke": "#c92a2a", "fontFamily": "serif", "fontWeight": "bold", "fontSize": 22, "textAlign": "center"}},
        {"type": "text", "x": 480, "y": 330, "w": 200, "h": 40, "text": "mono right", "rotation": -8,
         "style": {"stroke": "#1864ab", "fontFamily": "mono", "fontSize": 20, "textAlign": "right"}},
        {"type": "text", "x": 500, "y": 400, "w": 190, "h": 30, "text": "50 % opacity",
         "style": {"stroke": "#2b8a3e", "fontSize": 16, "opacity": 0.5, "fontWeight": "bold"}},
        # every script of the export's fallback list, mixed directions, wrapped
        {"type": "text", "x": 20, "y": 405, "w": 210, "h": 70,
         "text": "Wrapped: مرحبا بالعالم שלום עולם 你好世界 नमस्ते दुनिया สวัสดี 😀 ✓",
         "style": {"stroke": "#1e1e1e", "fontSize": 15, "fill": "#e7f5ff"}},
        {"type": "text", "x": 250, "y": 410, "w": 230, "h": 60, "text": "عربي bold وعبرית (123)\nHello שלום 4.5% end",
         "style": {"stroke": "#862e9c", "fontSize": 15, "fontWeight": "bold", "textAlign": "right"}},
    ]
