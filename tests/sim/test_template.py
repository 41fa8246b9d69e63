"""Reading one template file: decoding, the loading checks of §10.1, stochastic detection, listing shapes."""

from __future__ import annotations

import pytest
from tests.sim.factories import CHECKOUT_SUMMARY, PARAMETERS, make_template, template_text

from flowtime.sim import read_template


def problems_of(text: str | bytes) -> list[tuple[str, str]]:
    template, problems = read_template(text)
    assert template is None
    return [(p.code, p.message) for p in problems]


def test_template_exposes_metadata_mode_parameters_and_placeholders() -> None:
    template = make_template()
    assert (template.id, template.title, template.version, template.capture_key) == (
        "checkout",
        "Checkout",
        "1.0.0",
        "checkout-telemetry",
    )
    assert template.mode == "simulation"
    assert [p.name for p in template.parameters] == [
        "bins",
        "demand",
        "capacity",
        "efficiency",
        "demandSource",
    ]
    assert [p.name for p in template.placeholders] == [
        "bins", "demand", "demandSource", "capacity", "efficiency",
    ]  # fmt: skip


def test_placeholders_inside_the_parameters_section_are_ignored() -> None:
    parameters = PARAMETERS.replace('    default: ""\n', '    default: ""\n    description: use ${nothing}\n')
    template = make_template(parameters=parameters)
    assert "nothing" not in {p.name for p in template.placeholders}
    assert template.parameter("demandSource").description == "use ${nothing}"  # type: ignore[union-attr]


def test_bom_and_crlf_are_normalised() -> None:
    raw = ("\ufeff" + template_text().replace("\n", "\r\n")).encode("utf-8")
    template, problems = read_template(raw)
    assert problems == [] and template is not None
    assert "\r" not in template.text and not template.text.startswith("\ufeff")


def test_non_utf8_bytes_are_a_yaml_error() -> None:
    assert problems_of(b"metadata: \xff\n") == [("template_yaml_error", "Template file is not valid UTF-8 text.")]


def test_yaml_error_is_reported_at_its_position_in_the_template_text() -> None:
    text = "metadata:\n  id: x\ngrid:\n  bins: ${bins}\n  binSize: [1, 2\n"
    [(code, message)] = problems_of(text)
    assert code == "template_yaml_error"
    assert message.startswith("YAML parsing error: ")
    assert message.endswith("(line 6, column 1).")


def test_duplicate_keys_are_a_yaml_error() -> None:
    text = template_text().replace("  binUnit: minutes\n", "  binUnit: minutes\n  binUnit: hours\n")
    [(code, message)] = problems_of(text)
    assert code == "template_yaml_error"
    assert "duplicate key 'binUnit'" in message


def test_root_must_be_a_mapping() -> None:
    assert problems_of("- a\n- b\n") == [
        (
            "template_yaml_error",
            "Template must be a YAML mapping at its root (metadata, window, grid, …), not a sequence.",
        )
    ]
    assert problems_of("just text\n")[0][1].endswith("not a scalar.")
    assert problems_of("# nothing yet\n") == [
        (
            "template_yaml_error",
            "Template file is empty; a template is a YAML mapping with metadata, window, grid, topology, nodes "
            "and outputs.",
        )
    ]


@pytest.mark.parametrize(
    ("metadata", "code", "message"),
    [
        ("metadata:\n  title: X\n", "metadata_required", "Template metadata.id is required."),
        (
            "metadata:\n  id: Bad_Id\n",
            "metadata_id_invalid",
            "Template metadata.id 'Bad_Id' is invalid: use 1-64 characters a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit.",
        ),
        (
            "metadata:\n  id: schema\n",
            "metadata_id_invalid",
            "Template metadata.id 'schema' is reserved; choose another id.",
        ),
        (
            "metadata:\n  id: categories\n",
            "metadata_id_invalid",
            "Template metadata.id 'categories' is reserved; choose another id.",
        ),
    ],
)
def test_missing_or_invalid_id_skips_the_file(metadata: str, code: str, message: str) -> None:
    assert problems_of(template_text(header=metadata)) == [(code, message)]


def test_undeclared_placeholder_and_bad_declarations_are_all_reported() -> None:
    text = template_text(extra="rng:\n  kind: pcg32\n  seed: ${seed}\n").replace(
        "    default: 0.9\n", "    default: 1.5\n"
    )
    assert problems_of(text) == [
        ("parameter_default_invalid", "Invalid default: Parameter 'efficiency' value 1.5 exceeds maximum 1."),
        ("placeholder_undeclared", "Placeholder '${seed}' does not match any declared parameter."),
    ]


@pytest.mark.parametrize(
    ("extra", "nodes", "stochastic"),
    [
        ("", None, False),
        ("rng:\n  kind: pcg32\n  seed: 7\n", None, True),
        (
            "",
            "nodes:\n  - id: jitter\n    kind: PMF\n    pmf: {values: [1, 2], probabilities: [0.5, 0.5]}\n",
            True,
        ),
    ],
)
def test_stochastic_means_a_pmf_node_or_an_rng_block(extra: str, nodes: str | None, stochastic: bool) -> None:
    text = template_text(extra=extra)
    if nodes is not None:
        text = text.replace("\nnodes:\n", "\n" + nodes, 1)
    assert make_template(text).stochastic is stochastic


def test_summary_and_detail_shapes() -> None:
    template = make_template()
    assert template.summary() == CHECKOUT_SUMMARY
    detail = template.detail()
    assert detail["parameters"][1] == {
        "name": "demand",
        "type": "array",
        "arrayOf": "int",
        "title": None,
        "description": None,
        "defaultValue": [10, 20, 30, 40],
        "min": 0,
        "max": 100,
    }
    assert detail["parameters"][4]["defaultValue"] == ""
    assert detail["parameters"][0]["arrayOf"] is None
