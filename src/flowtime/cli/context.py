"""The process-wide Settings the global options built, for commands to read."""

from __future__ import annotations

from flowtime.runs import Settings

_current: list[Settings] = []


def set_settings(settings: Settings) -> None:
    _current[:] = [settings]


def settings_of() -> Settings:
    """Settings of this invocation; the environment defaults when no callback ran (direct calls in tests)."""
    if not _current:
        _current.append(Settings.resolve())
    return _current[0]
