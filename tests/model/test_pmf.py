"""Rules of pmf nodes (model.md §4.3): shapes, every check with its message, renormalisation, the entry limit."""

from typing import Any

from tests.model.factories import make_model, only, pmf, problems_of

from flowtime.errors import Problem
from flowtime.model import Limits, load_model, validate_model


def with_nodes(bins: int, *lines: str) -> str:
    header = f"schemaVersion: 1\ngrid: {{bins: {bins}, binSize: 1, binUnit: hours}}\nnodes:\n"
    return header + "".join(f"{line}\n" for line in lines)


def check(text: str) -> list[Problem]:
    return validate_model(text)


def summary(problems: list[Problem]) -> list[tuple[str, str, str | None]]:
    return [(p.code, p.message, p.path) for p in problems]


def test_pmf_shapes() -> None:
    shape_b = {"id": "b", "kind": "pmf", "pmf": {"5": 0.2, "10": 0.8}}
    unquoted = with_nodes(1, "  - {id: c, kind: pmf, pmf: {5: 0.2, 1e1: 0.8}}")
    model = make_model(pmf("a", [0, 5, 10], [0.5, 0.3, 0.2]), shape_b)
    assert [(c.values, c.probabilities) for c in model.columns] == [  # type: ignore[union-attr]
        ((0.0, 5.0, 10.0), (0.5, 0.3, 0.2)),
        ((5.0, 10.0), (0.2, 0.8)),
    ]
    column = load_model(unquoted).columns[0]
    assert (column.values, column.probabilities) == ((5.0, 10.0), (0.2, 0.8))  # type: ignore[union-attr]


def test_pmf_required() -> None:
    message = "Node p: pmf nodes require pmf property with at least one value"
    for node in ({"id": "p", "kind": "pmf"}, {"id": "p", "kind": "pmf", "pmf": {}}, pmf("p", [], [])):
        assert summary(problems_of(node)) == [("missing_field", message, "nodes[0].pmf")]


def test_pmf_rules_each_with_its_message() -> None:
    prefix = "Node p: error creating PMF: "
    cases: list[tuple[dict[str, Any], str]] = [
        (pmf("p", [1, 2], [1.0]), "Node p: pmf values and probabilities must have the same length (2 vs 1)"),
        (
            {"id": "p", "kind": "pmf", "pmf": {"x": 1.0}},
            "Node p: invalid PMF value 'x' - must be a valid number",
        ),
        (pmf("p", [1, 1.0], [0.5, 0.5]), "Node p: duplicate PMF value '1'"),
        (
            pmf("p", [1, 2], [-0.5, 1.5]),
            prefix + "PMF probabilities must be non-negative, got -0.5 for value 1",
        ),
        (pmf("p", [1, 2], [0, 0]), prefix + "PMF probabilities sum to zero or negative value"),
    ]
    for node, message in cases:
        problem = only(problems_of(node), "pmf_invalid")
        assert (problem.message, problem.node_id) == (message, "p")


def test_pmf_non_finite_values_and_probabilities() -> None:
    text = (
        "schemaVersion: 1\ngrid: {bins: 1, binSize: 1, binUnit: hours}\nnodes:\n"
        "  - {id: p, kind: pmf, pmf: {values: [.nan, .inf], probabilities: [0.5, .inf]}}\n"
    )
    assert [p.message for p in check(text)] == [
        "Node p: error creating PMF: PMF value cannot be NaN or infinite: NaN",
        "Node p: error creating PMF: PMF value cannot be NaN or infinite: Infinity",
        "Node p: error creating PMF: PMF probability cannot be NaN or infinite: Infinity",
    ]


def test_pmf_renormalisation_warning() -> None:
    model = make_model(pmf("p", [2, 4], [1, 4]))
    assert model.columns[0].probabilities == (0.2, 0.8)  # type: ignore[union-attr]
    (warning,) = model.warnings
    assert (warning.code, warning.severity, warning.message, warning.path) == (
        "pmf_renormalized",
        "warning",
        "PMF 'p': Probabilities sum to 5.000000, renormalizing to 1.0",
        "nodes[0].pmf",
    )


def test_probabilities_within_tolerance_are_used_unchanged() -> None:
    model = make_model(pmf("p", [1, 2], [0.5, 0.5000005]))
    assert model.warnings == () and model.columns[0].probabilities == (0.5, 0.5000005)  # type: ignore[union-attr]


def test_pmf_entry_limit() -> None:
    (problem,) = problems_of(pmf("p", [1, 2, 3, 4], [0.25] * 4), limits=Limits(max_pmf_entries=3))
    assert (problem.code, problem.message) == (
        "limit_exceeded",
        "Node p: pmf has 4 entries; the maximum is 3",
    )


def test_default_pmf_entry_limit() -> None:
    n = 10_001
    (problem,) = problems_of(pmf("p", list(range(n)), [1 / n] * n))
    assert problem.message == "Node p: pmf has 10001 entries; the maximum is 10000"
