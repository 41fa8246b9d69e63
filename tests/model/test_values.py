import math

import pytest

from flowtime.model import format_number, is_node_id, snake
from flowtime.model.values import as_integer, as_number, shorten


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IntakeQueue", "intake_queue"),
        ("HTTPService", "http_service"),
        ("DLQ", "dlq"),
        ("Orders", "orders"),
        ("orders", "orders"),
        ("Order2Queue", "order2_queue"),
        ("getHTTPResponseCode", "get_http_response_code"),
        ("ABCd", "ab_cd"),
        ("a_B", "a__b"),
        ("already_snake", "already_snake"),
        ("X", "x"),
        ("", ""),
    ],
)
def test_snake(name: str, expected: str) -> None:
    assert snake(name) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3.0), (2.5, 2.5), ("1e3", 1000.0), (" -4.5 ", -4.5), (".5", 0.5), ("5.", 5.0), (10**400, math.inf)],
)
def test_numbers(value: object, expected: float) -> None:
    assert as_number(value) == expected


@pytest.mark.parametrize("value", [True, False, None, "NaN", "inf", "Infinity", "0x10", "1_0", "", [1], {}])
def test_not_numbers(value: object) -> None:
    assert as_number(value) is None


@pytest.mark.parametrize(("value", "expected"), [(8, 8), (8.0, 8), ("8", 8), ("-3", -3), ("+3", 3), (1e3, 1000)])
def test_integers(value: object, expected: int) -> None:
    assert as_integer(value) == expected


@pytest.mark.parametrize("value", [8.5, "8.0", "x", math.inf, math.nan, None, [8]])
def test_not_integers(value: object) -> None:
    assert as_integer(value) is None


def test_node_ids() -> None:
    assert all(map(is_node_id, ["a", "_", "A1_b", "_9"]))
    assert not any(map(is_node_id, ["", "1a", "a-b", "a b", "é", "a\n"]))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5.0, "5"),
        (-0.5, "-0.5"),
        (0.1, "0.1"),
        (1e20, "1e+20"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_shorten() -> None:
    assert shorten("abc", 5) == "abc"
    assert shorten("abcdefgh", 5) == "abcd…"
