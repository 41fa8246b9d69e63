"""The application service: settings, run orchestration and state queries, shared by API, UI and CLI.

Names are resolved on first use, so a command that needs only ``Settings`` does not load the template,
telemetry and state stacks.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "seed_demo_runs": "flowtime.runs.demo",
    "execute_model": "flowtime.runs.execute",
    "CaptureRequest": "flowtime.runs.requests",
    "RunRequest": "flowtime.runs.requests",
    "parse_capture_request": "flowtime.runs.requests",
    "parse_run_request": "flowtime.runs.requests",
    "contain": "flowtime.runs.sandbox",
    "relative_file": "flowtime.runs.sandbox",
    "run_directory": "flowtime.runs.sandbox",
    "validate_series_id": "flowtime.runs.sandbox",
    "PAGE_SIZE_DEFAULT": "flowtime.runs.service",
    "PAGE_SIZE_MAX": "flowtime.runs.service",
    "RunService": "flowtime.runs.service",
    "Settings": "flowtime.runs.settings",
    "RunState": "flowtime.runs.state",
    "load_run_state": "flowtime.runs.state",
    "snapshot": "flowtime.runs.timetravel",
    "window": "flowtime.runs.timetravel",
    "to_wire": "flowtime.runs.wire",
    "wire_number": "flowtime.runs.wire",
    "wire_series": "flowtime.runs.wire",
}

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

if TYPE_CHECKING:
    from flowtime.runs.demo import seed_demo_runs
    from flowtime.runs.execute import execute_model
    from flowtime.runs.requests import CaptureRequest, RunRequest, parse_capture_request, parse_run_request
    from flowtime.runs.sandbox import contain, relative_file, run_directory, validate_series_id
    from flowtime.runs.service import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, RunService
    from flowtime.runs.settings import Settings
    from flowtime.runs.state import RunState, load_run_state
    from flowtime.runs.timetravel import snapshot, window
    from flowtime.runs.wire import to_wire, wire_number, wire_series


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowtime.runs' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
