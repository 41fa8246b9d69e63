"""Expression text -> AST (``model.md`` §7), with 0-based character positions for problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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


@dataclass(frozen=True, slots=True)
class BinOp:
    op: Literal["+", "-", "*", "/"]
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
