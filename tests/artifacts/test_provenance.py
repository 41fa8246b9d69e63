"""Which provenance a run records (§11)."""

from __future__ import annotations

from flowtime.artifacts import resolve_provenance

EMBEDDED = {"modelId": "embedded", "source": "flowtime-sim"}


def codes(warnings) -> list[str]:
    return [w.code for w in warnings]


def test_nothing_supplied() -> None:
    assert resolve_provenance(None, None) == (None, ())


def test_embedded_block_alone() -> None:
    assert resolve_provenance(None, EMBEDDED) == (EMBEDDED, ())


def test_header_wins_with_warning() -> None:
    chosen, warnings = resolve_provenance({"modelId": "header"}, EMBEDDED, from_header=True)
    assert chosen == {"modelId": "header"}
    assert codes(warnings) == ["provenance_header_override"]
    assert warnings[0].message == "Provenance header overrides the embedded provenance block."


def test_supplement_that_is_not_a_header_wins_silently() -> None:
    assert resolve_provenance({"modelId": "x"}, EMBEDDED, from_header=False) == ({"modelId": "x"}, ())


def test_header_json_text_and_bare_string() -> None:
    assert resolve_provenance('{"modelId": "m", "templateId": "t"}', None)[0] == {
        "modelId": "m",
        "templateId": "t",
    }
    assert resolve_provenance("  model-7  ", None)[0] == {"modelId": "model-7"}
    assert resolve_provenance('"quoted"', None)[0] == {"modelId": "quoted"}
    assert resolve_provenance("   ", None) == (None, ())


def test_mapping_without_model_id_is_ignored() -> None:
    chosen, warnings = resolve_provenance({"source": "x", "modelId": "  "}, None)
    assert chosen is None
    assert codes(warnings) == ["provenance_ignored"]
    assert warnings[0].message == "Provenance without modelId was ignored."


def test_ignored_header_falls_back_to_embedded_block() -> None:
    chosen, warnings = resolve_provenance({"source": "x"}, EMBEDDED, from_header=True)
    assert chosen == EMBEDDED
    assert codes(warnings) == ["provenance_ignored"]


def test_both_without_model_id_warn_once() -> None:
    chosen, warnings = resolve_provenance({"a": 1}, {"b": 2})
    assert chosen is None
    assert codes(warnings) == ["provenance_ignored"]


def test_numeric_model_id_counts() -> None:
    assert resolve_provenance({"modelId": 42}, None) == ({"modelId": 42}, ())
