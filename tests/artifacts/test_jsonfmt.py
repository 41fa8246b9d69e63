"""dumps_json: the §1 layout, §5.2 doubles, NaN/∞ as null, the string escaping rules."""

from __future__ import annotations

import json
import math
from collections import OrderedDict

import numpy as np
import pytest

from flowtime.artifacts import dumps_json, json_bytes, json_string


def test_layout_matches_json_dumps_indent_2() -> None:
    document = {
        "schemaVersion": 1,
        "grid": {"bins": 4, "binUnit": "minutes"},
        "empty": [],
        "nothing": {},
        "flags": [True, False, None],
        "nested": [{"a": [1, [2, []]]}, "x"],
    }
    assert dumps_json(document) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_doubles_use_the_shortest_round_trip_form() -> None:
    text = dumps_json({"a": 8.0, "b": 0.1, "c": -0.0, "d": 1e16, "e": 2.5e-7, "f": 10 / 12})
    assert text == (
        '{\n  "a": 8,\n  "b": 0.1,\n  "c": 0,\n  "d": 1e+16,\n  "e": 2.5e-07,\n  "f": 0.8333333333333334\n}\n'
    )


def test_non_finite_doubles_are_null() -> None:
    assert dumps_json([math.nan, math.inf, -math.inf]) == "[\n  null,\n  null,\n  null\n]\n"


def test_numpy_scalars_and_arrays() -> None:
    document = {"i": np.int64(3), "f": np.float64(1.5), "b": np.bool_(True), "a": np.array([1.0, 2.5])}
    assert dumps_json(document) == '{\n  "i": 3,\n  "f": 1.5,\n  "b": true,\n  "a": [\n    1,\n    2.5\n  ]\n}\n'


def test_key_order_is_insertion_order() -> None:
    assert dumps_json(OrderedDict([("z", 1), ("a", 2)])) == '{\n  "z": 1,\n  "a": 2\n}\n'


def test_top_level_scalars() -> None:
    assert dumps_json("x") == '"x"\n'
    assert dumps_json(None) == "null\n"


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("a/b+c", '"a/b+c"'),
        ("\b\f\n\r\t", r'"\b\f\n\r\t"'),
        ("\x00\x1f\x1b", r'"\u0000\u001f\u001b"'),
        ("grüße ✓ 日本", '"grüße ✓ 日本"'),
        ("\x7f", '"\x7f"'),
        ("\u2028", '"\u2028"'),
        ("lone \ud800", r'"lone \ud800"'),
    ],
)
def test_string_escaping(text: str, literal: str) -> None:
    assert json_string(text) == literal


def test_json_bytes_are_utf8_without_bom() -> None:
    data = json_bytes({"name": "é"})
    assert data == '{\n  "name": "é"\n}\n'.encode()
    assert not data.startswith(b"\xef\xbb\xbf")


def test_unsupported_values_raise() -> None:
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        dumps_json({"s": {1}})
    with pytest.raises(TypeError, match="keys must be strings"):
        dumps_json({1: "x"})
