"""Template YAML read with YAML 1.2 core-schema typing (``templates.md`` §2.11) or untyped (§7.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from flowtime.model.parse import resolve_plain

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
# Templates nest a handful of levels; a cap far below the model's keeps libyaml's recursive composer off the
# C stack and the construction below within Python's recursion limit.
_MAX_DEPTH = 200
# Aliases may repeat a subtree; more nodes than this in total is an alias bomb, not a template.
_MAX_NODES = 1_000_000


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
    """The node tree of the single document in ``text`` (None when empty), with character marks.

    Nesting deeper than ``_MAX_DEPTH`` is refused from the event stream first: libyaml's composer recurses
    in C and would crash the process on it.
    """
    try:
        _check_depth(text)
        loader = _Loader(text)
        try:
            return loader.get_single_node()  # type: ignore[no-any-return]
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _error_at(_describe(exc), mark) from exc
    except yaml.reader.ReaderError as exc:
        reason = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        raise _error_at_index(reason, text, exc.position) from exc
    except UnicodeEncodeError as exc:  # a lone surrogate (from a parameter value): libyaml reads UTF-8
        raise _error_at_index("a lone surrogate is not valid Unicode text", text, exc.start) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc).splitlines()[0], 1, 1) from exc


def _check_depth(text: str) -> None:
    parser = yaml.CSafeLoader(text)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    raise _error_at(f"nesting deeper than {_MAX_DEPTH} levels", event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        parser.dispose()


def _describe(exc: yaml.MarkedYAMLError) -> str:
    """The parser's problem and the construct it was reading, with the line that construct starts on (the
    line, not the column, so that placeholder tokens cannot shift it)."""
    problem = exc.problem or exc.context or "invalid YAML"
    mark = exc.context_mark
    if exc.context and exc.problem and mark is not None and mark is not exc.problem_mark:
        return f"{problem} {exc.context} that starts on line {mark.line + 1}"
    return problem


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
    return _Builder(scalar).build(node)


class _Builder:
    """Python values from a node tree; an alias to an enclosing node (a cycle) and alias expansion beyond
    ``_MAX_NODES`` nodes are errors, not endless recursion or memory."""

    def __init__(self, scalar: Callable[[yaml.ScalarNode], Any]) -> None:
        self._scalar = scalar
        self._open: set[int] = set()
        self._count = 0

    def build(self, node: yaml.Node) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise _error_at(f"aliases expand to more than {_MAX_NODES} nodes", node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self._open:
            raise _error_at("an alias refers to a node that contains it", node.start_mark)
        self._open.add(id(node))
        try:
            return self._collection(node)
        finally:
            self._open.discard(id(node))

    def _collection(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise _error_at(f"unsupported tag '{node.tag}'", node.start_mark)
            return [self.build(item) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise _error_at(f"unsupported tag '{node.tag}'", node.start_mark)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _error_at("a mapping key must be a scalar", key_node.start_mark)
                key = key_node.value
                if key in out:
                    raise _error_at(f"duplicate key '{key}'", key_node.start_mark)
                out[key] = self.build(value_node)
            return out
        raise _error_at("unsupported YAML node", node.start_mark)


def _error_at_index(problem: str, text: str, index: int) -> YamlSyntaxError:
    line_start = text.rfind("\n", 0, index) + 1
    return YamlSyntaxError(problem, text.count("\n", 0, index) + 1, index - line_start + 1, index)


def _error_at(problem: str, mark: Any) -> YamlSyntaxError:
    if mark is None:
        return YamlSyntaxError(problem, 1, 1)
    return YamlSyntaxError(problem, mark.line + 1, mark.column + 1, mark.index)
