import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtime.model import Limits, format_path, parse_document
from flowtime.model.parse import _compose_number_sequences, resolve_plain


def parsed(text: str | bytes) -> object:
    document = parse_document(text)
    assert document.problems == (), [str(p) for p in document.problems]
    return document.root


# ----------------------------------------------------------------------------------- core schema


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FALSE", False),
        ("tRUE", "tRUE"),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("-2.5", -2.5),
        ("+12", 12),
        ("0012", 12),
        ("1.", 1.0),
        (".5", 0.5),
        ("0x1F", 31),
        ("0o17", 15),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("12:30", "12:30"),
        ("~", None),
        ("null", None),
        ("NULL", None),
        ("nULL", "nULL"),
        ("NaN", "NaN"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("Infinity", "Infinity"),
        ("2025-01-01", "2025-01-01"),
    ],
)
def test_plain_scalars_resolve_by_yaml_1_2_core_schema(text: str, expected: object) -> None:
    value = resolve_plain(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("text", "sign"), [(".inf", 1), (".Inf", 1), ("+.INF", 1), ("-.inf", -1), ("-.Inf", -1)])
def test_special_infinities_are_numbers(text: str, sign: int) -> None:
    value = resolve_plain(text)
    assert isinstance(value, float) and math.isinf(value) and math.copysign(1, value) == sign


@pytest.mark.parametrize("text", [".nan", ".NaN", ".NAN"])
def test_special_nan_is_a_number(text: str) -> None:
    value = resolve_plain(text)
    assert isinstance(value, float) and math.isnan(value)


def test_quoted_and_tagged_scalars_stay_strings() -> None:
    root = parsed("a: '5'\nb: \"true\"\nc: !!str 7\nd: |\n  12\ne: ! 3\n")
    assert root == {"a": "5", "b": "true", "c": "7", "d": "12\n", "e": "3"}


def test_an_empty_value_is_null() -> None:
    assert parsed("a:\nb: ~\n") == {"a": None, "b": None}


def test_mapping_keys_are_their_source_text() -> None:
    assert parsed("1: a\non: b\n1.50: c\ntrue: d\n") == {"1": "a", "on": "b", "1.50": "c", "true": "d"}


def test_source_text_of_non_string_values_is_kept() -> None:
    document = parse_document("id: 1.50\nother: 0x10\nname: abc\nflag: TRUE\n")
    assert document.root == {"id": 1.5, "other": 16, "name": "abc", "flag": True}
    assert document.source.text_of(("id",)) == "1.50"
    assert document.source.text_of(("other",)) == "0x10"
    assert document.source.text_of(("flag",)) == "TRUE"
    assert document.source.text_of(("name",)) is None  # strings are their own text


def test_a_huge_integer_becomes_infinity_instead_of_failing() -> None:
    root = parsed("v: " + "9" * 5000 + "\n")
    assert root == {"v": math.inf}


# ------------------------------------------------------------------------------------------ lines


def test_lines_of_keys_values_and_items() -> None:
    text = "a: 1\nnodes:\n  - id: x\n    values:\n      - 1\n      - 2\n  - {id: y, values: [3, 4]}\n"
    source = parse_document(text).source
    assert source.line_of(("a",)) == 1
    assert source.line_of(("nodes",), key=True) == 2
    assert source.line_of(("nodes", 0)) == 3
    assert source.line_of(("nodes", 0, "values", 1)) == 6
    assert source.line_of(("nodes", 1, "values", 0)) == 7
    assert source.line_of(("nodes", 0, "missing")) == 3  # a missing key: the line of its mapping
    assert source.line_of(("nodes", 9)) == 3  # an index out of range: the line of the list


def test_a_multi_line_value_has_the_line_where_it_starts() -> None:
    source = parse_document("a: 1\nb: >\n  text\n  more\nc: 2\n").source
    assert (source.line_of(("b",)), source.line_of(("c",))) == (2, 5)


@pytest.mark.parametrize(
    "text",
    [
        b"\xef\xbb\xbfa: 1\nb:\n  c: 2\n",
        "\ufeffa: 1\nb:\n  c: 2\n",
        b"a: 1\r\nb:\r\n  c: 2\r\n",
        "a: 1\rb:\r  c: 2\r",
    ],
    ids=["bom-bytes", "bom-text", "crlf", "lone-cr"],
)
def test_bom_crlf_and_lone_cr_read_like_lf(text: str | bytes) -> None:
    document = parse_document(text)
    assert document.root == {"a": 1, "b": {"c": 2}}
    assert document.source.line_of(("b", "c")) == 3


def test_format_path() -> None:
    assert format_path(("nodes", 2, "expr")) == "nodes[2].expr"
    assert format_path(("topology", "nodes", 0, "semantics", "arrivals")) == "topology.nodes[0].semantics.arrivals"
    assert format_path(("grid",)) == "grid"
    assert format_path(()) == ""


# ------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   \n\t\n", "# only a comment\n", "---\n", "~\n", "null", b"", "\ufeff"])
def test_blank_or_null_documents_are_yaml_empty(text: str | bytes) -> None:
    document = parse_document(text)
    assert document.root is None
    assert [(p.code, p.message) for p in document.problems] == [("yaml_empty", "Model YAML cannot be null or empty")]


def test_a_syntax_error_reports_line_and_column() -> None:
    document = parse_document("schemaVersion: 1\ngrid:\n  bins: [1, 2\n")
    (problem,) = document.problems
    assert problem.code == "yaml_syntax"
    assert problem.message == (
        "Invalid YAML syntax: while parsing a flow sequence, did not find expected ',' or ']' at line 4, column 1"
    )
    assert problem.line == 4


def test_a_mapping_value_error_names_its_position() -> None:
    (problem,) = parse_document("a: b: c\n").problems
    assert problem.code == "yaml_syntax"
    assert problem.message.startswith("Invalid YAML syntax: mapping values are not allowed")
    assert problem.message.endswith("at line 1, column 5")


def test_several_documents_are_a_syntax_error() -> None:
    (problem,) = parse_document("a: 1\n---\nb: 2\n").problems
    assert problem.code == "yaml_syntax"
    assert "found another document" in problem.message
    assert problem.line == 2


def test_invalid_utf8_is_a_syntax_error_with_its_line() -> None:
    (problem,) = parse_document(b"a: 1\nb: \xff\n").problems
    assert (problem.code, problem.line) == ("yaml_syntax", 2)
    assert problem.message == "Invalid YAML syntax: input is not valid UTF-8 (byte 8) at line 2"


def test_a_control_character_is_a_syntax_error() -> None:
    (problem,) = parse_document("a: 1\nb: x\x01y\n").problems
    assert problem.code == "yaml_syntax"
    assert "#x0001" in problem.message
    assert problem.line == 2


def test_deep_nesting_fails_cleanly_instead_of_crashing() -> None:
    depth = 200_000
    (problem,) = parse_document("[" * depth + "]" * depth).problems
    assert problem.code == "yaml_syntax"
    assert "nesting deeper than 1000 levels" in problem.message


def test_nesting_limit_is_configurable() -> None:
    assert parse_document("a: {b: {c: 1}}", limits=Limits(max_yaml_depth=2)).problems[0].code == "yaml_syntax"
    assert parse_document("a: {b: 1}", limits=Limits(max_yaml_depth=2)).problems == ()


def test_aliases_share_their_anchor_value() -> None:
    assert parsed("k: &k [0.5, 0.5]\nother: *k\n") == {"k": [0.5, 0.5], "other": [0.5, 0.5]}


@pytest.mark.parametrize(
    ("text", "detail"),
    [("a: &x [1, *x]\n", "recursive alias '*x'"), ("a: *nowhere\n", "found undefined alias '*nowhere'")],
)
def test_broken_aliases_are_syntax_errors(text: str, detail: str) -> None:
    (problem,) = parse_document(text).problems
    assert problem.code == "yaml_syntax"
    assert detail in problem.message


def test_an_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefgh", "abcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    (problem,) = parse_document("\n".join(lines)).problems
    assert problem.code == "yaml_syntax"
    assert "aliases expand to more than 1000000 nodes" in problem.message


def test_duplicate_keys_are_reported_with_path_and_line_and_the_first_value_is_kept() -> None:
    document = parse_document("a: 1\nnodes:\n  - id: x\n    kind: const\n    id: y\na: 2\n")
    assert [(p.code, p.message, p.path, p.line) for p in document.problems] == [
        ("duplicate_key", "Duplicate key 'id' at nodes[0].id", "nodes[0].id", 5),
        ("duplicate_key", "Duplicate key 'a' at a", "a", 6),
    ]
    assert document.root == {"a": 1, "nodes": [{"id": "x", "kind": "const"}]}


def test_a_complex_key_is_a_type_error() -> None:
    document = parse_document("grid:\n  ? [a, b]\n  : 1\n  bins: 3\n")
    assert [(p.code, p.message) for p in document.problems] == [("invalid_type", "grid keys must be scalars")]
    assert document.root == {"grid": {"bins": 3}}


# ------------------------------------------------------------------------------------------- size


def test_oversized_text_is_refused_before_parsing() -> None:
    text = "a: [" + "1, " * (40 * 1024 * 1024) + "]"  # 120 MiB: far beyond 64 MiB
    (problem,) = parse_document(text).problems
    assert problem.code == "limit_exceeded"
    assert problem.message == f"Model input is {len(text)} bytes; the maximum is 67108864 bytes"


def test_oversized_bytes_are_refused_before_decoding() -> None:
    data = b"\xff" * (100 * 1024 * 1024)  # not even UTF-8: the size check comes first
    (problem,) = parse_document(data).problems
    assert problem.code == "limit_exceeded"


def test_the_size_limit_counts_utf8_bytes() -> None:
    limits = Limits(max_input_bytes=10)
    (problem,) = parse_document("a: éééé", limits=limits).problems  # 7 characters, 11 bytes
    assert (problem.code, problem.message) == (
        "limit_exceeded",
        "Model input is 11 bytes; the maximum is 10 bytes",
    )
    assert parse_document("a: ééé", limits=limits).problems == ()  # 6 characters, 9 bytes


def test_a_large_list_parses_to_plain_numbers() -> None:
    values = [round(i * 0.25, 2) for i in range(100_000)]
    root = parsed("values: [" + ", ".join(map(repr, values)) + "]\n")
    assert isinstance(root, dict) and root["values"] == values


def test_a_lone_surrogate_is_a_syntax_error() -> None:
    (problem,) = parse_document("a: 1\nb: \ud800\n").problems
    assert (problem.code, problem.line) == ("yaml_syntax", 2)
    assert problem.message == "Invalid YAML syntax: input is not valid Unicode text (character 8) at line 2"


# ------------------------------------------------------------------------------ long number lists
# Long flow sequences of numbers are read by numpy; every test compares with the event-by-event path, which
# a comment holding the placeholder prefix switches on (the fast path never runs when the text contains it).


def _both(text: str) -> tuple[object, object]:
    fast = parse_document(text)
    slow = parse_document(text + "# __flowtime_numbers_\n")
    return fast, slow


def _same(text: str, *locs: tuple[str | int, ...]) -> object:
    fast, slow = _both(text)
    assert fast.root == slow.root
    assert [(type(a), type(b)) for a, b in _pairs(fast.root, slow.root)] == [
        (type(b), type(b)) for _, b in _pairs(fast.root, slow.root)
    ]
    assert [p.to_dict() for p in fast.problems] == [p.to_dict() for p in slow.problems]
    for loc in locs:
        assert fast.source.line_of(loc) == slow.source.line_of(loc), loc
    return fast.root


def _pairs(a: object, b: object) -> list[tuple[object, object]]:
    """Leaf pairs of two equal trees, to compare element types (1 == 1.0, but int is not float)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [pair for key in a for pair in _pairs(a[key], b[key])]
    if isinstance(a, list) and isinstance(b, list):
        return [pair for x, y in zip(a, b, strict=True) for pair in _pairs(x, y)]
    return [(a, b)]


FLOATS = [round(100 + 40 * math.sin(t / 7), 2) for t in range(300)]


def test_long_float_list_reads_like_the_event_path() -> None:
    text = "nodes:\n  - id: demand\n    kind: const\n    values: [" + ", ".join(map(repr, FLOATS)) + "]\n  - id: b\n"
    root = _same(text, ("nodes", 0, "values"), ("nodes", 0, "values", 299), ("nodes", 1, "id"))
    assert root["nodes"][0]["values"] == FLOATS  # type: ignore[index]


def test_wrapped_list_keeps_the_line_of_every_element() -> None:
    body = ",\n      ".join(", ".join(map(repr, FLOATS[i : i + 10])) for i in range(0, 300, 10))
    text = f"a: 1\nvalues: [{body}]  # wave\nafter: x\n"
    root = _same(text, ("values", 0), ("values", 9), ("values", 10), ("values", 299), ("after",))
    assert parse_document(text).source.line_of(("values", 10)) == 3
    assert root["after"] == "x"  # type: ignore[index]


@pytest.mark.parametrize(
    "elements",
    [
        [str(i * 7 - 300) for i in range(200)],  # ints stay ints
        [f"{i}e-3" for i in range(200)],  # exponent forms without a point
        [str(i) if i % 2 else f"{i}.5" for i in range(200)],  # a mix of ints and floats
        ["1" * 20, *map(str, range(200))],  # an int beyond int64
        [f"+{i}." for i in range(200)] + [".5", "-.25", "1E+05"],
        [f"0{i}" for i in range(200)],  # leading zeros
    ],
    ids=["ints", "exponents", "mixed", "huge-int", "signs-and-points", "leading-zeros"],
)
def test_number_forms_resolve_like_the_core_schema(elements: list[str]) -> None:
    text = "values: [" + ", ".join(elements) + "]\n"
    root = _same(text, ("values", 0))
    assert root["values"] == [resolve_plain(e) for e in elements]  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        'expr: "x: [{numbers}]"\n',  # inside a quoted string
        "doc: |\n  values: [{numbers}]\nnext: 1\n",  # inside a block scalar
        "# values: [{numbers}]\nkey: 1\n",  # inside a comment
        "values: [{numbers}] trailing\n",  # not a list after all: a syntax error
        "values: [{numbers},\n  1] extra: 2\n",  # a wrapped list followed by more on its line
        "a: [{numbers}]\na: [{numbers}]\n",  # duplicate key
        "m: {{values: [{numbers}], other: 2}}\n",  # in a flow mapping
        "values: [{numbers}, ]\n",  # trailing comma
        "values: [{numbers}, , 3]\n",  # an empty element (null)
        "values: [{numbers},\n  ,\n  3]\n",  # an empty element across lines
        "values: [, {numbers}]\n",  # a leading comma
        "- [{numbers}]\n- values: [{numbers}]\n",  # a list item and a mapping value
        "values: &anchor [{numbers}]\ncopy: *anchor\n",  # anchored and aliased
        "values: [{numbers}]\n---\nb: 2\n",  # two documents
        "values: [{numbers}]\nnote: __flowtime_numbers_0\n",  # the placeholder text itself
    ],
)
def test_text_the_fast_path_must_not_change_parses_like_the_event_path(text: str) -> None:
    numbers = ", ".join(map(repr, FLOATS))
    _same(text.format(numbers=numbers), ("values",), ("values", 3), ("m", "values", 5), ("next",), ("copy", 2))


_TOKENS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["1e5", "-2E-3", ".5", "+7.", "007", "-0", "0.0", "1_0", "0x1F", ".inf", "x", ""]),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_TOKENS, min_size=60, max_size=200),
    st.lists(st.sampled_from([", ", ",", " , ", ",\n  ", ",\n"]), min_size=1, max_size=5),
    st.sampled_from(["", "  # note", " x"]),
)
def test_any_number_list_parses_like_the_event_path(tokens: list[str], separators: list[str], rest: str) -> None:
    body = "".join(token + separators[i % len(separators)] for i, token in enumerate(tokens[:-1])) + tokens[-1]
    text = f"k: 1\nvalues: [{body}]{rest}\nafter: 2\n"
    _same(text, ("values",), ("values", 0), ("values", len(tokens) // 2), ("values", len(tokens) - 1), ("after",))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False).map(repr), min_size=120, max_size=300),
    st.sampled_from([", ", ",\n    ", " ,"]),
)
def test_float_lists_take_the_fast_path_and_read_like_the_event_path(tokens: list[str], separator: str) -> None:
    text = "values: [" + separator.join(tokens) + "]\nafter: 2\n"
    assert _compose_number_sequences(text, 100) is not None
    _same(text, ("values", 0), ("values", len(tokens) - 1), ("after",))
