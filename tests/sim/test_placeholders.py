"""Placeholders: scanning, the placeholder-preserving parse, replacement text and substitution (§3)."""

from __future__ import annotations

import pytest

from flowtime.sim.placeholders import Tokenized, render, scan, substitute
from flowtime.sim.yamltext import load_typed


def test_scan_finds_valid_and_malformed_placeholders_in_text_order() -> None:
    text = "a: ${bins}\nb: ${1bad}\nc: ${ spaced }\nd: ${open\ne: ${ok_2}\n"
    found = [(p.text, p.name) for p in scan(text)]
    assert found == [
        ("${bins}", "bins"),
        ("${1bad}", None),
        ("${ spaced }", None),
        ("${open", None),
        ("${ok_2}", "ok_2"),
    ]


def test_unclosed_placeholder_runs_to_the_end_of_its_line_only() -> None:
    found = scan("x: ${abc\ny: }\n")
    assert [(p.text, p.name) for p in found] == [("${abc", None)]


def test_scan_skips_the_excluded_span() -> None:
    text = "a: ${x}\nparameters: ${y}\nb: ${z}\n"
    start = text.index("parameters")
    end = text.index("\nb:")
    assert [p.name for p in scan(text, exclude=(start, end))] == ["x", "z"]


def test_template_document_keeps_placeholders_as_strings_in_every_context() -> None:
    text = 'bins: ${bins}\nvalues: [${first}, 150]\nexpr: "MIN(a, b * ${eff})"\n${key}: 1\nboth: ${a}${b}\n'
    tokenized = Tokenized(text)
    doc = tokenized.restore(load_typed(tokenized.text))
    assert doc == {
        "bins": "${bins}",
        "values": ["${first}", 150],
        "expr": "MIN(a, b * ${eff})",
        "${key}": 1,
        "both": "${a}${b}",
    }


def test_names_with_underscores_restore_exactly() -> None:
    tokenized = Tokenized("v: ${a__b} ${a}\n")
    assert tokenized.restore(load_typed(tokenized.text)) == {"v": "${a__b} ${a}"}


def test_tokenized_indexes_map_back_to_the_template_text() -> None:
    text = "a: ${bins}\nb: ${x}\nc: 1\n"
    tokenized = Tokenized(text)
    c_in_tokens = tokenized.text.index("c:")
    assert tokenized.original_index(c_in_tokens) == text.index("c:")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (2.0, "2"),
        (-0.0, "0"),
        (0.95, "0.95"),
        (1e-07, "1e-07"),
        (1e15, "1000000000000000"),
        (1e16, "1e+16"),
        ([12, 18.5, 20], "[12, 18.5, 20]"),
        ([], "[]"),
        ([1, 2, 3], "[1, 2, 3]"),
    ],
)
def test_render_numbers_booleans_and_arrays(value: object, text: str) -> None:
    assert render(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("", '""'),
        ('"already quoted"', '"already quoted"'),
        ("[1, 2]", "[1, 2]"),
        ("{a: 1}", "{a: 1}"),
        ("file:///srv/capture/web/Checkout_arrivals.csv", '"file:///srv/capture/web/Checkout_arrivals.csv"'),
        ("two words", '"two words"'),
        ("has#hash", '"has#hash"'),
        ("*star", '"*star"'),
        ("&anchor", '"&anchor"'),
        ("!tag", '"!tag"'),
        ("|pipe", '"|pipe"'),
        (">fold", '">fold"'),
        ("'single", '"\'single"'),
        ("%percent", '"%percent"'),
        ("@at", '"@at"'),
        ("`tick", '"`tick"'),
        ('say "hi" now', '"say \\"hi\\" now"'),
        ("back\\slash x", '"back\\\\slash x"'),
        ("line\nbreak", '"line\\nbreak"'),
        ("tab\there", '"tab\\there"'),
        ("bell\x07", '"bell\\a"'),
        ("next\x85line", '"next\\Nline"'),
        ("zürich", "zürich"),
        ("eu-west", "eu-west"),
        ("plain", "plain"),
    ],
)
def test_render_strings_by_the_quoting_rules(value: str, text: str) -> None:
    assert render(value) == text


@pytest.mark.parametrize(
    "value",
    [
        "file:///srv/a b.csv",
        'say "hi" now',
        "back\\slash x",
        "*star",
        "line\nbreak",
        "a: b # c",
        "tab\there",
        "bell\x07",
        "next\x85line",
        "sep\u2028x",
        "nul\x00",
    ],
)
def test_quoted_strings_read_back_unchanged(value: str) -> None:
    assert load_typed(f"v: {render(value)}\n") == {"v": value}


def test_substitute_replaces_every_occurrence_outside_the_excluded_span_without_rescanning() -> None:
    text = "a: ${x}\nparameters: ${x}\nb: [${x}, ${y}]\n"
    span = (text.index("parameters"), text.index("\nb:"))
    out = substitute(text, {"x": "${y}", "y": "2"}, exclude=span)
    assert out == "a: ${y}\nparameters: ${x}\nb: [${y}, 2]\n"
