"""Staged, durable bundle writes committed by atomic renames with ``manifest.json`` last (§3.3–§3.4)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from flowtime.artifacts import files_need_fsync, fsync_directory, make_durable
from flowtime.errors import WriteFailed
from flowtime.model import is_inside
from flowtime.telemetry.manifest import MANIFEST_NAME

STAGING_PREFIX = ".tmp-capture-"


def staging_parent(target: Path, roots: Sequence[Path]) -> Path:
    """Where the staging directory goes: the innermost root that contains ``target`` (so TelemetryRoot wins
    when it lies inside RunsRoot; same file system as the final rename), else the target's parent."""
    containing = [Path(root) for root in roots if is_inside(target, [root])]
    return max(containing, key=lambda root: len(root.parts)) if containing else target.parent


class Staging:
    """A ``.tmp-capture-<16 hex>`` directory that collects a bundle's files before they become visible.

    Used as a context manager: leaving the block without ``commit`` removes the directory, so a failed
    capture leaves nothing behind.
    """

    def __init__(self, parent: Path) -> None:
        self.path = parent / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
        except OSError as exc:
            raise WriteFailed(
                f"Capture could not be written: cannot create a staging directory in '{parent}' "
                f"({exc.strerror or exc}); the output must lie in a writable directory."
            ) from exc
        self.names: list[str] = []

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()

    def write(self, name: str, data: bytes | Iterable[bytes]) -> None:
        """Write one file (``data``: bytes or chunks); ``commit`` makes every staged file durable."""
        try:
            with (self.path / name).open("wb") as stream:
                if isinstance(data, bytes | bytearray):
                    stream.write(data)
                else:
                    for chunk in data:
                        stream.write(chunk)
                if files_need_fsync():
                    stream.flush()
                    os.fsync(stream.fileno())
        except OSError as exc:
            raise WriteFailed(f"Capture could not be written: {exc.strerror or exc} ({name}).") from exc
        self.names.append(name)

    def commit(self, target: Path, *, overwrite: bool, keep: Iterable[str] = ()) -> None:
        """Move the staged files into ``target``, ``manifest.json`` last, then remove the staging directory.

        With ``overwrite``, when ``target`` holds a capture (``manifest.json``), every regular, non-dot file
        of it except those named in ``keep`` is deleted first, so no file of the old capture survives;
        sub-directories are never touched. A directory that is not a capture has nothing to replace, so its
        files stay (an ``--overwrite`` aimed at the wrong directory cannot empty it).
        """
        try:
            make_durable(self.path, [self.path])
            target.mkdir(parents=True, exist_ok=True)
            if overwrite and (target / MANIFEST_NAME).is_file():
                kept = set(keep)
                for entry in target.iterdir():
                    if entry.name.startswith(".") or entry.name in kept or entry.is_symlink():
                        continue
                    if entry.is_file():
                        entry.unlink()
            ordered = [n for n in self.names if n != MANIFEST_NAME] + [n for n in self.names if n == MANIFEST_NAME]
            for name in ordered:
                os.replace(self.path / name, target / name)
            fsync_directory(target)
        except OSError as exc:
            raise WriteFailed(
                f"Capture could not be written to '{target}': {exc.strerror or exc}; the output must be a writable "
                "directory."
            ) from exc
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
