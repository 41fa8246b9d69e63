"""The web UI: server-rendered pages and htmx fragments over the run service, mounted at ``/``."""

from flowtime.web.pages import router

__all__ = ["router"]
