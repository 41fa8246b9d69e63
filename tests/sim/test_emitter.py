"""Serialisation of generated models (§7.3): layout, number text and quoting that reads back unchanged."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtime.model import parse_document
from flowtime.sim.emitter import dump, scalar
from flowtime.sim.yamltext import load_typed


def test_layout_block_mappings_block_sequences_of_mappings_and_flow_scalar_lists() -> None:
    text = dump(
        {
            "schemaVersion": 1,
            "topology": {"nodes": [{"id": "A", "semantics": {"arrivals": "a"}}], "edges": []},
            "nodes": [{"id": "a", "kind": "const", "values": [1, 2.5, 3.0]}],
            "metadata": {"tags": ["x", "y"], "empty": None},
            "provenance": {"parameters": {"p": [1, 2]}, "mode": "simulation"},
        }
    )
    assert text == (
        "schemaVersion: 1\n"
        "topology:\n"
        "  nodes:\n"
        "    - id: A\n"
        "      semantics:\n"
        "        arrivals: a\n"
        "  edges: []\n"
        "nodes:\n"
        "  - id: a\n"
        "    kind: const\n"
        "    values: [1, 2.5, 3]\n"
        "metadata:\n"
        "  tags: [x, y]\n"
        "provenance:\n"
        "  parameters:\n"
        "    p: [1, 2]\n"
        "  mode: simulation\n"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (2.0, "2"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1e16, "1e+16"),
        (math.nan, ".nan"),
        (-math.inf, "-.inf"),
        (True, "true"),
        ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("file://telemetry/x.csv", "file://telemetry/x.csv"),
        ("MIN(a, b * 0.9)", "MIN(a, b * 0.9)"),
        ("yes", "yes"),
        ("123", '"123"'),
        ("1e3", '"1e3"'),
        ("true", '"true"'),
        ("null", '"null"'),
        ("", '""'),
        (" padded", '" padded"'),
        ("a: b", '"a: b"'),
        ("x #y", '"x #y"'),
        ("- dash", '"- dash"'),
        ("[x", '"[x"'),
        ('say "hi"', 'say "hi"'),
        ("tab\there", '"tab\\there"'),
    ],
)
def test_scalars(value: object, text: str) -> None:
    assert scalar(value) == text


def test_flow_context_quotes_flow_indicators() -> None:
    assert dump({"tags": ["a,b", "c"]}) == 'tags: ["a,b", c]\n'


@pytest.mark.parametrize(
    "value",
    ["123", "0x1F", ".inf", "~", "True", "a: b", "#x", "x\ny", "é ü", "\\", '"q"', "'s'", "%x", "{}", "key:"],
)
def test_every_string_reads_back_unchanged_with_our_reader_and_the_model_parser(value: str) -> None:
    text = dump({"v": value, "l": [value]})
    assert load_typed(text) == {"v": value, "l": [value]}
    assert parse_document(text).root == {"v": value, "l": [value]}


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_any_string_reads_back_unchanged(value: str) -> None:
    text = dump({"v": value, "l": [value, "x"]})
    assert load_typed(text) == {"v": value, "l": [value, "x"]}
    assert parse_document(text).root == {"v": value, "l": [value, "x"]}


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False) | st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_any_number_reads_back_as_the_same_number(value: float) -> None:
    assert load_typed(dump({"v": value})) == {"v": value}
