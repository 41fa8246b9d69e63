"""The spec text a run stores and hashes: BOM, line endings and the embedded provenance block removed (§6)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from flowtime.errors import Problem

PROVENANCE_NOT_STRIPPED = Problem(
    code="provenance_not_stripped",
    message="Provenance block could not be removed from the model text; it was kept.",
    severity="warning",
    path="provenance",
)

_PROVENANCE_LINE = re.compile(r"provenance[ \t]*:")
_CONTINUATION = (" ", "\t", "#")
_YAML_ERRORS = (yaml.YAMLError, RecursionError)

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it


@dataclass(frozen=True, slots=True)
class SpecText:
    """Normalised model text plus the warnings normalisation produced (``provenance_not_stripped``)."""

    text: str
    warnings: tuple[Problem, ...] = ()


def normalise_spec_text(text: str) -> SpecText:
    """The received model text as ``spec.yaml`` holds it (§6): no BOM, LF only, no root ``provenance``,
    exactly one trailing LF.

    Provenance is removed textually so every other byte keeps its formatting; the result is re-parsed and
    must equal the original root mapping minus ``provenance``, else the text is kept whole with a
    ``provenance_not_stripped`` warning. Text that does not parse is only BOM/newline-normalised (the
    loader reports its errors).

    >>> normalise_spec_text("\\ufeffschemaVersion: 1\\r\\nprovenance:\\r\\n  modelId: m\\r\\n").text
    'schemaVersion: 1\\n'
    """
    body = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    warnings: tuple[Problem, ...] = ()
    original = _compose(body) if "provenance" in body else None  # no parse for the common case
    if isinstance(original, yaml.MappingNode) and _has_provenance(original):
        stripped = _strip_provenance_lines(body)
        if _equal(_compose(stripped), _without_provenance(original)):
            body = stripped
        else:
            warnings = (PROVENANCE_NOT_STRIPPED,)
    return SpecText(body.rstrip("\n") + "\n", warnings)


def _strip_provenance_lines(text: str) -> str:
    lines = text.split("\n")
    for start, line in enumerate(lines):
        if _PROVENANCE_LINE.match(line):
            end = start + 1
            while end < len(lines) and (not lines[end] or lines[end].startswith(_CONTINUATION)):
                end += 1
            return "\n".join(lines[:start] + lines[end:])
    return text


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)  # type: ignore[no-any-return]
    except _YAML_ERRORS:
        return None


def _is_provenance_key(key: yaml.Node) -> bool:
    return isinstance(key, yaml.ScalarNode) and key.value == "provenance"


def _has_provenance(root: yaml.MappingNode) -> bool:
    return any(_is_provenance_key(key) for key, _ in root.value)


def _without_provenance(root: yaml.MappingNode) -> yaml.MappingNode:
    pairs = [(key, value) for key, value in root.value if not _is_provenance_key(key)]
    return yaml.MappingNode(root.tag, pairs)


def _equal(left: yaml.Node | None, right: yaml.Node | None) -> bool:
    """Structural equality of two YAML node trees: tags and scalar texts, ignoring marks and styles.

    An empty document (``None``) equals an empty root mapping, so stripping the only key still counts.
    """
    if left is None or right is None:
        return _as_empty(left) is None and _as_empty(right) is None
    if type(left) is not type(right) or left.tag != right.tag:
        return False
    if isinstance(left, yaml.ScalarNode):
        return bool(left.value == right.value)
    if len(left.value) != len(right.value):
        return False
    if isinstance(left, yaml.MappingNode):
        return all(
            _equal(lk, rk) and _equal(lv, rv) for (lk, lv), (rk, rv) in zip(left.value, right.value, strict=True)
        )
    return all(_equal(li, ri) for li, ri in zip(left.value, right.value, strict=True))


def _as_empty(node: yaml.Node | None) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and not node.value:
        return None
    return node
