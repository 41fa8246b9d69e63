"""Scenario, model and file hashes (§13) on the §17 worked example."""

from __future__ import annotations

from pathlib import Path

from tests.artifacts.factories import EXAMPLE_TEXT

from flowtime.artifacts import file_hash, hashes_equal, model_hash, scenario_hash, sha256_bytes


def test_scenario_hash_without_caller_seed() -> None:
    assert scenario_hash(EXAMPLE_TEXT, None) == (
        "sha256:93753120601ba5cb7063ef3cb453830e13f94206dab2eb72825d11828a693054"
    )


def test_scenario_hash_with_caller_seed_7() -> None:
    assert scenario_hash(EXAMPLE_TEXT, 7) == ("sha256:cb10dfbb24be577d4de2bbaa5f4c1214b27509e2de12ef721b33b9136ead2bbf")


def test_scenario_hash_payload_is_stripped_text_seed_and_null() -> None:
    assert scenario_hash("  a: 1\n\n", -7) == sha256_bytes(b"a: 1\n-7\nnull")
    assert scenario_hash("a: 1", None) == sha256_bytes(b"a: 1\nnull\nnull")
    assert scenario_hash("a: 1", 0) != scenario_hash("a: 1", None)


def test_model_hash_is_of_the_model_yaml_bytes() -> None:
    assert model_hash(EXAMPLE_TEXT.encode()) == (
        "sha256:bb51c9ffe4be1c4b495314930630cb693c9ddafee04b58e340c05f0822dd7d90"
    )


def test_file_hash_hashes_stored_bytes_including_bom(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfbin_index,value\r\n0,1\r\n")
    assert file_hash(path) == sha256_bytes(b"\xef\xbb\xbfbin_index,value\r\n0,1\r\n")


def test_hashes_equal_ignores_case_and_whitespace() -> None:
    assert hashes_equal("sha256:ABCDEF", " sha256:abcdef ")
    assert not hashes_equal("sha256:ab", "sha256:ac")
    assert not hashes_equal(None, None)
