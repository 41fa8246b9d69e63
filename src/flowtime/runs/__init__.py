"""The application service: settings, run orchestration and state queries, shared by API, UI and CLI."""

from flowtime.runs.execute import execute_model
from flowtime.runs.settings import Settings

__all__ = ["Settings", "execute_model"]
