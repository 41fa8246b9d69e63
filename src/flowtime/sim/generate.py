"""Template + parameter values → engine model text with provenance (the pipeline of ``templates.md`` §5)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowtime import __version__
from flowtime.artifacts import format_utc
from flowtime.errors import InvalidInput
from flowtime.logs import get_logger, log_event
from flowtime.model import validate_model
from flowtime.sim.emitter import dump
from flowtime.sim.errors import (
    InvalidMode,
    ParameterInvalid,
    TemplateGenerationError,
    TemplateInvalid,
    TemplateProblem,
    TemplateYamlError,
)
from flowtime.sim.generated import build_model, telemetry_bound, template_rng
from flowtime.sim.hashing import model_hash, model_id
from flowtime.sim.parameters import check_values
from flowtime.sim.placeholders import render, substitute
from flowtime.sim.rules import MODES, check_rules, unknown_keys
from flowtime.sim.template import Template, path_of, undeclared, yaml_problem
from flowtime.sim.yamltext import YamlSyntaxError, load_typed

DEFAULT_SEED = 123
_SEED_RANGE = (-(2**63), 2**63 - 1)
_LOG = get_logger("sim")


@dataclass(frozen=True, slots=True)
class RngOverride:
    """A request's ``rng`` block: replaces the template's ``rng`` (or adds one) in the generated model."""

    seed: int
    kind: str = "pcg32"


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The generation response of §7.6: model text, provenance, metadata and warnings."""

    model: str
    provenance: Mapping[str, Any]
    metadata: Mapping[str, Any]
    warnings: tuple[TemplateProblem, ...] = ()

    @property
    def model_id(self) -> str:
        return str(self.provenance["modelId"])

    @property
    def mode(self) -> str:
        return str(self.metadata["mode"])

    @property
    def rng_seed(self) -> int | None:
        """The seed of the model's ``rng`` block, or None when the model has none."""
        seed = self.metadata["rngSeed"]
        return None if seed is None else int(seed)

    @property
    def effective_seed(self) -> int:
        """The run seed of §8 for a request without ``rng``: the model's seed, else 123."""
        return DEFAULT_SEED if self.rng_seed is None else self.rng_seed

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provenance": dict(self.provenance),
            "metadata": dict(self.metadata),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def parse_mode(mode: str | None) -> str | None:
    """A requested mode, lower-cased; None when absent or blank; ``invalid_mode`` otherwise."""
    if mode is None or not mode.strip():
        return None
    if mode.strip().lower() not in MODES:
        raise InvalidMode(f"Invalid mode '{mode}'. Expected 'simulation' or 'telemetry'.")
    return mode.strip().lower()


def generate_model(
    template: Template,
    values: Mapping[str, Any],
    *,
    mode: str | None = None,
    rng: RngOverride | None = None,
    now: datetime | None = None,
    log: bool = True,
) -> GenerationResult:
    """Generate the engine model of ``template`` with ``values`` (steps 2–10 of §5); writes nothing.

    Raises ``InvalidMode``, ``ParameterInvalid``, ``TemplateYamlError`` or ``TemplateInvalid``, each with
    every problem of its step. ``now`` is the generation instant recorded as ``generatedAt``. ``log=False``
    skips events 1003/1004, for a check of a user's file that is not a generation (``flowtime sim validate``).
    """
    started = time.perf_counter()
    try:
        result = _generate(template, values, parse_mode(mode), _check_rng(rng), now or datetime.now(UTC))
    except TemplateGenerationError as exc:
        if not log:
            raise
        log_event(
            _LOG,
            "TemplateGenerationFailed",
            1004,
            level=logging.WARNING,
            templateId=template.id,
            code=exc.code,
            errorCount=len(exc.problems),
        )
        raise
    if not log:
        return result
    log_event(
        _LOG,
        "TemplateGenerated",
        1003,
        templateId=template.id,
        templateVersion=template.version,
        mode=result.mode,
        modelId=result.model_id,
        parameterCount=len(result.provenance["parameters"]),
        durationMs=round((time.perf_counter() - started) * 1000, 3),
    )
    return result


def _generate(
    template: Template, values: Mapping[str, Any], mode: str | None, rng: dict[str, Any] | None, now: datetime
) -> GenerationResult:
    merged, problems = check_values(template.parameters, values, template.id)
    problems += _placeholder_problems(template, merged)
    if problems:
        raise ParameterInvalid(problems)

    used = {p.name for p in template.placeholders if p.name is not None}
    substituted = substitute(template.text, {name: render(merged[name]) for name in used}, template.parameters_span)
    identity = model_id(substituted)
    try:
        document = load_typed(substituted)
    except YamlSyntaxError as exc:
        raise TemplateYamlError([yaml_problem(exc)]) from None
    if not isinstance(document, dict):
        raise TemplateYamlError(
            [TemplateProblem("template_yaml_error", "Template must be a YAML mapping at its root.")]
        )

    effective_mode = mode or str(document.get("mode") or "simulation").lower()
    effective_rng = rng if rng is not None else template_rng(document)
    model = build_model(document, mode=effective_mode, rng=effective_rng)
    errors = check_rules(document, template.document, template.parameters, merged)
    model_errors, model_warnings = _model_problems(model)
    blocked = [_scope(e) for e in errors if e.path]
    errors += [p for p in model_errors if not _under(p.path, blocked)]
    warnings = unknown_keys(document) + [p for p in model_warnings if not _under(p.path, blocked)]
    if errors:
        raise TemplateInvalid(errors, warnings=warnings)

    metadata = document["metadata"]
    generator = str(document.get("generator") or "flowtime-sim")
    provenance = _provenance(document, generator, now, effective_mode, identity, merged)
    text = dump({**model, "provenance": provenance})
    nodes = model.get("nodes") or []
    topology = model.get("topology") or {}
    return GenerationResult(
        model=text,
        provenance=provenance,
        metadata={
            "templateId": str(metadata["id"]),
            "templateTitle": str(metadata["title"]),
            "templateVersion": str(metadata["version"]),
            "schemaVersion": 1,
            "generator": generator,
            "mode": effective_mode,
            "hasWindow": "window" in model,
            "hasTopology": bool(topology.get("nodes")),
            "hasTelemetrySources": any(telemetry_bound(n) for n in nodes),
            "stochastic": template.stochastic,
            "rngSeed": None if effective_rng is None else effective_rng["seed"],
            "modelHash": model_hash(text),
        },
        warnings=tuple(warnings),
    )


def _placeholder_problems(template: Template, merged: Mapping[str, Any]) -> list[TemplateProblem]:
    """§5 step 4: malformed placeholders, undeclared names, declared names without a value."""
    declared = {p.name for p in template.parameters}
    problems: list[TemplateProblem] = []
    seen: set[str] = set()
    for placeholder in template.placeholders:
        name = placeholder.name
        if name is None:
            message = f"Invalid placeholder '{placeholder.text}'."
            # inside a quoted scalar the closing quote is not part of the parsed value
            path = path_of(template.document, placeholder.text.split('"')[0].split("'")[0])
            problems.append(TemplateProblem("placeholder_invalid", message, path=path))
        elif name in seen:
            continue
        elif name not in declared:
            problems.append(undeclared(name, template.document))
        elif name not in merged:
            message = f"Parameter '{name}' has no default and was not provided."
            problems.append(TemplateProblem("parameter_missing", message, parameter=name))
        if name is not None:
            seen.add(name)
    return problems


def _model_problems(model: Mapping[str, Any]) -> tuple[list[TemplateProblem], list[TemplateProblem]]:
    """The ``model.md`` problems of the generated model, ``source`` URIs checked for form only (§6.2)."""
    errors: list[TemplateProblem] = []
    warnings: list[TemplateProblem] = []
    for problem in validate_model(dump(model), read_sources=False):
        target = errors if problem.is_error else warnings
        target.append(TemplateProblem(problem.code, problem.message, problem.severity, path=problem.path))
    return errors, warnings


def _provenance(
    document: Mapping[str, Any],
    generator: str,
    now: datetime,
    mode: str,
    identity: str,
    merged: Mapping[str, Any],
) -> dict[str, Any]:
    supplied = document.get("provenance")
    supplied = supplied if isinstance(supplied, dict) else {}
    metadata = document["metadata"]
    return {
        "source": str(supplied.get("source") or "flowtime-sim"),
        "generator": str(supplied.get("generator") or f"{generator}/{__version__}"),
        "generatedAt": format_utc(now),
        "templateId": str(metadata["id"]),
        "templateVersion": str(metadata["version"]),
        "mode": mode,
        "modelId": identity,
        "schemaVersion": 1,
        "parameters": dict(merged),
    }


def _check_rng(rng: RngOverride | None) -> dict[str, Any] | None:
    if rng is None:
        return None
    if not isinstance(rng.kind, str) or rng.kind.strip().lower() != "pcg32":
        raise InvalidInput(f"Unsupported rng.kind '{rng.kind}'. Expected 'pcg32'.", code="rng_invalid")
    if isinstance(rng.seed, bool) or not isinstance(rng.seed, int) or not _SEED_RANGE[0] <= rng.seed <= _SEED_RANGE[1]:
        raise InvalidInput("rng.seed must be an integer.", code="rng_invalid")
    return {"kind": "pcg32", "seed": rng.seed}


def _scope(error: TemplateProblem) -> str:
    """Where a template error makes model problems redundant: the whole node for an unsupported kind."""
    path = error.path or ""
    return path.removesuffix(".kind") if error.code == "node_kind_unsupported" else path


def _under(path: str | None, blocked: list[str]) -> bool:
    """True when ``path`` is one of ``blocked`` or lies inside one (``nodes[1].pmf`` covers ``…pmf.x``)."""
    if path is None:
        return False
    return any(path == b or path.startswith((b + ".", b + "[")) for b in blocked)
