"""Where FlowTime keeps its data and what it may touch: built once by the CLI or server, passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """Roots and limits of one FlowTime process (``api.md`` §1.2).

    Every path the service reads or writes lies inside ``runs_root``, ``telemetry_root`` or one of
    ``allowed_roots``; the templates directory is read-only.
    """

    data_dir: Path
    runs_root: Path
    telemetry_root: Path
    templates_dir: Path | None = None
    allowed_roots: tuple[Path, ...] = ()
    state_window_max: int = 500
    log_format: str = "json"
    log_level: str = "info"
    host: str = "127.0.0.1"
    port: int = 8080
    demo: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        *,
        data_dir: Path | None = None,
        runs_root: Path | None = None,
        telemetry_root: Path | None = None,
        templates_dir: Path | None = None,
        allowed_roots: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> Settings:
        """Options win over environment variables, which win over the defaults of ``api.md`` §1.2."""
        env = os.environ if env is None else env

        def pick(option: Path | None, var: str) -> Path | None:
            if option is not None:
                return Path(option)
            value = env.get(var, "").strip()
            return Path(value) if value else None

        data = pick(data_dir, "FLOWTIME_DATA_DIR") or Path("data")
        runs = pick(runs_root, "FLOWTIME_RUNS_ROOT") or data
        telemetry = pick(telemetry_root, "FLOWTIME_TELEMETRY_ROOT") or data / "telemetry"
        templates = pick(templates_dir, "FLOWTIME_TEMPLATES_DIR")
        extra_roots = [Path(p) for p in allowed_roots]
        extra_roots += [Path(p) for p in env.get("FLOWTIME_ALLOWED_ROOTS", "").split(":") if p.strip()]
        values: dict[str, object] = {}
        if "FLOWTIME_STATE_WINDOW_MAX" in env:
            values["state_window_max"] = int(env["FLOWTIME_STATE_WINDOW_MAX"])
        if "FLOWTIME_LOG_FORMAT" in env:
            values["log_format"] = env["FLOWTIME_LOG_FORMAT"]
        if "FLOWTIME_LOG_LEVEL" in env:
            values["log_level"] = env["FLOWTIME_LOG_LEVEL"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(
            data_dir=data.absolute(),
            runs_root=runs.absolute(),
            telemetry_root=telemetry.absolute(),
            templates_dir=templates.absolute() if templates else None,
            allowed_roots=tuple(p.absolute() for p in extra_roots),
            **values,  # type: ignore[arg-type]
        )

    def ensure_roots(self) -> Settings:
        """Create RunsRoot and TelemetryRoot if missing and canonicalise every root once (real paths)."""
        self.runs_root.mkdir(parents=True, exist_ok=True)
        self.telemetry_root.mkdir(parents=True, exist_ok=True)
        return replace(
            self,
            data_dir=self.data_dir.resolve(),
            runs_root=self.runs_root.resolve(),
            telemetry_root=self.telemetry_root.resolve(),
            templates_dir=self.templates_dir.resolve() if self.templates_dir else None,
            allowed_roots=tuple(p.resolve() for p in self.allowed_roots),
        )

    @property
    def sandbox_roots(self) -> tuple[Path, ...]:
        return (self.runs_root, self.telemetry_root, *self.allowed_roots)
