"""The expression language (``model.md`` §7): text to AST with positions, call checks, reference analysis."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, cast

from flowtime.errors import Problem


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    pos: int


@dataclass(frozen=True, slots=True)
class Ref:
    """A node (column) reference; case-sensitive."""

    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Neg:
    """Unary minus: ``0 - operand`` (so ``-0`` is ``+0``)."""

    operand: Expr
    pos: int


BinaryOperator = Literal["+", "-", "*", "/"]


@dataclass(frozen=True, slots=True)
class BinOp:
    op: BinaryOperator
    left: Expr
    right: Expr
    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; ``name`` is upper-cased (function names are case-insensitive)."""

    name: str
    args: tuple[Expr, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Array:
    """An array literal; legal only as the kernel argument of CONV."""

    values: tuple[float, ...]
    pos: int


Expr = Number | Ref | Neg | BinOp | Call | Array


# ------------------------------------------------------------------------------------------- functions

FUNCTIONS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
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
)
"""Upper-cased function name -> (minimum, maximum) number of arguments (``model.md`` §7.3)."""

_ARITY_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "SHIFT": "SHIFT function requires exactly 2 arguments: SHIFT(series, lag)",
        "CONV": "CONV function requires exactly 2 arguments: CONV(series, [kernel...])",
        "MOD": "MOD function requires exactly 2 arguments: MOD(value, divisor)",
        "POW": "POW function requires exactly 2 arguments: POW(base, exponent)",
        "MIN": "MIN function requires exactly 2 arguments",
        "MAX": "MAX function requires exactly 2 arguments",
        "CLAMP": "CLAMP function requires exactly 3 arguments: CLAMP(value, min, max)",
        "STEP": "STEP function requires 2 arguments: STEP(value, threshold)",
        "PULSE": "PULSE requires 1-3 arguments: PULSE(periodBins, phaseOffset?, amplitude?)",
        **{name: f"{name} function requires exactly 1 argument" for name in ("FLOOR", "CEIL", "ROUND", "ABS", "SQRT")},
    }
)

_SHIFT_LAG_NOT_LITERAL = "SHIFT lag parameter must be a literal integer"
_SHIFT_LAG_NEGATIVE = "SHIFT lag parameter must be a non-negative integer"
_CONV_KERNEL = "CONV kernel argument must be an array literal (e.g., [0.0, 0.6, 0.3, 0.1])"
_PULSE_PERIOD = "PULSE period must be a positive integer"
_PULSE_PHASE = "PULSE phaseOffset must be a non-negative integer"
_ARRAY_MISPLACED = "Array literals are only allowed as the kernel argument of CONV"


# ---------------------------------------------------------------------------------------------- scanner

# One ``findall`` scans the whole text (a Python loop per character is the slow part otherwise): each match is
# the whitespace before a token, then the token in the group of its kind. ``number`` is deliberately loose
# (``1.``, ``1e``, ``2.e5``) so that a malformed number is a single match whose error ``_number_error`` then
# works out. Trailing whitespace does not match at all.
_TOKEN = re.compile(
    r"([ \t\r\n]*)(?:"
    r"((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]*)?)"  # number
    r"|([A-Za-z_][A-Za-z0-9_]*)"  # identifier
    r"|([-+*/(),\[\]])"  # punctuation
    r"|([^ \t\r\n]))"  # anything else
)
_DIGITS = "0123456789"

# A token: (kind, position, text, value). ``kind`` is "num", "ident", "end", "error" (the scanner's error,
# raised only when the parser reaches it, so the reported error is always the leftmost one) or the
# punctuation character itself.
_Token = tuple[str, int, str, float]


class _SyntaxError(Exception):
    """Internal: the first syntax error, at a 0-based character position; never leaves this module."""

    def __init__(self, position: int, detail: str) -> None:
        super().__init__(detail)
        self.position = position
        self.detail = detail


def _shown(char: str) -> str:
    return char if char.isprintable() else repr(char)[1:-1]


def _tokens(text: str) -> tuple[list[_Token], _SyntaxError | None]:
    """Every token up to the end, or up to the first scanner error (then also returned, as the last token)."""
    tokens: list[_Token] = []
    append = tokens.append
    pos = 0
    for space, number, ident, punct, other in _TOKEN.findall(text):
        pos += len(space)
        if punct:
            append((punct, pos, punct, 0.0))
            pos += 1
        elif ident:
            append(("ident", pos, ident, 0.0))
            pos += len(ident)
        elif number:
            if number[-1] not in _DIGITS or ".e" in number or ".E" in number:
                error = _number_error(text, pos)
            else:
                value = float(number)
                if math.isfinite(value):
                    append(("num", pos, number, value))
                    pos += len(number)
                    continue
                error = _SyntaxError(pos, f"Invalid number format: {number}")
            append(("error", error.position, "", 0.0))
            return tokens, error
        else:
            append(("error", pos, "", 0.0))
            return tokens, _SyntaxError(pos, f"Unexpected character '{_shown(other)}'")
    append(("end", len(text), "", 0.0))
    return tokens, None


def _number_error(text: str, start: int) -> _SyntaxError:
    """The error of a malformed number literal starting at ``start``: a missing fraction or exponent digit."""
    n = len(text)
    j = start
    while j < n and text[j] in _DIGITS:
        j += 1
    if j < n and text[j] == ".":
        j += 1
        if j >= n or text[j] not in _DIGITS:
            return _SyntaxError(j, "Expected digit after decimal point")
        while j < n and text[j] in _DIGITS:
            j += 1
    # a fraction is complete, so the exponent lacks its digits
    j += 1
    if j < n and text[j] in "+-":
        j += 1
    return _SyntaxError(start, f"Invalid number format: {text[start:j]}")


def _unexpected(token: _Token, failure: _SyntaxError | None) -> _SyntaxError:
    kind, pos, text, _ = token
    if kind == "error":
        assert failure is not None
        return failure
    if kind == "end":
        return _SyntaxError(pos, "Unexpected end of expression")
    return _SyntaxError(pos, f"Unexpected character '{_shown(text[0])}'")


# ----------------------------------------------------------------------------------------------- parser

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

# An open construct on the parser stack: (kind, position, operator or upper-cased call name, operand-stack
# height when a call opened (its arguments lie above it), reference count when a call opened).
_Frame = tuple[Literal["neg", "bin", "paren", "call"], int, str, int, int]


@dataclass(slots=True)
class _Parsed:
    """What one pass over the text finds besides the AST: the calls and the references (text order) with
    their ``lagged`` flags, so that neither the call checks nor the reference analysis walk the tree."""

    ast: Expr
    calls: list[Call]
    arrays: int
    refs: list[Ref]
    lagged: list[bool]


def _parse(text: str, max_depth: int) -> _Parsed:
    """Operator-precedence parse of the §7.1 grammar with explicit stacks.

    No Python recursion at all, so nesting is bounded only by ``max_depth`` (counted over open
    parentheses, calls and unary minus signs), never by the interpreter's recursion limit.
    """
    tokens, failure = _tokens(text)
    k = 0
    operands: list[Expr] = []
    frames: list[_Frame] = []
    calls: list[Call] = []
    refs: list[Ref] = []
    lagged: list[bool] = []
    arrays = 0
    depth = 0
    expect_operand = True
    comma_at: int | None = None  # position of the ',' just consumed inside a call

    def open_level(pos: int) -> None:
        nonlocal depth
        if depth >= max_depth:
            raise _SyntaxError(pos, f"Expression nesting exceeds the maximum depth of {max_depth}")
        depth += 1

    def reduce(min_precedence: int) -> None:
        """Fold pending unary minus signs and binary operators binding at least ``min_precedence``."""
        nonlocal depth
        while frames:
            kind, pos, op, _, _ = frames[-1]
            if kind == "neg":
                depth -= 1
                operands[-1] = Neg(operands[-1], pos)
            elif kind == "bin" and _PRECEDENCE[op] >= min_precedence:
                right = operands.pop()
                operands[-1] = BinOp(cast(BinaryOperator, op), operands[-1], right, pos)
            else:
                return
            frames.pop()

    while True:
        token = tokens[k]
        k += 1
        kind, pos = token[0], token[1]
        if expect_operand:
            after_comma, comma_at = comma_at, None
            if kind == "-":
                open_level(pos)
                frames.append(("neg", pos, "", 0, 0))
            elif kind == "num":
                operands.append(Number(token[3], pos))
                expect_operand = False
            elif kind == "ident":
                if tokens[k][0] == "(":
                    open_level(tokens[k][1])
                    k += 1
                    frames.append(("call", pos, token[2].upper(), len(operands), len(refs)))
                else:
                    ref = Ref(token[2], pos)
                    operands.append(ref)
                    refs.append(ref)
                    lagged.append(False)
                    expect_operand = False
            elif kind == "(":
                open_level(pos)
                frames.append(("paren", pos, "", 0, 0))
            elif kind == "[":
                array, k = _array(tokens, k, pos, failure)
                operands.append(array)
                arrays += 1
                expect_operand = False
            elif kind == ")" and frames and frames[-1][0] == "call":
                if after_comma is not None:
                    raise _SyntaxError(after_comma, "Unexpected ',' before ')'")
                _, call_pos, name, _, _ = frames.pop()
                depth -= 1
                call = Call(name, (), call_pos)
                operands.append(call)
                calls.append(call)
                expect_operand = False
            else:
                raise _unexpected(token, failure)
            continue

        if kind in _PRECEDENCE:
            reduce(_PRECEDENCE[kind])
            frames.append(("bin", pos, kind, 0, 0))
            expect_operand = True
            continue
        if kind == "error":
            raise _unexpected(token, failure)
        reduce(0)
        if not frames:
            if kind == "end":
                return _Parsed(operands[0], calls, arrays, refs, lagged)
            raise _unexpected(token, failure)
        enclosing, open_pos, name, base, ref_base = frames[-1]
        if kind == ")":
            frames.pop()
            depth -= 1
            if enclosing == "call":
                args = tuple(operands[base:])
                del operands[base:]
                call = Call(name, args, open_pos)
                operands.append(call)
                calls.append(call)
                if name == "SHIFT" and len(args) == 2 and ref_base < len(refs):
                    lag = _literal_int(args[1])
                    if lag is not None and lag >= 1:  # a literal lag holds no reference: all are in args[0]
                        lagged[ref_base:] = [True] * (len(refs) - ref_base)
        elif kind == "," and enclosing == "call":
            comma_at = pos
            expect_operand = True
        elif enclosing == "paren":
            raise _SyntaxError(pos, "Expected ')'")
        else:
            raise _SyntaxError(pos, "Expected ',' or ')'")


def _array(tokens: list[_Token], k: int, pos: int, failure: _SyntaxError | None) -> tuple[Array, int]:
    """The rest of an array literal after its ``[`` (``tokens[k]`` on): signed number literals only.

    Returns the array and the index of the token after its ``]``.
    """
    values: list[float] = []
    token = tokens[k]
    k += 1
    if token[0] == "]":
        return Array((), pos), k
    while True:
        negative = token[0] == "-"
        if negative:
            token = tokens[k]
            k += 1
        if token[0] != "num":
            raise _unexpected(token, failure)
        values.append(0.0 - token[3] if negative else token[3])
        token = tokens[k]
        k += 1
        if token[0] == "]":
            return Array(tuple(values), pos), k
        if token[0] != ",":
            raise _unexpected(token, failure) if token[0] == "error" else _SyntaxError(token[1], "Expected ',' or ']'")
        token = tokens[k]
        k += 1


# ------------------------------------------------------------------------------------------- traversal


def _children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(ast: Expr) -> Iterator[Expr]:
    """Every node, parents before children, in text order.

    Iterative: chains such as ``a + b + c + …`` nest one ``BinOp`` per operator, so a 10,000-character
    expression can be thousands of levels deep even though its bracket nesting is capped at 100.
    """
    stack = [ast]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def postorder(ast: Expr) -> Iterator[Expr]:
    """Every node, children (left to right) before their parent: the order to compile with a value stack.

    Iterative for the same reason as :func:`walk`; evaluators should use it rather than recursion.
    """
    stack: list[tuple[Expr, bool]] = [(ast, False)]
    while stack:
        node, expanded = stack.pop()
        children = _children(node)
        if expanded or not children:
            yield node
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))


def _start(node: Expr) -> int:
    """Position of the first character of ``node`` (a ``BinOp`` records its operator)."""
    while isinstance(node, BinOp):
        node = node.left
    return node.pos


def _literal(node: Expr) -> float | None:
    """The value of a number literal, optionally negated (``-1``, ``--2``); None for anything else."""
    negations = 0
    while isinstance(node, Neg):
        negations += 1
        node = node.operand
    if not isinstance(node, Number):
        return None
    value = node.value
    for _ in range(negations):
        value = 0.0 - value
    return value


def _literal_int(node: Expr) -> int | None:
    value = _literal(node)
    return int(value) if value is not None and value.is_integer() else None


# ----------------------------------------------------------------------------------------------- checks


def check_expression(
    text: str, node_id: str, path: str, *, max_length: int = 10_000, max_depth: int = 100
) -> tuple[Expr | None, list[Problem]]:
    """Parse ``text`` and check its function calls; never raises for any input text.

    Returns the AST (None when the text does not parse or is too long) and the problems in text order:
    at most one ``expr_parse_error`` or ``limit_exceeded``, or any number of ``unknown_function``,
    ``function_arity`` and ``invalid_argument``. The AST is returned despite function problems so that
    references can still be checked (only a parse failure suppresses them, ``model.md`` §11).
    """
    ast, problems, _ = analyse_expression(text, node_id, path, max_length=max_length, max_depth=max_depth)
    return ast, problems


def analyse_expression(
    text: str,
    node_id: str,
    path: str | Callable[[], str],
    *,
    max_length: int = 10_000,
    max_depth: int = 100,
) -> tuple[Expr | None, list[Problem], list[tuple[Ref, bool]]]:
    """:func:`check_expression` plus the :func:`references` of the AST (as ``(ref, lagged)`` pairs, text
    order), all from a single pass over the text: validating thousands of expressions is a large part of
    loading a big model.

    ``path`` may be a function giving it: it is called only when there is a problem to report. The
    references are empty when the AST is None.
    """
    if len(text) > max_length:
        message = (
            f"Node {node_id}: expression is {len(text)} characters long; the limit is {max_length} "
            "characters (split it across several expr nodes)"
        )
        problem = Problem("limit_exceeded", message, path=_path(path), node_id=node_id, position=max_length)
        return None, [problem], []
    try:
        parsed = _parse(text, max_depth)
    except _SyntaxError as exc:
        message = (
            f"Node {node_id}: error parsing expression '{text}': Parse error at position {exc.position}: {exc.detail}"
        )
        problem = Problem("expr_parse_error", message, path=_path(path), node_id=node_id, position=exc.position)
        return None, [problem], []
    refs = list(zip(parsed.refs, parsed.lagged, strict=True))
    if _calls_are_fine(parsed, text):
        return parsed.ast, [], refs
    return parsed.ast, _check_calls(parsed.ast, text, node_id, _path(path)), refs


def _path(path: str | Callable[[], str]) -> str:
    return path if isinstance(path, str) else path()


def _calls_are_fine(parsed: _Parsed, text: str) -> bool:
    """True when :func:`_check_calls` would find nothing: every call passes and every array is the kernel
    of a CONV. Checks the calls the parser collected instead of walking the tree."""
    kernels = 0
    for call in parsed.calls:
        if _call_problems(call, text):
            return False
        if call.name == "CONV" and len(call.args) > 1 and isinstance(call.args[1], Array):
            kernels += 1
    return kernels == parsed.arrays


def _check_calls(ast: Expr, text: str, node_id: str, path: str) -> list[Problem]:
    found: list[tuple[int, str, str]] = []  # (position, code, message)
    stack: list[tuple[Expr, bool]] = [(ast, False)]  # (node, is the kernel argument of a CONV)
    while stack:
        node, is_kernel = stack.pop()
        if isinstance(node, Array) and not is_kernel:
            found.append((node.pos, "invalid_argument", _ARRAY_MISPLACED))
        elif isinstance(node, Call):
            found.extend(_call_problems(node, text))
            stack.extend(
                (arg, node.name == "CONV" and index == 1) for index, arg in reversed(list(enumerate(node.args)))
            )
        else:
            stack.extend((child, False) for child in reversed(_children(node)))
    found.sort(key=lambda item: item[0])
    return [
        Problem(code, f"Node {node_id}: {message}", path=path, node_id=node_id, position=pos)
        for pos, code, message in found
    ]


def _call_problems(call: Call, text: str) -> list[tuple[int, str, str]]:
    """Arity and literal-argument problems of one call; arguments that are arrays are reported elsewhere."""
    arity = FUNCTIONS.get(call.name)
    if arity is None:
        written = text[call.pos : call.pos + len(call.name)]
        return [(call.pos, "unknown_function", f"Unknown function: {written}")]
    low, high = arity
    if not low <= len(call.args) <= high:
        return [(call.pos, "function_arity", _ARITY_MESSAGES[call.name])]
    rules: list[tuple[Expr, str | None, int, str]] = []  # (argument, not-literal message, minimum, message)
    if call.name == "SHIFT":
        rules.append((call.args[1], _SHIFT_LAG_NOT_LITERAL, 0, _SHIFT_LAG_NEGATIVE))
    elif call.name == "PULSE":
        rules.append((call.args[0], None, 1, _PULSE_PERIOD))
        if len(call.args) > 1:
            rules.append((call.args[1], None, 0, _PULSE_PHASE))
    elif call.name == "CONV" and not isinstance(call.args[1], Array) and _literal(call.args[1]) is None:
        return [(_start(call.args[1]), "invalid_argument", _CONV_KERNEL)]
    problems = []
    for arg, not_literal, minimum, message in rules:
        if isinstance(arg, Array):
            continue
        value = _literal(arg)
        if value is None:
            problems.append((_start(arg), "invalid_argument", not_literal or message))
        elif not value.is_integer() or value < minimum:
            problems.append((_start(arg), "invalid_argument", message))
    return problems


# ------------------------------------------------------------------------------------------ references


@dataclass(frozen=True, slots=True)
class Reference:
    """One occurrence of a node reference; ``lagged`` when inside the series argument of ``SHIFT(…, k≥1)``."""

    name: str
    pos: int
    lagged: bool


def references(ast: Expr) -> list[Reference]:
    """Every reference occurrence in text order (``model.md`` §8.1)."""
    found: list[Reference] = []
    stack: list[tuple[Expr, bool]] = [(ast, False)]
    while stack:
        node, lagged = stack.pop()
        if isinstance(node, Ref):
            found.append(Reference(node.name, node.pos, lagged))
        elif isinstance(node, Call) and node.name == "SHIFT" and len(node.args) == 2:
            lag = _literal_int(node.args[1])
            stack.append((node.args[1], lagged))
            stack.append((node.args[0], lagged or (lag is not None and lag >= 1)))
        else:
            stack.extend((child, lagged) for child in reversed(_children(node)))
    return found


def self_shift_lags(ast: Expr, node_id: str) -> bool:
    """True when ``ast`` contains ``SHIFT(<node_id>, k)`` with a bare self reference and literal ``k ≥ 1``.

    Such a node needs an initial condition (``model.md`` §8.3).
    """
    for node in walk(ast):
        if isinstance(node, Call) and node.name == "SHIFT" and len(node.args) == 2:
            first, lag = node.args[0], _literal_int(node.args[1])
            if isinstance(first, Ref) and first.name == node_id and lag is not None and lag >= 1:
                return True
    return False


# ----------------------------------------------------------------------- arguments of validated calls


def shift_lag(call: Call) -> int:
    """The lag ``k`` of a validated ``SHIFT(x, k)``."""
    lag = _literal_int(call.args[1]) if call.name == "SHIFT" and len(call.args) == 2 else None
    if lag is None or lag < 0:
        raise ValueError(f"not a validated SHIFT call: {call.name}(…) at position {call.pos}")
    return lag


def pulse_args(call: Call) -> tuple[int, int]:
    """``(period, phase)`` of a validated ``PULSE(p[, ph[, amp]])``; the phase defaults to 0."""
    period = _literal_int(call.args[0]) if call.name == "PULSE" and 1 <= len(call.args) <= 3 else None
    phase = _literal_int(call.args[1]) if period is not None and len(call.args) > 1 else 0
    if period is None or period < 1 or phase is None or phase < 0:
        raise ValueError(f"not a validated PULSE call: {call.name}(…) at position {call.pos}")
    return period, phase


def conv_kernel(call: Call) -> tuple[float, ...]:
    """The kernel of a validated ``CONV(x, kernel)``: the array values, or the one number literal."""
    if call.name == "CONV" and len(call.args) == 2:
        kernel = call.args[1]
        if isinstance(kernel, Array):
            return kernel.values
        value = _literal(kernel)
        if value is not None:
            return (value,)
    raise ValueError(f"not a validated CONV call: {call.name}(…) at position {call.pos}")
