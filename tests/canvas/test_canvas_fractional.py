"""Fractional-index keys: strict order, never empty, short under repeated inserts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotd.canvas.fractional import FIRST_KEY, is_valid_key, key_between, n_keys_between


def test_first_key_and_simple_neighbours() -> None:
    assert key_between(None, None) == FIRST_KEY == "a0"
    assert key_between("a0", None) == "a1"
    assert key_between(None, "a0") == "Zz"
    assert "a0" < key_between("a0", "a1") < "a1"


def test_equal_or_inverted_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        key_between("a1", "a1")
    with pytest.raises(ValueError):
        key_between("a2", "a1")


@pytest.mark.parametrize("bad", ["", "a", "a00", "a0 ", "#", "b0"])
def test_malformed_keys_are_refused(bad: str) -> None:
    assert not is_valid_key(bad)
    with pytest.raises(ValueError):
        key_between(bad, None)


def test_keys_stay_short_when_appending_or_prepending() -> None:
    back: str | None = None
    front: str | None = None
    seen_back, seen_front = [], []
    for _ in range(10_000):
        back = key_between(back, None)
        front = key_between(None, front)
        seen_back.append(back)
        seen_front.append(front)
    assert seen_back == sorted(seen_back) and len(set(seen_back)) == len(seen_back)
    assert seen_front == sorted(seen_front, reverse=True)
    assert max(map(len, seen_back)) <= 4
    assert max(map(len, seen_front)) <= 4


def test_repeated_insert_right_after_first_grows_slowly() -> None:
    lo, hi = "a0", "a1"
    for _ in range(200):
        hi = key_between(lo, hi)
    assert lo < hi and len(hi) < 210  # one digit per halving of a base-62 interval at worst


def test_n_keys_between_is_strictly_increasing() -> None:
    for a, b in [(None, None), ("a0", None), (None, "a0"), ("a0", "a1"), ("Zz", "a0V")]:
        keys = n_keys_between(a, b, 50)
        assert len(keys) == 50
        assert keys == sorted(keys) and len(set(keys)) == 50
        assert all(is_valid_key(k) for k in keys)
        assert a is None or a < keys[0]
        assert b is None or keys[-1] < b


@settings(derandomize=True, max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["between", "front", "back"])), max_size=80))
def test_any_insert_sequence_keeps_strict_order(ops: list[tuple[int, str]]) -> None:
    keys: list[str] = [key_between(None, None)]
    for pos, how in ops:
        if how == "front":
            keys.append(key_between(keys[-1], None))
        elif how == "back":
            keys.insert(0, key_between(None, keys[0]))
        else:
            i = pos % len(keys)
            lo = keys[i]
            hi = keys[i + 1] if i + 1 < len(keys) else None
            keys.insert(i + 1, key_between(lo, hi))
        assert all(k for k in keys)
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert all(is_valid_key(k) for k in keys)


@settings(derandomize=True, max_examples=200)
@given(st.lists(st.booleans(), min_size=1, max_size=300))
def test_alternating_front_back_inserts_stay_small(ends: list[bool]) -> None:
    lo = hi = FIRST_KEY
    for at_front in ends:
        if at_front:
            hi = key_between(hi, None)
        else:
            lo = key_between(None, lo)
    assert len(lo) <= 3 and len(hi) <= 3
