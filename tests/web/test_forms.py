from flowtime.web.forms import build_fields, errors_by_parameter, format_number, parse_parameters, read_form

DEFINITIONS = [
    {
        "name": "bins",
        "type": "integer",
        "arrayOf": None,
        "title": "Bins",
        "description": "How many bins.",
        "defaultValue": 4,
        "min": 1,
        "max": 1000,
    },
    {
        "name": "errorRate",
        "type": "number",
        "arrayOf": None,
        "title": None,
        "description": None,
        "defaultValue": 0.05,
        "min": 0,
        "max": 1,
    },
    {
        "name": "requestPattern",
        "type": "array",
        "arrayOf": "double",
        "title": "Requests per bin",
        "description": None,
        "defaultValue": [30.0, 44, 52.5, 41],
        "min": 0,
        "max": None,
    },
    {
        "name": "replicas",
        "type": "array",
        "arrayOf": "int",
        "title": None,
        "description": None,
        "defaultValue": None,
        "min": None,
        "max": None,
    },
    {
        "name": "burst",
        "type": "boolean",
        "arrayOf": None,
        "title": "Burst",
        "description": None,
        "defaultValue": False,
        "min": None,
        "max": None,
    },
    {
        "name": "label",
        "type": "string",
        "arrayOf": None,
        "title": None,
        "description": None,
        "defaultValue": "",
        "min": None,
        "max": None,
    },
]


def _field(fields, name):
    return next(f for f in fields if f.name == name)


def test_fields_follow_declaration_order_with_typed_widgets():
    fields = build_fields(DEFINITIONS)

    assert [(f.name, f.widget, f.element) for f in fields] == [
        ("bins", "integer", None),
        ("errorRate", "number", None),
        ("requestPattern", "array", "number"),
        ("replicas", "array", "integer"),
        ("burst", "switch", None),
        ("label", "text", None),
    ]


def test_defaults_are_prefilled_in_the_api_number_style():
    fields = build_fields(DEFINITIONS)

    assert _field(fields, "bins").value == "4"
    assert _field(fields, "errorRate").value == "0.05"
    assert _field(fields, "requestPattern").cells == ("30", "44", "52.5", "41")
    assert _field(fields, "replicas").cells == ()
    assert _field(fields, "burst").checked is False
    assert _field(fields, "replicas").has_default is False


def test_labels_bounds_and_steps_come_from_the_definition():
    fields = build_fields(DEFINITIONS)
    bins = _field(fields, "bins")

    assert (bins.label, bins.description, bins.bounds, bins.step) == (
        "Bins",
        "How many bins.",
        "min 1 · max 1000",
        "1",
    )
    assert _field(fields, "errorRate").label == "errorRate"
    assert _field(fields, "errorRate").step == "any"
    assert _field(fields, "requestPattern").bounds == "min 0"
    assert _field(fields, "replicas").step == "1"
    assert _field(fields, "label").bounds == ""
    assert bins.input_name == "param.bins"


def test_submitted_text_and_server_errors_are_kept_on_rerender():
    raw = {"bins": "four", "requestPattern": ["1", "", "x"], "burst": "true"}
    fields = build_fields(DEFINITIONS, raw, {"bins": ["Parameter 'bins' must be an integer."]}, {"requestPattern": [2]})

    assert _field(fields, "bins").value == "four"
    assert _field(fields, "bins").errors == ("Parameter 'bins' must be an integer.",)
    assert _field(fields, "requestPattern").cells == ("1", "", "x")
    assert _field(fields, "requestPattern").invalid_cells == {2}
    assert _field(fields, "bins").invalid_cells == frozenset()
    assert _field(fields, "burst").checked is True
    assert _field(fields, "errorRate").value == ""  # not submitted → blank, not the default
    assert _field(fields, "errorRate").errors == ()


def test_read_form_collects_arrays_in_order_and_keeps_the_last_switch_value():
    pairs = [
        ("param.bins", "6"),
        ("param.requestPattern", "1"),
        ("param.requestPattern", "2.5"),
        ("param.burst", "false"),
        ("param.burst", "true"),
        ("param.undeclared", "1"),
        ("mode", "simulation"),
    ]

    assert read_form(DEFINITIONS, pairs) == {
        "requestPattern": ["1", "2.5"],
        "replicas": [],
        "bins": "6",
        "burst": "true",
    }


def test_parse_parameters_types_values_and_leaves_blanks_to_defaults():
    raw = {
        "bins": "6",
        "errorRate": " 0.25 ",
        "requestPattern": ["1", "2.5", "3e1"],
        "replicas": ["", ""],
        "burst": "true",
        "label": "checkout",
    }

    assert parse_parameters(DEFINITIONS, raw) == {
        "bins": 6,
        "errorRate": 0.25,
        "requestPattern": [1, 2.5, 30.0],
        "burst": True,
        "label": "checkout",
    }
    assert parse_parameters(DEFINITIONS, {"bins": "  ", "burst": "false"}) == {"burst": False}


def test_unparseable_numbers_pass_through_for_the_server_to_reject():
    raw = {"bins": "four", "errorRate": "NaN", "requestPattern": ["1", "", "Infinity"]}

    assert parse_parameters(DEFINITIONS, raw) == {
        "bins": "four",
        "errorRate": "NaN",
        "requestPattern": [1, "", "Infinity"],
    }


def test_problems_are_split_per_parameter_and_general():
    problems = [
        {"code": "parameter_type", "message": "Parameter 'bins' must be an integer.", "parameter": "bins"},
        {
            "code": "parameter_below_minimum",
            "message": "Parameter 'requestPattern' element at index 1 (-1) is below minimum 0.",
            "parameter": "requestPattern",
            "index": 1,
        },
        {"code": "template_invalid", "message": "Node 'x' is bad.", "path": "nodes[0]"},
    ]

    by_name, cells, general = errors_by_parameter(problems)

    assert cells == {"requestPattern": {1}}
    assert by_name == {
        "bins": ["Parameter 'bins' must be an integer."],
        "requestPattern": ["Parameter 'requestPattern' element at index 1 (-1) is below minimum 0."],
    }
    assert general == ["Node 'x' is bad."]


def test_format_number():
    assert [format_number(v) for v in (4.0, 0.5, 12, True, -3.0)] == ["4", "0.5", "12", "true", "-3"]
