"""Request bodies of ``POST /v1/runs`` and ``POST /v1/telemetry/captures`` checked with the spec's messages.

The checks live here, not in pydantic models, so the API, the UI and the in-process CLI reject a body
with the same code and text (``api.md`` §4.4, §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowtime.errors import InvalidInput
from flowtime.runs.sandbox import validate_run_id
from flowtime.telemetry import validate_capture_key

_SEED_MIN = -(2**63)
_SEED_MAX = 2**63 - 1
_BINDINGS_MESSAGE = "telemetry.bindings must map parameter names to file names."


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A checked ``POST /v1/runs`` body; ``seed`` is the request ``rng.seed`` (None without ``rng``)."""

    template_id: str
    mode: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    capture_directory: str | None = None
    bindings: Mapping[str, str] = field(default_factory=dict)
    seed: int | None = None
    deterministic_run_id: bool = False
    run_id: str | None = None
    dry_run: bool = False
    overwrite: bool = False


@dataclass(frozen=True, slots=True)
class CaptureRequest:
    """A checked ``POST /v1/telemetry/captures`` body."""

    run_id: str
    capture_key: str | None = None
    directory: str | None = None
    overwrite: bool = False


def parse_run_request(body: Any) -> RunRequest:
    """Check a run-creation body in the order of ``api.md`` §4.4 and return it typed."""
    body = _object(body)
    template_id = body.get("templateId")
    if template_id is None or (isinstance(template_id, str) and not template_id.strip()):
        raise InvalidInput("templateId is required.", code="template_id_required", location="templateId")
    if not isinstance(template_id, str):
        raise InvalidInput("templateId must be a string.", code="invalid_request", location="templateId")
    mode = parse_mode(body.get("mode"), default="telemetry")
    parameters = body.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InvalidInput("parameters must be an object.", code="invalid_request", location="parameters")
    parameters = {k: v for k, v in parameters.items() if v is not None}
    capture_directory, bindings = None, {}
    if mode == "telemetry":
        capture_directory, bindings = _telemetry(body.get("telemetry"))
    seed = _rng_seed(body.get("rng"))
    options = body.get("options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InvalidInput("options must be an object.", code="invalid_request", location="options")
    run_id = options.get("runId")
    if run_id is not None:
        if not isinstance(run_id, str):
            raise InvalidInput(f"runId '{run_id}' is invalid.", code="invalid_run_id", location="options.runId")
        validate_run_id(run_id)
    return RunRequest(
        template_id=template_id.strip(),
        mode=mode,
        parameters=parameters,
        capture_directory=capture_directory,
        bindings=bindings,
        seed=seed,
        deterministic_run_id=_flag(options, "deterministicRunId"),
        run_id=run_id,
        dry_run=_flag(options, "dryRun"),
        overwrite=_flag(options, "overwriteExisting"),
    )


def parse_capture_request(body: Any) -> CaptureRequest:
    """Check a capture-generation body (``api.md`` §5)."""
    body = _object(body)
    source = body.get("source")
    invalid = InvalidInput(
        "source.type must be 'run' and source.runId is required.", code="invalid_source", location="source"
    )
    if not isinstance(source, dict):
        raise invalid
    kind = source.get("type")
    run_id = source.get("runId")
    if kind is not None and (not isinstance(kind, str) or kind.strip().lower() != "run"):
        raise invalid
    if not isinstance(run_id, str) or not run_id.strip():
        raise invalid
    validate_run_id(run_id)
    output = body.get("output")
    if output is None:
        output = {}
    if not isinstance(output, dict):
        raise InvalidInput("output must be an object.", code="invalid_request", location="output")
    key = _optional_text(output, "captureKey")
    directory = _optional_text(output, "directory")
    if key is not None and directory is not None:
        raise InvalidInput("Specify at most one of output.captureKey and output.directory.", code="invalid_output")
    if key is not None:
        validate_capture_key(key)
    return CaptureRequest(run_id, key, directory, _flag(output, "overwrite", prefix="output"))


def parse_mode(value: Any, *, default: str) -> str:
    """``simulation`` or ``telemetry``: trimmed and case-insensitive; blank or absent means ``default``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, str) and value.strip().lower() in ("simulation", "telemetry"):
        return value.strip().lower()
    raise InvalidInput("mode must be 'telemetry' or 'simulation'.", code="invalid_mode", location="mode")


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        raise InvalidInput("Request body is required.", code="invalid_request")
    if not isinstance(body, dict):
        raise InvalidInput("Request body must be a JSON object.", code="invalid_request")
    return body


def _telemetry(telemetry: Any) -> tuple[str, dict[str, str]]:
    required = InvalidInput(
        "telemetry.captureDirectory is required for telemetry runs.",
        code="capture_directory_required",
        location="telemetry.captureDirectory",
    )
    if telemetry is None:
        raise required
    if not isinstance(telemetry, dict):
        raise InvalidInput("telemetry must be an object.", code="invalid_request", location="telemetry")
    directory = telemetry.get("captureDirectory")
    if not isinstance(directory, str) or not directory.strip():
        raise required
    bindings = telemetry.get("bindings")
    if bindings is None:
        bindings = {}
    if not isinstance(bindings, dict) or not all(isinstance(v, str) for v in bindings.values()):
        raise InvalidInput(_BINDINGS_MESSAGE, code="invalid_request", location="telemetry.bindings")
    return directory.strip(), dict(bindings)


def _rng_seed(rng: Any) -> int | None:
    if rng is None:
        return None
    if not isinstance(rng, dict):
        raise InvalidInput("rng must be an object with kind and seed.", code="rng_invalid", location="rng")
    kind = rng.get("kind")
    if not isinstance(kind, str) or not kind.strip():
        raise InvalidInput("rng.kind must be provided when rng is specified.", code="rng_invalid", location="rng.kind")
    if kind.strip().lower() != "pcg32":
        raise InvalidInput(f"Unsupported rng.kind '{kind}'. Expected 'pcg32'.", code="rng_invalid", location="rng.kind")
    seed = rng.get("seed")
    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not _SEED_MIN <= seed <= _SEED_MAX:
        raise InvalidInput("rng.seed must be an integer.", code="rng_invalid", location="rng.seed")
    return seed


def _flag(options: Mapping[str, Any], name: str, *, prefix: str = "options") -> bool:
    value = options.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidInput(f"{prefix}.{name} must be a boolean.", code="invalid_request", location=f"{prefix}.{name}")
    return value


def _optional_text(output: Mapping[str, Any], name: str) -> str | None:
    value = output.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"output.{name} must be a string.", code="invalid_request", location=f"output.{name}")
    return value.strip()


__all__ = ["CaptureRequest", "RunRequest", "parse_capture_request", "parse_mode", "parse_run_request"]
