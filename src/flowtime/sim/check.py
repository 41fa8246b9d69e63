"""Checking a user's template file without adding it to a catalogue (``flowtime sim validate``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flowtime.sim.errors import TemplateGenerationError, TemplateProblem
from flowtime.sim.generate import generate_model
from flowtime.sim.schema import schema_problems
from flowtime.sim.template import Template, read_template, template_document


@dataclass(frozen=True, slots=True)
class TemplateReport:
    """Every problem of one template file: loading checks, JSON Schema, then generation with its defaults."""

    template_id: str | None
    errors: tuple[TemplateProblem, ...]
    warnings: tuple[TemplateProblem, ...]

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` body of ``api.md`` §11."""
        return {
            "valid": self.valid,
            "templateId": self.template_id,
            "errors": [_wire(p) for p in self.errors],
            "warnings": [_wire(p) for p in self.warnings],
        }


def check_template(raw: bytes | str, origin: str = "<text>") -> TemplateReport:
    """Run the §10.1 loading checks, the §9 schema and §5 steps 3–8 with the template's defaults in its
    own mode. Schema violations count as errors here: the file is meant to join a catalogue. A schema
    violation at a path where a loading or generation rule already reports an error is left out: the rule's
    message says more (``window_required`` rather than "'window' is a required property"), and so is one
    that encloses such a path."""
    template, loading = read_template(raw, origin)
    document = template.document if template is not None else template_document(raw)
    generation: list[TemplateProblem] = []
    warnings: list[TemplateProblem] = []
    if template is not None:
        try:
            warnings += generate_model(template, {}, log=False).warnings
        except TemplateGenerationError as exc:
            generation = [_locate(p, template) for p in exc.problems]
            warnings += exc.warnings
    covered = [p.path for p in (*loading, *generation) if p.path]
    schema = schema_problems(document) if isinstance(document, dict) else []
    schema = [p for p in schema if not any(_within(path, p.path) for path in covered)]
    reported = {p.path for p in schema}
    warnings = [w for w in warnings if not (w.code == "unknown_key" and w.path in reported)]
    template_id = template.id if template is not None else _id_of(document)
    return TemplateReport(template_id, (*loading, *schema, *generation), tuple(warnings))


def _locate(problem: TemplateProblem, template: Template) -> TemplateProblem:
    """Give a parameter problem the path of its declaration, so every reported problem has a place."""
    if problem.path is not None or problem.parameter is None:
        return problem
    names = [p.name for p in template.parameters]
    if problem.parameter not in names:
        return problem
    return replace(problem, path=f"parameters[{names.index(problem.parameter)}]")


def _within(path: str, scope: str | None) -> bool:
    """True when ``path`` is ``scope`` or lies inside it (``topology.nodes`` lies inside ``topology``)."""
    return scope is not None and (path == scope or path.startswith((scope + ".", scope + "[")))


def _id_of(document: Any) -> str | None:
    metadata = document.get("metadata") if isinstance(document, dict) else None
    template_id = metadata.get("id") if isinstance(metadata, dict) else None
    return template_id if isinstance(template_id, str) else None


def _wire(problem: TemplateProblem) -> dict[str, Any]:
    return {"code": problem.code, "message": problem.message, "path": problem.path}
