"""Settings: options beat environment variables, which beat the api.md §1.2 defaults."""

from __future__ import annotations

from pathlib import Path

from flowtime.runs import Settings


def test_defaults_follow_the_data_dir(tmp_path: Path) -> None:
    s = Settings.resolve(data_dir=tmp_path / "d", env={})
    assert s.runs_root == (tmp_path / "d").absolute()
    assert s.telemetry_root == (tmp_path / "d" / "telemetry").absolute()
    assert s.templates_dir is None and s.allowed_roots == ()
    assert (s.host, s.port, s.state_window_max) == ("127.0.0.1", 8080, 500)


def test_environment_is_used_when_no_option(tmp_path: Path) -> None:
    env = {
        "FLOWTIME_DATA_DIR": str(tmp_path / "data"),
        "FLOWTIME_RUNS_ROOT": str(tmp_path / "runs"),
        "FLOWTIME_ALLOWED_ROOTS": f"{tmp_path / 'a'}:{tmp_path / 'b'}",
        "FLOWTIME_STATE_WINDOW_MAX": "100",
    }
    s = Settings.resolve(env=env)
    assert s.runs_root == tmp_path / "runs"
    assert s.telemetry_root == tmp_path / "data" / "telemetry"
    assert s.allowed_roots == (tmp_path / "a", tmp_path / "b")
    assert s.state_window_max == 100


def test_option_wins_over_environment(tmp_path: Path) -> None:
    s = Settings.resolve(runs_root=tmp_path / "opt", env={"FLOWTIME_RUNS_ROOT": str(tmp_path / "env")})
    assert s.runs_root == tmp_path / "opt"


def test_ensure_roots_creates_and_canonicalises(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    s = Settings.resolve(data_dir=tmp_path / "link", env={}).ensure_roots()
    assert s.runs_root == (tmp_path / "real").resolve()
    assert (tmp_path / "real" / "telemetry").is_dir()
    assert s.sandbox_roots == (s.runs_root, s.telemetry_root)
