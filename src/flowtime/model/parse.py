"""Model text -> plain Python values under YAML 1.2 core-schema rules, with the line of every node kept."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from flowtime.errors import Problem
from flowtime.model.limits import DEFAULT_LIMITS, Limits

try:  # libyaml's event parser; the pure-Python one is a slow but equivalent fallback
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Parser  # type: ignore[assignment]

Loc = tuple[str | int, ...]

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_STR_TAGS = frozenset({"!", "tag:yaml.org,2002:str"})
_NUMBER_START = frozenset("0123456789+-.")

_MAX_ALIAS_EXPANSION = 1_000_000

# Long flow sequences of plain numbers as mapping values (``values: [100.0, 140.5, …]``, the bulk of large
# models) are read by numpy instead of one libyaml event and one Python object per element: each is swapped
# for a placeholder scalar, the rest is composed as usual, and the placeholders are replaced by the lists the
# event path would have built (same element types, values and lines). Whenever anything differs from that
# plan (a placeholder that does not come back as a whole mapping value, any problem, any error) the text is
# simply composed again as it is.
_NUMBER_SEQUENCE = re.compile(r"(?<=:)[ \t]+\[([0-9eE+\-., \t\n]{512,})\]")
_INT_TOKEN = re.compile(r"(?:^|,)[ \t\n]*[-+]?[0-9]+[ \t\n]*(?=,|$)")
_FRACTIONAL = re.compile(r"[.eE]")
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_EMPTY_ELEMENT = re.compile(r",[ \t\n]*,")  # numpy would read an empty element as -1
_LINE_REST = re.compile(r"[ \t]*(?:#[^\n]*)?(?=\n|$)")
_PLACEHOLDER = "__flowtime_numbers_"


def resolve_plain(text: str) -> Any:
    """Resolve an untagged plain scalar as the YAML 1.2 core schema does (``yes``/``on`` stay strings)."""
    first = text[:1]
    if first in _NUMBER_START:
        if _INT.fullmatch(text):
            try:
                return int(text)
            except ValueError:  # more digits than Python converts; a huge integer is +-inf as a double
                return float(text)
        if _FLOAT.fullmatch(text):
            return float(text)
        if _OCT.fullmatch(text):
            return int(text[2:], 8)
        if _HEX.fullmatch(text):
            return int(text[2:], 16)
        if _INF.fullmatch(text):
            return float("-inf") if first == "-" else float("inf")
        if _NAN.fullmatch(text):
            return float("nan")
        return text
    if text in _NULLS:
        return None
    if first in "tTfF":
        return _BOOLS.get(text, text)
    return text


class SourceMap:
    """Lines (1-based) of mapping keys, values and sequence items, and the source text of non-string
    scalars in mappings (the spec converts them to strings "using their source text": ``id: 1.50``)."""

    __slots__ = ("_maps", "_root", "_seqs")

    def __init__(
        self,
        root: Any = None,
        maps: dict[int, tuple[int, dict[str, tuple[int, int, str | None]]]] | None = None,
        seqs: dict[int, tuple[int, list[int]]] | None = None,
    ) -> None:
        self._root = root  # keeps every container alive, so the id() keys stay valid
        self._maps = maps or {}
        self._seqs = seqs or {}

    def line_of(self, loc: Loc, *, key: bool = False) -> int | None:
        """Line of the node at ``loc`` (of its key when ``key``); for a missing node, of its container."""
        node = self._root
        entry = self._maps.get(id(node)) or self._seqs.get(id(node))
        line = entry[0] if entry is not None else None
        last = len(loc) - 1
        for i, step in enumerate(loc):
            if isinstance(node, dict) and isinstance(step, str):
                mapping = self._maps.get(id(node))
                info = mapping[1].get(step) if mapping is not None else None
                if info is None:
                    return line
                line = info[0] if key and i == last else info[1]
            elif isinstance(node, list) and isinstance(step, int):
                seq = self._seqs.get(id(node))
                if seq is None or not 0 <= step < len(seq[1]):
                    return line
                line = seq[1][step]
            else:
                return line
            node = node[step]
        return line

    def text_of(self, loc: Loc) -> str | None:
        """Source text of the non-string scalar mapping value at ``loc``, when recorded."""
        if not loc or not isinstance(loc[-1], str):
            return None
        node = self._root
        for step in loc[:-1]:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return None
        mapping = self._maps.get(id(node)) if isinstance(node, dict) else None
        info = mapping[1].get(loc[-1]) if mapping is not None else None
        return info[2] if info is not None else None


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed model document. ``root`` is None when the text could not be parsed (see ``problems``)."""

    root: Any
    source: SourceMap
    problems: tuple[Problem, ...] = field(default=())


def parse_document(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Parse model text into plain values (dict, list, str, int, float, bool, None).

    Every mapping key is a string (its source text). Problems: ``limit_exceeded`` for oversized input
    (checked before decoding), ``yaml_empty``, ``yaml_syntax`` (with line and column; also several documents,
    bad UTF-8, too deep nesting, undefined or exploding aliases) and ``duplicate_key`` (the document is still
    returned).
    """
    size_problem = _check_size(text, limits.max_input_bytes)
    if size_problem is not None:
        return _failed(size_problem)
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            line = bytes(text[: exc.start]).count(b"\n") + 1
            return _failed(_syntax(f"input is not valid UTF-8 (byte {exc.start}) at line {line}", line))
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return _failed(Problem("yaml_empty", "Model YAML cannot be null or empty"))
    fast = _compose_number_sequences(text, limits.max_yaml_depth)
    if fast is not None:
        return fast
    try:
        composer = _Composer(text, limits.max_yaml_depth)
        root = composer.compose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = ", ".join(str(p) for p in (exc.context, exc.problem) if p)
        return _failed(_syntax_at(detail or "malformed YAML", mark.line + 1, mark.column + 1))
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        reason = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        return _failed(_syntax_at(reason, line, column))
    except UnicodeEncodeError as exc:  # a lone surrogate in str input: libyaml reads UTF-8
        line = text[: exc.start].count("\n") + 1
        return _failed(_syntax(f"input is not valid Unicode text (character {exc.start}) at line {line}", line))
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml raises the marked kinds above
        return _failed(_syntax(str(exc).splitlines()[0], None))
    if root is None:
        return _failed(Problem("yaml_empty", "Model YAML cannot be null or empty"))
    return Document(root, composer.source, tuple(composer.problems))


def format_path(loc: Sequence[str | int]) -> str:
    """``("nodes", 2, "expr")`` -> ``nodes[2].expr``."""
    out: list[str] = []
    for step in loc:
        if isinstance(step, int):
            out.append(f"[{step}]")
        else:
            out.append(f".{step}" if out else step)
    return "".join(out)


def _check_size(text: str | bytes, max_bytes: int) -> Problem | None:
    if isinstance(text, str):
        # a character is 1-4 UTF-8 bytes: only encode when the character count leaves doubt
        size = len(text) if len(text) > max_bytes or len(text) * 4 <= max_bytes else _utf8_len(text)
    else:
        size = len(text)
    if size <= max_bytes:
        return None
    return Problem("limit_exceeded", f"Model input is {size} bytes; the maximum is {max_bytes} bytes")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _failed(problem: Problem) -> Document:
    return Document(None, SourceMap(None), (problem,))


def _syntax(detail: str, line: int | None) -> Problem:
    return Problem("yaml_syntax", f"Invalid YAML syntax: {detail}", line=line)


def _syntax_at(detail: str, line: int, column: int) -> Problem:
    return _syntax(f"{detail} at line {line}, column {column}", line)


def _compose_number_sequences(text: str, max_depth: int) -> Document | None:
    """The document with long number sequences read by numpy, or None to compose ``text`` as it is."""
    if _PLACEHOLDER in text:
        return None
    parts: list[str] = []
    numbers: list[tuple[list[Any], int, list[int]]] = []  # the list, its line, the line of each element
    done = 0
    line = 1
    for match in _NUMBER_SEQUENCE.finditer(text):
        inner = match.group(1)
        values = _numbers(inner)
        newlines = inner.count("\n")
        if values is None or (newlines and not _LINE_REST.match(text, match.end())):
            continue
        start = match.start(1) - 1  # the "["
        line += text.count("\n", done, start)
        parts += [text[done:start], f"{_PLACEHOLDER}{len(numbers)}", "\n" * newlines]
        numbers.append((values, line, _element_lines(inner, line) if newlines else [line] * len(values)))
        line += newlines
        done = match.end()
    if not numbers:
        return None
    parts.append(text[done:])
    try:
        composer = _Composer("".join(parts), max_depth)
        root = composer.compose()
    except (yaml.YAMLError, UnicodeEncodeError):
        return None
    if root is None or composer.problems or not _fill_placeholders(numbers, composer):
        return None
    return Document(root, composer.source)


def _numbers(inner: str) -> list[Any] | None:
    """The elements of ``[inner]`` as YAML 1.2 core resolution gives them (all floats or all ints), or None
    when numpy's reading could differ from it."""
    count = inner.count(",") + 1
    bare = inner.strip()
    if bare.startswith(",") or bare.endswith(",") or _EMPTY_ELEMENT.search(inner):
        return None
    if inner.count(".") == count:  # a point in every element (a second one would fail to read): floats
        dtype: type[np.generic] = np.float64
    elif _FRACTIONAL.search(inner) is None:
        if _LONG_DIGITS.search(inner):
            return None  # beyond int64: Python ints
        dtype = np.int64
    elif _INT_TOKEN.search(inner):
        return None  # a mix of ints and floats
    else:
        dtype = np.float64
    try:
        array = np.fromstring(inner, dtype=dtype, sep=",")  # correctly rounded, as float() is
    except ValueError:
        return None
    return array.tolist() if array.size == count else None  # type: ignore[no-any-return]


def _element_lines(inner: str, line: int) -> list[int]:
    """The line of each element of a number sequence that spans several lines (where its text starts)."""
    data = np.frombuffer(inner.encode("ascii"), dtype=np.uint8)
    newlines_before = np.cumsum(data == ord("\n"))
    starts = np.flatnonzero(np.isin(data, np.frombuffer(b" \t\n,", dtype=np.uint8), invert=True))
    separators = np.flatnonzero(data == ord(","))
    first = starts[np.searchsorted(starts, np.concatenate([[0], separators + 1]))]
    return (line + newlines_before[first]).tolist()  # type: ignore[no-any-return]


def _fill_placeholders(numbers: list[tuple[list[Any], int, list[int]]], composer: _Composer) -> bool:
    """Put every number list where its placeholder is; False unless each placeholder came back exactly once,
    as a whole mapping value on its own line (anywhere else it was not a list: a string, a comment…)."""
    if len(composer.placeholders) != len(numbers):
        return False
    seen: set[int] = set()
    for mapping, key in composer.placeholders:
        digits = mapping[key][len(_PLACEHOLDER) :]
        index = int(digits) if digits.isdigit() else -1
        if not 0 <= index < len(numbers) or index in seen:
            return False
        values, line, lines = numbers[index]
        if composer._maps[id(mapping)][1][key][1] != line:
            return False
        seen.add(index)
        mapping[key] = values
        composer.source._seqs[id(values)] = (line, lines)
    return True


class _Frame:
    """A mapping or sequence under construction."""

    __slots__ = ("anchor", "container", "entries", "is_map", "key", "key_line", "line", "lines", "start")

    def __init__(self, is_map: bool, line: int, anchor: str | None, start: int) -> None:
        self.is_map = is_map
        self.line = line
        self.anchor = anchor
        self.start = start  # node counter when the frame opened: gives the subtree size for aliases
        self.container: dict[str, Any] | list[Any] = {} if is_map else []
        self.entries: dict[str, tuple[int, int, str | None]] = {}
        self.lines: list[int] = []
        self.key: str | _Skip | None = None
        self.key_line = 0


class _Skip:
    """Marks a mapping entry whose key was rejected (duplicate, not a scalar): its value is dropped."""


_SKIP = _Skip()


class _Composer:
    """Builds values straight from libyaml events: no intermediate node tree and no recursion, so deeply
    nested or alias-bombed input fails cleanly instead of exhausting the C stack or memory."""

    def __init__(self, text: str, max_depth: int) -> None:
        self._parser = _Parser(text)
        self._max_depth = max_depth
        self.problems: list[Problem] = []
        self._maps: dict[int, tuple[int, dict[str, tuple[int, int, str | None]]]] = {}
        self._seqs: dict[int, tuple[int, list[int]]] = {}
        self._anchors: dict[str, tuple[Any, int, str | None]] = {}  # value, subtree size, scalar text
        self._open: set[str] = set()
        self._nodes = 0  # nodes built, aliases counted with their full size
        self._expanded = 0  # the part of _nodes that aliases contributed
        self.source = SourceMap()
        self.placeholders: list[tuple[dict[str, Any], str]] = []  # mapping values that are number placeholders

    def compose(self) -> Any:
        parser = self._parser
        try:
            parser.get_event()  # StreamStart
            if isinstance(parser.peek_event(), yaml.StreamEndEvent):
                return None
            parser.get_event()  # DocumentStart
            root = self._document()
            parser.get_event()  # DocumentEnd
            extra = parser.get_event()
            if not isinstance(extra, yaml.StreamEndEvent):
                raise yaml.MarkedYAMLError(
                    problem="expected a single document in the stream but found another document",
                    problem_mark=extra.start_mark,
                )
        finally:
            parser.dispose()
        self.source = SourceMap(root, self._maps, self._seqs)
        return root

    def _document(self) -> Any:
        # The hot loop of loading (one pass per YAML event): scalar resolution and the usual new string
        # key are inlined; anything unusual goes through _set_key, _alias and _close.
        get_event = self._parser.get_event
        stack: list[_Frame] = []
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        str_tags, placeholder = _STR_TAGS, _PLACEHOLDER
        while True:
            event = get_event()
            cls = event.__class__
            text: str | None = None
            if cls is scalar_event:
                self._nodes += 1
                value = event.value
                tag = event.tag
                if tag not in str_tags and not (event.style and tag is None):  # else always a string
                    resolved = resolve_plain(value)
                    if resolved.__class__ is not str:
                        text = value
                    value = resolved
                line = event.start_mark.line + 1
                if event.anchor is not None:
                    self._anchors[event.anchor] = (value, 1, text)
            elif cls is mapping_start or cls is sequence_start:
                if len(stack) >= self._max_depth:
                    raise yaml.MarkedYAMLError(
                        problem=f"nesting deeper than {self._max_depth} levels", problem_mark=event.start_mark
                    )
                if event.anchor is not None:
                    self._open.add(event.anchor)
                stack.append(_Frame(cls is mapping_start, event.start_mark.line + 1, event.anchor, self._nodes))
                continue
            elif cls is alias_event:
                value, line, text = self._alias(event)
            else:  # MappingEnd / SequenceEnd
                value, line = self._close(stack.pop())
            if not stack:
                return value
            parent = stack[-1]
            if not parent.is_map:
                parent.container.append(value)  # type: ignore[union-attr]
                parent.lines.append(line)
                continue
            key = parent.key
            if key is None:
                if value.__class__ is str and value not in parent.entries:
                    parent.key = value
                    parent.key_line = line
                else:
                    self._set_key(stack, parent, value, text, line)
                continue
            parent.key = None
            if key.__class__ is str:
                parent.container[key] = value  # type: ignore[call-overload,index]
                if value.__class__ is str and value.startswith(placeholder):
                    self.placeholders.append((parent.container, key))  # type: ignore[arg-type]
                parent.entries[key] = (parent.key_line, line, text)  # type: ignore[index]

    def _close(self, frame: _Frame) -> tuple[Any, int]:
        self._nodes += 1
        value = frame.container
        if frame.is_map:
            self._maps[id(value)] = (frame.line, frame.entries)
        else:
            self._seqs[id(value)] = (frame.line, frame.lines)
        if frame.anchor is not None:
            self._open.discard(frame.anchor)
            self._anchors[frame.anchor] = (value, self._nodes - frame.start, None)
        return value, frame.line

    def _set_key(self, stack: list[_Frame], frame: _Frame, value: Any, text: str | None, line: int) -> None:
        frame.key_line = line
        frame.key = _SKIP
        if isinstance(value, dict | list):
            path = format_path(_stack_loc(stack))
            self.problems.append(
                Problem("invalid_type", f"{path or 'root'} keys must be scalars", path=path or None, line=line)
            )
            return
        key = value if isinstance(value, str) else (text or "")
        if key in frame.entries:
            path = format_path((*_stack_loc(stack), key))
            self.problems.append(Problem("duplicate_key", f"Duplicate key '{key}' at {path}", path=path, line=line))
            return
        frame.key = key

    def _alias(self, event: yaml.AliasEvent) -> tuple[Any, int, str | None]:
        name, mark = event.anchor, event.start_mark
        if name in self._open:
            raise yaml.MarkedYAMLError(problem=f"recursive alias '*{name}'", problem_mark=mark)
        if name not in self._anchors:
            raise yaml.MarkedYAMLError(problem=f"found undefined alias '*{name}'", problem_mark=mark)
        value, size, text = self._anchors[name]
        self._expanded += size
        self._nodes += size
        budget = max(_MAX_ALIAS_EXPANSION, self._nodes - self._expanded)
        if self._expanded > budget:
            raise yaml.MarkedYAMLError(problem=f"aliases expand to more than {budget} nodes", problem_mark=mark)
        return value, mark.line + 1, text


def _stack_loc(stack: list[_Frame]) -> Loc:
    """Location of the innermost open container, from the keys and indexes of its ancestors."""
    loc: list[str | int] = []
    for parent in stack[:-1]:
        if parent.is_map:
            loc.append(parent.key if isinstance(parent.key, str) else "?")
        else:
            loc.append(len(parent.container))
    return tuple(loc)


__all__ = ["Document", "Loc", "SourceMap", "format_path", "parse_document", "resolve_plain"]
