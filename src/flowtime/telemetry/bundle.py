"""The bundle builder: a capture plus a model become a telemetry-mode run replaying it (``telemetry.md`` §6).

Captured series replace the model's definitions of the same series; every other node is evaluated on top
of them, so a replay shows the same nodes as the simulation it came from.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from flowtime.artifacts import RunWritten, sha256_bytes, stage_run
from flowtime.engine import evaluate
from flowtime.errors import FlowTimeError, ModelInvalid, Problem
from flowtime.logs import get_logger, log_event
from flowtime.model import (
    InflowFromColumn,
    QueueColumn,
    SourceError,
    WipLimitColumn,
    is_inside,
    load_model,
    parse_document,
    parse_series_csv,
    resolve_uri,
)
from flowtime.model.values import as_integer
from flowtime.telemetry.autocapture import AUTOCAPTURE_NAME
from flowtime.telemetry.availability import RUN_MANIFEST_NAME
from flowtime.telemetry.errors import (
    CaptureChecksumMismatch,
    CaptureFileMissing,
    CaptureGridMismatch,
    CaptureNotFound,
)
from flowtime.telemetry.manifest import CaptureWarning, Manifest, read_manifest_file
from flowtime.telemetry.metrics import metric_named
from flowtime.telemetry.rewrite import TelemetryFile, rewrite_for_telemetry

_log = get_logger("telemetry.bundle")
DEFAULT_SEED = 123


@dataclass(frozen=True, slots=True)
class BundleResult:
    """A written replay run: ``{runDirectory, runId, telemetryManifest, warnings}`` (§6.4)."""

    run: RunWritten
    manifest: Manifest
    manifest_document: Mapping[str, Any]

    @property
    def warnings(self) -> tuple[CaptureWarning, ...]:
        return self.manifest.warnings

    def to_json(self) -> dict[str, Any]:
        return {
            "runDirectory": str(self.run.run_dir),
            "runId": self.run.run_id,
            "telemetryManifest": dict(self.manifest_document),
            "warnings": [w.to_json() for w in self.manifest.warnings],
        }


def build_bundle(
    capture_dir: Path,
    model_text: str,
    *,
    runs_root: Path,
    capture_label: str | None = None,
    provenance_text: str | None = None,
    run_id: str | None = None,
    overwrite: bool = False,
    deterministic_run_id: bool = False,
    rng_seed: int = DEFAULT_SEED,
    model_dir: Path | None = None,
    allowed_roots: Sequence[Path] = (),
    now: datetime | None = None,
) -> BundleResult:
    """Check the capture (§6.1), rewrite ``model_text`` (§6.2), evaluate and write the replay run (§6.3–§6.4).

    ``capture_label`` names the capture in messages (default: the directory as given); ``model_dir`` is
    where the model's own relative ``file:`` URIs resolve (None for a model posted as text). Raises the
    codes of §6.1 (``capture_not_found``, ``capture_manifest_missing``/``_invalid``,
    ``capture_file_missing``, ``capture_checksum_mismatch``, ``telemetry_csv_invalid``,
    ``telemetry_length_mismatch``, ``model_invalid``, ``capture_grid_mismatch``, ``invalid_run_id``,
    ``run_exists``), then ``run_id_collision`` or ``write_failed`` from the run writer.
    """
    label = capture_label if capture_label is not None else str(capture_dir)
    log_event(
        _log,
        "TelemetryBundleStart",
        2201,
        message=f"Telemetry bundle started from {label}",
        captureDirectory=label,
    )
    try:
        result = _build(
            capture_dir,
            model_text,
            label,
            runs_root,
            provenance_text,
            run_id,
            overwrite,
            deterministic_run_id,
            rng_seed,
            model_dir,
            allowed_roots,
            now,
        )
    except FlowTimeError as exc:
        log_event(
            _log,
            "TelemetryBundleFailed",
            2203,
            level=logging.ERROR,
            message=f"Telemetry bundle from {label} failed: {exc.message}",
            captureDirectory=label,
            code=exc.code,
        )
        raise
    log_event(
        _log,
        "TelemetryBundleCompleted",
        2202,
        message=f"Telemetry bundle written to run {result.run.run_id}",
        captureDirectory=label,
        runId=result.run.run_id,
        fileCount=len(result.manifest.files),
    )
    return result


def _build(
    capture_dir: Path,
    model_text: str,
    label: str,
    runs_root: Path,
    provenance_text: str | None,
    run_id: str | None,
    overwrite: bool,
    deterministic_run_id: bool,
    rng_seed: int,
    model_dir: Path | None,
    allowed_roots: Sequence[Path],
    now: datetime | None,
) -> BundleResult:
    if not capture_dir.is_dir():
        raise CaptureNotFound(f"Capture '{label}' was not found.")
    manifest, manifest_data = read_manifest_file(capture_dir, label=label)
    contents = _verified_files(capture_dir, manifest, label)
    series = {
        path: parse_series_csv(data, manifest.grid.bins, "strict", name=PurePosixPath(path).name).values
        for path, data in contents.items()
    }
    text = _normalise(model_text)
    document = parse_document(text)
    if document.root is None or any(p.is_error for p in document.problems):
        raise ModelInvalid(document.problems)
    if not isinstance(document.root, dict):
        raise ModelInvalid([Problem("yaml_syntax", "Model root must be a mapping")])
    _check_grid(document.root, manifest, label)
    files = [TelemetryFile(f.node_id, metric_named(f.metric), f.path) for f in manifest.files]
    lookup = _capture_lookup(capture_dir, manifest, model_dir, allowed_roots)
    rewrite = rewrite_for_telemetry(text, files, lookup)
    derived = _underivable_columns(document.root, text, set(rewrite.bound), model_dir, [capture_dir, *allowed_roots])
    if derived:
        zero_columns = [c for columns in derived.values() for c in columns]
        rewrite = rewrite_for_telemetry(text, files, lookup, zero_columns=zero_columns)
    raw_nodes = document.root.get("nodes")
    replaced = {node_id: raw_nodes[index] for node_id, index in rewrite.replaced.items()} if raw_nodes else {}
    warnings = [
        Problem(
            "telemetry_conflict",
            f"Telemetry files '{rewrite.bound[node_id]}' and '{path}' both supply '{node_id}' but differ; "
            f"'{rewrite.bound[node_id]}' is used.",
            severity="warning",
            node_id=node_id,
        )
        for node_id, path in rewrite.duplicates
        if not np.array_equal(series[rewrite.bound[node_id]], series[path], equal_nan=True)
    ]
    warnings += [
        Problem(
            "telemetry_derived_unavailable",
            f"Series {', '.join(columns)} cannot be derived from telemetry for node '{owner}'; reported as 0.",
            severity="warning",
            node_id=owner,
        )
        for owner, columns in derived.items()
    ]
    spec_text = _with_capture_identity(rewrite.text, manifest)
    with stage_run(
        runs_root,
        spec_text=spec_text,
        caller_seed=rng_seed,
        deterministic=deterministic_run_id,
        run_id=run_id,
        overwrite=overwrite,
        now=now,
    ) as staging:
        for path, data in contents.items():
            staging.add_model_file(f"telemetry/{path}", data)
        staging.add_model_file(f"telemetry/{RUN_MANIFEST_NAME}", manifest_data)
        if (capture_dir / AUTOCAPTURE_NAME).is_file():
            staging.add_model_file(f"telemetry/{AUTOCAPTURE_NAME}", (capture_dir / AUTOCAPTURE_NAME).read_bytes())
        model = load_model(spec_text, model_dir=staging.model_dir, allowed_roots=allowed_roots)
        evaluation = evaluate(model, seed=rng_seed)
        written = staging.commit(
            model=model,
            evaluation=evaluation,
            provenance=_provenance(provenance_text),
            provenance_from_header=provenance_text is not None,
            forced_mode="telemetry",
            replaced_nodes=replaced,
            warnings=warnings,
        )
    return BundleResult(written, manifest, json.loads(manifest_data.decode("utf-8-sig")))


_WIP_KEYS = ("wipLimit", "wipLimitSeries", "wipOverflow")


def _with_capture_identity(text: str, manifest: Manifest) -> str:
    """The replay model text headed by a comment naming the captured data by a hash of its files.

    The model itself only says ``file://telemetry/<file>``, so without this two replays of different
    captures would share one scenario hash — and one deterministic run id, the second silently replacing
    the first. The hash covers each file's name and content hash (not the capture time), so replaying the
    same data twice still gives the same run. It goes first: a trailing comment would be taken for part of
    a closing ``provenance`` block and stripped.
    """
    listing = "".join(f"{f.node_id}\t{f.metric}\t{f.path}\t{f.hash}\n" for f in manifest.files)
    return f"# telemetry capture data {sha256_bytes(listing.encode('utf-8'))}\n" + text


def _underivable_columns(
    root: Mapping[str, Any], text: str, observed: set[str], model_dir: Path | None, roots: Sequence[Path]
) -> dict[str, list[str]]:
    """Overflow, WIP-limit and inflow-from columns of the source model that vanish once their queue is
    observed (``telemetry.md`` §6.2), by owning node; empty when the model has no WIP keys at all.

    A queue read from telemetry is no longer a recurrence, so nothing can be limited or routed from it:
    its overflow and WIP-limit columns, its own inflow chain and the links that added its overflow to a
    target's inflow disappear from the replay model.
    """
    if not _mentions_wip(root):
        return {}
    try:
        original = load_model(text, model_dir=model_dir, allowed_roots=roots)
    except FlowTimeError:
        return {}  # the replay model's own load reports what is wrong
    by_id = {c.id: c for c in original.columns}
    out: dict[str, list[str]] = {}
    seen = set(observed)
    for queue in original.columns:
        if not isinstance(queue, QueueColumn) or queue.id not in observed:
            continue
        gone: list[str] = []
        if queue.overflow is not None:
            gone.append(queue.overflow)
            limit = queue.overflow.removesuffix("_overflow") + "_wip_limit"
            if isinstance(by_id.get(limit), WipLimitColumn):
                gone.append(limit)
        link = by_id.get(queue.inflow)
        while isinstance(link, InflowFromColumn):
            gone.append(link.id)
            link = by_id.get(link.base)
        gone += [
            c.id
            for c in original.columns
            if isinstance(c, InflowFromColumn) and queue.overflow is not None and c.overflow == queue.overflow
        ]
        unique = [c for c in dict.fromkeys(gone) if c not in seen]
        seen.update(unique)
        if unique:
            out.setdefault(queue.topology_node or queue.id, []).extend(unique)
    return out


def _mentions_wip(root: Mapping[str, Any]) -> bool:
    topology = root.get("topology")
    nodes = [*(root.get("nodes") or [])]
    if isinstance(topology, Mapping) and isinstance(topology.get("nodes"), list):
        nodes += topology["nodes"]
    return any(isinstance(n, Mapping) and any(n.get(k) is not None for k in _WIP_KEYS) for n in nodes)


def _normalise(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _verified_files(capture_dir: Path, manifest: Manifest, label: str) -> dict[str, bytes]:
    """Every manifest file's bytes, after the path and checksum checks, in manifest order."""
    out: dict[str, bytes] = {}
    for f in manifest.files:
        pure = PurePosixPath(f.path)
        plain = not pure.is_absolute() and ".." not in pure.parts and "\\" not in f.path and f.path.strip() == f.path
        path = capture_dir / f.path
        if not plain or not is_inside(path, [capture_dir]) or not path.is_file():
            raise CaptureFileMissing(
                f"Capture '{label}' lists '{f.path}', which is missing or not a plain file inside the capture."
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CaptureFileMissing(f"File '{f.path}' of capture '{label}' cannot be read: {exc.strerror}.") from exc
        if sha256_bytes(data) != f.hash:
            raise CaptureChecksumMismatch(
                f"File '{f.path}' of capture '{label}' does not match its manifest hash; the capture was "
                "changed after it was written. Regenerate it."
            )
        out[f.path] = data
    return out


def _check_grid(root: Mapping[str, Any], manifest: Manifest, label: str) -> None:
    grid = root.get("grid")
    if not isinstance(grid, Mapping):
        return  # the loader reports the missing grid with its own message
    bins, size, unit = as_integer(grid.get("bins")), as_integer(grid.get("binSize")), grid.get("binUnit")
    if bins is None or size is None or not isinstance(unit, str):
        return
    if not manifest.grid.matches(bins, size, unit.strip()):
        g = manifest.grid
        raise CaptureGridMismatch(
            f"Model grid ({bins} bins of {size} {unit.strip().lower()}) does not match the grid of capture "
            f"'{label}' ({g.bins} bins of {g.bin_size} {g.bin_unit})."
        )


def _capture_lookup(
    capture_dir: Path, manifest: Manifest, model_dir: Path | None, allowed_roots: Sequence[Path]
) -> Any:
    """A resolver from the model's ``file:`` URIs to capture files (§7, the capture directory allowed)."""
    by_real = {os.path.realpath(capture_dir / f.path): f.path for f in manifest.files}
    bases = [capture_dir, *allowed_roots]

    def lookup(uri: str) -> str | None:
        try:
            path = resolve_uri(uri, model_dir, bases, must_exist=False)
        except SourceError:
            return None
        return by_real.get(os.path.realpath(path))

    return lookup


def _provenance(text: str | None) -> Mapping[str, Any] | str | None:
    """A provenance supplement: a JSON object, else the bare text taken as the ``modelId``."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip()
    return value if isinstance(value, Mapping) else text.strip()
