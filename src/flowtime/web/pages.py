"""HTML pages and htmx fragments of the FlowTime UI, served beside the API by the same app."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from flowtime import __version__
from flowtime.errors import Conflict, FlowTimeError, InvalidInput, NotFound, Unprocessable
from flowtime.runs import RunService
from flowtime.telemetry import CaptureExists
from flowtime.web.forms import build_fields, errors_by_parameter, format_number, parse_parameters, read_form
from flowtime.web.layout import layout_topology
from flowtime.web.palette import legend, palette_json

_HERE = Path(__file__).parent
_BIN_MINUTES = {"minutes": 1, "hours": 60, "days": 1440, "weeks": 10080}
_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})")
_RUNS_PAGE_SIZE = 25
_SELECTOR_RUNS = 200

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
templates = Jinja2Templates(directory=_HERE / "templates")


def _utc(text: object) -> str:
    """``2026-03-02T08:20:03.771045Z`` → ``2026-03-02 08:20:03 UTC``; other text unchanged, None → ``—``."""
    if not text:
        return "—"
    match = _INSTANT.match(str(text))
    return f"{match.group(1)} {match.group(2)} UTC" if match else str(text)


def _short_hash(value: object) -> str:
    algorithm, _, digest = str(value).rpartition(":")
    return f"{algorithm + ':' if algorithm else ''}{digest[:12]}…" if len(digest) > 12 else str(value)


def _file_name(value: object) -> str:
    """The last segment only: the UI never shows a directory path."""
    return re.split(r"[\\/]", str(value))[-1]


# The directories of an absolute file URI or path (not of ``file://telemetry/x.csv`` or ``a/b``); the
# time-travel script applies the same two patterns to what it shows from /state_window.
_FILE_URI_DIRS = re.compile(r"file:///(?:[^\s'\"/]+/)*")
_ABSOLUTE_DIRS = re.compile(r"(?<![\w/:.])/(?:[^\s'\"/]+/)+")


def _no_paths(text: object) -> str:
    """``text`` with every absolute path cut to its file name: ``file:///srv/t/x.csv`` → ``file: …/x.csv``."""
    return _ABSOLUTE_DIRS.sub("…/", _FILE_URI_DIRS.sub("file: …/", str(text)))


def _param_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_param_value(v) for v in value) + "]"
    if isinstance(value, bool | int | float):
        return format_number(value)
    if value is None:
        return "null"
    return '""' if value == "" else _no_paths(value)


templates.env.filters.update(
    utc=_utc, short_hash=_short_hash, file_name=_file_name, param_value=_param_value, no_paths=_no_paths
)
templates.env.filters["num"] = format_number


def _service(request: Request) -> RunService:
    service: RunService = request.app.state.service
    return service


async def _form_pairs(request: Request) -> list[tuple[str, str]]:
    """The url-encoded body htmx posts, as ordered pairs (repeated names kept: array cells)."""
    body = await request.body()
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


Service = Annotated[RunService, Depends(_service)]
FormPairs = Annotated[list[tuple[str, str]], Depends(_form_pairs)]


def _render(request: Request, name: str, context: Mapping[str, Any], status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {"version": __version__, **context}, status_code=status_code)
    response.headers["Vary"] = "HX-Request"
    return response


def _is_fragment(request: Request) -> bool:
    """An htmx swap wants the partial; a history restore (back button) wants the whole page."""
    return "HX-Request" in request.headers and "HX-History-Restore-Request" not in request.headers


def _status(exc: FlowTimeError) -> int:
    for family, status in ((InvalidInput, 400), (NotFound, 404), (Conflict, 409), (Unprocessable, 422)):
        if isinstance(exc, family):
            return status
    return 500


def _message(exc: FlowTimeError) -> str:
    """What the page may say about ``exc``: a user error's own message; for a server failure only its code,
    because an I/O error's text can carry an absolute path and the UI never shows one."""
    if _status(exc) < 500:
        return _no_paths(exc.message)
    return f"The server could not complete this request ({exc.code}). The server log has the details."


def _error_page(request: Request, exc: FlowTimeError, title: str) -> HTMLResponse:
    return _render(request, "error.html", {"title": title, "message": _message(exc), "nav": ""}, _status(exc))


# ---------------------------------------------------------------------------------------------- runs list


@router.get("/", response_class=HTMLResponse)
@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, service: Service) -> HTMLResponse:
    """Runs table with filters and paging; an htmx request gets the table alone."""
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("mode", "templateId", "hasWarnings")}
    page = q.get("page", "1").strip() or "1"
    context: dict[str, Any] = {"filters": filters, "filtered": any(filters.values()), "nav": "runs"}
    context["query"] = urlencode({**{k: v for k, v in filters.items() if v}, "page": page})
    try:
        listing = service.list_runs(
            mode=filters["mode"] or None,
            template_id=filters["templateId"] or None,
            has_warnings=filters["hasWarnings"] or None,
            page=page,
            page_size=_RUNS_PAGE_SIZE,
        )
    except FlowTimeError as exc:
        context.update(error=_message(exc), listing={"items": []})
    else:
        context.update(_paging(listing, filters))
    if _is_fragment(request):
        return _render(request, "_runs_table.html", context)
    context["templates"] = service.list_templates()
    return _render(request, "runs.html", context)


def _paging(listing: Mapping[str, Any], filters: Mapping[str, str]) -> dict[str, Any]:
    total, page, size = listing["totalCount"], listing["page"], listing["pageSize"]
    pages = max(1, -(-total // size))
    base = {k: v for k, v in filters.items() if v}
    return {
        "listing": listing,
        "pages": pages,
        "first": (page - 1) * size + 1 if listing["items"] else 0,
        "last": (page - 1) * size + len(listing["items"]),
        "prev_query": urlencode({**base, "page": page - 1}) if page > 1 else None,
        "next_query": urlencode({**base, "page": page + 1}) if page < pages else None,
    }


# ------------------------------------------------------------------------------------------------ new run


@router.get("/runs/new", response_class=HTMLResponse)
def new_run_page(request: Request, service: Service) -> HTMLResponse:
    """Template picker, and the parameter form of the template named by ``?templateId=``."""
    template_id = request.query_params.get("templateId", "").strip()
    context: dict[str, Any] = {"templates": service.list_templates(), "selected": None, "nav": "new"}
    if template_id:
        try:
            context.update(_form_context(service, service.template_detail(template_id)))
        except FlowTimeError as exc:
            context["error"] = _message(exc)
    return _render(request, "run_new.html", context)


@router.get("/runs/new/form", response_class=HTMLResponse)
def new_run_form(request: Request, service: Service) -> HTMLResponse:
    """The parameter form fragment for one template (swapped in when a template card is picked)."""
    template_id = request.query_params.get("templateId", "").strip()
    try:
        detail = service.template_detail(template_id)
    except FlowTimeError as exc:
        return _render(request, "_alert.html", {"kind": "error", "message": _message(exc)}, _status(exc))
    return _render(request, "_run_form.html", _form_context(service, detail))


@router.post("/runs/new", response_class=HTMLResponse)
def submit_run(request: Request, service: Service, pairs: FormPairs) -> HTMLResponse:
    """Plan (dry run) or create a run from the form; the form comes back with the result or the errors."""
    form = dict(pairs)
    try:
        detail = service.template_detail(form.get("templateId", ""))
    except FlowTimeError as exc:
        return _render(request, "_alert.html", {"kind": "error", "message": _message(exc)}, _status(exc))
    definitions = detail["parameters"]
    raw = read_form(definitions, pairs)
    mode = "telemetry" if form.get("mode") == "telemetry" else "simulation"
    dry_run = form.get("action") == "plan"
    body: dict[str, Any] = {
        "templateId": detail["id"],
        "mode": mode,
        "parameters": parse_parameters(definitions, raw),
        "options": {"dryRun": dry_run},
    }
    seed = form.get("seed", "").strip() if detail.get("stochastic") else ""
    if seed:
        body["rng"] = {"kind": "pcg32", "seed": int(seed) if re.fullmatch(r"[+-]?\d+", seed) else seed}
    if mode == "telemetry":
        body["telemetry"] = {"captureDirectory": form.get("captureDirectory") or None}
    context = _form_context(service, detail, raw=raw, mode=mode, seed=seed)
    context["capture_selected"] = form.get("captureDirectory")
    status = 200
    try:
        created, response = service.create_run(body)
    except FlowTimeError as exc:
        status = _status(exc)
        context.update(_error_context(exc, definitions, raw))
        context["error_title"] = "The plan failed." if dry_run else "The run could not be created."
    else:
        if created:
            context["created"] = response
            status = 201
        else:
            context["plan"] = response["plan"]
    return _render(request, "_run_form.html", context, status)


def _form_context(
    service: RunService,
    detail: Mapping[str, Any],
    *,
    raw: Mapping[str, Any] | None = None,
    mode: str = "simulation",
    seed: str = "",
) -> dict[str, Any]:
    definitions = detail["parameters"]
    bins = next((d["name"] for d in definitions if d["name"] == "bins" and d["type"] == "integer"), None)
    return {
        "selected": detail,
        "fields": build_fields(definitions, raw),
        "bins_field": f"param.{bins}" if bins else None,
        "mode": mode,
        "seed": seed,
        "captures": service.list_captures(template_id=detail["id"])["items"],
    }


def _error_context(
    exc: FlowTimeError, definitions: Sequence[Mapping[str, Any]], raw: Mapping[str, Any]
) -> dict[str, Any]:
    """Put each server message next to the field it concerns; the rest goes in the form's alert."""
    problems = [{**p, "message": _no_paths(p.get("message", ""))} for p in exc.to_dict().get("errors") or []]
    by_name, cells, general = errors_by_parameter(problems)
    context: dict[str, Any] = {"fields": build_fields(definitions, raw, by_name, cells)}
    if exc.code == "rng_invalid":
        context["seed_error"] = _message(exc)
    elif exc.code.startswith("capture_"):
        context["capture_error"] = _message(exc)
    elif not problems:
        general = [_message(exc)]
    context["general_errors"] = general
    return context


# --------------------------------------------------------------------------------------------- run detail


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, service: Service) -> HTMLResponse:
    """Provenance, parameters, warnings and the telemetry actions of one run."""
    try:
        detail = service.show_run(run_id)
    except FlowTimeError as exc:
        return _error_page(request, exc, "Run not available")
    context = _telemetry_context(service, run_id, detail)
    run = detail["run"] or {}
    context.update(
        run=run,
        all_warnings=_run_warnings(detail),
        nav="runs",
    )
    return _render(request, "run_detail.html", context)


@router.post("/runs/{run_id}/telemetry", response_class=HTMLResponse)
def generate_telemetry(request: Request, run_id: str, service: Service, pairs: FormPairs) -> HTMLResponse:
    """Generate the run's telemetry bundle; the panel comes back with the outcome (409 offers overwrite)."""
    form = dict(pairs)
    capture_key = form.get("captureKey", "").strip()
    overwrite = form.get("overwrite") == "true"
    body = {
        "source": {"type": "run", "runId": run_id},
        "output": {"captureKey": capture_key or None, "directory": None, "overwrite": overwrite},
    }
    status = 200
    generation_warnings: list[Any] = []
    try:
        result = service.generate_capture(body)["capture"]
    except CaptureExists as exc:
        status = 409
        when = _utc(exc.generated_at_utc) if exc.generated_at_utc else "an unknown time"
        message = f"A telemetry bundle already exists (generated at {when}). Turn on Overwrite to regenerate."
        if exc.source_run_id and exc.source_run_id != run_id:
            message += f" It was captured from run {exc.source_run_id}; overwriting replaces it with this run's."
        notice = {"kind": "info", "message": message, "offer_overwrite": True}
    except FlowTimeError as exc:
        status = _status(exc)
        notice = {"kind": "error", "message": f"Error: {_message(exc)}"}
    else:
        generation_warnings = result["warnings"]
        verb = "regenerated" if overwrite else "generated"
        notice = {"kind": "success", "message": f"Telemetry bundle {verb} at {_utc(result['generatedAtUtc'])}."}
    try:
        detail = service.show_run(run_id)
    except FlowTimeError as exc:
        return _render(request, "_alert.html", {"kind": "error", "message": _message(exc)}, _status(exc))
    context = _telemetry_context(service, run_id, detail, capture_key=capture_key)
    context.update(notice=notice, generation_warnings=generation_warnings, overwrite=False)
    return _render(request, "_telemetry_panel.html", context, status)


@router.post("/runs/{run_id}/replay", response_class=HTMLResponse)
def replay_run(request: Request, run_id: str, service: Service, pairs: FormPairs) -> HTMLResponse:
    """Create a new run from this one: simulation from the model, or telemetry mode from a bundle."""
    form = dict(pairs)
    source = form.get("source", "model")
    try:
        detail = service.show_run(run_id)
        body = _replay_body(detail, source, form.get("captureDirectory", ""))
        _, response = service.create_run(body)
    except FlowTimeError as exc:
        problems = [_no_paths(p.get("message")) for p in exc.to_dict().get("errors") or []]
        several = len(problems) > 1  # then the message is only these joined by "; ": list them instead
        message = "Replay failed:" if several else f"Replay failed: {_message(exc)}"
        context = {"kind": "error", "message": message, "items": problems if several else []}
        return _render(request, "_alert.html", context, _status(exc))
    new_id = response["metadata"]["runId"]
    reply = _render(
        request, "_alert.html", {"kind": "success", "message": f"Run {new_id} created ({body['mode']})."}, 201
    )
    reply.headers["HX-Redirect"] = f"/runs/{new_id}"
    return reply


def _replay_body(detail: Mapping[str, Any], source: str, capture_directory: str) -> dict[str, Any]:
    """Same template, parameters and seed; ``file:`` parameters are left out so their defaults apply."""
    metadata = detail["metadata"]
    run = detail["run"] or {}
    parameters = {
        k: v for k, v in (run.get("parameters") or {}).items() if not (isinstance(v, str) and v.startswith("file:"))
    }
    body: dict[str, Any] = {"templateId": metadata["templateId"], "parameters": parameters}
    rng = metadata.get("rng") or {}
    if rng.get("seed") is not None:
        body["rng"] = {"kind": rng.get("kind") or "pcg32", "seed": rng["seed"]}
    if source == "telemetry":
        if not capture_directory:
            raise InvalidInput(
                "No telemetry bundle was chosen. Generate telemetry first, then replay.",
                code="capture_directory_required",
            )
        body["mode"] = "telemetry"
        body["telemetry"] = {"captureDirectory": capture_directory}
    else:
        body["mode"] = "simulation"
    return body


def _run_warnings(detail: Mapping[str, Any]) -> list[Any]:
    """run.json warnings, then the telemetry (capture) warnings: everything the run itself reports."""
    return [*((detail["run"] or {}).get("warnings") or []), *detail["warnings"]]


def _telemetry_context(
    service: RunService, run_id: str, detail: Mapping[str, Any], *, capture_key: str | None = None
) -> dict[str, Any]:
    md = detail["metadata"]
    telemetry = detail["telemetry"] or {}
    source_run = telemetry.get("sourceRunId") if md["mode"] == "telemetry" else run_id
    captures = service.list_captures(source_run_id=source_run)["items"] if source_run else []
    try:
        hint = service.template_detail(md["templateId"]).get("captureKey")
    except FlowTimeError:
        hint = None
    return {
        "run_id": run_id,
        "md": md,
        "telemetry": telemetry,
        "captures": captures,
        "capture_key_hint": hint,
        "capture_key": (hint or "") if capture_key is None else capture_key,
        "overwrite": False,
    }


# -------------------------------------------------------------------------------------------- time travel


@router.get("/runs/{run_id}/time-travel", response_class=HTMLResponse)
def time_travel_page(request: Request, run_id: str, service: Service) -> HTMLResponse:
    """Topology laid out on the server; colours, labels and the inspector are painted per bin by script."""
    try:
        graph = layout_topology(service.topology(run_id))  # loads the run state, which show_run then reuses
        detail = service.show_run(run_id)
    except FlowTimeError as exc:
        return _error_page(request, exc, "Time travel not available")
    grid = (detail["run"] or {}).get("grid") or {}
    bins = int(grid.get("bins") or 1)
    bin_minutes = int(grid.get("binSize") or 1) * _BIN_MINUTES.get(str(grid.get("binUnit")), 1)
    runs = service.list_runs(page_size=_SELECTOR_RUNS)["items"]
    if not any(r["runId"] == run_id for r in runs):
        runs.insert(
            0,
            {
                "runId": run_id,
                **{k: detail["metadata"].get(k) for k in ("templateId", "templateTitle", "mode")},
            },
        )
    config = {
        "runId": run_id,
        "bins": bins,
        "binMinutes": bin_minutes,
        "windowMax": service.settings.state_window_max,
        "stateWindowUrl": f"/v1/runs/{run_id}/state_window",
        "palette": palette_json(),
    }
    context = {
        "run_id": run_id,
        "bins": bins,
        "graph": graph,
        "legend": legend(),
        "runs": runs,
        "run_warnings": _run_warnings(detail),
        "config": config,
        "nav": "runs",
    }
    return _render(request, "time_travel.html", context)


# ------------------------------------------------------------------------------------------------- health


@router.get("/health", response_class=HTMLResponse)
def health_page(request: Request, service: Service) -> HTMLResponse:
    """Service status, version, root writability by name, run and template counts."""
    health = service.health()
    details = health["health"]["details"]
    summary = {
        "status": health["status"],
        "version": health["build"]["version"],
        "startTime": health["startTime"],
        "runCount": service.list_runs(page_size=1)["totalCount"],
        "templateCount": details["templateCount"],
        "roots": [
            ("Runs root", details["runsRootWritable"]),
            ("Telemetry root", details["telemetryRootWritable"]),
        ],
    }
    return _render(request, "health.html", {"health": summary, "nav": "health"})
