"""Placeholders match exactly what they promise, and a changed output no longer matches."""

from __future__ import annotations

import pytest
from tests.docs.matching import explain, matches, templatise

LITERALS = {"<data-dir>": "/tmp/x/work/data", "<work-dir>": "/tmp/x/work", "127.0.0.1:8080": "127.0.0.1:40123"}


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("Run created: web", "Run created: web\n"),
        ("at <timestamp>.", "at 2026-03-02T08:20:03.771045Z."),
        ("start <timestamp>", "start 2026-03-02T08:05:00Z"),
        ("id <run-id>", "id run_20260302T082003Z_9d3f2a61"),
        ("id <run-id>", "id run_deterministic_9d3f2a61"),
        ("hash <hash>", "hash sha256:" + "a" * 64),
        ("took <number> ms", "took 12.5 ms"),
        ("dir <data-dir>/r1", "dir /tmp/x/work/data/r1"),
        ("url http://127.0.0.1:8080/", "url http://127.0.0.1:40123/"),
        ("a  b", "a        b"),
        ('"model": "x\\n<any>",', '"model": "x\\nanything at all",'),
        ("first\n...\nlast", "first\nlast"),
        ("first\n...\nlast", "first\nmiddle 1\nmiddle 2\nlast"),
        ("", ""),
        ("trailing  \n\n", "trailing"),
    ],
)
def test_matches(expected: str, actual: str) -> None:
    assert matches(expected, actual, LITERALS)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("Run created: web", "Run created: web2"),
        ("at <timestamp>.", "at yesterday."),
        ("hash <hash>", "hash sha256:abc"),
        ("id <run-id>", "id run-17"),
        ("dir <data-dir>/r1", "dir /elsewhere/data/r1"),
        ("a b", "a  b"),
        ("one\ntwo", "one"),
        ("first\n...\nlast", "first\nmiddle"),
        ("", "unexpected output"),
        ("[exit 3]", ""),
    ],
)
def test_differences_do_not_match(expected: str, actual: str) -> None:
    assert not matches(expected, actual, LITERALS)


def test_regex_characters_in_docs_are_literal() -> None:
    assert matches("a.b (c) [d]*", "a.b (c) [d]*", {})
    assert not matches("a.b", "axb", {})


def test_explain_shows_a_diff_with_session_paths_named() -> None:
    text = explain("dir <data-dir>/r1", "dir /tmp/x/work/data/r2", LITERALS)
    assert "-dir <data-dir>/r1" in text
    assert "+dir <data-dir>/r2" in text


def test_templatise_keeps_grid_times_and_column_widths() -> None:
    actual = (
        "id  2026-11-22T00:41:41.405079Z  available\n"
        "bin [2025-01-01T01:00:00Z .. 2025-01-01T01:15:00Z) run_20260302T082003Z_9d3f2a61\n"
        "in /tmp/x/work/data/r1"
    )
    assert templatise(actual, LITERALS).split("\n") == [
        "id  <timestamp>                  available",
        "bin [2025-01-01T01:00:00Z .. 2025-01-01T01:15:00Z) <run-id>",
        "in <data-dir>/r1",
    ]
    assert matches(templatise(actual, LITERALS), actual, LITERALS)
