"""The settings added with round two's hardening are checked when the config is read: a bad
value is refused with the setting's name, a good one is taken as written."""

from __future__ import annotations

from typing import Any

import pytest

from annotd.base.config import ConfigError, from_mapping


@pytest.mark.parametrize(("section", "key", "bad", "good", "message"), [
    ("limits", "max_command_body_bytes", 0, 2048, "limits.max_command_body_bytes: must be at least 1"),
    ("limits", "handshake_timeout_s", 0.0, 0.5, "limits.handshake_timeout_s: must be more than 0"),
    ("history", "snapshot_tail_ratio", -1, 0, "history.snapshot_tail_ratio: must be >= 0"),
])
def test_round_two_settings_are_checked(section: str, key: str, bad: Any, good: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_mapping({section: {key: bad}})
    assert getattr(getattr(from_mapping({section: {key: good}}), section), key) == good


def test_gc_freeze_is_a_setting() -> None:
    assert from_mapping({}).server.gc_freeze is True
    assert from_mapping({"server": {"gc_freeze": False}}).server.gc_freeze is False
