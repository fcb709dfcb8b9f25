"""Canonical JSON (DESIGN §4): the shared vectors, refusals, and properties."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consult.lib.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    parse_json,
)
from consult.lib.canonical import _serialise as reference_serialise
from tests.testdata import load_vectors

VECTORS = load_vectors()["canonical_json"]
VALID = VECTORS["valid"]
INVALID_TEXTS = VECTORS["invalid_json_texts"]


@pytest.mark.parametrize("vector", VALID, ids=[f"valid-{i}" for i in range(len(VALID))])
def test_canonical_json__vector(vector: dict[str, Any]) -> None:
    """Each vector input serialises to exactly its canonical text."""
    assert canonical_json(vector["input"]) == vector["canonical"].encode("utf-8")


@pytest.mark.parametrize("vector", VALID, ids=[f"valid-{i}" for i in range(len(VALID))])
def test_parse_json__vector_canonical_text(vector: dict[str, Any]) -> None:
    """Each canonical text parses back to the vector's input."""
    assert parse_json(vector["canonical"]) == vector["input"]
    assert parse_json(vector["canonical"].encode("utf-8")) == vector["input"]


@pytest.mark.parametrize("text", INVALID_TEXTS, ids=[f"invalid-{i}" for i in range(len(INVALID_TEXTS))])
def test_parse_json__refuses_invalid_vector(text: str) -> None:
    """Each of the vectors' invalid texts is refused by the strict parser."""
    with pytest.raises(CanonicalJSONError):
        parse_json(text)


def test_canonical_json__escapes_like_json_stringify() -> None:
    """Control characters use the short escapes or lowercase \\u00xx; others stay literal."""
    value = '\b\f\n\r\t"\\ \x00\x1f\x7f\u2028é😀/'
    expected = '"\\b\\f\\n\\r\\t\\"\\\\ \\u0000\\u001f\x7f\u2028é😀/"'
    assert canonical_json(value) == expected.encode("utf-8")


def test_canonical_json__sorts_keys_by_utf16_code_units() -> None:
    """A supplementary-plane key (surrogate pair) sorts before U+E000..U+FFFF."""
    assert canonical_json({"\uffff": 1, "😀": 2, "\ue000": 3, "z": 4}) == (
        '{"z":4,"😀":2,"\ue000":3,"\uffff":1}'.encode()
    )


def test_canonical_json__no_whitespace_nested() -> None:
    """Nested arrays and objects are written without insignificant white space."""
    assert canonical_json({"b": [], "a": {}, "c": [{"y": None, "x": [True]}]}) == (
        b'{"a":{},"b":[],"c":[{"x":[true],"y":null}]}'
    )


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        float("nan"),
        float("inf"),
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        {1: "x"},
        {None: 1},
        (1, 2),
        {1, 2},
        b"bytes",
        "\ud800",
        {"\udfff": 1},
        [object()],
    ],
    ids=[
        "float",
        "nan",
        "inf",
        "int-too-large",
        "int-too-small",
        "int-key",
        "none-key",
        "tuple",
        "set",
        "bytes",
        "lone-surrogate",
        "lone-surrogate-key",
        "object",
    ],
)
def test_canonical_json__refuses(value: Any) -> None:
    """Values outside the canonical subset raise CanonicalJSONError."""
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


def test_canonical_json__refuses_deep_nesting() -> None:
    """Nesting beyond the interpreter's recursion limit is a clean error."""
    value: Any = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":"\xff"}',
        b'{"a":"\xed\xa0\x80"}',
        '"\\ud800"',
        '{"\\udc00":1}',
        '["\\ud83d"]',
        "Infinity",
        "-Infinity",
        '{"a":-0.0}',
        '{"a":1E2}',
        "1" * 5000,
        "-9007199254740992",
        "\ufeff{}",
        "{} x",
        "{'a':1}",
        '{"a":1,}',
        '"tab\there"',
        '{"a":{"b":1,"b":1}}',
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=[
        "invalid-utf8",
        "utf8-encoded-surrogate",
        "lone-surrogate-escape",
        "lone-surrogate-key",
        "high-surrogate-only",
        "infinity",
        "minus-infinity",
        "negative-zero-float",
        "exponent",
        "5000-digits",
        "int-below-range",
        "bom",
        "trailing-garbage",
        "single-quotes",
        "trailing-comma",
        "raw-control-character",
        "nested-duplicate",
        "deep-nesting",
    ],
)
def test_parse_json__refuses(text: str | bytes) -> None:
    """Non-strict JSON is refused with CanonicalJSONError, never another error."""
    with pytest.raises(CanonicalJSONError):
        parse_json(text)


def test_parse_json__accepts_surrogate_pair_escape_and_whitespace() -> None:
    """An escaped surrogate pair is one character; white space is allowed on input."""
    assert parse_json(' { "a" : "\\ud83d\\ude00" , "b" : [ -0 , 9007199254740991 ] } ') == {
        "a": "😀",
        "b": [0, MAX_SAFE_INTEGER],
    }


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=25,
)


@given(JSON_VALUES)
def test_canonical_json__round_trips_through_parse_json(value: Any) -> None:
    """parse_json(canonical_json(x)) == x for every JSON-like value."""
    assert parse_json(canonical_json(value)) == value


@given(JSON_VALUES)
def test_canonical_json__is_idempotent(value: Any) -> None:
    """Canonicalising a canonical text's value again gives the same bytes."""
    once = canonical_json(value)
    assert canonical_json(parse_json(once)) == once


@given(st.dictionaries(st.text(), st.integers(min_value=0, max_value=9), min_size=2, max_size=8))
def test_canonical_json__key_order_is_utf16_and_stdlib_compatible(value: dict[str, int]) -> None:
    """Output keys follow UTF-16 order, and the stdlib reads the same value back."""
    text = canonical_json(value)
    decoded = json.loads(text)
    assert decoded == value
    keys = list(decoded)
    assert keys == sorted(keys, key=lambda k: k.encode("utf-16-be"))


# Keys and strings that probe the fast path's limits: astral characters (whose
# UTF-16 order differs from code-point order), U+E000..U+FFFF, controls, quotes.
TRICKY_TEXT = st.text(st.sampled_from(["a", "é", "\u2028", "\ue000", "\uffff", "\U0001f600", "\x00", '"', "\\"]))
TRICKY_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER) | TRICKY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TRICKY_TEXT, children, max_size=4),
    max_leaves=20,
)


@given(TRICKY_VALUES)
def test_canonical_json__fast_path_writes_the_reference_bytes(value: Any) -> None:
    """The C-encoder path and the reference serialiser agree byte for byte."""
    assert canonical_json(value) == "".join(reference_serialise(value)).encode("utf-8")


def test_canonical_json__deep_but_allowed_nesting_takes_the_reference_path() -> None:
    value: Any = {"k": 1}
    for _ in range(200):
        value = [value]
    assert canonical_json(value) == "".join(reference_serialise(value)).encode("utf-8")
