"""Canonical JSON for protocol ``comity/v1`` (DESIGN §4).

Everything the protocol signs or hashes is canonical JSON: the RFC 8785
(JSON Canonicalization Scheme) rules restricted to the subset the protocol
allows — objects, arrays, strings, integers within ±(2^53-1), booleans and
null. Floats are refused outright, so the number-formatting part of RFC 8785
never applies and every implementation (browser, Python) produces the same
bytes for the same value.

Two functions:

* :func:`canonical_json` serialises a Python value to those bytes;
* :func:`parse_json` reads untrusted JSON text strictly, refusing anything a
  canonical serialiser could not have produced a value for (floats, huge
  integers, duplicate keys, NaN, invalid UTF-8, lone surrogates).

Both lean on the standard :mod:`json` module: its string escaping with
``ensure_ascii=False`` is exactly the ECMAScript ``JSON.stringify`` escaping
RFC 8785 prescribes (``\\b \\f \\n \\r \\t \\" \\\\`` and lowercase ``\\u00xx``
for the other control characters, everything else literal).
"""

import json
from collections.abc import Iterator
from typing import Any

__all__ = [
    "MAX_SAFE_INTEGER",
    "CanonicalJSONError",
    "canonical_json",
    "parse_json",
]

# DESIGN §4: "integers within ±(2^53-1)" — the range a JavaScript number holds
# exactly, so the browser and Python agree on every integer.
MAX_SAFE_INTEGER = 2**53 - 1

# The longest decimal text of an integer in range ("-9007199254740991");
# checked before int() so a megabyte of digits never reaches the parser.
_MAX_INT_TEXT = len(str(-MAX_SAFE_INTEGER))

# One encoder, reused: ensure_ascii=False keeps non-ASCII literal (RFC 8785
# §3.2.2.2); the stdlib escapes control characters as lowercase \u00xx.
_STRING_ENCODER = json.JSONEncoder(ensure_ascii=False)


class CanonicalJSONError(ValueError):
    """A value cannot be serialised canonically, or a text is not strict JSON."""


def canonical_json(value: object) -> bytes:
    """Serialise ``value`` as canonical JSON (DESIGN §4, RFC 8785 subset).

    Args:
        value: ``dict`` (with ``str`` keys), ``list``, ``str``, ``int``,
            ``bool`` or ``None``, nested arbitrarily.

    Returns:
        The UTF-8 bytes: keys sorted by UTF-16 code units, no white space.

    Raises:
        CanonicalJSONError: for floats, integers out of ±(2^53-1), non-string
            keys, strings holding lone surrogates, any other type, or nesting
            too deep to serialise.
    """
    try:
        text = _ENCODER.encode(value) if _plain(value) else "".join(_serialise(value))
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate has no UTF-8 form; RFC 8785 §3.2.2.2 forbids it.
        raise CanonicalJSONError("string holds a lone surrogate") from exc
    except RecursionError as exc:
        raise CanonicalJSONError("value nested too deeply") from exc


# The fast path: the standard library's C encoder gives the same bytes as
# _serialise for any value _plain accepts; everything else (floats, big
# integers, other types, keys whose code-point order differs from UTF-16
# order, deep nesting) takes _serialise, which refuses or orders it itself.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False)
_MAX_FAST_DEPTH = 64
_SCALARS = (str, bool, type(None))


def _plain(value: object) -> bool:
    """Whether ``value`` holds only what the C encoder writes canonically."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[operator]
                continue
            return False
        if depth >= _MAX_FAST_DEPTH:
            return False
        if kind is list:
            stack.extend((child, depth + 1) for child in item)  # type: ignore[attr-defined]
        elif kind is dict:
            for key, child in item.items():  # type: ignore[attr-defined]
                # Below U+D800 code-point order is UTF-16 code-unit order.
                if type(key) is not str or not (key.isascii() or max(key) < "\ud800"):
                    return False
                stack.append((child, depth + 1))
        else:
            return False
    return True


def _serialise(value: object) -> Iterator[str]:
    """Yield the canonical text of ``value`` piece by piece."""
    # bool before int: True is an int in Python but a literal in JSON.
    if value is None:
        yield "null"
    elif value is True:
        yield "true"
    elif value is False:
        yield "false"
    elif isinstance(value, int):
        yield str(_check_int(int(value)))
    elif isinstance(value, str):
        yield _STRING_ENCODER.encode(value)
    elif isinstance(value, list):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _serialise(item)
        yield "]"
    elif isinstance(value, dict):
        yield from _serialise_object(value)
    elif isinstance(value, float):
        raise CanonicalJSONError("floats are not allowed in canonical JSON")
    else:
        raise CanonicalJSONError(f"type {type(value).__name__} is not allowed in canonical JSON")


def _serialise_object(value: dict[Any, Any]) -> Iterator[str]:
    """Yield an object with its keys in UTF-16 code-unit order (RFC 8785 §3.2.3)."""
    for key in value:
        if not isinstance(key, str):
            raise CanonicalJSONError(f"object key {key!r} is not a string")
    yield "{"
    # Comparing UTF-16BE bytes compares code units: a supplementary character
    # (surrogate pair, 0xD800..) sorts before U+E000..U+FFFF, unlike code-point
    # order. surrogatepass lets a lone surrogate reach the UTF-8 check instead.
    ordered = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
    for index, key in enumerate(ordered):
        if index:
            yield ","
        yield _STRING_ENCODER.encode(key)
        yield ":"
        yield from _serialise(value[key])
    yield "}"


def _check_int(number: int) -> int:
    """Return ``number`` if JavaScript can hold it exactly, else raise."""
    if not -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        raise CanonicalJSONError(f"integer {number} is outside ±(2^53-1)")
    return number


def parse_json(text: str | bytes) -> Any:
    """Parse untrusted JSON strictly.

    Accepts only values :func:`canonical_json` can serialise, so a parsed
    value can always be re-canonicalised for signature checks. White space
    and key order are *not* required to be canonical.

    Args:
        text: JSON text, as ``str`` or UTF-8 ``bytes``.

    Returns:
        The parsed value (``dict``, ``list``, ``str``, ``int``, ``bool``,
        ``None``).

    Raises:
        CanonicalJSONError: on syntax errors, floats or exponents, NaN or
            Infinity, integers out of ±(2^53-1), duplicate keys, invalid
            UTF-8, a byte-order mark, lone surrogates, or excessive nesting.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalJSONError("JSON text is not valid UTF-8") from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
            parse_int=_parse_safe_int,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalJSONError(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise CanonicalJSONError("JSON nested too deeply") from exc
    _check_strings(value)
    return value


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build an object, refusing a key that appears twice (RFC 8785 §3.1)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise CanonicalJSONError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _refuse_float(text: str) -> Any:
    """Refuse a number with a fraction or exponent (DESIGN §4: no floats)."""
    raise CanonicalJSONError(f"non-integer number {text} is not allowed")


def _refuse_constant(text: str) -> Any:
    """Refuse NaN, Infinity and -Infinity, which JSON itself does not have."""
    raise CanonicalJSONError(f"{text} is not JSON")


def _parse_safe_int(text: str) -> int:
    """Parse an integer, refusing one outside ±(2^53-1)."""
    if len(text) > _MAX_INT_TEXT:
        raise CanonicalJSONError(f"integer {text[:20]}... is outside ±(2^53-1)")
    return _check_int(int(text))


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates (from ``\\ud800`` escapes) anywhere in ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_utf8(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_utf8(key)
                stack.append(child)


def _check_utf8(text: str) -> None:
    """Raise if ``text`` holds a code point UTF-8 cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError("string holds a lone surrogate") from exc
