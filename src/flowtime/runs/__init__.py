"""The application service: settings, run orchestration and state queries, shared by API, UI and CLI."""

from flowtime.runs.demo import seed_demo_runs
from flowtime.runs.execute import execute_model
from flowtime.runs.requests import CaptureRequest, RunRequest, parse_capture_request, parse_run_request
from flowtime.runs.sandbox import contain, relative_file, run_directory, validate_series_id
from flowtime.runs.service import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, RunService
from flowtime.runs.settings import Settings
from flowtime.runs.state import RunState, load_run_state
from flowtime.runs.timetravel import snapshot, window
from flowtime.runs.wire import grid_time_text, to_wire, wire_number, wire_series

__all__ = [
    "PAGE_SIZE_DEFAULT",
    "PAGE_SIZE_MAX",
    "CaptureRequest",
    "RunRequest",
    "RunService",
    "RunState",
    "Settings",
    "contain",
    "execute_model",
    "grid_time_text",
    "load_run_state",
    "parse_capture_request",
    "parse_run_request",
    "relative_file",
    "run_directory",
    "seed_demo_runs",
    "snapshot",
    "to_wire",
    "validate_series_id",
    "window",
    "wire_number",
    "wire_series",
]
