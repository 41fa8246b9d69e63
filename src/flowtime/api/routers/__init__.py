"""One thin APIRouter per resource; handlers call ``RunService`` and return its answers."""

from flowtime.api.routers import health, runs, state, telemetry, templates

__all__ = ["health", "runs", "state", "telemetry", "templates"]
