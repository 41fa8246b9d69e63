"""The model layer's front door: model text in, a validated ``Model`` out, or every problem at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

from flowtime.errors import ModelInvalid, Problem
from flowtime.model.columns import resolve_columns
from flowtime.model.graph import plan
from flowtime.model.limits import DEFAULT_LIMITS, Limits
from flowtime.model.memory import gc_paused
from flowtime.model.parse import parse_document
from flowtime.model.report import Reporter
from flowtime.model.spec import Model
from flowtime.model.validate import validate_document


def load_model(
    text: str | bytes,
    *,
    model_dir: Path | None = None,
    allowed_roots: Sequence[Path] = (),
    limits: Limits = DEFAULT_LIMITS,
    read_sources: bool = True,
) -> Model:
    """Parse and validate a model; raise ``ModelInvalid`` carrying every problem if any is an error.

    ``model_dir`` is the directory relative ``file:`` sources resolve against (the model file's directory;
    None for a model posted as text). ``const`` sources are read here, inside the sandbox of ``model_dir``
    and ``allowed_roots``. Warnings of a valid model are in ``Model.warnings``.

    ``read_sources=False`` checks each ``source`` for form only and leaves its values NaN: for callers that
    read a stored model for its structure and never evaluate it (the state service, ``api.md`` §6.1).
    """
    with gc_paused():
        model, problems = _load(text, model_dir, allowed_roots, limits, read_sources)
    if model is None:
        raise ModelInvalid(problems)
    return model


def validate_model(
    text: str | bytes,
    *,
    model_dir: Path | None = None,
    allowed_roots: Sequence[Path] = (),
    limits: Limits = DEFAULT_LIMITS,
    read_sources: bool = True,
) -> list[Problem]:
    """Every problem of a model, warnings included, in report order (``model.md`` §11): document order
    (root, grid, nodes, outputs, topology, rng), then cycle errors. Never raises for any input text."""
    with gc_paused():
        return _load(text, model_dir, allowed_roots, limits, read_sources)[1]


def _load(
    text: str | bytes, model_dir: Path | None, allowed_roots: Sequence[Path], limits: Limits, read_sources: bool
) -> tuple[Model | None, list[Problem]]:
    document = parse_document(text, limits=limits)
    report = Reporter(document.source)
    for problem in document.problems:
        report.add(problem)
    if document.root is None:
        return None, report.problems()
    parts = validate_document(
        document.root,
        report,
        limits=limits,
        model_dir=model_dir,
        allowed_roots=allowed_roots,
        read_sources=read_sources,
    )
    if parts is None:
        return None, report.problems()
    resolved = resolve_columns(parts, report, limits)
    components, cycles = plan(resolved.graph)
    for cycle in cycles:
        report.add(cycle, last=True)
    problems = report.problems()
    if report.error_count or parts.grid is None:
        return None, problems
    model = Model(
        grid=parts.grid,
        columns=resolved.columns(),
        declared_count=resolved.declared_count,
        components=components,
        outputs=tuple(output for _, output in parts.outputs),
        topology=resolved.topology(parts.topology) if parts.topology is not None else None,
        rng=parts.rng,
        mode=parts.mode,
        metadata=parts.metadata,
        provenance=parts.provenance,
        initial_conditions=MappingProxyType(resolved.initial_conditions),
        warnings=tuple(problems),
        model_dir=model_dir,
        raw=document.root,
    )
    return model, problems


__all__ = ["load_model", "validate_model"]
