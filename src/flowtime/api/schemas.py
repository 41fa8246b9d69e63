"""The wire contract of ``api.md`` as pydantic models: request bodies in, responses out (OpenAPI source).

Handlers answer with the service's JSON-ready mappings; these classes describe them in the OpenAPI
document, and tests validate real answers against them so the document cannot drift from the code.
Request bodies are checked by ``flowtime.runs`` (exact messages and codes), not by these models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Number = int | float


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="allow")


# ------------------------------------------------------------------------------------------------ errors


class Problem(Wire):
    code: str
    message: str


class ErrorBody(Wire):
    """Every 4xx/5xx body: ``error`` joins the messages of ``errors`` when there are several."""

    error: str
    code: str
    errors: list[Problem] | None = None


# ------------------------------------------------------------------------------------------------ health


class HealthBasic(Wire):
    status: str


class Build(Wire):
    version: str
    commit_hash: str | None
    build_time: str | None
    environment: str


class Limits(Wire):
    max_bins: int
    max_bin_size: int
    state_window_max_bins: int
    runs_page_size_max: int


class Capabilities(Wire):
    supported_formats: list[str]
    features: list[str]
    limits: Limits


class HealthDetails(Wire):
    runs_root_writable: bool
    telemetry_root_writable: bool
    template_count: int


class HealthCheck(Wire):
    status: str
    last_check_time: str
    details: HealthDetails


class Health(Wire):
    service_name: str
    api_version: str
    build: Build
    capabilities: Capabilities
    status: str
    start_time: str
    uptime_seconds: Number
    health: HealthCheck


# --------------------------------------------------------------------------------------------- templates


class TemplateSummary(Wire):
    id: str
    title: str | None
    description: str | None
    category: str
    tags: list[str]
    capture_key: str | None
    version: str | None
    stochastic: bool
    parameter_count: int


class TemplateParameter(Wire):
    name: str
    type: str
    array_of: str | None
    title: str | None
    description: str | None
    default_value: Any = None
    min: Number | None
    max: Number | None


class TemplateDetail(TemplateSummary):
    parameters: list[TemplateParameter]


class TemplateCategories(Wire):
    categories: list[str]


class GenerationResult(Wire):
    model: str
    provenance: dict[str, Any]
    metadata: dict[str, Any]
    warnings: list[dict[str, Any]]


# -------------------------------------------------------------------------------------------------- runs


class RngSpec(Wire):
    kind: str = Field(description="pcg32 (case-insensitive)")
    seed: int


class TelemetrySpec(Wire):
    capture_directory: str | None = Field(None, description="run:<runId>, a capture key, or an allowed absolute path")
    bindings: dict[str, str] | None = None


class RunOptions(Wire):
    deterministic_run_id: bool | None = False
    run_id: str | None = None
    dry_run: bool | None = False
    overwrite_existing: bool | None = False


class RunCreate(Wire):
    """``POST /v1/runs`` body (``api.md`` §4.1)."""

    template_id: str
    mode: str | None = Field(None, description="telemetry (default) or simulation")
    parameters: dict[str, Any] | None = None
    telemetry: TelemetrySpec | None = None
    rng: RngSpec | None = None
    options: RunOptions | None = None


class Warning_(Wire):
    code: str | None
    message: str | None
    severity: str
    node_id: str | None


class BinWarning(Warning_):
    bins: list[int] | None


class TelemetrySummary(Wire):
    available: bool
    generated_at_utc: str | None
    warning_count: int
    source_run_id: str | None


class Schema(Wire):
    id: str
    version: str
    hash: str | None


class Storage(Wire):
    model_path: str
    metadata_path: str
    provenance_path: str | None


class RunMetadata(Wire):
    run_id: str
    template_id: str | None
    template_title: str | None
    template_version: str | None
    mode: str
    provenance_hash: str | None
    telemetry_sources_resolved: bool
    schema_: Schema = Field(alias="schema")
    storage: Storage


class RunMetadataFull(RunMetadata):
    rng: dict[str, Any] | None
    created_utc: str | None


class Grid(Wire):
    bins: int | None
    bin_size: int | None
    bin_unit: str | None


class RunGrid(Grid):
    start_utc: str | None


class RunSection(Wire):
    grid: RunGrid | None
    scenario_hash: str | None
    model_hash: str | None
    parameters: dict[str, Any]
    warnings: list[BinWarning]


class RunCreateResponse(Wire):
    is_dry_run: bool
    metadata: RunMetadataFull | None
    plan: dict[str, Any] | None
    warnings: list[Warning_]
    can_replay: bool
    telemetry: TelemetrySummary | None
    run: RunSection | None


class RunListItem(Wire):
    run_id: str
    template_id: str | None
    template_title: str | None
    template_version: str | None
    mode: str
    created_utc: str | None
    warning_count: int
    telemetry: TelemetrySummary
    grid: Grid | None


class RunList(Wire):
    items: list[RunListItem]
    total_count: int
    page: int
    page_size: int


# ---------------------------------------------------------------------------------------------- captures


class CaptureSource(Wire):
    type: str | None = Field("run", description="run (the only source type)")
    run_id: str


class CaptureOutput(Wire):
    capture_key: str | None = None
    directory: str | None = None
    overwrite: bool | None = False


class CaptureCreate(Wire):
    """``POST /v1/telemetry/captures`` body (``api.md`` §5)."""

    source: CaptureSource
    output: CaptureOutput | None = None


class CaptureResult(Wire):
    generated: bool
    already_exists: bool
    generated_at_utc: str | None
    source_run_id: str | None
    capture_key: str | None
    warnings: list[Warning_]


class CaptureResponse(Wire):
    capture: CaptureResult


class CaptureConflict(ErrorBody):
    capture: CaptureResult | None = None


class CaptureListItem(Wire):
    capture_directory: str
    capture_key: str | None
    source_run_id: str | None
    template_id: str | None
    template_version: str | None
    generated_at_utc: str | None
    file_count: int
    warning_count: int
    grid: Grid | None


class CaptureList(Wire):
    items: list[CaptureListItem]


# ------------------------------------------------------------------------------------------------- state


class StateMetadata(RunMetadata):
    pass


class Bin(Wire):
    index: int
    start_utc: str | None
    end_utc: str | None
    duration_minutes: Number


class NodeMetrics(Wire):
    arrivals: Number | None
    served: Number | None
    errors: Number | None
    queue: Number | None
    capacity: Number | None
    external_demand: Number | None


class NodeDerived(Wire):
    utilization: Number | None
    latency_minutes: Number | None
    throughput_ratio: Number | None
    color: str


class NodeTelemetry(Wire):
    sources: list[str]
    warnings: list[BinWarning]


class SnapshotNode(Wire):
    id: str
    kind: str
    metrics: NodeMetrics
    derived: NodeDerived
    telemetry: NodeTelemetry


class StateSnapshot(Wire):
    metadata: StateMetadata
    bin: Bin
    nodes: list[SnapshotNode]
    warnings: list[BinWarning]


class Window(Wire):
    start_bin: int
    end_bin: int
    bin_count: int


class WindowNode(Wire):
    id: str
    kind: str
    series: dict[str, list[Number | None]]
    colors: list[str]
    telemetry: NodeTelemetry


class StateWindow(Wire):
    metadata: StateMetadata
    window: Window
    timestamps_utc: list[str]
    nodes: list[WindowNode]
    warnings: list[BinWarning]


class SeriesIndex(Wire):
    schema_version: int | None = None
    grid: dict[str, Any] | None = None
    series: list[dict[str, Any]] | None = None


REQUEST_BODIES: tuple[type[BaseModel], ...] = (RunCreate, CaptureCreate)

__all__ = [
    "REQUEST_BODIES",
    "CaptureConflict",
    "CaptureCreate",
    "CaptureList",
    "CaptureResponse",
    "ErrorBody",
    "GenerationResult",
    "Health",
    "HealthBasic",
    "RunCreate",
    "RunCreateResponse",
    "RunList",
    "SeriesIndex",
    "StateSnapshot",
    "StateWindow",
    "TemplateCategories",
    "TemplateDetail",
    "TemplateSummary",
]
