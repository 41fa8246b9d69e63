"""RunService: the one façade over runs, captures, templates and state for the API, the UI and the CLI."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowtime import __version__
from flowtime.artifacts import format_utc, model_start_text, parse_utc
from flowtime.errors import FlowTimeError, InvalidInput, NotFound
from flowtime.logs import get_logger, log_event
from flowtime.model import Topology
from flowtime.runs import orchestrate
from flowtime.runs.details import (
    StoredRun,
    Unreadable,
    can_replay,
    capture_warning,
    display_parameters,
    is_run_directory,
    metadata_block,
    open_stored_run,
    run_grid,
    run_warnings,
    sources_resolved,
    stored_index,
)
from flowtime.runs.requests import parse_capture_request, parse_mode, parse_run_request
from flowtime.runs.sandbox import check_capture_target, contain, run_directory, validate_series_id
from flowtime.runs.settings import Settings
from flowtime.runs.state import RunState, load_run_state
from flowtime.runs.timetravel import snapshot, window
from flowtime.sim import Catalogue, load_catalogue, template_schema
from flowtime.telemetry import generate_capture, list_captures, telemetry_summary

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
_STATE_CACHE_SIZE = 32
_INTEGER = re.compile(r"[+-]?[0-9]+")
_LOG = get_logger("runs")

Clock = Callable[[], datetime]


class RunService:
    """Everything a client can ask of FlowTime, each answer a JSON-ready mapping in ``api.md`` form.

    Built once per process from ``Settings`` (roots already created and canonical); safe to share between
    threads: run writes and captures lock per target below, and the state cache has its own lock.
    """

    def __init__(self, settings: Settings, *, catalogue: Catalogue | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.catalogue = catalogue if catalogue is not None else load_catalogue(settings.templates_dir)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._started = self._clock()
        self._state_cache: OrderedDict[tuple[Any, ...], RunState] = OrderedDict()
        self._state_lock = threading.Lock()

    # ------------------------------------------------------------------------------------------ health

    def health(self) -> dict[str, Any]:
        """``GET /v1/healthz``: build, capabilities and whether both roots are writable (no paths)."""
        now = self._clock()
        runs_ok = _writable(self.settings.runs_root)
        telemetry_ok = _writable(self.settings.telemetry_root)
        status = "healthy" if runs_ok and telemetry_ok else "degraded"
        return {
            "serviceName": "flowtime",
            "apiVersion": "v1",
            "build": {
                "version": __version__,
                "commitHash": None,
                "buildTime": None,
                "environment": "production",
            },
            "capabilities": {
                "supportedFormats": ["json", "yaml", "csv"],
                "features": [
                    "templates",
                    "telemetry-capture",
                    "telemetry-import",
                    "time-travel-state",
                    "deterministic-rng",
                ],
                "limits": {
                    "maxBins": 1_000_000,
                    "maxBinSize": 1000,
                    "stateWindowMaxBins": self.settings.state_window_max,
                    "runsPageSizeMax": PAGE_SIZE_MAX,
                },
            },
            "status": status,
            "startTime": format_utc(self._started),
            "uptimeSeconds": round((now - self._started).total_seconds(), 3),
            "health": {
                "status": status,
                "lastCheckTime": format_utc(now),
                "details": {
                    "runsRootWritable": runs_ok,
                    "telemetryRootWritable": telemetry_ok,
                    "templateCount": len(self.catalogue),
                },
            },
        }

    # --------------------------------------------------------------------------------------- templates

    def list_templates(self, category: str | None = None) -> list[dict[str, Any]]:
        """Summaries sorted by id; every template is in category ``general``."""
        if category is not None and category.strip() and category.strip().lower() != "general":
            return []
        return [t.summary() for t in self.catalogue.templates]

    def template_detail(self, template_id: str) -> dict[str, Any]:
        if template_id not in self.catalogue:
            raise NotFound(f"Template '{template_id}' not found", code="template_not_found", location=template_id)
        return self.catalogue.get(template_id).detail()

    def template_schema(self) -> dict[str, Any]:
        return template_schema()

    def generate_template(self, template_id: str, body: Any, mode: str | None = None) -> dict[str, Any]:
        """``POST /v1/templates/{id}/generate``: a flat parameter object (or nothing) in, model out."""
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise InvalidInput("Request body must be a JSON object of parameter values.", code="invalid_request")
        values = {k: v for k, v in body.items() if v is not None}
        result = self.catalogue.generate(template_id, values, mode=mode or None, now=self._clock())
        return result.to_dict()

    # -------------------------------------------------------------------------------------------- runs

    def create_run(self, body: Any) -> tuple[bool, dict[str, Any]]:
        """``POST /v1/runs``; returns ``(created, response)`` — ``created`` is False for a dry run."""
        request = parse_run_request(body)
        outcome = orchestrate.create_run(request, self.settings, self.catalogue, now=self._clock())
        if outcome.run_id is None:
            return False, outcome.plan_response()
        return True, self.show_run(outcome.run_id)

    def list_runs(
        self,
        *,
        mode: str | None = None,
        template_id: str | None = None,
        has_warnings: str | bool | None = None,
        page: str | int | None = None,
        page_size: str | int | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/runs``: sorted by createdUtc (newest first), then filtered, then paged."""
        wanted_mode = parse_mode(mode, default="") if mode is not None else ""
        warnings_filter = _boolean_query(has_warnings)
        page_number = _positive_query(page, "page", 1)
        size = min(_positive_query(page_size, "pageSize", PAGE_SIZE_DEFAULT), PAGE_SIZE_MAX)
        items = [item for item in self._run_items() if _matches(item, wanted_mode, template_id, warnings_filter)]
        start = (page_number - 1) * size
        return {
            "items": items[start : start + size],
            "totalCount": len(items),
            "page": page_number,
            "pageSize": size,
        }

    def show_run(self, run_id: str) -> dict[str, Any]:
        """``GET /v1/runs/{runId}``: the RunCreateResponse of a stored run."""
        run_dir = self._existing_run(run_id)
        stored = self._cached_stored(run_dir, run_id)
        if stored is None:
            try:
                stored = open_stored_run(run_dir, run_id, with_model=True)
            except Unreadable as exc:  # the cause names the file, for the log of the 500 (event 5002)
                raise FlowTimeError(f"Run '{run_id}' could not be read.", code="run_unreadable") from exc
        return run_response(stored, self.settings)

    # ------------------------------------------------------------------------------------------- state

    def state(self, run_id: str, bin_index: str | int | None) -> dict[str, Any]:
        """``GET /v1/runs/{runId}/state?binIndex=``."""
        run_dir = run_directory(self.settings.runs_root, run_id)
        index = _integer_query(bin_index, "binIndex")
        return snapshot(self._run_state(run_dir, run_id), index)

    def state_window(self, run_id: str, start_bin: str | int | None, end_bin: str | int | None) -> dict[str, Any]:
        """``GET /v1/runs/{runId}/state_window?startBin=&endBin=``."""
        run_dir = run_directory(self.settings.runs_root, run_id)
        start = _integer_query(start_bin, "startBin")
        end = _integer_query(end_bin, "endBin")
        state = self._run_state(run_dir, run_id)
        return window(state, start, end, max_bins=self.settings.state_window_max)

    def topology(self, run_id: str) -> Topology:
        """The run's topology as ``/state`` reads it (same cached load), so a drawing and its data agree.

        Raises the ``/state`` load errors (``run_not_found``, ``topology_missing``, ...) for runs it cannot serve.
        """
        run_dir = run_directory(self.settings.runs_root, run_id)
        return self._run_state(run_dir, run_id).model.topology or Topology()

    def series_index(self, run_id: str) -> dict[str, Any]:
        """``GET /v1/runs/{runId}/index``: the stored series/index.json."""
        index = stored_index(self._existing_run(run_id))
        if index is None:
            raise NotFound(f"Required artifact missing for run '{run_id}': series/index.json.", code="artifact_missing")
        return index

    def series_csv(self, run_id: str, series_id: str) -> bytes:
        """``GET /v1/runs/{runId}/series/{seriesId}``: the stored CSV bytes, found through index.json."""
        validate_series_id(series_id)
        run_dir = self._existing_run(run_id)
        entries = (stored_index(run_dir) or {}).get("series")
        entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
        entry = next((e for e in entries if e.get("id") == series_id), None)
        if entry is None:
            entry = next((e for e in entries if str(e.get("id", "")).startswith(series_id + "@")), None)
        relative = entry.get("path") if entry else None
        if not isinstance(relative, str):
            relative = f"series/{series_id}.csv" if entry is None else f"series/{entry.get('id')}.csv"
        path = run_dir / relative
        not_found = NotFound(
            f"Series '{series_id}' not found in run '{run_id}'.", code="series_not_found", location=series_id
        )
        try:
            path = contain(path, [run_dir], given=series_id)
        except InvalidInput:
            raise not_found from None
        if not path.is_file():
            raise not_found
        return path.read_bytes()

    # ---------------------------------------------------------------------------------------- captures

    def generate_capture(self, body: Any) -> dict[str, Any]:
        """``POST /v1/telemetry/captures``: explicit generation from a simulation run (telemetry.md §3)."""
        request = parse_capture_request(body)
        settings = self.settings
        if request.capture_key is not None or request.directory is not None:
            given = request.capture_key or request.directory or ""
            check_capture_target(
                Path(given) if os.path.isabs(given) else settings.telemetry_root / given,
                runs_root=settings.runs_root,
                telemetry_root=settings.telemetry_root,
                roots=settings.sandbox_roots,
                given=given,
            )
        result = generate_capture(
            request.run_id,
            runs_root=settings.runs_root,
            telemetry_root=settings.telemetry_root,
            allowed_roots=settings.sandbox_roots,
            capture_key=request.capture_key,
            directory=request.directory,
            overwrite=request.overwrite,
            now=self._clock(),
        )
        self._forget_state(request.run_id)
        return {"capture": result.to_json()}

    def list_captures(self, *, template_id: str | None = None, source_run_id: str | None = None) -> dict[str, Any]:
        """``GET /v1/telemetry/captures``: every capture bundle, newest first, named without paths."""
        found = list_captures(
            runs_root=self.settings.runs_root,
            telemetry_root=self.settings.telemetry_root,
            template_id=template_id or None,
            source_run_id=source_run_id or None,
        )
        return {"items": [c.to_json() for c in found]}

    # --------------------------------------------------------------------------------------- internals

    def _existing_run(self, run_id: str) -> Path:
        run_dir = run_directory(self.settings.runs_root, run_id)
        if not run_dir.is_dir() or not is_run_directory(run_dir):
            raise NotFound(f"Run '{run_id}' not found.", code="run_not_found", location=run_id)
        return run_dir

    def _run_items(self) -> list[dict[str, Any]]:
        root = self.settings.runs_root
        try:
            children = sorted(os.scandir(root), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        telemetry_root = self.settings.telemetry_root
        items: list[tuple[datetime | None, str, dict[str, Any]]] = []
        for entry in children:
            path = Path(entry.path)
            if entry.name.startswith(".") or path == telemetry_root or not is_run_directory(path):
                continue
            try:
                stored = open_stored_run(path, entry.name, with_model=False)
            except Unreadable as exc:
                log_event(
                    _LOG,
                    "RunListingSkipped",
                    4501,
                    level=logging.WARNING,
                    message=f"Run {entry.name} left out of the listing: {exc} is unreadable",
                    runId=entry.name,
                    reason=f"{exc} is unreadable",
                )
                continue
            items.append((parse_utc(stored.created), entry.name, list_item(stored)))
        dated = sorted((i for i in items if i[0] is not None), key=lambda i: (-i[0].timestamp(), i[1]))  # type: ignore[union-attr]
        undated = sorted((i for i in items if i[0] is None), key=lambda i: i[1])
        return [i[2] for i in dated + undated]

    def _run_state(self, run_dir: Path, run_id: str) -> RunState:
        """The loaded run, cached while its files are unchanged (replacing a run renames its directory)."""
        key, cached = self._cached_state(run_dir, run_id)
        if cached is not None:
            return cached
        state = load_run_state(run_dir, run_id, allowed_roots=self.settings.sandbox_roots)
        with self._state_lock:
            self._state_cache[key] = state
            while len(self._state_cache) > _STATE_CACHE_SIZE:
                self._state_cache.popitem(last=False)
        return state

    def _cached_stored(self, run_dir: Path, run_id: str) -> StoredRun | None:
        """The run's files as its cached state read them, while unchanged (a large model is not parsed again)."""
        cached = self._cached_state(run_dir, run_id)[1]
        return cached.stored if cached is not None else None

    def _cached_state(self, run_dir: Path, run_id: str) -> tuple[tuple[Any, ...], RunState | None]:
        """The cache key of the run's files as they are now, and its loaded state if cached under it."""
        key = (run_id, *_signature(run_dir))
        with self._state_lock:
            cached = self._state_cache.get(key)
            if cached is not None:
                self._state_cache.move_to_end(key)
        return key, cached

    def _forget_state(self, run_id: str) -> None:
        with self._state_lock:
            for key in [k for k in self._state_cache if k[0] == run_id]:
                del self._state_cache[key]


def run_response(stored: StoredRun, settings: Settings) -> dict[str, Any]:
    """The ``RunCreateResponse`` of a stored run (``api.md`` §4.3, §4.6)."""
    resolved = sources_resolved(stored, settings.sandbox_roots)
    grid = run_grid(stored)
    return {
        "isDryRun": False,
        "metadata": metadata_block(stored, resolved=resolved, full=True),
        "plan": None,
        "warnings": [capture_warning(w, with_bins=False) for w in stored.capture_warnings()],
        "canReplay": can_replay(stored, resolved),
        "telemetry": telemetry_summary(stored.directory).to_json(),
        "run": {
            "grid": {**grid, "startUtc": model_start_text(stored.model_root)} if grid else None,
            "scenarioHash": stored.run.get("scenarioHash"),
            "modelHash": stored.run.get("modelHash"),
            "parameters": display_parameters((stored.metadata or {}).get("parameters")),
            "warnings": run_warnings(stored),
        },
    }


def list_item(stored: StoredRun) -> dict[str, Any]:
    """One ``GET /v1/runs`` item."""
    meta = stored.metadata or {}
    return {
        "runId": stored.run_id,
        "templateId": meta.get("templateId"),
        "templateTitle": meta.get("templateTitle"),
        "templateVersion": meta.get("templateVersion"),
        "mode": stored.mode,
        "createdUtc": stored.created,
        "warningCount": len(stored.capture_warnings()),
        "telemetry": telemetry_summary(stored.directory).to_json(),
        "grid": run_grid(stored),
    }


def _matches(item: Mapping[str, Any], mode: str, template_id: str | None, has_warnings: bool | None) -> bool:
    if mode and item["mode"] != mode:
        return False
    if template_id and str(item["templateId"] or "").lower() != template_id.strip().lower():
        return False
    return has_warnings is None or (item["warningCount"] > 0) == has_warnings


def _boolean_query(value: str | bool | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInput("hasWarnings must be 'true' or 'false'.", code="invalid_query", location="hasWarnings")


def _positive_query(value: str | int | None, name: str, default: int) -> int:
    if value is None:
        return default
    number = _integer(value)
    if number is None or number < 1:
        raise InvalidInput(f"{name} must be an integer greater than 0.", code="invalid_query", location=name)
    return number


def _integer_query(value: str | int | None, name: str) -> int:
    number = None if value is None else _integer(value)
    if number is None:
        raise InvalidInput(
            f"{name} query parameter is required and must be an integer.", code="invalid_query", location=name
        )
    return number


def _integer(value: str | int) -> int | None:
    """An int from an int or from decimal ASCII digits, saturated at ±10¹⁸ (``int()`` alone accepts ``1_0``
    and ``١`` and fails on thousands of digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not _INTEGER.fullmatch(text):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-").lstrip("0") or "0"
    return sign * (int(digits) if len(digits) <= 18 else 10**18)


def _signature(run_dir: Path) -> tuple[int, ...]:
    """Identity of the files a state answer depends on; any rewrite or replacement changes it."""
    out: list[int] = []
    for name in (
        "run.json",
        "model/model.yaml",
        "model/metadata.json",
        "model/telemetry/telemetry-manifest.json",
    ):
        try:
            st = (run_dir / name).stat()
            out += [st.st_ino, st.st_mtime_ns, st.st_size]
        except OSError:
            out += [0, 0, 0]
    return tuple(out)


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


__all__ = ["PAGE_SIZE_DEFAULT", "PAGE_SIZE_MAX", "RunService", "list_item", "run_response"]
