"""Staged bundle writes: where staging happens, commit order and overwrite rules, failures leave nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtime.errors import FlowTimeError
from flowtime.telemetry.staging import Staging, staging_parent


def test_staging_goes_to_the_innermost_root_containing_the_target(tmp_path: Path) -> None:
    runs, telemetry = tmp_path / "data", tmp_path / "data" / "telemetry"
    assert staging_parent(telemetry / "web" / "march", [runs, telemetry]) == telemetry
    assert staging_parent(runs / "run_1" / "model" / "telemetry", [runs, telemetry]) == runs
    assert staging_parent(tmp_path / "elsewhere" / "cap", [runs, telemetry]) == tmp_path / "elsewhere"
    assert staging_parent(tmp_path / "data2" / "cap", [runs]) == tmp_path / "data2"


def test_commit_moves_files_and_overwrite_keeps_dot_files_directories_and_kept_names(tmp_path: Path) -> None:
    target = tmp_path / "cap"
    target.mkdir()
    for name in ("old.csv", ".hidden", "telemetry-manifest.json", "manifest.json"):
        (target / name).write_text("old")
    (target / "sub").mkdir()
    with Staging(tmp_path) as staging:
        staging.write("manifest.json", b"{}\n")
        staging.write("a.csv", [b"bin_index,value\n", b"0,1\n"])
        staging.commit(target, overwrite=True, keep=["telemetry-manifest.json"])
    assert sorted(p.name for p in target.iterdir()) == [
        ".hidden",
        "a.csv",
        "manifest.json",
        "sub",
        "telemetry-manifest.json",
    ]
    assert (target / "a.csv").read_bytes() == b"bin_index,value\n0,1\n"
    assert (target / "telemetry-manifest.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_overwrite_of_a_directory_that_is_not_a_capture_deletes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "notes"
    target.mkdir()
    (target / "todo.txt").write_text("mine")
    with Staging(tmp_path) as staging:
        staging.write("a.csv", b"bin_index,value\n0,1\n")
        staging.write("manifest.json", b"{}\n")
        staging.commit(target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["a.csv", "manifest.json", "todo.txt"]


def test_leaving_without_commit_removes_the_staging_directory(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Staging(tmp_path) as staging:
        staging.write("a.csv", b"x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_parent_that_cannot_hold_a_staging_directory_is_write_failed(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(FlowTimeError) as info:
        Staging(tmp_path / "file")
    assert info.value.code == "write_failed"
    assert f"cannot create a staging directory in '{tmp_path / 'file'}'" in info.value.message
