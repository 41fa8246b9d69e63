"""Per-capture locks: one writer per target across threads (a mutex) and processes (an advisory lock)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flowtime.errors import WriteFailed
from flowtime.telemetry.errors import CaptureInProgress

IN_PROGRESS_MESSAGE = "Telemetry generation is already in progress for this capture."

_guard = threading.Lock()
_mutexes: dict[str, threading.Lock] = {}


def canonical_target(target: Path) -> str:
    """The real path of ``target`` (symlinks resolved, a non-existent tail kept): the lock key."""
    return os.path.realpath(os.path.abspath(target))


def lock_file_for(target: Path, telemetry_root: Path) -> Path:
    """``<TelemetryRoot>/.locks/<first 16 hex of SHA-256 of the canonical target>.lock`` (never deleted)."""
    digest = hashlib.sha256(canonical_target(target).encode("utf-8")).hexdigest()[:16]
    return telemetry_root / ".locks" / f"{digest}.lock"


@contextmanager
def capture_lock(target: Path, telemetry_root: Path) -> Iterator[None]:
    """Hold the in-process mutex and the OS lock of ``target``, or fail at once with ``capture_in_progress``.

    Non-blocking by design: a second request for the same capture is answered immediately instead of
    queueing behind a long generation.
    """
    key = canonical_target(target)
    with _guard:
        mutex = _mutexes.setdefault(key, threading.Lock())
    if not mutex.acquire(blocking=False):
        raise CaptureInProgress(IN_PROGRESS_MESSAGE)
    try:
        fd = _open_lock_file(lock_file_for(target, telemetry_root))
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CaptureInProgress(IN_PROGRESS_MESSAGE) from None
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        mutex.release()


def _open_lock_file(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WriteFailed(
            f"Cannot create the capture lock in the telemetry root: {exc.strerror or exc}. "
            "Check that the telemetry root (--telemetry-root, FLOWTIME_TELEMETRY_ROOT) is a writable directory."
        ) from exc
