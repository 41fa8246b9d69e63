"""The per-run-id write lock: one writer per run id, across threads and across processes (§14.1)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the in-process lock still serialises this process's writers
    fcntl = None  # type: ignore[assignment]

LOCKS_DIR = ".locks"

_registry_guard = threading.Lock()
_registry: dict[tuple[str, str], tuple[threading.Lock, int]] = {}


@contextmanager
def run_lock(runs_root: Path, run_id: str) -> Iterator[None]:
    """Hold the write lock of ``run_id`` under ``runs_root`` (blocking).

    An in-process mutex serialises threads; an advisory ``flock`` on ``<runsRoot>/.locks/<runId>.lock``
    serialises processes. The lock file lives outside the run directory (and in a dot-directory every
    listing ignores) and is never deleted, so two processes always lock the same inode.
    """
    lock_dir = runs_root / LOCKS_DIR
    lock_dir.mkdir(parents=True, exist_ok=True)
    key = (str(lock_dir.resolve()), run_id)
    mutex = _acquire_entry(key)
    try:
        with mutex:
            if fcntl is None:
                yield
                return
            fd = os.open(lock_dir / f"{run_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock
    finally:
        _release_entry(key)


def _acquire_entry(key: tuple[str, str]) -> threading.Lock:
    """The mutex for ``key``, reference-counted so the registry does not grow with every run id ever used."""
    with _registry_guard:
        mutex, users = _registry.get(key, (threading.Lock(), 0))
        _registry[key] = (mutex, users + 1)
        return mutex


def _release_entry(key: tuple[str, str]) -> None:
    with _registry_guard:
        mutex, users = _registry[key]
        if users == 1:
            del _registry[key]
        else:
            _registry[key] = (mutex, users - 1)
