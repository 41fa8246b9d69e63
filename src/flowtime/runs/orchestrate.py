"""``POST /v1/runs`` orchestration: template → model → simulation run or telemetry replay (api.md §4.2)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flowtime.artifacts import format_utc, json_bytes, model_start_text, stage_run
from flowtime.engine import evaluate
from flowtime.errors import Conflict, FlowTimeError, InvalidInput, NotFound, Unprocessable
from flowtime.logs import get_logger, log_event
from flowtime.model import load_model
from flowtime.runs.details import display_value, is_run_directory
from flowtime.runs.requests import RunRequest
from flowtime.runs.sandbox import relative_file
from flowtime.runs.settings import Settings
from flowtime.sim import Catalogue, RngOverride
from flowtime.telemetry import Manifest, build_bundle, read_manifest, resolve_capture_directory

_LOG = get_logger("runs")
_TELEMETRY_MANIFEST = "telemetry/telemetry-manifest.json"
_UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440, "weeks": 10080}


@dataclass(frozen=True, slots=True)
class Outcome:
    """A created run (``run_id``) or, for a dry run, its plan."""

    run_id: str | None
    plan: Mapping[str, Any] | None = None

    def plan_response(self) -> dict[str, Any]:
        return {
            "isDryRun": True,
            "metadata": None,
            "plan": dict(self.plan or {}),
            "warnings": [],
            "canReplay": False,
            "telemetry": None,
            "run": None,
        }


@dataclass(frozen=True, slots=True)
class _Capture:
    directory: Path
    manifest: Manifest


def create_run(request: RunRequest, settings: Settings, catalogue: Catalogue, *, now: datetime) -> Outcome:
    """Generate the template's model and write it as a run (or plan it); events 4001–4005, 4500 on failure."""
    log_event(
        _LOG,
        "RunOrchestrationStart",
        4001,
        message=f"Run orchestration started for template {request.template_id} ({request.mode}"
        + (", dry run)" if request.dry_run else ")"),
        templateId=request.template_id,
        mode=request.mode,
        dryRun=request.dry_run,
    )
    try:
        return _create(request, settings, catalogue, now)
    except FlowTimeError as exc:
        client = isinstance(exc, InvalidInput | NotFound | Conflict | Unprocessable)
        log_event(
            _LOG,
            "RunOrchestrationFailed",
            4500,
            level=logging.WARNING if client else logging.ERROR,
            message=f"Run orchestration failed for template {request.template_id}: {exc.message}",
            templateId=request.template_id,
            mode=request.mode,
            code=exc.code,
            error=exc.message,
        )
        raise


def _create(request: RunRequest, settings: Settings, catalogue: Catalogue, now: datetime) -> Outcome:
    if request.run_id is not None:
        _check_run_slot(settings, request.run_id)
    template = catalogue.get(request.template_id)
    parameters = dict(request.parameters)
    capture: _Capture | None = None
    if request.mode == "telemetry":
        capture = _resolve_capture(request, settings)
        parameters.update(_bound_parameters(request, template, capture))
    rng = RngOverride(request.seed) if request.seed is not None else None
    result = catalogue.generate(template.id, parameters, mode=request.mode, rng=rng, now=now)
    seed = request.seed if request.seed is not None else result.effective_seed
    log_event(
        _LOG,
        "RunOrchestrationValidation",
        4002,
        message=f"Template {template.id} generated a valid {request.mode} model (seed {seed})",
        templateId=template.id,
        mode=request.mode,
        parameterCount=len(result.provenance.get("parameters") or {}),
        rngSeed=seed,
    )
    if request.dry_run:
        plan = _plan(request, result, capture, seed)
        files, warnings = len(plan["files"]), len(plan["warnings"])
        log_event(
            _LOG,
            "RunOrchestrationCompleted",
            4005,
            runId=None,
            templateId=template.id,
            mode=request.mode,
            message=(
                f"Telemetry dry-run planned for template {template.id}; files={files}, warnings={warnings}"
                if request.mode == "telemetry"
                else f"Simulation dry-run planned for template {template.id}"
            ),
        )
        return Outcome(None, plan)
    if capture is None:
        run_id, series_count, telemetry_files = _simulate(request, result.model, seed, settings, now)
    else:
        started = time.perf_counter()
        bundle = build_bundle(
            capture.directory,
            result.model,
            runs_root=settings.runs_root,
            capture_label=request.capture_directory,
            run_id=request.run_id,
            overwrite=request.overwrite,
            deterministic_run_id=request.deterministic_run_id,
            rng_seed=seed,
            allowed_roots=settings.sandbox_roots,
            now=now,
        )
        run_id, series_count = bundle.run.run_id, len(bundle.run.series_ids)
        telemetry_files = len(capture.manifest.files)
        _log_evaluation(template.id, capture.manifest.grid.bins, series_count, started, "Evaluated and wrote")
    log_event(
        _LOG,
        "RunOrchestrationArtifacts",
        4004,
        message=f"Run {run_id} written: {series_count} series, {telemetry_files} telemetry files",
        runId=run_id,
        seriesCount=series_count,
        telemetryFileCount=telemetry_files,
    )
    log_event(
        _LOG,
        "RunOrchestrationCompleted",
        4005,
        runId=run_id,
        templateId=template.id,
        mode=request.mode,
        message=f"Completed {request.mode} run {run_id} for template {template.id}",
    )
    return Outcome(run_id)


def _check_run_slot(settings: Settings, run_id: str) -> None:
    """An explicit run id may replace a run (with overwrite), never another directory of RunsRoot.

    The TelemetryRoot is ``<RunsRoot>/telemetry`` by default: ``runId: telemetry`` with overwrite would
    otherwise swap every capture for a run.
    """
    target = settings.runs_root / run_id
    if target.exists() and (
        not is_run_directory(target) or any(root.is_relative_to(target.resolve()) for root in settings.sandbox_roots)
    ):
        raise Conflict(
            f"'{run_id}' names a directory of the RunsRoot that is not a run; choose another run id.",
            code="run_exists",
            location="options.runId",
        )


def _simulate(request: RunRequest, text: str, seed: int, settings: Settings, now: datetime) -> tuple[str, int, int]:
    """Evaluate and write a simulation run with its empty telemetry manifest, in one atomic write."""
    with stage_run(
        settings.runs_root,
        spec_text=text,
        caller_seed=seed,
        deterministic=request.deterministic_run_id,
        run_id=request.run_id,
        overwrite=request.overwrite,
        now=now,
    ) as staging:
        model = load_model(text, model_dir=staging.model_dir, allowed_roots=settings.sandbox_roots)
        started = time.perf_counter()
        evaluation = evaluate(model, seed=seed)
        _log_evaluation(request.template_id, model.grid.bins, len(model.columns), started, "Evaluated")
        manifest = _empty_telemetry_manifest(
            model.raw, model.grid, staging.run_id, staging.scenario_hash, staging.model_hash, format_utc(now)
        )
        written = staging.commit(
            model=model,
            evaluation=evaluation,
            received_at=now,
            default_model_files={_TELEMETRY_MANIFEST: json_bytes(manifest)},
        )
    return written.run_id, len(written.series_ids), 0


def _log_evaluation(template_id: str, bins: int, columns: int, started: float, done: str) -> None:
    """Event 4003; a replay's evaluation happens inside the bundle builder, so its time includes the write."""
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    log_event(
        _LOG,
        "RunOrchestrationEvaluation",
        4003,
        message=f"{done} {columns} columns over {bins} bins in {elapsed} ms",
        templateId=template_id,
        bins=bins,
        columnCount=columns,
        durationMs=elapsed,
    )


def _empty_telemetry_manifest(
    raw: Mapping[str, Any], grid: Any, run_id: str, scenario_hash: str, model_hash: str, captured_at: str
) -> dict[str, Any]:
    """``model/telemetry/telemetry-manifest.json`` of a fresh simulation run: no files, no warnings."""
    window: dict[str, Any] = {}
    start = model_start_text(raw)
    if start is not None:
        window["startTimeUtc"] = start
    window["durationMinutes"] = grid.bins * grid.bin_size * _UNIT_MINUTES[grid.bin_unit]
    return {
        "schemaVersion": 1,
        "window": window,
        "grid": {"bins": grid.bins, "binSize": grid.bin_size, "binUnit": grid.bin_unit},
        "files": [],
        "warnings": [],
        "provenance": {
            "runId": run_id,
            "scenarioHash": scenario_hash,
            "modelHash": model_hash,
            "capturedAtUtc": captured_at,
        },
    }


def _resolve_capture(request: RunRequest, settings: Settings) -> _Capture:
    """The capture named by ``telemetry.captureDirectory``; messages repeat the caller's value only."""
    given = request.capture_directory or ""
    directory = resolve_capture_directory(
        given,
        runs_root=settings.runs_root,
        telemetry_root=settings.telemetry_root,
        allowed_roots=settings.allowed_roots,
    )
    return _Capture(directory, read_manifest(directory, label=given))


def _bound_parameters(request: RunRequest, template: Any, capture: _Capture) -> dict[str, str]:
    """``telemetry.bindings`` as parameter values: each file's ``file:///`` URI."""
    given = request.capture_directory or ""
    out: dict[str, str] = {}
    for name, file_name in request.bindings.items():
        parameter = template.parameter(name)
        if parameter is None or parameter.type != "string":
            raise InvalidInput(
                f"Binding '{name}' is not a string parameter of template '{template.id}'.",
                code="invalid_binding",
                location=f"telemetry.bindings.{name}",
            )
        path = relative_file(capture.directory, file_name, given=file_name)
        if not path.is_file():
            raise Unprocessable(
                f"Telemetry file for parameter '{name}' not found in capture '{given}'.",
                code="capture_file_missing",
            )
        out[name] = path.as_uri()
    return out


def _plan(request: RunRequest, result: Any, capture: _Capture | None, seed: int) -> dict[str, Any]:
    """The dry-run plan of ``api.md`` §4.3; bound values shown as they will appear in the run."""
    parameters = result.provenance.get("parameters") or {}
    files: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    if capture is not None:
        files = [{"nodeId": f.node_id, "metric": f.metric, "path": f.path} for f in capture.manifest.files]
        warnings = [
            {
                "code": w.code,
                "message": w.message,
                "nodeId": w.node_id,
                "bins": list(w.bins) if w.bins else None,
            }
            for w in capture.manifest.warnings
        ]
    return {
        "templateId": request.template_id,
        "templateVersion": result.metadata.get("templateVersion"),
        "mode": request.mode,
        "modelId": result.model_id,
        "captureDirectory": request.capture_directory,
        "deterministicRunId": request.deterministic_run_id,
        "requestedRunId": request.run_id,
        "rng": {"kind": "pcg32", "seed": seed},
        "parameters": {k: display_value(v) for k, v in parameters.items()},
        "telemetryBindings": dict(request.bindings),
        "files": files,
        "warnings": warnings,
    }


__all__ = ["Outcome", "create_run"]
