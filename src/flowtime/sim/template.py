"""One template file read into a Template: text, placeholder-preserving document, typed parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowtime.model import format_path
from flowtime.sim.errors import TemplateProblem
from flowtime.sim.parameters import Parameter, read_declarations
from flowtime.sim.placeholders import Placeholder, Span, Tokenized, names, scan
from flowtime.sim.schema import schema_problems
from flowtime.sim.yamltext import YamlSyntaxError, compose, root_spans, to_typed

_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
_RESERVED_IDS = frozenset({"schema", "categories"})


@dataclass(frozen=True, slots=True)
class Template:
    """A loaded template: everything listing, detail and generation need, computed once at load.

    ``placeholders`` excludes the span of the ``parameters`` section, which is never substituted (§3.1).
    ``schema_problems`` are logged at load and reported by ``flowtime sim validate``; they never stop a
    template from loading.
    """

    id: str
    text: str
    document: Mapping[str, Any]
    parameters: tuple[Parameter, ...]
    placeholders: tuple[Placeholder, ...]
    parameters_span: Span | None = None
    origin: str = "<text>"
    schema_problems: tuple[TemplateProblem, ...] = field(default=())

    @property
    def metadata(self) -> Mapping[str, Any]:
        value = self.document.get("metadata")
        return value if isinstance(value, dict) else {}

    @property
    def title(self) -> str | None:
        return _text(self.metadata.get("title"))

    @property
    def description(self) -> str | None:
        return _text(self.metadata.get("description"))

    @property
    def version(self) -> str | None:
        return _text(self.metadata.get("version"))

    @property
    def tags(self) -> list[str]:
        tags = self.metadata.get("tags")
        return [str(t) for t in tags] if isinstance(tags, list) else []

    @property
    def capture_key(self) -> str | None:
        return _text(self.metadata.get("captureKey"))

    @property
    def mode(self) -> str:
        """The declared mode, lower-cased (``simulation`` when absent)."""
        mode = self.document.get("mode")
        return str(mode).lower() if mode is not None else "simulation"

    @property
    def stochastic(self) -> bool:
        """True when the document has a ``pmf`` node or an ``rng`` block (§8)."""
        nodes = self.document.get("nodes")
        has_pmf = isinstance(nodes, list) and any(
            isinstance(n, dict) and str(n.get("kind", "")).lower() == "pmf" for n in nodes
        )
        return has_pmf or self.document.get("rng") is not None

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def summary(self) -> dict[str, Any]:
        """The catalogue summary of ``api.md`` §3."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "category": "general",
            "tags": self.tags,
            "captureKey": self.capture_key,
            "version": self.version,
            "stochastic": self.stochastic,
            "parameterCount": len(self.parameters),
        }

    def detail(self) -> dict[str, Any]:
        """The summary plus typed parameter declarations, in declaration order."""
        return {**self.summary(), "parameters": [p.to_dict() for p in self.parameters]}


def decode(raw: bytes | str) -> str:
    """Template text per §1: UTF-8, a leading BOM ignored, CRLF and lone CR turned into LF.

    Raises UnicodeDecodeError for bytes that are not UTF-8.
    """
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_template(raw: bytes | str, origin: str = "<text>") -> tuple[Template | None, list[TemplateProblem]]:
    """Load one template file, or report every loading problem that makes the catalogue skip it (§10.1).

    The template document must parse, have a valid ``metadata.id``, valid parameter declarations (defaults
    coerced and within bounds) and no placeholder that names an undeclared parameter.
    """
    try:
        text = decode(raw)
    except UnicodeDecodeError:
        return None, [TemplateProblem("template_yaml_error", "Template file is not valid UTF-8 text.")]
    tokenized = Tokenized(text)
    try:
        node = compose(tokenized.text)
        document = tokenized.restore(to_typed(node)) if node is not None else None
    except YamlSyntaxError as exc:
        return None, [_yaml_problem(exc, text, tokenized)]
    if document is None:
        message = (
            "Template file is empty; a template is a YAML mapping with metadata, window, grid, topology, nodes "
            "and outputs."
        )
        return None, [TemplateProblem("template_yaml_error", message)]
    if not isinstance(document, dict):
        message = (
            f"Template must be a YAML mapping at its root (metadata, window, grid, …), not a {_yaml_kind(document)}."
        )
        return None, [TemplateProblem("template_yaml_error", message)]

    problems = _id_problems(document)
    parameters, declaration_problems = read_declarations(document.get("parameters"))
    problems += declaration_problems
    span = root_spans(node).get("parameters")
    if span is not None:
        span = (tokenized.original_index(span[0]), tokenized.original_index(span[1]))
    placeholders = tuple(scan(text, exclude=span))
    declared = _declared_names(document.get("parameters"))
    for name in names(list(placeholders)):
        if name not in declared:
            problems.append(undeclared(name, document))
    if problems:
        return None, problems
    template = Template(
        id=document["metadata"]["id"],
        text=text,
        document=document,
        parameters=parameters,
        placeholders=placeholders,
        parameters_span=span,
        origin=origin,
        schema_problems=tuple(schema_problems(document)),
    )
    return template, []


def undeclared(name: str, document: Any) -> TemplateProblem:
    """``placeholder_undeclared`` for ``${name}``, at the path of the first value that holds it."""
    placeholder = "${" + name + "}"
    message = f"Placeholder '{placeholder}' does not match any declared parameter."
    return TemplateProblem("placeholder_undeclared", message, path=path_of(document, placeholder), parameter=name)


def path_of(value: Any, text: str, loc: tuple[str | int, ...] = ()) -> str | None:
    """The path of the first string (in document order) that contains ``text``, or None."""
    if isinstance(value, str):
        return format_path(loc) if text in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = path_of(item, text, (*loc, key))
        if found is not None:
            return found
    return None


def template_document(raw: bytes | str) -> Any:
    """The template document (§3.2) of a file, or None when it is not UTF-8 or does not parse."""
    try:
        tokenized = Tokenized(decode(raw))
        node = compose(tokenized.text)
        return tokenized.restore(to_typed(node)) if node is not None else None
    except (UnicodeDecodeError, YamlSyntaxError):
        return None


def yaml_problem(exc: YamlSyntaxError) -> TemplateProblem:
    """``template_yaml_error`` for a parse failure of substituted text (§5 step 7)."""
    return TemplateProblem("template_yaml_error", exc.describe())


def _yaml_problem(exc: YamlSyntaxError, text: str, tokenized: Tokenized) -> TemplateProblem:
    """Report a parse failure of the tokenized text at its line and column in the template text."""
    index = tokenized.original_index(exc.index)
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return yaml_problem(YamlSyntaxError(exc.problem, exc.line, column, index))


def _yaml_kind(value: Any) -> str:
    return "sequence" if isinstance(value, list) else "scalar"


def _id_problems(document: Mapping[str, Any]) -> list[TemplateProblem]:
    metadata = document.get("metadata")
    template_id = metadata.get("id") if isinstance(metadata, dict) else None
    if template_id is None or (isinstance(template_id, str) and not template_id.strip()):
        return [TemplateProblem("metadata_required", "Template metadata.id is required.", path="metadata.id")]
    if not isinstance(template_id, str) or not _ID.match(template_id):
        message = (
            f"Template metadata.id '{template_id}' is invalid: use 1-64 characters a-z, 0-9, '.', '_' "
            "or '-', starting with a letter or digit."
        )
        return [TemplateProblem("metadata_id_invalid", message, path="metadata.id")]
    if template_id in _RESERVED_IDS:
        message = f"Template metadata.id '{template_id}' is reserved; choose another id."
        return [TemplateProblem("metadata_id_invalid", message, path="metadata.id")]
    return []


def _declared_names(raw: Any) -> set[str]:
    if not isinstance(raw, list):
        return set()
    return {str(item["name"]) for item in raw if isinstance(item, dict) and item.get("name") is not None}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
