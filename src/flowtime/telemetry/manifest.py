"""The capture bundle's ``manifest.json``: records, JSON form, schema check and reading (§2.7)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from flowtime.errors import Unprocessable
from flowtime.model.spec import BIN_UNIT_MINUTES

MANIFEST_NAME = "manifest.json"
SCHEMA_NAME = "telemetry-manifest.schema.json"


@dataclass(frozen=True, slots=True)
class CaptureWarning:
    """A structured capture or import warning ``{code, message, nodeId?, bins?}`` (``telemetry.md`` §2.5).

    ``metric`` is not written to files; it feeds the log line (event 2004) and nothing else.
    """

    code: str
    message: str
    node_id: str | None = None
    bins: tuple[int, ...] | None = None
    metric: str | None = None

    def to_json(self) -> dict[str, Any]:
        """File form: absent keys omitted."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.node_id is not None:
            out["nodeId"] = self.node_id
        if self.bins is not None:
            out["bins"] = list(self.bins)
        return out

    def to_api(self) -> dict[str, Any]:
        """Response form of generation and run detail: ``{code, message, severity, nodeId}``."""
        return {"code": self.code, "message": self.message, "severity": "warning", "nodeId": self.node_id}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CaptureWarning:
        bins = doc.get("bins")
        return cls(
            code=str(doc["code"]),
            message=str(doc["message"]),
            node_id=doc.get("nodeId"),
            bins=tuple(int(b) for b in bins) if isinstance(bins, list) else None,
        )


@dataclass(frozen=True, slots=True)
class CaptureGrid:
    """The grid a capture's series lie on; ``bin_unit`` lower-case."""

    bins: int
    bin_size: int
    bin_unit: str

    @property
    def duration_minutes(self) -> int:
        """bins × binSize × minutes per unit (weeks included, unlike the reference); 0 for unknown units."""
        return self.bins * self.bin_size * BIN_UNIT_MINUTES.get(self.bin_unit, 0)

    def to_json(self) -> dict[str, Any]:
        return {"bins": self.bins, "binSize": self.bin_size, "binUnit": self.bin_unit}

    def matches(self, bins: int, bin_size: int, bin_unit: str) -> bool:
        """Equal grids: bins and binSize exactly, binUnit case-insensitively."""
        return (self.bins, self.bin_size) == (bins, bin_size) and self.bin_unit.lower() == bin_unit.lower()


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """One captured series file: which topology node and metric it observes, where, its hash and length."""

    node_id: str
    metric: str
    path: str
    hash: str
    points: int

    def to_json(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "metric": self.metric,
            "path": self.path,
            "hash": self.hash,
            "points": self.points,
        }


@dataclass(frozen=True, slots=True)
class CaptureProvenance:
    """Where a capture came from; ``model_hash`` is omitted from files when unknown."""

    run_id: str
    scenario_hash: str
    captured_at_utc: str
    model_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"runId": self.run_id, "scenarioHash": self.scenario_hash}
        if self.model_hash is not None:
            out["modelHash"] = self.model_hash
        out["capturedAtUtc"] = self.captured_at_utc
        return out


@dataclass(frozen=True, slots=True)
class Manifest:
    """A capture bundle's manifest; ``to_json`` gives the keys in the order of ``telemetry.md`` §2.7."""

    grid: CaptureGrid
    provenance: CaptureProvenance
    files: tuple[ManifestFile, ...] = ()
    warnings: tuple[CaptureWarning, ...] = ()
    start_time_utc: str | None = None
    duration_minutes: int | None = None

    def to_json(self) -> dict[str, Any]:
        window: dict[str, Any] = {}
        if self.start_time_utc is not None:
            window["startTimeUtc"] = self.start_time_utc
        window["durationMinutes"] = (
            self.duration_minutes if self.duration_minutes is not None else self.grid.duration_minutes
        )
        return {
            "schemaVersion": 1,
            "window": window,
            "grid": self.grid.to_json(),
            "files": [f.to_json() for f in self.files],
            "warnings": [w.to_json() for w in self.warnings],
            "provenance": self.provenance.to_json(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Manifest:
        """Build from a document that already passed ``schema_errors``."""
        grid = doc["grid"]
        prov = doc["provenance"]
        window = doc.get("window") or {}
        return cls(
            grid=CaptureGrid(int(grid["bins"]), int(grid["binSize"]), str(grid["binUnit"]).lower()),
            provenance=CaptureProvenance(
                run_id=prov["runId"],
                scenario_hash=prov["scenarioHash"],
                captured_at_utc=prov["capturedAtUtc"],
                model_hash=prov.get("modelHash"),
            ),
            files=tuple(
                ManifestFile(f["nodeId"], f["metric"], f["path"], f["hash"], int(f["points"])) for f in doc["files"]
            ),
            warnings=tuple(CaptureWarning.from_json(w) for w in doc.get("warnings") or ()),
            start_time_utc=window.get("startTimeUtc"),
            duration_minutes=window.get("durationMinutes"),
        )


# ------------------------------------------------------------------------------------------ validation


@cache
def manifest_schema() -> dict[str, Any]:
    """The shipped JSON Schema every manifest written must satisfy."""
    text = resources.files("flowtime.telemetry").joinpath(SCHEMA_NAME).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = manifest_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)  # type: ignore[no-any-return]


def schema_errors(doc: Any) -> list[str]:
    """Every schema violation of ``doc`` as ``<json path>: <reason>``, in a stable order; [] when valid."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{e.json_path}: {e.message}" for e in errors]


def read_manifest(directory: Path, *, label: str) -> Manifest:
    """Read and validate ``<directory>/manifest.json``; ``label`` names the capture in messages, never a path.

    Raises ``capture_manifest_missing`` when there is none and ``capture_manifest_invalid`` when it does not
    parse or validate (``telemetry.md`` §6.1).
    """
    return read_manifest_file(directory, label=label)[0]


def read_manifest_file(directory: Path, *, label: str) -> tuple[Manifest, bytes]:
    """``read_manifest`` and the exact bytes it validated (a replay copies them byte for byte)."""
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise Unprocessable(
            f"Capture '{label}' has no manifest.json. Capture, generate or import the bundle first.",
            code="capture_manifest_missing",
        )
    try:
        data = path.read_bytes()
        doc = json.loads(data.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Unprocessable(
            f"Capture '{label}' has an invalid manifest.json: {_reason(exc)}", code="capture_manifest_invalid"
        ) from exc
    errors = schema_errors(doc)
    if errors:
        raise Unprocessable(
            f"Capture '{label}' has an invalid manifest.json: {errors[0]}", code="capture_manifest_invalid"
        )
    return Manifest.from_json(doc), data


def _reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return "file could not be read"


# ---------------------------------------------------------------------------------------------- times
