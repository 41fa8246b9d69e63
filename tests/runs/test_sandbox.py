"""Ids and paths from callers stay inside the configured roots, or are refused with a code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowtime.errors import InvalidInput, PathEscape
from flowtime.runs.sandbox import contain, relative_file, run_directory, validate_series_id


@pytest.mark.parametrize("run_id", ["..", "../etc", ".hidden", "a/b", "", "x" * 129, "run id", "a\\b"])
def test_run_ids_outside_the_allow_list_are_invalid(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_directory(tmp_path, run_id)
    assert caught.value.code == "invalid_run_id"
    assert caught.value.message == f"runId '{run_id}' is invalid."


def test_valid_run_id_names_a_child_of_the_root(tmp_path: Path) -> None:
    assert run_directory(tmp_path, "run_20260302T082003Z_9d3f2a61") == tmp_path / "run_20260302T082003Z_9d3f2a61"


@pytest.mark.parametrize("series_id", ["http_served", "a@A@DEFAULT", "x.y-z"])
def test_series_ids_of_the_allow_list_pass(series_id: str) -> None:
    assert validate_series_id(series_id) == series_id


@pytest.mark.parametrize("series_id", ["../x", "a/b", "", "a b", "x" * 301])
def test_other_series_ids_are_invalid(series_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_series_id(series_id)
    assert caught.value.code == "invalid_series_id"


def test_dotdot_that_leaves_every_root_is_refused_without_naming_the_path(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    with pytest.raises(PathEscape) as caught:
        contain(root / ".." / "secret", [root], given="../secret")
    assert caught.value.code == "path_outside_roots"
    assert str(tmp_path) not in caught.value.message
    assert "'../secret'" in caught.value.message


def test_dotdot_that_stays_inside_is_accepted_and_normalised(tmp_path: Path) -> None:
    assert contain(tmp_path / "a" / ".." / "b", [tmp_path], given="a/../b") == tmp_path / "b"


def test_sibling_with_a_common_prefix_is_not_inside(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    with pytest.raises(PathEscape):
        contain(tmp_path / "runs2" / "x", [tmp_path / "runs"], given="x")


def test_symlink_pointing_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(PathEscape):
        contain(root / "link" / "file.csv", [root], given="link/file.csv")


@pytest.mark.parametrize("name", ["../a.csv", "/etc/passwd", "a/../../b.csv", "", "a\\b.csv", "./a.csv"])
def test_binding_files_must_be_plain_relative_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        relative_file(tmp_path, name, given=name)
    assert caught.value.code == "invalid_binding"


def test_binding_file_inside_a_subdirectory_is_accepted(tmp_path: Path) -> None:
    assert relative_file(tmp_path, "sub/a.csv", given="sub/a.csv") == tmp_path / "sub" / "a.csv"
