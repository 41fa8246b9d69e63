"""The template catalogue: shipped templates plus an optional extra directory (``templates.md`` §10.1)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from flowtime.errors import InvalidInput
from flowtime.logs import get_logger, log_event
from flowtime.sim.errors import TemplateNotFound
from flowtime.sim.generate import GenerationResult, RngOverride, generate_model
from flowtime.sim.template import Template, read_template

_SUFFIXES = (".yaml", ".yml")
_LOG = get_logger("sim")


class Catalogue:
    """Loaded templates by id; listings are sorted by id."""

    def __init__(self, templates: Iterable[Template], *, skipped: int = 0) -> None:
        self._templates = {t.id: t for t in sorted(templates, key=lambda t: t.id)}
        self.skipped = skipped

    def __len__(self) -> int:
        return len(self._templates)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates

    @property
    def templates(self) -> list[Template]:
        return list(self._templates.values())

    def get(self, template_id: str) -> Template:
        """The template with this id, or ``template_not_found`` (HTTP 404, CLI exit 1)."""
        template = self._templates.get(template_id)
        if template is None:
            raise TemplateNotFound(f"Template not found: {template_id}", location=template_id)
        return template

    def generate(
        self,
        template_id: str,
        values: Mapping[str, Any] | None = None,
        *,
        mode: str | None = None,
        rng: RngOverride | None = None,
        now: datetime | None = None,
    ) -> GenerationResult:
        """Run the generation pipeline of ``templates.md`` §5 for a catalogue template."""
        return generate_model(self.get(template_id), values or {}, mode=mode, rng=rng, now=now)


def load_catalogue(extra_dir: Path | None = None) -> Catalogue:
    """Shipped templates, then the ``*.yaml``/``*.yml`` files of ``extra_dir`` (top level, by file name).

    A file that cannot be loaded, or whose id was loaded before, is skipped with event 1002; schema
    violations are logged (event 1002, ``template_schema_violation``) but do not skip the file.
    """
    sources: list[tuple[str, Traversable | Path]] = [(f.name, f) for f in _files(_shipped_dir())]
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise InvalidInput(
                f"Templates directory '{extra_dir}' does not exist or is not a directory.",
                code="templates_dir_not_found",
            )
        sources += [(str(f), f) for f in _files(extra_dir)]
    loaded: list[Template] = []
    skipped = 0
    for label, file in sources:
        template, problems = read_template(file.read_bytes(), origin=label)
        if template is not None and any(t.id == template.id for t in loaded):
            message = f"Template id '{template.id}' is already defined by an earlier file; this file is skipped."
            _log_failure(label, "template_duplicate_id", message)
            template = None
        elif template is None:
            _log_failure(label, problems[0].code, "; ".join(p.message for p in problems))
        if template is None:
            skipped += 1
            continue
        for problem in template.schema_problems:
            _log_failure(
                label,
                problem.code,
                f"{problem.message} ({problem.path})" if problem.path else problem.message,
            )
        loaded.append(template)
    log_event(
        _LOG,
        "TemplateCatalogLoaded",
        1001,
        templateCount=len(loaded),
        skippedCount=skipped,
        source="package+directory" if extra_dir is not None else "package",
    )
    return Catalogue(loaded, skipped=skipped)


def _shipped_dir() -> Traversable:
    return resources.files("flowtime.sim").joinpath("templates")


def _files(directory: Traversable | Path) -> list[Traversable | Path]:
    files = [f for f in directory.iterdir() if f.is_file() and f.name.lower().endswith(_SUFFIXES)]
    return sorted(files, key=lambda f: f.name)


def _log_failure(file: str, code: str, error: str) -> None:
    log_event(_LOG, "TemplateLoadFailed", 1002, level=logging.WARNING, file=file, code=code, error=error)
