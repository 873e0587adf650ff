"""The documents a user reads must say what the code does."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from annotd.base import errors
from annotd.base.config import Config, load
from annotd.cli.docgen import methods_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_protocol_md_method_reference_is_current() -> None:
    text = (ROOT / "protocol.md").read_text()
    assert methods_markdown() in text, "run: python -m annotd.cli.docgen, and paste into protocol.md"


def test_protocol_md_lists_every_close_code() -> None:
    text = (ROOT / "protocol.md").read_text()
    constants = {v for k, v in vars(errors).items() if k.startswith("CLOSE_") and isinstance(v, int)}
    assert constants == set(errors.CLOSE_CODES), "every CLOSE_* constant has its row in errors.CLOSE_CODES"
    for code in errors.CLOSE_CODES:
        assert re.search(rf"^\| {code} \|", text, re.M), code


def test_config_toml_is_the_defaults_and_documents_every_key() -> None:
    path = ROOT / "config.toml"
    assert load(path) == Config()
    raw = tomllib.loads(path.read_text())
    lines = path.read_text().splitlines()
    for section in dataclasses.fields(Config):
        keys = {f.name for f in dataclasses.fields(getattr(Config(), section.name))}
        assert set(raw[section.name]) == keys, section.name
        for key in keys:
            line = next(ln for ln in lines if re.match(rf"{key}\s*=", ln))
            assert "#" in line, f"{section.name}.{key} has no comment"


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_code = re.search(r"```(?:sh|bash)?\n(.*?)```", text, re.S)
    assert first_code is not None
    assert first_code.group(1).split() == ["bin/annotd", "serve", "bin/test"]
