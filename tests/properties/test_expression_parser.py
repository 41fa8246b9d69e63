"""Properties of the expression parser: total on arbitrary text, and print -> parse round trips."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flowtime.model.expressions import (
    Array,
    BinOp,
    Call,
    Expr,
    Neg,
    Number,
    Ref,
    check_expression,
    postorder,
    references,
    walk,
)

PATH = "nodes[0].expr"
PARSE_CODES = {"expr_parse_error", "limit_exceeded"}
CALL_CODES = {"unknown_function", "function_arity", "invalid_argument"}

expression_like = st.text(alphabet=" \t\r\n()[],.+-*/^#eE0123456789abxyz_MINAXSHIFTCONVPULSElog", max_size=80)


@settings(max_examples=200, deadline=None)
@given(st.one_of(expression_like, st.text(max_size=40)))
def test_any_text_yields_an_ast_or_coded_problems(text: str) -> None:
    ast, problems = check_expression(text, "node_1", PATH, max_length=60, max_depth=5)
    if ast is None:
        assert len(problems) == 1
        assert problems[0].code in PARSE_CODES
    else:
        assert {p.code for p in problems} <= CALL_CODES
    positions = [p.position for p in problems]
    assert positions == sorted(positions)  # type: ignore[type-var]
    for problem in problems:
        assert problem.severity == "error"
        assert problem.path == PATH
        assert problem.node_id == "node_1"
        assert problem.position is not None
        assert 0 <= problem.position <= len(text)
        assert problem.message.startswith("Node node_1: ")
        if problem.code == "expr_parse_error":
            where = f"Parse error at position {problem.position}: "
            assert problem.message.startswith(f"Node node_1: error parsing expression '{text}': {where}")


# ----------------------------------------------------------------------------------- valid expressions

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
magnitudes = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False)
leaves = st.one_of(st.builds(Number, magnitudes, st.just(0)), st.builds(Ref, identifiers, st.just(0)))


def _calls(sub: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def call(name: str, *args: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.tuples(*args).map(lambda a: Call(name, tuple(a), 0))

    ints = st.integers(0, 50).map(lambda k: Number(float(k), 0))
    positive = st.integers(1, 50).map(lambda k: Number(float(k), 0))
    kernels = st.one_of(
        st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=4).map(lambda v: Array(tuple(v), 0)),
        st.builds(Number, magnitudes, st.just(0)),
    )
    return st.one_of(
        *(call(name, sub, sub) for name in ("MIN", "MAX", "MOD", "POW", "STEP")),
        *(call(name, sub) for name in ("FLOOR", "CEIL", "ROUND", "ABS", "SQRT")),
        call("CLAMP", sub, sub, sub),
        call("SHIFT", sub, ints),
        call("CONV", sub, kernels),
        call("PULSE", positive),
        call("PULSE", positive, ints),
        call("PULSE", positive, ints, sub),
    )


expressions = st.recursive(
    leaves,
    lambda sub: st.one_of(
        st.builds(Neg, sub, st.just(0)),
        st.builds(BinOp, st.sampled_from(["+", "-", "*", "/"]), sub, sub, st.just(0)),
        _calls(sub),
    ),
    max_leaves=25,
)


def _precedence(node: Expr) -> int:
    if isinstance(node, BinOp):
        return 1 if node.op in "+-" else 2
    return 3 if isinstance(node, Neg) else 4


def show(node: Expr, space: str = " ", lower: bool = False) -> str:
    """Minimal-parenthesis printer; ``space`` goes around operators and after commas."""

    def wrap(child: Expr, minimum: int) -> str:
        text = show(child, space, lower)
        return f"({text})" if _precedence(child) < minimum else text

    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, Array):
        return "[" + f",{space}".join(repr(v) for v in node.values) + "]"
    if isinstance(node, Neg):
        return "-" + wrap(node.operand, 3)
    if isinstance(node, BinOp):
        own = _precedence(node)
        return f"{wrap(node.left, own)}{space}{node.op}{space}{wrap(node.right, own + 1)}"
    name = node.name.lower() if lower else node.name
    return f"{name}{space}(" + f",{space}".join(show(a, space, lower) for a in node.args) + ")"


def shape(node: Expr) -> Any:
    """The AST without positions."""
    if isinstance(node, Number | Array):
        return (type(node).__name__, node.values if isinstance(node, Array) else node.value)
    if isinstance(node, Ref):
        return ("Ref", node.name)
    if isinstance(node, Neg):
        return ("Neg", shape(node.operand))
    if isinstance(node, BinOp):
        return (node.op, shape(node.left), shape(node.right))
    return (node.name, *(shape(a) for a in node.args))


@settings(max_examples=200, deadline=None)
@given(expressions, st.sampled_from(["", " ", "\t", "\r\n  "]), st.booleans())
def test_printed_expressions_parse_back_to_the_same_ast(tree: Expr, space: str, lower: bool) -> None:
    text = show(tree, space, lower)
    ast, problems = check_expression(text, "n", PATH)
    assert problems == []
    assert ast is not None
    assert shape(ast) == shape(tree)
    assert show(ast, space, lower) == text


@settings(max_examples=200, deadline=None)
@given(expressions)
def test_positions_point_at_the_source_text(tree: Expr) -> None:
    text = show(tree)
    ast, _ = check_expression(text, "n", PATH)
    assert ast is not None
    for node in walk(ast):
        if isinstance(node, Ref):
            assert text[node.pos : node.pos + len(node.name)] == node.name
        elif isinstance(node, Call):
            assert text[node.pos : node.pos + len(node.name)].upper() == node.name
        elif isinstance(node, BinOp):
            assert text[node.pos] == node.op
        elif isinstance(node, Neg):
            assert text[node.pos] == "-"
        elif isinstance(node, Array):
            assert text[node.pos] == "["
        else:
            assert text[node.pos] in "0123456789."
    refs = references(ast)
    assert [r.name for r in refs] == [n.name for n in walk(ast) if isinstance(n, Ref)]
    assert [r.pos for r in refs] == sorted(r.pos for r in refs)
    assert sorted(map(id, postorder(ast))) == sorted(map(id, walk(ast)))
