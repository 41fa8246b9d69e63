"""Spec text normalisation (§6): BOM, line endings, trailing LFs, textual provenance removal."""

from __future__ import annotations

import pytest

from flowtime.artifacts import normalise_spec_text

BASE = "schemaVersion: 1\ngrid:\n  bins: 4\n"


def test_plain_text_is_unchanged() -> None:
    spec = normalise_spec_text(BASE)
    assert spec.text == BASE
    assert spec.warnings == ()


def test_bom_crlf_and_lone_cr_are_normalised() -> None:
    assert normalise_spec_text("\ufeffschemaVersion: 1\r\ngrid:\r  bins: 4\r\n").text == BASE


@pytest.mark.parametrize("tail", ["", "\n\n\n", "\r\n\r\n"])
def test_trailing_newlines_collapse_to_one(tail: str) -> None:
    assert normalise_spec_text(BASE.rstrip("\n") + tail).text == BASE


def test_empty_text_becomes_one_newline() -> None:
    assert normalise_spec_text("").text == "\n"


def test_provenance_block_at_the_end_is_removed() -> None:
    text = BASE + "provenance:\n  source: flowtime-sim\n  generatedAt: 2026-03-02T08:20:03Z\n  modelId: m\n"
    spec = normalise_spec_text(text)
    assert spec.text == BASE
    assert spec.warnings == ()


def test_provenance_block_in_the_middle_with_comments_and_blank_lines() -> None:
    text = (
        "schemaVersion: 1\n"
        "provenance:   \n"
        "  modelId: m\n"
        "\n"
        "# generated\n"
        '  note: "folded\n'
        '\tacross lines"\n'
        "  parameters: {a: 1}\n"
        "  links:\n"
        "    - x\n"
        "grid:\n"
        "  bins: 4\n"
    )
    assert normalise_spec_text(text).text == BASE


def test_provenance_with_flow_value_on_the_key_line() -> None:
    assert normalise_spec_text(BASE + "provenance: {modelId: m, source: s}\n").text == BASE


def test_nested_provenance_key_is_not_touched() -> None:
    text = BASE + "metadata:\n  provenance:\n    modelId: m\n"
    assert normalise_spec_text(text).text == text


def test_similar_root_key_is_not_provenance() -> None:
    text = BASE + "provenanceNote: x\n"
    assert normalise_spec_text(text).text == text


def test_quoted_provenance_key_is_kept_with_warning() -> None:
    text = BASE + '"provenance":\n  modelId: m\n'
    spec = normalise_spec_text(text)
    assert spec.text == text
    assert [w.code for w in spec.warnings] == ["provenance_not_stripped"]
    assert spec.warnings[0].message == ("Provenance block could not be removed from the model text; it was kept.")
    assert spec.warnings[0].severity == "warning"


def test_flow_style_root_is_kept_with_warning() -> None:
    text = "{schemaVersion: 1, provenance: {modelId: m}}\n"
    spec = normalise_spec_text(text)
    assert spec.text == text
    assert [w.code for w in spec.warnings] == ["provenance_not_stripped"]


def test_removal_that_would_change_the_model_is_refused() -> None:
    text = BASE + "provenance: &p\n  modelId: m\nextra: *p\n"
    spec = normalise_spec_text(text)
    assert spec.text == text
    assert [w.code for w in spec.warnings] == ["provenance_not_stripped"]


def test_unparseable_text_is_only_normalised() -> None:
    text = "provenance: [unclosed\r\n"
    spec = normalise_spec_text(text)
    assert spec.text == "provenance: [unclosed\n"
    assert spec.warnings == ()


def test_source_uris_and_formatting_are_preserved() -> None:
    text = (
        "schemaVersion: 1   # comment\n"
        "nodes:\n"
        "  - {id: a, kind: const, source: 'file://telemetry/a.csv'}\n"
        "provenance:\n"
        "  modelId: m\n"
    )
    assert normalise_spec_text(text).text == text[: text.index("provenance:")]
