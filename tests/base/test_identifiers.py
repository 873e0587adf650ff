"""Identifiers: one pattern per kind, refused with an error naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from annotd.base.errors import InvalidParams
from annotd.base.identifiers import check_room_id, check_tag


@pytest.mark.parametrize("tag", ["", " v1", "v1 ", "x" * 65, "a\nb", 3])
def test_bad_tags(tag: Any) -> None:
    with pytest.raises(InvalidParams) as err:
        check_tag(tag)
    assert err.value.field == "tag"


def test_good_tag_and_room_id() -> None:
    assert check_tag("review-2.final") == "review-2.final"
    assert check_room_id("Ab_9-") == "Ab_9-"
    with pytest.raises(InvalidParams) as err:
        check_room_id("a b", "id")
    assert err.value.field == "id"
