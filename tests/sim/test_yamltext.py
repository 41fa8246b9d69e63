"""YAML 1.2 core-schema typing of template text, untyped reading for hashes, and root key spans."""

from __future__ import annotations

import math

import pytest

from flowtime.sim import yamltext
from flowtime.sim.yamltext import YamlSyntaxError, compose, load_typed, load_untyped, root_spans


def test_core_schema_types_plain_scalars_and_keeps_yaml11_words_as_strings() -> None:
    doc = load_typed(
        "a: true\nb: yes\nc: on\nd: off\ne: 1e3\nf: 1E-07\ng: ~\nh:\ni: null\nj: 0x1F\nk: 0o17\n"
        "l: .inf\nm: -.INF\nn: .nan\no: 12\np: -3.5\nq: 1_000\n"
    )
    assert doc["a"] is True
    assert (doc["b"], doc["c"], doc["d"]) == ("yes", "on", "off")
    assert doc["e"] == 1000.0 and isinstance(doc["e"], float)
    assert doc["f"] == 1e-07
    assert doc["g"] is None and doc["h"] is None and doc["i"] is None
    assert (doc["j"], doc["k"]) == (31, 15)
    assert doc["l"] == math.inf and doc["m"] == -math.inf and math.isnan(doc["n"])
    assert doc["o"] == 12 and isinstance(doc["o"], int)
    assert doc["p"] == -3.5
    assert doc["q"] == "1_000"


def test_timestamps_stay_strings_and_quoted_scalars_are_never_typed() -> None:
    doc = load_typed("start: 2025-01-01T00:00:00Z\nday: 2025-01-01\nn: \"12\"\nb: 'true'\n")
    assert doc == {"start": "2025-01-01T00:00:00Z", "day": "2025-01-01", "n": "12", "b": "true"}


def test_mapping_keys_are_their_source_text() -> None:
    assert load_typed("1: a\ntrue: b\n") == {"1": "a", "true": "b"}


def test_duplicate_key_is_an_error_with_its_line_and_column() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_typed("grid:\n  bins: 4\n  bins: 5\n")
    assert caught.value.describe() == "YAML parsing error: duplicate key 'bins' (line 3, column 3)."


def test_syntax_error_reports_the_parser_problem_and_position() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_typed("a: [1, 2\nb: 3\n")
    assert caught.value.line == 2
    assert caught.value.describe().startswith("YAML parsing error: ")


def test_several_documents_are_rejected() -> None:
    with pytest.raises(YamlSyntaxError):
        load_typed("a: 1\n---\nb: 2\n")


def test_unsupported_tags_are_errors_and_core_tags_are_checked() -> None:
    with pytest.raises(YamlSyntaxError, match="unsupported tag"):
        load_typed("a: !!python/name:os.system x\n")
    with pytest.raises(YamlSyntaxError, match="cannot read 'abc' as int"):
        load_typed("a: !!int abc\n")
    assert load_typed("a: !!str 12\nb: !!float 3\n") == {"a": "12", "b": 3.0}


def test_untyped_reading_keeps_source_text_except_unquoted_nulls() -> None:
    doc = load_untyped("a: 1.50\nb: true\nc: ~\nd: ''\ne:\nf: [1, null, \"null\"]\n")
    assert doc == {"a": "1.50", "b": "true", "c": None, "d": "", "e": None, "f": ["1", None, "null"]}


def test_root_spans_cover_key_and_value() -> None:
    text = "a: 1\nparameters:\n  - name: x\n    type: string\nb: 2\n"
    start, end = root_spans(compose(text))["parameters"]
    assert text[start:end] == "parameters:\n  - name: x\n    type: string\n"


def test_empty_text_composes_to_nothing() -> None:
    assert load_typed("") is None
    assert root_spans(compose("# only a comment\n")) == {}


def test_deep_nesting_is_refused_before_the_composer_sees_it() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_typed("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert caught.value.describe() == "YAML parsing error: nesting deeper than 200 levels (line 1, column 203)."


def test_an_alias_inside_its_own_anchor_is_an_error() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_typed("metadata: &m\n  id: x\n  again: *m\n")
    assert caught.value.describe() == (
        "YAML parsing error: an alias refers to a node that contains it (line 1, column 11)."
    )


def test_alias_expansion_beyond_the_node_budget_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamltext, "_MAX_NODES", 1000)
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 4)]
    with pytest.raises(YamlSyntaxError, match="aliases expand to more than 1000 nodes"):
        load_typed("\n".join(levels) + "\n")
    assert len(load_typed("\n".join(levels[:2]) + "\n")["a1"]) == 10


def test_syntax_error_names_the_construct_and_the_line_it_starts_on() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_typed("metadata:\n  id: x\n  tags: [a, b\n")
    assert caught.value.describe() == (
        "YAML parsing error: did not find expected ',' or ']' while parsing a flow sequence that starts on "
        "line 3 (line 4, column 1)."
    )


def test_characters_yaml_refuses_are_reported_at_their_line_and_column() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_typed("a: 1\nb: x\x07y\n")
    assert caught.value.describe() == (
        "YAML parsing error: unacceptable character #x0007: control characters are not allowed (line 2, column 5)."
    )
    with pytest.raises(YamlSyntaxError, match="lone surrogate is not valid Unicode text"):
        load_typed("a: \ud800\n")
