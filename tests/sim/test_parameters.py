"""Parameter declarations (§2.4), coercion (§4.2) and the checks with their codes and messages (§4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from flowtime.sim import Parameter
from flowtime.sim.parameters import check_values, read_declarations


def declare(**item: Any) -> Parameter:
    parameters, problems = read_declarations([{"name": "p", **item}])
    assert problems == [], [p.message for p in problems]
    return parameters[0]


def declaration_problems(*items: Any) -> list[tuple[str, str, str | None]]:
    return [(p.code, p.message, p.path) for p in read_declarations(list(items))[1]]


# ---------------------------------------------------------------------------------------- declarations


def test_declaration_is_typed_with_aliases_and_defaults() -> None:
    parameter = declare(type="array", arrayOf="integer", min=0, maximum=9, default=[1, "2", 3.0], title="T")
    assert parameter == Parameter("p", "array", "int", "T", None, [1, 2, 3], 0, 9)
    assert declare(type="array").array_of == "double"
    assert declare(type="array", arrayOf="number").array_of == "double"
    assert declare(type="integer", default=None).default is None


def test_detail_form_has_typed_default_and_bounds() -> None:
    parameter = declare(type="number", default=0.95, minimum=0.1, maximum=1.0, description="Pass rate")
    assert parameter.to_dict() == {
        "name": "p",
        "type": "number",
        "arrayOf": None,
        "title": None,
        "description": "Pass rate",
        "defaultValue": 0.95,
        "min": 0.1,
        "max": 1.0,
    }


@pytest.mark.parametrize(
    ("item", "code", "message", "path"),
    [
        (
            {"type": "integer"},
            "parameter_declaration_invalid",
            "Parameter declaration at parameters[0] requires a name.",
            "parameters[0].name",
        ),
        (
            {"name": "9lives", "type": "integer"},
            "parameter_declaration_invalid",
            "Parameter name '9lives' is invalid: names must start with a letter or '_' and contain only "
            "letters, digits and '_'.",
            "parameters[0].name",
        ),
        (
            {"name": "p"},
            "parameter_declaration_invalid",
            "Parameter 'p' requires a type (integer, number, boolean, string or array).",
            "parameters[0].type",
        ),
        (
            {"name": "p", "type": "float"},
            "parameter_declaration_invalid",
            "Parameter 'p' has unsupported type 'float'. Expected integer, number, boolean, string or array.",
            "parameters[0].type",
        ),
        (
            {"name": "p", "type": "number", "arrayOf": "int"},
            "parameter_declaration_invalid",
            "Parameter 'p' declares arrayOf but is not an array.",
            "parameters[0].arrayOf",
        ),
        (
            {"name": "p", "type": "array", "arrayOf": "long"},
            "parameter_declaration_invalid",
            "Parameter 'p' has unsupported arrayOf 'long'. Expected 'int' or 'double'.",
            "parameters[0].arrayOf",
        ),
        (
            {"name": "p", "type": "integer", "min": 1, "minimum": 2},
            "parameter_declaration_invalid",
            "Parameter 'p' gives both 'minimum' and 'min'; keep one.",
            "parameters[0].min",
        ),
        (
            {"name": "p", "type": "integer", "minimum": 5, "maximum": 2},
            "parameter_declaration_invalid",
            "Parameter 'p' minimum 5 is greater than its maximum 2.",
            "parameters[0]",
        ),
        (
            {"name": "p", "type": "string", "maximum": 2},
            "parameter_declaration_invalid",
            "Parameter 'p' is a string; minimum and maximum are not allowed.",
            "parameters[0]",
        ),
        (
            {"name": "p", "type": "integer", "maximum": "ten"},
            "parameter_declaration_invalid",
            "Parameter 'p' maximum must be a number.",
            "parameters[0].maximum",
        ),
        (
            {"name": "p", "type": "integer", "default": 2, "minimum": 3},
            "parameter_default_invalid",
            "Invalid default: Parameter 'p' value 2 is below minimum 3.",
            "parameters[0].default",
        ),
        (
            {"name": "p", "type": "array", "arrayOf": "int", "default": [1, 2.5]},
            "parameter_default_invalid",
            "Invalid default: Parameter 'p' element at index 1 must be an integer.",
            "parameters[0].default",
        ),
        (
            {"name": "p", "type": "boolean", "default": "yes"},
            "parameter_default_invalid",
            "Invalid default: Parameter 'p' must be a boolean.",
            "parameters[0].default",
        ),
    ],
)
def test_invalid_declarations(item: dict[str, Any], code: str, message: str, path: str) -> None:
    assert declaration_problems(item) == [(code, message, path)]


def test_duplicate_names_and_non_mapping_items_are_reported_and_left_out() -> None:
    parameters, problems = read_declarations(
        [{"name": "a", "type": "integer"}, {"name": "a", "type": "string"}, "oops"]
    )
    assert [p.name for p in parameters] == ["a"]
    assert [(p.message, p.path) for p in problems] == [
        ("Duplicate parameter name 'a'.", "parameters[1].name"),
        ("Parameter declaration at parameters[2] must be a mapping.", "parameters[2]"),
    ]


def test_parameters_section_must_be_a_list() -> None:
    assert declaration_problems_of({"bins": 3}) == [
        ("Template parameters must be a list of parameter declarations.", "parameters")
    ]


def declaration_problems_of(raw: Any) -> list[tuple[str, str | None]]:
    return [(p.message, p.path) for p in read_declarations(raw)[1]]


# -------------------------------------------------------------------------------------------- coercion


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("integer", 12, 12),
        ("integer", 12.0, 12),
        ("integer", "12", 12),
        ("integer", "-3", -3),
        ("number", 0.5, 0.5),
        ("number", 7, 7),
        ("number", "0.25", 0.25),
        ("number", "1e3", 1000.0),
        ("number", "8", 8),
        ("boolean", True, True),
        ("boolean", "TRUE", True),
        ("boolean", "false", False),
        ("string", "eu-west", "eu-west"),
        ("string", "", ""),
    ],
)
def test_accepted_values_are_normalised(kind: str, value: Any, expected: Any) -> None:
    coerced, problems = declare(type=kind).coerce(value)
    assert problems == []
    assert coerced == expected and type(coerced) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("integer", 2.5, "Parameter 'p' must be an integer."),
        ("integer", "12.0", "Parameter 'p' must be an integer."),
        ("integer", True, "Parameter 'p' must be an integer."),
        ("integer", float("nan"), "Parameter 'p' must be an integer."),
        ("number", "abc", "Parameter 'p' must be a number."),
        ("number", float("inf"), "Parameter 'p' must be a number."),
        ("number", "NaN", "Parameter 'p' must be a number."),
        ("number", "1e999", "Parameter 'p' must be a number."),
        ("number", False, "Parameter 'p' must be a number."),
        ("boolean", 1, "Parameter 'p' must be a boolean."),
        ("boolean", "yes", "Parameter 'p' must be a boolean."),
        ("string", 5, "Parameter 'p' must be a string."),
        ("array", 5, "Parameter 'p' expects an array value."),
        ("array", "1, 2", "Parameter 'p' expects an array value."),
        ("array", "[1, NaN]", "Parameter 'p' expects an array value."),
    ],
)
def test_wrong_types_are_parameter_type_errors(kind: str, value: Any, message: str) -> None:
    coerced, problems = declare(type=kind).coerce(value)
    assert coerced is None
    found = [(p.code, p.message, p.parameter, p.index) for p in problems]
    assert found == [("parameter_type", message, "p", None)]


def test_arrays_accept_json_text_and_coerce_each_element() -> None:
    assert declare(type="array", arrayOf="int").coerce('[1, 2.0, "3"]') == ([1, 2, 3], [])
    assert declare(type="array").coerce((1, 2.5)) == ([1, 2.5], [])


def test_every_bad_element_is_reported_with_its_index() -> None:
    parameter = declare(type="array", arrayOf="int", minimum=0, maximum=10)
    _, problems = parameter.coerce([1, 2.5, -1, 11, True])
    assert [(p.code, p.message, p.index) for p in problems] == [
        ("parameter_type", "Parameter 'p' element at index 1 must be an integer.", 1),
        ("parameter_below_minimum", "Parameter 'p' element at index 2 (-1) is below minimum 0.", 2),
        ("parameter_above_maximum", "Parameter 'p' element at index 3 (11) exceeds maximum 10.", 3),
        ("parameter_type", "Parameter 'p' element at index 4 must be an integer.", 4),
    ]
    assert problems[0].to_dict() == {
        "code": "parameter_type",
        "message": "Parameter 'p' element at index 1 must be an integer.",
        "parameter": "p",
        "index": 1,
    }


def test_scalar_bounds_are_inclusive_and_rendered_as_numbers() -> None:
    parameter = declare(type="number", minimum=0.1, maximum=1.0)
    assert parameter.coerce(0.1) == (0.1, [])
    assert parameter.coerce(1) == (1, [])
    _, low = parameter.coerce(0.05)
    _, high = parameter.coerce(2.0)
    assert [(p.code, p.message) for p in low + high] == [
        ("parameter_below_minimum", "Parameter 'p' value 0.05 is below minimum 0.1."),
        ("parameter_above_maximum", "Parameter 'p' value 2 exceeds maximum 1."),
    ]
    assert low[0].to_dict() == {
        "code": "parameter_below_minimum",
        "message": "Parameter 'p' value 0.05 is below minimum 0.1.",
        "parameter": "p",
    }


# ------------------------------------------------------------------------------------------ check_values


def test_supplied_values_override_defaults_in_declaration_order_and_nulls_are_dropped() -> None:
    parameters, _ = read_declarations(
        [
            {"name": "bins", "type": "integer", "default": 4},
            {"name": "rate", "type": "number", "default": 0.5},
            {"name": "label", "type": "string"},
        ]
    )
    merged, problems = check_values(parameters, {"rate": 0.75, "bins": None, "label": "x"}, "t")
    assert problems == []
    assert list(merged.items()) == [("bins", 4), ("rate", 0.75), ("label", "x")]


def test_every_problem_is_collected_at_once_including_unknown_names() -> None:
    parameters, _ = read_declarations(
        [
            {"name": "bins", "type": "integer", "minimum": 3, "maximum": 48},
            {"name": "rate", "type": "number"},
        ]
    )
    merged, problems = check_values(parameters, {"bins": 0, "rate": "fast", "colour": "red"}, "demo")
    assert [(p.code, p.message, p.parameter) for p in problems] == [
        ("parameter_below_minimum", "Parameter 'bins' value 0 is below minimum 3.", "bins"),
        ("parameter_type", "Parameter 'rate' must be a number.", "rate"),
        ("parameter_unknown", "Unknown parameter 'colour' for template 'demo'.", "colour"),
    ]
    assert merged == {}


def test_a_string_with_a_lone_surrogate_is_rejected_because_it_cannot_be_template_text() -> None:
    coerced, problems = declare(type="string").coerce("file:///a\ud800.csv")
    assert coerced is None
    assert [(p.code, p.message) for p in problems] == [
        ("parameter_type", "Parameter 'p' must be valid Unicode text; it contains a lone surrogate.")
    ]
