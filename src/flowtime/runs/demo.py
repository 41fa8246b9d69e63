"""Demo runs for a first start (``flowtime serve --demo``): something to look at before any run exists."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from flowtime.errors import FlowTimeError
from flowtime.logs import get_logger, log_event

if TYPE_CHECKING:
    from flowtime.runs.service import RunService

T = TypeVar("T")
_LOG = get_logger("runs")
# Shipped templates shown first when present; the others follow in catalogue order.
_PREFERRED = ("http-service", "support-desk")
_DEMO_RUNS = 3


def seed_demo_runs(service: RunService) -> list[str]:
    """When RunsRoot holds no run: simulate a few shipped templates, capture the first, replay the capture.

    Returns the created run ids. Failures are logged (event 4500) and skipped: a demo must never stop the
    server from starting.
    """
    if service.list_runs(page_size=1)["totalCount"] > 0:
        return []
    ids = [t["id"] for t in service.list_templates()]
    chosen = [i for i in _PREFERRED if i in ids] + [i for i in ids if i not in _PREFERRED]
    created: list[str] = []
    for template_id in chosen[:_DEMO_RUNS]:
        body = {"templateId": template_id, "mode": "simulation", "options": {"deterministicRunId": True}}
        run_id = _attempt(template_id, lambda b=body: service.create_run(b)[1]["metadata"]["runId"])
        if run_id:
            created.append(run_id)
    if not created:
        return created
    source = created[0]
    source_template = chosen[0]
    captured = _attempt(source_template, lambda: service.generate_capture({"source": {"type": "run", "runId": source}}))
    if captured:
        replay = {
            "templateId": source_template,
            "mode": "telemetry",
            "telemetry": {"captureDirectory": f"run:{source}"},
            "options": {"deterministicRunId": True},
        }
        run_id = _attempt(source_template, lambda: service.create_run(replay)[1]["metadata"]["runId"])
        if run_id:
            created.append(run_id)
    return created


def _attempt(template_id: str, action: Callable[[], T]) -> T | None:
    try:
        return action()
    except FlowTimeError as exc:
        log_event(
            _LOG,
            "RunOrchestrationFailed",
            4500,
            level=logging.WARNING,
            templateId=template_id,
            mode="demo",
            code=exc.code,
            error=exc.message,
        )
        return None


__all__ = ["seed_demo_runs"]
