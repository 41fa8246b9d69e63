"""Reading run bundles written by FlowTime or the reference, tolerantly (``artifacts.md`` §16)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flowtime.artifacts import layout
from flowtime.artifacts.hashes import file_hash, hashes_equal
from flowtime.artifacts.timestamps import parse_utc
from flowtime.errors import FlowTimeError, NotFound, PathEscape, Problem
from flowtime.model.sources import CsvMode, SeriesRead, read_series_csv


@dataclass(frozen=True, slots=True)
class BundleGrid:
    bins: int
    bin_size: int | None
    bin_unit: str | None


@dataclass(frozen=True, slots=True)
class BundleSeries:
    """One series as the bundle catalogues it; fields other than ``id`` and ``path`` may be missing."""

    id: str
    path: str
    kind: str | None = None
    unit: str | None = None
    component_id: str | None = None
    class_id: str | None = None
    points: int | None = None
    hash: str | None = None

    @property
    def node(self) -> str:
        return layout.series_node(self.id)


class RunBundle:
    """An opened run directory: its JSON documents (read once) and access to its series files.

    Unknown keys are kept but never required; optional documents that are absent are ``None``.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        run: Mapping[str, Any],
        index: Mapping[str, Any] | None,
        manifest: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
        provenance: Mapping[str, Any] | None,
    ) -> None:
        self.run_dir = run_dir
        self.run_id = run_dir.name
        self.run = run
        self.index = index
        self.manifest = manifest
        self.metadata = metadata
        self.provenance = provenance
        self.series = _catalogue(run, index)
        self.grid = _grid(run) or _grid(index)
        self.created_utc: datetime | None = parse_utc(run.get("createdUtc"))
        self.warnings = run_warnings(run)

    @property
    def scenario_hash(self) -> str | None:
        value = self.run.get("scenarioHash")
        return value if isinstance(value, str) else None

    @property
    def model_hash(self) -> str | None:
        value = self.run.get("modelHash")
        return value if isinstance(value, str) else None

    def read_spec_text(self) -> str | None:
        """``model/model.yaml`` (else ``spec.yaml``) as text without BOM; None when neither exists."""
        for relative in (layout.MODEL_FILE, layout.SPEC_FILE):
            path = self.run_dir / relative
            if path.is_file():
                try:
                    return path.read_bytes().decode("utf-8-sig")
                except (OSError, UnicodeDecodeError) as exc:
                    raise _unreadable(self.run_id, relative) from exc
        return None

    def find_series(self, wanted: str) -> BundleSeries | None:
        """The series with id ``wanted``; else the first whose id starts with ``wanted@``
        (``/series/http_served``); else, when the catalogue lacks it, an existing ``series/<wanted>.csv``."""
        for entry in self.series:
            if entry.id == wanted:
                return entry
        prefix = wanted + "@"
        for entry in self.series:
            if entry.id.startswith(prefix):
                return entry
        if layout.SERIES_ID_PATTERN.fullmatch(wanted):
            fallback = BundleSeries(id=wanted, path=layout.series_path(wanted))
            if self._locate(fallback).is_file():
                return fallback
        return None

    def series_file(self, series_id: str) -> Path:
        """Path of a series CSV inside the run; ``series_not_found`` or ``path_escape`` otherwise."""
        entry = self.find_series(series_id)
        if entry is None:
            raise NotFound(
                f"Series '{series_id}' not found in run '{self.run_id}'.",
                code="series_not_found",
                location=self.run_id,
            )
        path = self._locate(entry)
        if not path.is_file():
            raise NotFound(
                f"Series '{series_id}' not found in run '{self.run_id}'.",
                code="series_not_found",
                location=self.run_id,
            )
        return path

    def series_bytes(self, series_id: str) -> bytes:
        """The stored CSV bytes of a series, exactly as on disk."""
        return self.series_file(series_id).read_bytes()

    def read_series(self, series_id: str, mode: CsvMode = "lenient") -> SeriesRead:
        """A series on the run's grid, read with the ``telemetry.md`` §8 reader (lenient by default).

        ``SeriesRead.absent`` lists bins without a row (they read 0 in lenient mode).
        """
        path = self.series_file(series_id)
        return read_series_csv(path, self._bins(series_id), mode)

    def verify_series(self, series_id: str) -> Problem | None:
        """``series_hash_mismatch`` when the stored bytes do not hash to the catalogued hash.

        The bytes are hashed as they are (a reference bundle's BOM included); a series without a recorded
        hash cannot mismatch.
        """
        entry = self.find_series(series_id)
        expected = entry.hash if entry is not None else None
        if expected is None and entry is not None and self.manifest is not None:
            hashes = self.manifest.get("seriesHashes")
            if isinstance(hashes, Mapping) and isinstance(hashes.get(entry.id), str):
                expected = hashes[entry.id]
        if entry is None or expected is None:
            return None
        actual = file_hash(self.series_file(entry.id))
        if hashes_equal(actual, expected):
            return None
        return Problem(
            code="series_hash_mismatch",
            message=f"Series '{entry.id}' of run '{self.run_id}' does not match its recorded hash "
            f"{expected} (file hashes to {actual}).",
            severity="warning",
            path=entry.path,
        )

    def verify(self) -> tuple[Problem, ...]:
        """Hash check of every catalogued series whose file exists."""
        problems = []
        for entry in self.series:
            if self._locate(entry).is_file():
                problem = self.verify_series(entry.id)
                if problem is not None:
                    problems.append(problem)
        return tuple(problems)

    def _locate(self, entry: BundleSeries) -> Path:
        relative = entry.path.replace("\\", "/")
        if not layout.is_inside(relative):
            raise _escape(self.run_id, entry)
        path = self.run_dir / relative
        root = os.path.realpath(self.run_dir)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            raise _escape(self.run_id, entry)
        return path

    def _bins(self, series_id: str) -> int:
        if self.grid is not None:
            return self.grid.bins
        entry = self.find_series(series_id)
        if entry is not None and entry.points:
            return entry.points
        raise _unreadable(self.run_id, layout.RUN_FILE)


@dataclass(frozen=True, slots=True)
class RunListing:
    """One run directory found under a runs root; ``run`` is None when run.json could not be read."""

    run_id: str
    run_dir: Path
    created_utc: datetime | None
    run: Mapping[str, Any] | None


def open_bundle(run_dir: Path) -> RunBundle:
    """Open a run directory: run.json is required; index, manifest, metadata and provenance are optional.

    Raises ``run_not_found`` without a directory or run.json and ``run_unreadable`` when a present JSON
    document is not a JSON object.
    """
    run_id = run_dir.name
    run = _read_json(run_dir, layout.RUN_FILE, run_id)
    if run is None:
        raise NotFound(f"Run '{run_id}' not found.", code="run_not_found", location=run_id)
    return RunBundle(
        run_dir,
        run=run,
        index=_read_json(run_dir, layout.INDEX_FILE, run_id),
        manifest=_read_json(run_dir, layout.MANIFEST_FILE, run_id),
        metadata=_read_json(run_dir, layout.METADATA_FILE, run_id),
        provenance=_read_json(run_dir, layout.PROVENANCE_FILE, run_id),
    )


def list_runs(runs_root: Path) -> list[RunListing]:
    """Run directories directly under ``runs_root``: newest ``createdUtc`` first, then run id ascending;
    runs without a readable timestamp last. Dot-directories and directories without run.json are skipped."""
    if not runs_root.is_dir():
        return []
    found: list[RunListing] = []
    for entry in runs_root.iterdir():
        if entry.name.startswith(".") or not entry.is_dir() or not (entry / layout.RUN_FILE).is_file():
            continue
        try:
            run = _read_json(entry, layout.RUN_FILE, entry.name)
        except FlowTimeError:
            run = None
        created = parse_utc(run.get("createdUtc")) if run is not None else None
        found.append(RunListing(entry.name, entry, created, run))
    dated = sorted((r for r in found if r.created_utc is not None), key=lambda r: r.run_id)
    dated.sort(key=lambda r: r.created_utc, reverse=True)  # type: ignore[arg-type,return-value]
    undated = sorted((r for r in found if r.created_utc is None), key=lambda r: r.run_id)
    return dated + undated


def run_warnings(run: Mapping[str, Any]) -> tuple[str, ...]:
    """run.json ``warnings`` as strings; reference bundles may hold ``{code, message}`` objects."""
    raw = run.get("warnings")
    if not isinstance(raw, list):
        return ()
    lines: list[str] = []
    for item in raw:
        if isinstance(item, str):
            lines.append(item)
        elif isinstance(item, Mapping):
            code, message = item.get("code"), item.get("message")
            if code and message:
                lines.append(f"{code}: {message}")
            elif message or code:
                lines.append(str(message or code))
            else:
                lines.append(json.dumps(item, ensure_ascii=False, sort_keys=True))
        elif item is not None:
            lines.append(str(item))
    return tuple(lines)


def _read_json(run_dir: Path, relative: str, run_id: str) -> dict[str, Any] | None:
    path = run_dir / relative
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not path.exists():
            return None
        raise _unreadable(run_id, relative) from exc
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _unreadable(run_id, relative) from exc
    if not isinstance(document, dict):
        raise _unreadable(run_id, relative)
    return document


def _catalogue(run: Mapping[str, Any], index: Mapping[str, Any] | None) -> tuple[BundleSeries, ...]:
    source = index.get("series") if index is not None else None
    if not isinstance(source, list):
        source = run.get("series")
    if not isinstance(source, list):
        return ()
    entries: dict[str, BundleSeries] = {}
    for item in source:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
            continue
        sid = item["id"]
        path = item.get("path")
        entries.setdefault(
            sid,
            BundleSeries(
                id=sid,
                path=path if isinstance(path, str) and path else layout.series_path(sid),
                kind=_str(item.get("kind")),
                unit=_str(item.get("unit")),
                component_id=_str(item.get("componentId")),
                class_id=_str(item.get("class")),
                points=_int(item.get("points")),
                hash=_str(item.get("hash")),
            ),
        )
    return tuple(entries.values())


def _grid(document: Mapping[str, Any] | None) -> BundleGrid | None:
    grid = document.get("grid") if document is not None else None
    if not isinstance(grid, Mapping):
        return None
    bins = _int(grid.get("bins"))
    if bins is None or bins < 1:
        return None
    unit = _str(grid.get("binUnit"))
    return BundleGrid(bins=bins, bin_size=_int(grid.get("binSize")), bin_unit=unit.lower() if unit else None)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _unreadable(run_id: str, relative: str) -> FlowTimeError:
    return FlowTimeError(f"Run '{run_id}' could not be read.", code="run_unreadable", location=f"{run_id}/{relative}")


def _escape(run_id: str, entry: BundleSeries) -> PathEscape:
    return PathEscape(
        f"Series '{entry.id}' of run '{run_id}' has path '{entry.path}', which leaves the run directory.",
        location=run_id,
    )
