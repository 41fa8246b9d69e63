"""Demo runs for a first start (``flowtime serve --demo``): something to look at before any run exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from flowtime.errors import FlowTimeError

if TYPE_CHECKING:
    from flowtime.runs.service import RunService

T = TypeVar("T")
# Shipped templates shown first when present; the others follow in catalogue order.
_PREFERRED = ("http-service", "order-system")
_DEMO_RUNS = 3


def seed_demo_runs(service: RunService) -> list[str]:
    """When RunsRoot holds no run: simulate a few shipped templates, capture the first, replay the capture.

    Returns the created run ids. Failures are skipped (the service logs them): a demo must never stop the
    server from starting.
    """
    if service.list_runs(page_size=1)["totalCount"] > 0:
        return []
    ids = [t["id"] for t in service.list_templates()]
    chosen = [i for i in _PREFERRED if i in ids] + [i for i in ids if i not in _PREFERRED]
    simulated: list[tuple[str, str]] = []
    for template_id in chosen[:_DEMO_RUNS]:
        body = {"templateId": template_id, "mode": "simulation", "options": {"deterministicRunId": True}}
        run_id = _attempt(lambda b=body: service.create_run(b)[1]["metadata"]["runId"])
        if run_id:
            simulated.append((template_id, run_id))
    created = [run_id for _, run_id in simulated]
    if not simulated:
        return created
    template_id, source = simulated[0]
    if _attempt(lambda: service.generate_capture({"source": {"type": "run", "runId": source}})):
        replay = {
            "templateId": template_id,
            "mode": "telemetry",
            "telemetry": {"captureDirectory": f"run:{source}"},
            "options": {"deterministicRunId": True},
        }
        run_id = _attempt(lambda: service.create_run(replay)[1]["metadata"]["runId"])
        if run_id:
            created.append(run_id)
    return created


def _attempt(action: Callable[[], T]) -> T | None:
    """The action's answer, or None when it failed (the service has logged why: event 4500 or 2104)."""
    try:
        return action()
    except FlowTimeError:
        return None


__all__ = ["seed_demo_runs"]
