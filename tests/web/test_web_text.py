"""The page wraps and orders text by the export's rules: web/test/text.test.ts (bundled with
esbuild, run with ``node --test``) must find the same UAX #14 break opportunities (the page
uses the ``linebreak`` package, the export ``uniseg`` and its fast path) and the same paragraph
direction as the Python side, for the multi-script golden's lines and some harder cases."""

from __future__ import annotations

import json
from pathlib import Path

from annotd.render import bidi
from annotd.render.textlayout import break_units
from tests.goldens_regen import MULTI_SCRIPT
from tests.web.test_web_model import run_node_tests

CASES = [text for _, text in MULTI_SCRIPT] + [
    "Crack in the weld, left side of the seam", "foo-bar baz", "(שלום) abc", "你好世界你好世界。下一句",
    "日本語のテキストです", "한국어 문장입니다", "a/b c:d e;f", "x — y", "Check this region, please",
    "  leading spaces", "trailing  ", "", "123 456.78 9,0", "שלום עולם abc", "١٢٣ عربي", "abc שלום",
    "emoji 😀😀 and ❤️ hearts", "नमस्ते दुनिया",
]


def test_page_breaks_and_directions_match_the_export(tmp_path: Path) -> None:
    cases = [{"text": t, "units": break_units(t), "base": bidi.base_level(t)} for t in CASES]
    (tmp_path / "text.json").write_text(json.dumps(cases, ensure_ascii=False))
    run_node_tests(tmp_path, "text", 2)
