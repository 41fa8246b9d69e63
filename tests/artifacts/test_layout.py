"""Series ids and bundle paths (§2, §4)."""

from __future__ import annotations

import pytest

from flowtime.artifacts import SERIES_ID_PATTERN, component_id, series_id, series_node, series_path
from flowtime.artifacts.layout import is_inside


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("handled", "handled@HANDLED@DEFAULT"),
        ("intake_queue_queue", "intake_queue_queue@INTAKE_QUEUE_QUEUE@DEFAULT"),
        ("HTTP_Served2", "HTTP_Served2@HTTP_SERVED2@DEFAULT"),
        ("_x", "_x@_X@DEFAULT"),
    ],
)
def test_series_id(column: str, expected: str) -> None:
    assert series_id(column) == expected
    assert SERIES_ID_PATTERN.fullmatch(expected)


def test_upper_is_ascii_only() -> None:
    assert component_id("straße") == "STRAßE"


def test_class_and_path() -> None:
    assert series_id("a", "gold") == "a@A@gold"
    assert series_path("a@A@DEFAULT") == "series/a@A@DEFAULT.csv"
    assert series_node("a_b@A_B@DEFAULT") == "a_b"
    assert series_node("plain") == "plain"


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("series/a.csv", True),
        ("series\\a.csv", True),
        ("a.csv", True),
        ("../a.csv", False),
        ("series/../../a.csv", False),
        ("/etc/passwd", False),
        ("C:/x.csv", False),
        ("..\\x.csv", False),
        ("", False),
    ],
)
def test_is_inside(path: str, inside: bool) -> None:
    assert is_inside(path) is inside
