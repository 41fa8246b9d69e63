"""Atomic run writing (``artifacts.md`` §14): stage everything in a temporary directory, then rename it in."""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from flowtime.artifacts import layout
from flowtime.artifacts.hashes import model_hash, scenario_hash
from flowtime.artifacts.jsonfmt import json_bytes
from flowtime.artifacts.locks import run_lock
from flowtime.artifacts.manifest import (
    DEFAULT_SEED,
    SeriesEntry,
    index_document,
    manifest_document,
    metadata_document,
    provenance_document,
    run_document,
    warning_lines,
)
from flowtime.artifacts.numbers import SHORT_SERIES_BINS, write_series_csv, write_series_csvs
from flowtime.artifacts.provenance import resolve_provenance
from flowtime.artifacts.runids import deterministic_run_id, random_run_id, validate_run_id
from flowtime.artifacts.selection import select_columns
from flowtime.artifacts.spectext import SpecText, normalise_spec_text
from flowtime.artifacts.timestamps import format_utc, utc
from flowtime.errors import Conflict, FlowTimeError, Problem, WriteFailed
from flowtime.model.spec import Model

STAGING_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
_RESERVED_MODEL_FILES = frozenset({"model.yaml", "metadata.json", "provenance.json"})


class SeriesSource(Protocol):
    """What the writer reads from an evaluation: the evaluation order, the effective seed, the series."""

    @property
    def order(self) -> tuple[str, ...]: ...

    @property
    def seed(self) -> int: ...

    def series(self, column_id: str) -> npt.ArrayLike: ...


@dataclass(frozen=True, slots=True)
class RunWritten:
    """A run that is now visible under ``run_dir``."""

    run_id: str
    run_dir: Path
    scenario_hash: str
    model_hash: str
    series_ids: tuple[str, ...]
    warnings: tuple[Problem, ...]
    created_utc: str


def write_run(
    runs_root: Path,
    *,
    spec_text: str,
    model: Model,
    evaluation: SeriesSource,
    caller_seed: int | None = None,
    deterministic: bool = False,
    run_id: str | None = None,
    overwrite: bool = False,
    provenance: Mapping[str, Any] | str | None = None,
    provenance_from_header: bool = False,
    received_at: datetime | None = None,
    now: datetime | None = None,
    forced_mode: str | None = None,
    replaced_nodes: Mapping[str, Any] | None = None,
    warnings: Sequence[Problem] = (),
    extra_model_files: Mapping[str, bytes] | None = None,
    default_model_files: Mapping[str, bytes] | None = None,
) -> RunWritten:
    """Write one evaluated model as a run bundle under ``runs_root``, atomically.

    ``spec_text`` is the model text as received (normalised here, §6). ``provenance`` is a supplied record
    (header or bundle-builder supplement) that wins over the model's embedded block; with
    ``provenance_from_header`` an overridden embedded block is reported. ``extra_model_files`` (paths under
    ``model/``) are part of the new run; ``default_model_files`` are added only where a file of that name
    was not preserved from a replaced run (§14.2). ``warnings`` (e.g. from the bundle builder) are added
    to run.json after the model's own.

    Raises ``invalid_run_id``, ``run_exists``, ``run_id_collision`` (nothing written) or ``WriteFailed``
    (the temporary directory is removed; any previous run is untouched).
    """
    with stage_run(
        runs_root,
        spec_text=spec_text,
        caller_seed=caller_seed,
        deterministic=deterministic,
        run_id=run_id,
        overwrite=overwrite,
        now=now,
    ) as staging:
        for relative, data in (extra_model_files or {}).items():
            staging.add_model_file(relative, data)
        return staging.commit(
            model=model,
            evaluation=evaluation,
            provenance=provenance,
            provenance_from_header=provenance_from_header,
            received_at=received_at,
            forced_mode=forced_mode,
            replaced_nodes=replaced_nodes,
            warnings=warnings,
            default_model_files=default_model_files,
        )


@contextmanager
def stage_run(
    runs_root: Path,
    *,
    spec_text: str,
    caller_seed: int | None = None,
    deterministic: bool = False,
    run_id: str | None = None,
    overwrite: bool = False,
    now: datetime | None = None,
) -> Iterator[RunStaging]:
    """Open the staging directory of a run whose files are then added and committed.

    For writers that must place files in the run's ``model/`` before the model is loaded (the telemetry
    bundle builder: ``file://telemetry/…`` sources resolve against ``staging.model_dir``). The run id is
    fixed and checked against existing runs here, so conflicts surface before any evaluation work. The
    staging directory is removed on exit unless ``commit`` moved it into place.
    """
    staging = RunStaging(
        runs_root,
        spec_text=spec_text,
        caller_seed=caller_seed,
        deterministic=deterministic,
        run_id=run_id,
        overwrite=overwrite,
        now=now,
    )
    try:
        yield staging
    finally:
        staging.discard()


class RunStaging:
    """A run under construction in ``<runsRoot>/.tmp-<runId>-<16 hex>/``; use through ``stage_run``."""

    def __init__(
        self,
        runs_root: Path,
        *,
        spec_text: str,
        caller_seed: int | None,
        deterministic: bool,
        run_id: str | None,
        overwrite: bool,
        now: datetime | None,
    ) -> None:
        self.runs_root = Path(runs_root)
        self.now = utc(now) if now is not None else datetime.now(UTC)
        self.spec: SpecText = normalise_spec_text(spec_text)
        self.caller_seed = caller_seed
        self.scenario_hash = scenario_hash(self.spec.text, caller_seed)
        self.model_hash = model_hash(self.spec.text.encode("utf-8"))
        self.explicit = run_id is not None
        self.deterministic = deterministic and run_id is None
        self.overwrite = overwrite
        if run_id is not None:
            self.run_id = validate_run_id(run_id)
        elif self.deterministic:
            self.run_id = deterministic_run_id(self.scenario_hash)
        else:
            self.run_id = self._free_random_id()
        self._committed = False
        try:
            self.runs_root.mkdir(parents=True, exist_ok=True)
            self._check_target(self.runs_root / self.run_id)
            self.path = self._make_staging_dir()
            self.model_dir = self.path / layout.MODEL_DIR
            self.model_dir.mkdir()
        except OSError as exc:
            self.discard()
            raise _write_failed(self.run_id, exc) from exc

    # ------------------------------------------------------------------------------------------ public

    def add_model_file(self, relative: str, data: bytes) -> Path:
        """Write ``model/<relative>`` into the staging run (flushed and fsynced); returns its path."""
        target = self._model_path(relative)
        try:
            _make_dirs(self.model_dir, target.parent)
            _write_file(target, data)
        except OSError as exc:
            raise _write_failed(self.run_id, exc) from exc
        return target

    def commit(
        self,
        *,
        model: Model,
        evaluation: SeriesSource,
        provenance: Mapping[str, Any] | str | None = None,
        provenance_from_header: bool = False,
        received_at: datetime | None = None,
        forced_mode: str | None = None,
        replaced_nodes: Mapping[str, Any] | None = None,
        warnings: Sequence[Problem] = (),
        default_model_files: Mapping[str, bytes] | None = None,
    ) -> RunWritten:
        """Write every bundle file, then move the staging directory into place under the run lock."""
        if self._committed:
            raise RuntimeError(f"run '{self.run_id}' was already committed")
        defaults = {self._model_path(rel): data for rel, data in (default_model_files or {}).items()}
        seed = self._effective_seed(model, evaluation)
        recorded, provenance_warnings = resolve_provenance(
            provenance, model.provenance, from_header=provenance_from_header
        )
        all_warnings = (*model.warnings, *warnings, *self.spec.warnings, *provenance_warnings)
        created = format_utc(self.now)
        received = format_utc(received_at) if received_at is not None else created
        try:
            series = self._write_series(model, evaluation)
            self._write_model_files(model, recorded, forced_mode, received, seed, replaced_nodes)
            _write_json(self.path / layout.INDEX_FILE, index_document(model.grid, series))
            _write_json(
                self.path / layout.MANIFEST_FILE,
                manifest_document(
                    scenario_hash=self.scenario_hash,
                    seed=seed,
                    series=series,
                    created_utc=created,
                    model_hash=self.model_hash,
                    provenance=recorded,
                ),
            )
            with run_lock(self.runs_root, self.run_id):
                run_dir = self._install(model, series, created, all_warnings, defaults)
        except FlowTimeError:
            raise
        except OSError as exc:
            raise _write_failed(self.run_id, exc) from exc
        self._committed = True
        return RunWritten(
            run_id=self.run_id,
            run_dir=run_dir,
            scenario_hash=self.scenario_hash,
            model_hash=self.model_hash,
            series_ids=tuple(s.id for s in series),
            warnings=_unique(all_warnings),
            created_utc=created,
        )

    def discard(self) -> None:
        """Remove the staging directory (no-op after a successful commit)."""
        path = getattr(self, "path", None)
        if not self._committed and path is not None:
            shutil.rmtree(path, ignore_errors=True)

    # ----------------------------------------------------------------------------------------- writing

    def _effective_seed(self, model: Model, evaluation: SeriesSource) -> int:
        """Caller seed, else the model's ``rng.seed``, else 123 — the seed the evaluation must have used."""
        if self.caller_seed is not None:
            seed = int(self.caller_seed)
        elif model.rng is not None and model.rng.seed is not None:
            seed = int(model.rng.seed)
        else:
            seed = DEFAULT_SEED
        if int(evaluation.seed) != seed:
            raise ValueError(
                f"evaluation used seed {evaluation.seed} but the run records seed {seed}; "
                "evaluate with the same caller seed that is passed to the writer"
            )
        return seed

    def _write_series(self, model: Model, evaluation: SeriesSource) -> list[SeriesEntry]:
        """Encode, write and hash each selected series in one pass, on a few worker threads.

        The encoder runs without the GIL and so do hashing and file writes, so workers use every core. Each
        task is a run of consecutive series holding at least ``_TASK_VALUES`` values: per-series tasks of
        short series would spend their time handing the GIL around. Series are read here, in the caller's
        thread, and entries come back in selection order.
        """
        series_dir = self.path / layout.SERIES_DIR
        series_dir.mkdir()
        state = model.state_columns
        bins = model.grid.bins
        work: list[tuple[str, npt.NDArray[np.float64]]] = []
        for column in select_columns(model, evaluation.order):
            values = np.asarray(evaluation.series(column), dtype=np.float64)
            if values.shape != (bins,):
                raise ValueError(f"series '{column}' has shape {values.shape}; the grid has {bins} bins")
            work.append((column, values))

        def path_of(column: str) -> Path:
            return self.path / layout.series_path(layout.series_id(column))

        def write(items: Sequence[tuple[str, npt.NDArray[np.float64]]]) -> list[SeriesEntry]:
            if bins <= SHORT_SERIES_BINS:  # one compiled pass for the whole task
                block = np.stack([values for _, values in items])
                digests = write_series_csvs([path_of(c) for c, _ in items], block, fsync=files_need_fsync())
            else:  # long series stream through a bounded buffer
                digests = []
                for column, values in items:
                    with path_of(column).open("wb") as stream:
                        digests.append(write_series_csv(stream, values))
                        if files_need_fsync():
                            stream.flush()
                            os.fsync(stream.fileno())
            return [
                SeriesEntry.for_column(column, state=column in state, points=bins, hash_=digest)
                for (column, _), digest in zip(items, digests, strict=True)
            ]

        per_task = max(1, _TASK_VALUES // max(bins, 1))
        tasks = [work[k : k + per_task] for k in range(0, len(work), per_task)]
        with ThreadPoolExecutor(_WRITERS, thread_name_prefix="flowtime-series") as pool:
            entries = [entry for done in pool.map(write, tasks) for entry in done]
        _sync_staged_dir(series_dir)
        return entries

    def _write_model_files(
        self,
        model: Model,
        provenance: Mapping[str, Any] | None,
        forced_mode: str | None,
        received: str,
        seed: int,
        replaced_nodes: Mapping[str, Any] | None,
    ) -> None:
        text = self.spec.text.encode("utf-8")
        _write_file(self.path / layout.SPEC_FILE, text)
        _write_file(self.path / layout.MODEL_FILE, text)
        metadata = metadata_document(
            model=model,
            spec_text=self.spec.text,
            provenance=provenance,
            forced_mode=forced_mode,
            model_hash=self.model_hash,
            received_utc=received,
            seed=seed,
            replaced_nodes=replaced_nodes,
        )
        _write_json(self.path / layout.METADATA_FILE, metadata)
        if provenance is not None:
            _write_json(self.path / layout.PROVENANCE_FILE, provenance_document(provenance, received_utc=received))

    # ------------------------------------------------------------------------------------------ commit

    def _install(
        self,
        model: Model,
        series: Sequence[SeriesEntry],
        created: str,
        warnings: Sequence[Problem],
        defaults: Mapping[Path, bytes],
    ) -> Path:
        """Resolve the target (§14.2), finish the staging run, rename it into place; under the lock."""
        target = self.runs_root / self.run_id
        if target.exists():
            self._check_target(target)  # raises run_exists / run_id_collision; re-draws a random id
            target = self.runs_root / self.run_id
        replace = target.exists()
        if replace and not self.explicit and _scenario_of(target) == self.scenario_hash:
            self._preserve_telemetry(target)
        for path, data in defaults.items():
            if not path.exists():
                _make_dirs(self.model_dir, path.parent)
                _write_file(path, data)
        document = run_document(
            run_id=self.run_id,
            engine_version=_engine_version(),
            grid=model.grid,
            model_hash=self.model_hash,
            scenario_hash=self.scenario_hash,
            created_utc=created,
            warnings=warning_lines(warnings),
            series=series,
        )
        _write_json(self.path / layout.RUN_FILE, document)
        make_durable(self.path, (self.model_dir, self.path))
        if replace:
            old = self.runs_root / f"{OLD_PREFIX}{self.run_id}-{secrets.token_hex(8)}"
            os.rename(target, old)
            try:
                os.rename(self.path, target)
            except OSError:
                os.rename(old, target)
                raise
            fsync_directory(self.runs_root)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.path, target)
            fsync_directory(self.runs_root)
        return target

    def _check_target(self, target: Path) -> None:
        """Refuse an existing target per §14.2 unless the rules allow replacing it; re-draw random ids."""
        if not target.exists():
            return
        if (self.explicit or self.deterministic) and not (target / layout.RUN_FILE).is_file():
            # Overwrite replaces runs, never other directories (a telemetry root, a capture) under the root.
            raise Conflict(
                f"Run directory '{self.run_id}' already exists and is not a run; it is never replaced. "
                "Choose another run id.",
                code="run_exists",
                location=self.run_id,
            )
        if self.explicit:
            if not self.overwrite:
                raise Conflict(
                    f"Run directory '{self.run_id}' already exists. Enable Overwrite to replace it.",
                    code="run_exists",
                    location=self.run_id,
                )
        elif self.deterministic:
            existing = _scenario_of(target)
            if existing != self.scenario_hash and not self.overwrite:
                raise Conflict(
                    f"Run id '{self.run_id}' is taken by a different scenario ({existing or 'unknown'}); "
                    f"this scenario is {self.scenario_hash}. Enable Overwrite to replace it, or use a "
                    "random run id.",
                    code="run_id_collision",
                    location=self.run_id,
                )
        else:
            self.run_id = self._free_random_id()

    def _preserve_telemetry(self, existing_run: Path) -> None:
        """Carry the replaced run's ``model/telemetry/`` over unless the new run brings its own."""
        ours = self.path / layout.TELEMETRY_DIR
        theirs = existing_run / layout.TELEMETRY_DIR
        if ours.exists() or not theirs.is_dir():
            return
        _copy_tree(theirs, ours)

    def _free_random_id(self) -> str:
        while True:
            candidate = random_run_id(self.now)
            if not (self.runs_root / candidate).exists():
                return candidate

    def _make_staging_dir(self) -> Path:
        while True:
            path = self.runs_root / f"{STAGING_PREFIX}{self.run_id}-{secrets.token_hex(8)}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return path

    def _model_path(self, relative: str) -> Path:
        text = relative.replace("\\", "/")
        if not layout.is_inside(text) or text in _RESERVED_MODEL_FILES or text.strip("/") == "":
            raise ValueError(f"'{relative}' is not a file name the writer may add under model/")
        return self.model_dir / text


def remove_stale_staging(runs_root: Path, *, max_age_seconds: float = 3600.0) -> list[str]:
    """Delete ``.tmp-*`` / ``.old-*`` directories older than ``max_age_seconds`` left by crashed writers.

    Meant for service start (§14.1); returns the names removed.
    """
    removed: list[str] = []
    if not runs_root.is_dir():
        return removed
    cutoff = time.time() - max_age_seconds
    for entry in runs_root.iterdir():
        if not entry.name.startswith((STAGING_PREFIX, OLD_PREFIX)) or not entry.is_dir():
            continue
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry)
                removed.append(entry.name)
        except OSError:
            continue
    return sorted(removed)


# -------------------------------------------------------------------------------------------- helpers


def _scenario_of(run_dir: Path) -> str | None:
    try:
        document = json.loads((run_dir / layout.RUN_FILE).read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):
        return None
    value = document.get("scenarioHash") if isinstance(document, dict) else None
    return value.strip().lower() if isinstance(value, str) else None


# Durability of the staged run before it is renamed into place (§14.1 step 2). On Linux one syncfs(2) of the
# staging directory's file system replaces the fsync of every file and directory: when it returns without
# error, all data and metadata written to that file system so far is on stable storage, which includes every
# staged file and directory entry, so a crash after the rename can only expose the complete run, exactly as
# with per-file fsync. It costs one journal commit instead of one per file, and file creation no longer
# queues behind concurrent fsyncs. Elsewhere each file and directory is fsynced.
_WRITERS = max(2, min(8, os.cpu_count() or 1))
_TASK_VALUES = 1 << 18


def _find_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return syncfs  # type: ignore[no-any-return]


_syncfs = _find_syncfs()


def files_need_fsync() -> bool:
    """Whether each staged file must be fsynced as it is written: where ``make_durable`` has no syncfs(2)."""
    return _syncfs is None


def make_durable(staging: Path, directories: Sequence[Path]) -> None:
    """Everything written under ``staging`` reaches stable storage before it is renamed into place (raises
    OSError when it cannot): one syncfs(2) of its file system on Linux; elsewhere an fsync of each of
    ``directories``, whose files were fsynced as they were written (``files_need_fsync``)."""
    if _syncfs is None:
        for directory in directories:
            fsync_directory(directory)
        return
    fd = os.open(staging, os.O_RDONLY)
    try:
        if _syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), str(staging))
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as stream:
        stream.write(data)
        if files_need_fsync():
            stream.flush()
            os.fsync(stream.fileno())


def _write_json(path: Path, document: Any) -> None:
    _write_file(path, json_bytes(document))


def _make_dirs(base: Path, directory: Path) -> None:
    """Create ``directory`` (inside ``base``) and fsync every directory created plus its parent."""
    missing: list[Path] = []
    current = directory
    while current != base and not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
        _sync_staged_dir(path.parent)
    if missing:
        _sync_staged_dir(directory)


def _copy_tree(source: Path, target: Path) -> None:
    """Copy a directory tree with every file and directory fsynced (a plain copytree is not durable)."""
    target.mkdir()
    for entry in sorted(source.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        elif entry.is_file():
            _write_file(target / entry.name, entry.read_bytes())
    _sync_staged_dir(target)
    _sync_staged_dir(target.parent)


def _sync_staged_dir(path: Path) -> None:
    """fsync a directory of the staging tree, unless syncfs will make it durable before the rename."""
    if _syncfs is None:
        fsync_directory(path)


def fsync_directory(path: Path) -> None:
    """Persist a directory's entries (renames, new files) on POSIX file systems."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unique(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    return tuple(dict.fromkeys(problems))


def _engine_version() -> str:
    from flowtime import __version__  # the package root; imported late to keep layer imports acyclic

    return __version__


def _write_failed(run_id: str, exc: OSError) -> WriteFailed:
    reason = exc.strerror or type(exc).__name__
    return WriteFailed(f"Run '{run_id}' could not be written: {reason}.", location=run_id)
