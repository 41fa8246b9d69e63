"""Template YAML read with YAML 1.2 core-schema typing (``templates.md`` §2.11) or untyped (§7.5)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import yaml

_PLAIN = "tag:flowtime:plain"  # a plain scalar without an explicit tag: typed by the core schema below
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_CORE_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")


class YamlSyntaxError(Exception):
    """The text is not one YAML document this loader accepts; ``line``/``column`` are 1-based."""

    def __init__(self, problem: str, line: int, column: int, index: int = 0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column
        self.index = index

    def describe(self) -> str:
        """The ``template_yaml_error`` message of ``templates.md`` §5 step 7."""
        return f"YAML parsing error: {self.problem} (line {self.line}, column {self.column})."


class _Loader(yaml.CSafeLoader):
    """libyaml composer that marks untagged plain scalars, so YAML 1.1 implicit typing never applies."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return str(super().resolve(kind, value, implicit))


def compose(text: str) -> yaml.Node | None:
    """The node tree of the single document in ``text`` (None when empty), with character marks."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()  # type: ignore[no-any-return]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise _error_at(problem, mark) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), 1, 1) from exc
    finally:
        loader.dispose()


def resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema for an untagged plain scalar; timestamps stay strings."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def to_typed(node: yaml.Node) -> Any:
    """Python values per the core schema: dicts (document key order, keys as their source text), lists,
    str, int, float, bool and None."""
    return _construct(node, _typed_scalar)


def to_untyped(node: yaml.Node) -> Any:
    """Every scalar as its source text, except unquoted null forms and empty plain scalars (``None``)."""
    return _construct(node, _untyped_scalar)


def load_typed(text: str) -> Any:
    node = compose(text)
    return None if node is None else to_typed(node)


def load_untyped(text: str) -> Any:
    node = compose(text)
    return None if node is None else to_untyped(node)


def root_spans(node: yaml.Node | None) -> dict[str, tuple[int, int]]:
    """For each plain string key of a root mapping: (index of the key, index just past its value)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        key.value: (key.start_mark.index, value.end_mark.index)
        for key, value in node.value
        if isinstance(key, yaml.ScalarNode)
    }


def _typed_scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == _PLAIN:
        return resolve_plain(node.value)
    if node.tag == _STR:
        return node.value
    if node.tag in _CORE_TAGS:
        value = resolve_plain(node.value)
        expected = {
            "tag:yaml.org,2002:null": value is None,
            "tag:yaml.org,2002:bool": isinstance(value, bool),
            "tag:yaml.org,2002:int": isinstance(value, int) and not isinstance(value, bool),
            "tag:yaml.org,2002:float": isinstance(value, int | float) and not isinstance(value, bool),
        }[node.tag]
        if expected:
            return float(value) if node.tag.endswith("float") else value
        raise _error_at(f"cannot read '{node.value}' as {node.tag.rsplit(':', 1)[-1]}", node.start_mark)
    raise _error_at(f"unsupported tag '{node.tag}'", node.start_mark)


def _untyped_scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == _PLAIN and node.value in _NULLS:
        return None
    return node.value


def _construct(node: yaml.Node, scalar: Callable[[yaml.ScalarNode], Any]) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return scalar(node)
    if isinstance(node, yaml.SequenceNode):
        if node.tag not in (_SEQ,):
            raise _error_at(f"unsupported tag '{node.tag}'", node.start_mark)
        return [_construct(item, scalar) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        if node.tag not in (_MAP,):
            raise _error_at(f"unsupported tag '{node.tag}'", node.start_mark)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _error_at("a mapping key must be a scalar", key_node.start_mark)
            key = key_node.value
            if key in out:
                raise _error_at(f"duplicate key '{key}'", key_node.start_mark)
            out[key] = _construct(value_node, scalar)
        return out
    raise _error_at("unsupported YAML node", node.start_mark)


def _error_at(problem: str, mark: Any) -> YamlSyntaxError:
    if mark is None:
        return YamlSyntaxError(problem, 1, 1)
    return YamlSyntaxError(problem, mark.line + 1, mark.column + 1, mark.index)
