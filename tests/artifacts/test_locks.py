"""The per-run-id lock holds across threads and processes (§14.1)."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

from tests.artifacts.factories import EXAMPLE_TEXT, example_evaluation, example_model

from flowtime.artifacts import open_bundle, run_lock, write_run


def test_lock_file_lives_outside_the_run(tmp_path: Path) -> None:
    with run_lock(tmp_path, "run_1"):
        assert (tmp_path / ".locks" / "run_1.lock").is_file()
    assert not (tmp_path / "run_1").exists()
    assert (tmp_path / ".locks" / "run_1.lock").is_file()  # never deleted: every process locks one inode


def test_lock_excludes_other_processes_while_held(tmp_path: Path) -> None:
    lock_file = tmp_path / ".locks" / "run_1.lock"
    with run_lock(tmp_path, "run_1"):
        fd = os.open(lock_file, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held_elsewhere = False
            except BlockingIOError:
                held_elsewhere = True
        finally:
            os.close(fd)
    assert held_elsewhere
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once released
    finally:
        os.close(fd)


def test_lock_serialises_threads_of_one_run_id_only(tmp_path: Path) -> None:
    inside: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    guard = threading.Lock()

    def work(run_id: str) -> None:
        for _ in range(20):
            with run_lock(tmp_path, run_id):
                with guard:
                    inside.append(run_id)
                    if inside.count(run_id) > 1:
                        overlaps.append(tuple(inside))
                with guard:
                    inside.remove(run_id)

    threads = [threading.Thread(target=work, args=(rid,)) for rid in ("a", "a", "a", "b", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def _write_deterministic(root: str, start: Any) -> None:
    model = example_model()
    evaluation = example_evaluation(model)
    start.wait(timeout=60)  # every process is ready: the writes overlap
    write_run(
        Path(root),
        spec_text=EXAMPLE_TEXT,
        model=model,
        evaluation=evaluation,
        deterministic=True,
    )


def test_processes_writing_the_same_run_leave_one_valid_run(tmp_path: Path) -> None:
    # spawn, not fork: a fork of the multi-threaded test process can inherit a lock some other thread holds
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    processes = [context.Process(target=_write_deterministic, args=(str(tmp_path), start)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)

    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "run_deterministic_93753120"]
    assert open_bundle(tmp_path / "run_deterministic_93753120").verify() == ()
