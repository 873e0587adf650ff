"""Fractional-index keys: base-62 strings whose plain string order is the paint order.

Why: a reorder must rewrite *one* field of *one* annotation, and two people inserting or
reordering at the same time must never have to renumber their neighbours. A key strictly
between any two keys always exists, so ``key_between(a, b)`` is all a mutation needs.

Format (the one used by tldraw, Excalidraw and the ``fractional-indexing`` npm package, so
a frontend can use that package on the same keys): an *integer part* whose first character
encodes its length (``a``..``z`` → 2..27 characters for non-negative, ``Z``..``A`` → 2..27
for negative integers) followed by an optional *fraction* of base-62 digits with no trailing
``0``. Digits are ``0-9A-Za-z``, which is ASCII order, so Python's ``<`` on ``str`` is the
key order. The first key ever handed out is ``a0``; appending at the end walks ``a1``,
``a2`` … ``az``, ``b00`` …, so keys stay short under repeated insert-at-front/back.

Concurrent inserts at the same spot can produce equal keys (tldraw #4210): the paint
order is therefore always ``(key, id)``, and callers that need a key strictly after a
run of equal keys ask for a key between the run and the next *greater* key.
"""

from __future__ import annotations

from typing import TypeGuard

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ZERO = DIGITS[0]
_INDEX = {ch: i for i, ch in enumerate(DIGITS)}
_SMALLEST_INTEGER = "A" + _ZERO * 26
FIRST_KEY = "a0"

__all__ = ["DIGITS", "FIRST_KEY", "is_valid_key", "key_between", "n_keys_between"]


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise ValueError(f"invalid order key head {head!r}")


def _integer_part(key: str) -> str:
    n = _integer_length(key[0])
    if n > len(key):
        raise ValueError(f"invalid order key {key!r}")
    return key[:n]


def _validate(key: str) -> None:
    if not key:
        raise ValueError("order key must not be empty")
    if key == _SMALLEST_INTEGER:
        raise ValueError(f"invalid order key {key!r}")
    if any(ch not in _INDEX for ch in key):
        raise ValueError(f"order key {key!r} has a non base-62 character")
    integer = _integer_part(key)
    if key[len(integer) :].endswith(_ZERO):
        raise ValueError(f"order key {key!r} has a trailing zero")


def is_valid_key(key: object) -> TypeGuard[str]:
    """True if ``key`` is a well-formed key (the view uses this to repair raw data)."""
    if not isinstance(key, str) or len(key) > 1024:
        return False
    try:
        _validate(key)
    except ValueError:
        return False
    return True


def _midpoint(a: str, b: str | None) -> str:
    """A fraction strictly between fractions ``a`` and ``b`` (``None`` = 1)."""
    if b is not None and a >= b:
        raise ValueError(f"{a!r} >= {b!r}")
    if b is not None:
        # Skip the common prefix (``a`` padded with zeros).
        n = 0
        while n < len(b) and (a[n] if n < len(a) else _ZERO) == b[n]:
            n += 1
        if n > 0:
            return b[:n] + _midpoint(a[n:], b[n:])
    digit_a = _INDEX[a[0]] if a else 0
    digit_b = _INDEX[b[0]] if b else len(DIGITS)
    if digit_b - digit_a > 1:
        return DIGITS[(digit_a + digit_b + 1) // 2]
    if b is not None and len(b) > 1:
        return b[:1]
    return DIGITS[digit_a] + _midpoint(a[1:], None)


def _increment_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    carry = True
    for i in range(len(digits) - 1, -1, -1):
        d = _INDEX[digits[i]] + 1
        if d == len(DIGITS):
            digits[i] = _ZERO
        else:
            digits[i] = DIGITS[d]
            carry = False
            break
    if not carry:
        return head + "".join(digits)
    if head == "Z":
        return "a" + _ZERO
    if head == "z":
        return None
    new_head = chr(ord(head) + 1)
    if new_head > "a":
        digits.append(_ZERO)
    else:
        digits.pop()
    return new_head + "".join(digits)


def _decrement_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    borrow = True
    for i in range(len(digits) - 1, -1, -1):
        d = _INDEX[digits[i]] - 1
        if d == -1:
            digits[i] = DIGITS[-1]
        else:
            digits[i] = DIGITS[d]
            borrow = False
            break
    if not borrow:
        return head + "".join(digits)
    if head == "a":
        return "Z" + DIGITS[-1]
    if head == "A":
        return None
    new_head = chr(ord(head) - 1)
    if new_head < "Z":
        digits.append(DIGITS[-1])
    else:
        digits.pop()
    return new_head + "".join(digits)


def key_between(a: str | None, b: str | None) -> str:
    """Return a key strictly between ``a`` and ``b``.

    ``None`` means "no bound": ``key_between(None, None)`` is the first key,
    ``key_between(last, None)`` appends at the end (front of the paint order),
    ``key_between(None, first)`` prepends. Raises ``ValueError`` if a key is malformed or
    ``a >= b`` — callers handling equal keys must widen the interval first.
    """
    if a is not None:
        _validate(a)
    if b is not None:
        _validate(b)
    if a is not None and b is not None and a >= b:
        raise ValueError(f"{a!r} >= {b!r}")
    if a is None:
        if b is None:
            return FIRST_KEY
        int_b = _integer_part(b)
        frac_b = b[len(int_b) :]
        if int_b == _SMALLEST_INTEGER:
            return int_b + _midpoint("", frac_b)
        if int_b < b:
            return int_b
        res = _decrement_integer(int_b)
        if res is None:
            raise ValueError("cannot decrement any more")
        return res
    if b is None:
        int_a = _integer_part(a)
        frac_a = a[len(int_a) :]
        inc = _increment_integer(int_a)
        return int_a + _midpoint(frac_a, None) if inc is None else inc
    int_a = _integer_part(a)
    frac_a = a[len(int_a) :]
    int_b = _integer_part(b)
    frac_b = b[len(int_b) :]
    if int_a == int_b:
        return int_a + _midpoint(frac_a, frac_b)
    inc = _increment_integer(int_a)
    if inc is None:
        raise ValueError("cannot increment any more")
    if inc < b:
        return inc
    return int_a + _midpoint(frac_a, None)


def n_keys_between(a: str | None, b: str | None, n: int) -> list[str]:
    """Return ``n`` increasing keys strictly between ``a`` and ``b`` (bisecting, so short)."""
    if n <= 0:
        return []
    if n == 1:
        return [key_between(a, b)]
    if b is None:
        out = []
        c = key_between(a, b)
        out.append(c)
        for _ in range(n - 1):
            c = key_between(c, b)
            out.append(c)
        return out
    if a is None:
        out = []
        c = key_between(a, b)
        out.append(c)
        for _ in range(n - 1):
            c = key_between(a, c)
            out.append(c)
        out.reverse()
        return out
    mid = n // 2
    c = key_between(a, b)
    return [*n_keys_between(a, c, mid), c, *n_keys_between(c, b, n - mid - 1)]
