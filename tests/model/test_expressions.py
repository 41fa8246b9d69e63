"""Expression parser, function checks and reference analysis (``model.md`` §7, §8.1, §8.3)."""

from __future__ import annotations

import pytest

from flowtime.errors import Problem
from flowtime.model.expressions import (
    FUNCTIONS,
    Array,
    BinOp,
    Call,
    Expr,
    Neg,
    Number,
    Ref,
    Reference,
    analyse_expression,
    check_expression,
    conv_kernel,
    postorder,
    pulse_args,
    references,
    self_shift_lags,
    shift_lag,
    walk,
)

PATH = "nodes[3].expr"


def parse(text: str) -> Expr:
    """The AST of an expression that must parse and pass every function check."""
    ast, problems = check_expression(text, "n", PATH)
    assert problems == []
    assert ast is not None
    return ast


def only_problem(text: str, node_id: str = "n", **limits: int) -> Problem:
    _, problems = check_expression(text, node_id, PATH, **limits)
    assert len(problems) == 1, problems
    return problems[0]


def parse_error(text: str) -> tuple[int, str]:
    """(position, detail) of the one parse error of ``text``."""
    problem = only_problem(text)
    assert problem.code == "expr_parse_error"
    prefix = f"Node n: error parsing expression '{text}': Parse error at position {problem.position}: "
    assert problem.message.startswith(prefix)
    return problem.position, problem.message[len(prefix) :]


def call_problems(text: str) -> list[tuple[str, int | None, str]]:
    ast, problems = check_expression(text, "n", PATH)
    assert ast is not None
    return [(p.code, p.position, p.message.removeprefix("Node n: ")) for p in problems]


# ------------------------------------------------------------------------------------------- grammar


def test_multiplication_binds_tighter_than_addition() -> None:
    assert parse("a + b * c") == BinOp("+", Ref("a", 0), BinOp("*", Ref("b", 4), Ref("c", 8), 6), 2)


def test_subtraction_and_division_are_left_associative() -> None:
    assert parse("a-b-c") == BinOp("-", BinOp("-", Ref("a", 0), Ref("b", 2), 1), Ref("c", 4), 3)
    assert parse("a/b/c") == BinOp("/", BinOp("/", Ref("a", 0), Ref("b", 2), 1), Ref("c", 4), 3)


def test_parentheses_override_precedence() -> None:
    assert parse("(a + b) * c") == BinOp("*", BinOp("+", Ref("a", 1), Ref("b", 5), 3), Ref("c", 10), 8)


def test_unary_minus_binds_tighter_than_multiplication() -> None:
    assert parse("-a * b") == BinOp("*", Neg(Ref("a", 1), 0), Ref("b", 5), 3)
    assert parse("2 * -3") == BinOp("*", Number(2.0, 0), Neg(Number(3.0, 5), 4), 2)
    assert parse("--3") == Neg(Neg(Number(3.0, 2), 1), 0)
    assert parse("a - -b") == BinOp("-", Ref("a", 0), Neg(Ref("b", 5), 4), 2)


def test_whitespace_between_tokens_is_space_tab_cr_lf() -> None:
    assert parse(" \ta\r\n+\n1 ") == BinOp("+", Ref("a", 2), Number(1.0, 7), 5)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7", 7.0),
        ("007", 7.0),
        ("2.5", 2.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2E+2", 200.0),
        ("1.25e-2", 0.0125),
    ],
)
def test_number_literals(text: str, value: float) -> None:
    assert parse(text) == Number(value, 0)


def test_node_references_are_case_sensitive_and_function_names_are_not() -> None:
    assert parse("min(Demand, demand_2)") == Call("MIN", (Ref("Demand", 4), Ref("demand_2", 12)), 0)


def test_identifier_followed_by_whitespace_and_parenthesis_is_a_call() -> None:
    assert parse("ABS \t (x)") == Call("ABS", (Ref("x", 7),), 0)


def test_function_name_without_parenthesis_is_a_reference() -> None:
    assert parse("MIN + _x9") == BinOp("+", Ref("MIN", 0), Ref("_x9", 6), 4)


def test_array_literal_holds_signed_numbers() -> None:
    kernel = parse("CONV(a, [0.5, - 0.25, 1e1])").args[1]  # type: ignore[union-attr]
    assert kernel == Array((0.5, -0.25, 10.0), 8)
    assert parse("CONV(a, [ ])").args[1] == Array((), 8)  # type: ignore[union-attr]


# -------------------------------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    ("text", "position", "detail"),
    [
        ("a ^ b", 2, "Unexpected character '^'"),
        ("a ** b", 3, "Unexpected character '*'"),
        ("a # b", 2, "Unexpected character '#'"),
        ("a b", 2, "Unexpected character 'b'"),
        ("2x", 1, "Unexpected character 'x'"),
        ("a)", 1, "Unexpected character ')'"),
        ("()", 1, "Unexpected character ')'"),
        ("a, b", 1, "Unexpected character ','"),
        ("MIN(,a)", 4, "Unexpected character ','"),
        ("a.b", 1, "Unexpected character '.'"),
        ("1.5.3", 3, "Unexpected character '.'"),
        ("café", 3, "Unexpected character 'é'"),
        ("a + ٣", 4, "Unexpected character '٣'"),
        ("a\x00", 1, "Unexpected character '\\x00'"),
        ("a\u00a0+ b", 1, "Unexpected character '\\xa0'"),
        ("CONV(a, [b])", 9, "Unexpected character 'b'"),
        ("CONV(a, [1,])", 11, "Unexpected character ']'"),
        ("", 0, "Unexpected end of expression"),
        ("   ", 3, "Unexpected end of expression"),
        ("a +", 3, "Unexpected end of expression"),
        ("-", 1, "Unexpected end of expression"),
        ("(", 1, "Unexpected end of expression"),
        ("MIN(", 4, "Unexpected end of expression"),
        ("CONV(a, [", 9, "Unexpected end of expression"),
        ("CONV(a, [-", 10, "Unexpected end of expression"),
        ("(a", 2, "Expected ')'"),
        ("(a b)", 3, "Expected ')'"),
        ("(a, b)", 2, "Expected ')'"),
        ("MIN(a", 5, "Expected ',' or ')'"),
        ("MIN(a b)", 6, "Expected ',' or ')'"),
        ("MIN(a,)", 5, "Unexpected ',' before ')'"),
        ("MIN(a, b , )", 9, "Unexpected ',' before ')'"),
        ("CONV(a, [1 2])", 11, "Expected ',' or ']'"),
        ("CONV(a, [1", 10, "Expected ',' or ']'"),
        ("5.", 2, "Expected digit after decimal point"),
        ("5.e3", 2, "Expected digit after decimal point"),
        ("1e999", 0, "Invalid number format: 1e999"),
        ("a + 1e", 4, "Invalid number format: 1e"),
        ("2e+x", 0, "Invalid number format: 2e+"),
        ("1" * 400, 0, "Invalid number format: " + "1" * 400),
    ],
)
def test_parse_error_detail_and_position(text: str, position: int, detail: str) -> None:
    assert parse_error(text) == (position, detail)


def test_parse_error_problem_has_code_message_path_node_and_position() -> None:
    problem = only_problem("MIN(a b)", node_id="served")
    assert problem == Problem(
        "expr_parse_error",
        "Node served: error parsing expression 'MIN(a b)': Parse error at position 6: Expected ',' or ')'",
        path=PATH,
        node_id="served",
        position=6,
    )


def test_leftmost_error_wins() -> None:
    assert parse_error("(a b # c") == (3, "Expected ')'")


# ------------------------------------------------------------------------------------ nesting, length


@pytest.mark.parametrize(("open_", "close"), [("(", ")"), ("ABS(", ")"), ("-", "")])
def test_nesting_of_100_is_accepted_and_101_is_rejected(open_: str, close: str) -> None:
    parse(open_ * 100 + "a" + close * 100)
    position, detail = parse_error(open_ * 101 + "a" + close * 101)
    assert detail == "Expression nesting exceeds the maximum depth of 100"
    assert position == 100 * len(open_) + len(open_) - 1


def test_mixed_nesting_counts_parentheses_calls_and_minus_signs() -> None:
    parse("-(" * 50 + "a" + ")" * 50)
    assert parse_error("-(" * 50 + "-a" + ")" * 50)[0] == 100


def test_sibling_groups_do_not_add_up() -> None:
    parse(" + ".join(["(" * 100 + "a" + ")" * 100] * 3))


def test_ten_thousand_characters_of_parentheses_give_the_nesting_problem() -> None:
    text = "(" * 4999 + "a" + ")" * 5000
    assert len(text) == 10_000
    assert parse_error(text) == (100, "Expression nesting exceeds the maximum depth of 100")


def test_depth_limit_is_configurable() -> None:
    problem = only_problem("((a))", max_depth=1)
    assert problem.position == 1
    assert problem.message.endswith("Expression nesting exceeds the maximum depth of 1")


def test_long_flat_chain_is_not_nesting() -> None:
    text = "+".join(["a"] * 5000)
    ast = parse(text)
    assert len(references(ast)) == 5000
    assert sum(1 for _ in postorder(ast)) == 9999


def test_expression_longer_than_the_limit_is_limit_exceeded() -> None:
    parse("1" + " " * 9_999)
    problem = only_problem("1" + " " * 10_000, node_id="big")
    assert problem == Problem(
        "limit_exceeded",
        "Node big: expression is 10001 characters long; the limit is 10000 characters "
        "(split it across several expr nodes)",
        path=PATH,
        node_id="big",
        position=10_000,
    )
    assert check_expression("a + b", "n", PATH, max_length=4)[0] is None


# ---------------------------------------------------------------------------------------- functions


def test_function_table() -> None:
    assert dict(FUNCTIONS) == {
        "MIN": (2, 2),
        "MAX": (2, 2),
        "CLAMP": (3, 3),
        "SHIFT": (2, 2),
        "CONV": (2, 2),
        "MOD": (2, 2),
        "FLOOR": (1, 1),
        "CEIL": (1, 1),
        "ROUND": (1, 1),
        "ABS": (1, 1),
        "SQRT": (1, 1),
        "POW": (2, 2),
        "STEP": (2, 2),
        "PULSE": (1, 3),
    }


@pytest.mark.parametrize(
    "text",
    [
        "MIN(a, b)",
        "MAX(a, 1)",
        "CLAMP(v, lo, hi)",
        "SHIFT(a, 2)",
        "CONV(a, [0.5, 0.5])",
        "MOD(a, 3)",
        "FLOOR(a)",
        "CEIL(a)",
        "ROUND(a)",
        "ABS(a)",
        "SQRT(a)",
        "POW(a, 2)",
        "STEP(a, 5)",
        "PULSE(2)",
        "PULSE(2, 1)",
        "PULSE(2, 1, a * 2)",
        "Clamp(-load * 2, -6, 6)",
    ],
)
def test_valid_calls_have_no_problems(text: str) -> None:
    assert isinstance(parse(text), Call)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SHIFT(a)", "SHIFT function requires exactly 2 arguments: SHIFT(series, lag)"),
        ("CONV(a, [1], [2])", "CONV function requires exactly 2 arguments: CONV(series, [kernel...])"),
        ("MOD(a)", "MOD function requires exactly 2 arguments: MOD(value, divisor)"),
        ("POW(a, 1, 2)", "POW function requires exactly 2 arguments: POW(base, exponent)"),
        ("MIN(a)", "MIN function requires exactly 2 arguments"),
        ("MAX(a, b, c)", "MAX function requires exactly 2 arguments"),
        ("CLAMP(a, b)", "CLAMP function requires exactly 3 arguments: CLAMP(value, min, max)"),
        ("STEP()", "STEP function requires 2 arguments: STEP(value, threshold)"),
        ("FLOOR(a, b)", "FLOOR function requires exactly 1 argument"),
        ("CEIL()", "CEIL function requires exactly 1 argument"),
        ("round(a, 2)", "ROUND function requires exactly 1 argument"),
        ("ABS(a, b)", "ABS function requires exactly 1 argument"),
        ("SQRT()", "SQRT function requires exactly 1 argument"),
        ("PULSE()", "PULSE requires 1-3 arguments: PULSE(periodBins, phaseOffset?, amplitude?)"),
        ("PULSE(1, 0, a, b)", "PULSE requires 1-3 arguments: PULSE(periodBins, phaseOffset?, amplitude?)"),
    ],
)
def test_arity_messages(text: str, message: str) -> None:
    assert call_problems("1 + " + text)[0] == ("function_arity", 4, message)


def test_unknown_function_keeps_the_name_as_written() -> None:
    assert call_problems("LOG(demand)") == [("unknown_function", 0, "Unknown function: LOG")]
    assert call_problems("2 * average (a, 1)") == [("unknown_function", 4, "Unknown function: average")]


def test_unknown_function_problem_fields() -> None:
    assert only_problem("LOG(demand)", node_id="spill") == Problem(
        "unknown_function", "Node spill: Unknown function: LOG", path=PATH, node_id="spill", position=0
    )


@pytest.mark.parametrize("lag", ["0", "2", "2.0", "2e0", "20E-1", "-0", "(3)"])
def test_shift_lag_literal_integers(lag: str) -> None:
    parse(f"SHIFT(a, {lag})")


@pytest.mark.parametrize(
    ("lag", "message"),
    [
        ("-1", "SHIFT lag parameter must be a non-negative integer"),
        ("1.5", "SHIFT lag parameter must be a non-negative integer"),
        ("-0.5", "SHIFT lag parameter must be a non-negative integer"),
        ("b", "SHIFT lag parameter must be a literal integer"),
        ("1 + 1", "SHIFT lag parameter must be a literal integer"),
        ("ABS(1)", "SHIFT lag parameter must be a literal integer"),
    ],
)
def test_shift_lag_problems(lag: str, message: str) -> None:
    assert call_problems(f"SHIFT(a, {lag})") == [("invalid_argument", 9, message)]


@pytest.mark.parametrize("kernel", ["[0.0, 0.6, 0.3, 0.1]", "[]", "[-1]", "0.5", "-2"])
def test_conv_kernel_array_or_number_literal(kernel: str) -> None:
    parse(f"CONV(a, {kernel})")


@pytest.mark.parametrize("kernel", ["b", "0.5 * 2", "SHIFT(a, 1)"])
def test_conv_kernel_problems(kernel: str) -> None:
    message = "CONV kernel argument must be an array literal (e.g., [0.0, 0.6, 0.3, 0.1])"
    assert call_problems(f"CONV(a, {kernel})") == [("invalid_argument", 8, message)]


@pytest.mark.parametrize(
    ("args", "problems"),
    [
        ("0", [(6, "PULSE period must be a positive integer")]),
        ("-2", [(6, "PULSE period must be a positive integer")]),
        ("2.5", [(6, "PULSE period must be a positive integer")]),
        ("p", [(6, "PULSE period must be a positive integer")]),
        ("2, -1", [(9, "PULSE phaseOffset must be a non-negative integer")]),
        ("2, 0.5", [(9, "PULSE phaseOffset must be a non-negative integer")]),
        ("2, ph, 3", [(9, "PULSE phaseOffset must be a non-negative integer")]),
        (
            "0, -1, amp",
            [
                (6, "PULSE period must be a positive integer"),
                (9, "PULSE phaseOffset must be a non-negative integer"),
            ],
        ),
    ],
)
def test_pulse_argument_problems(args: str, problems: list[tuple[int, str]]) -> None:
    assert call_problems(f"PULSE({args})") == [("invalid_argument", p, m) for p, m in problems]


@pytest.mark.parametrize(
    ("text", "position"),
    [("[1] + a", 0), ("MIN([1, 2], a)", 4), ("CONV([1], [2])", 5), ("SHIFT(a, [1])", 9), ("PULSE([2])", 6)],
)
def test_array_literal_outside_conv_kernel(text: str, position: int) -> None:
    message = "Array literals are only allowed as the kernel argument of CONV"
    assert call_problems(text) == [("invalid_argument", position, message)]


def test_all_function_problems_are_collected_in_text_order() -> None:
    text = "SHIFT(LOG(a), b) + MIN(a) + CONV(x, y) + [1] + PULSE(0)"
    assert call_problems(text) == [
        ("unknown_function", 6, "Unknown function: LOG"),
        ("invalid_argument", 14, "SHIFT lag parameter must be a literal integer"),
        ("function_arity", 19, "MIN function requires exactly 2 arguments"),
        (
            "invalid_argument",
            36,
            "CONV kernel argument must be an array literal (e.g., [0.0, 0.6, 0.3, 0.1])",
        ),
        ("invalid_argument", 41, "Array literals are only allowed as the kernel argument of CONV"),
        ("invalid_argument", 53, "PULSE period must be a positive integer"),
    ]


def test_arguments_of_unknown_and_wrong_arity_calls_are_still_checked() -> None:
    assert [code for code, _, _ in call_problems("FOO(ABS(), [1])")] == [
        "unknown_function",
        "function_arity",
        "invalid_argument",
    ]


def test_ast_is_returned_despite_function_problems() -> None:
    ast, problems = check_expression("MIN(capacty)", "n", PATH)
    assert ast == Call("MIN", (Ref("capacty", 4),), 0)
    assert [p.code for p in problems] == ["function_arity"]


# --------------------------------------------------------------------------------------- references


def test_references_in_text_order_with_positions() -> None:
    assert references(parse("MIN(demand, capacty) * 0.9 + demand")) == [
        Reference("demand", 4, False),
        Reference("capacty", 12, False),
        Reference("demand", 29, False),
    ]


def test_references_inside_shift_with_positive_lag_are_lagged() -> None:
    assert references(parse("SHIFT(x + y, 1) + x + SHIFT(z, 0)")) == [
        Reference("x", 6, True),
        Reference("y", 10, True),
        Reference("x", 18, False),
        Reference("z", 28, False),
    ]


def test_lag_propagates_through_nested_shifts() -> None:
    assert references(parse("SHIFT(MIN(a, SHIFT(b, 0)), 2)")) == [
        Reference("a", 10, True),
        Reference("b", 19, True),
    ]
    assert references(parse("SHIFT(SHIFT(a, 1), 0)")) == [Reference("a", 12, True)]


def test_references_of_a_shift_with_an_invalid_lag_are_same_bin() -> None:
    ast, _ = check_expression("SHIFT(a, b) + SHIFT(c, -1)", "n", PATH)
    assert ast is not None
    assert [(r.name, r.lagged) for r in references(ast)] == [("a", False), ("b", False), ("c", False)]


@pytest.mark.parametrize(
    "text",
    [
        "MIN(demand, capacty) * 0.9 + demand",
        "SHIFT(x + y, 1) + x + SHIFT(z, 0)",
        "SHIFT(MIN(a, SHIFT(b, 0)), 2)",
        "SHIFT(SHIFT(a, 1), 0)",
        "SHIFT(a, b) + SHIFT(c, -1) + SHIFT(d, --1) + SHIFT(e, 1.5)",
        "SHIFT(a, 1, b) + CONV(SHIFT(c, 2), [0.5, 0.5]) + FOO(d)",
        "1 + 2",
    ],
)
def test_analysis_gives_the_references_of_the_ast(text: str) -> None:
    ast, problems, refs = analyse_expression(text, "n", PATH)
    assert (ast, problems) == check_expression(text, "n", PATH)
    assert ast is not None
    assert [Reference(ref.name, ref.pos, lagged) for ref, lagged in refs] == references(ast)


def test_analysis_asks_for_the_path_only_to_report_a_problem() -> None:
    def no_path() -> str:
        raise AssertionError("path computed without a problem")

    assert analyse_expression("SHIFT(a, 1) + CONV(b, [1])", "n", no_path)[1] == []
    for text in ("a +", "1" * 20, "FOO(a)", "[1]"):
        problems = analyse_expression(text, "n", lambda: PATH, max_length=10)[1]
        assert [p.path for p in problems] == [PATH]


def test_self_shift_with_positive_lag() -> None:
    assert self_shift_lags(parse("MAX(0, SHIFT(backlog, 1) + demand - capacity)"), "backlog")
    assert self_shift_lags(parse("SHIFT(backlog, 3e0)"), "backlog")


@pytest.mark.parametrize(
    ("text", "node_id"),
    [
        ("SHIFT(backlog, 0)", "backlog"),
        ("SHIFT(backlog + 0, 1)", "backlog"),
        ("SHIFT(other, 1)", "backlog"),
        ("SHIFT(Backlog, 1)", "backlog"),
        ("backlog + 1", "backlog"),
    ],
)
def test_not_a_self_shift(text: str, node_id: str) -> None:
    assert not self_shift_lags(parse(text), node_id)


# ------------------------------------------------------------------------------ validated call helpers


def test_shift_lag_of_validated_calls() -> None:
    assert shift_lag(parse("SHIFT(a, 2e0)")) == 2  # type: ignore[arg-type]
    assert shift_lag(parse("SHIFT(a, 0)")) == 0  # type: ignore[arg-type]


def test_pulse_args_of_validated_calls() -> None:
    assert pulse_args(parse("PULSE(2)")) == (2, 0)  # type: ignore[arg-type]
    assert pulse_args(parse("PULSE(4.0, 3, a)")) == (4, 3)  # type: ignore[arg-type]


def test_conv_kernel_of_validated_calls() -> None:
    assert conv_kernel(parse("CONV(a, [0.5, -0.3, 0.2])")) == (0.5, -0.3, 0.2)  # type: ignore[arg-type]
    assert conv_kernel(parse("CONV(a, -2)")) == (-2.0,)  # type: ignore[arg-type]
    assert conv_kernel(parse("CONV(a, [])")) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("helper", "call"),
    [
        (shift_lag, Call("SHIFT", (Ref("a", 6), Ref("b", 9)), 0)),
        (shift_lag, Call("MIN", (Ref("a", 4), Number(1.0, 7)), 0)),
        (pulse_args, Call("PULSE", (Number(0.0, 6),), 0)),
        (pulse_args, Call("PULSE", (Number(2.0, 6), Number(-1.0, 9)), 0)),
        (conv_kernel, Call("CONV", (Ref("a", 5), Ref("k", 8)), 0)),
    ],
)
def test_helpers_reject_unvalidated_calls(helper: object, call: Call) -> None:
    with pytest.raises(ValueError, match="not a validated"):
        helper(call)  # type: ignore[operator]


def test_negative_zero_literals_are_positive_zero() -> None:
    assert str(conv_kernel(parse("CONV(a, [-0])"))[0]) == "0.0"  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- traversal


def test_walk_is_preorder_in_text_order_and_postorder_is_children_first() -> None:
    ast = parse("MIN(a, -b) * c")
    pre = [getattr(node, "name", getattr(node, "op", type(node).__name__)) for node in walk(ast)]
    post = [getattr(node, "name", getattr(node, "op", type(node).__name__)) for node in postorder(ast)]
    assert pre == ["*", "MIN", "a", "Neg", "b", "c"]
    assert post == ["a", "b", "Neg", "MIN", "c", "*"]
