"""`flowtime validate | run | eval`: outputs, JSON shapes and exit codes of api.md §11."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowtime.cli.main import app, hoist_global_options

WORKED_EXAMPLE = (
    "schemaVersion: 1\n"
    "grid:\n  bins: 4\n  binSize: 15\n  binUnit: minutes\n"
    "nodes:\n"
    "  - id: calls\n    kind: const\n    values: [12, 15, 9, 0]\n"
    '  - id: handled\n    kind: expr\n    expr: "MIN(calls, 10)"\n'
    '  - id: handle_rate\n    kind: expr\n    expr: "handled / calls"\n'
    "outputs:\n  - series: handled\n  - series: handle_rate\n"
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _write(tmp_path: Path, text: str, name: str = "model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(runner: CliRunner, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, hoist_global_options(list(args)))


def test_validate_valid_model_prints_verdict(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "validate", str(_write(tmp_path, WORKED_EXAMPLE)))
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("Model is valid.")


def test_validate_json_lists_every_problem(runner: CliRunner, tmp_path: Path) -> None:
    text = (
        "schemaVersion: 1\ngrid: {bins: 3, binSize: 1, binUnit: hours}\nnodes:\n"
        "  - {id: demand, kind: const, values: [5, 5]}\n"
        '  - {id: spill, kind: expr, expr: "LOG(demand)"}\n'
    )
    result = invoke(runner, "validate", str(_write(tmp_path, text)), "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["valid"] is False
    assert body["errorCount"] == 2
    assert [p["code"] for p in body["problems"]] == ["const_length_mismatch", "unknown_function"]
    assert body["problems"][1]["message"] == "Node spill: Unknown function: LOG"


def test_validate_text_prints_problem_lines(runner: CliRunner, tmp_path: Path) -> None:
    text = "schemaVersion: 1\ngrid: {bins: 3, binSize: 1, binUnit: hours}\nnodes:\n  - {id: a, values: [1]}\n"
    result = invoke(runner, "validate", str(_write(tmp_path, text)))
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0] == (
        "Error [const_length_mismatch]: ConstSeriesNode a: values length 1 != grid length 3 (nodes[0].values)"
    )
    assert lines[-1] == "Model is invalid: 1 error(s)."


def test_run_deterministic_matches_the_worked_example(runner: CliRunner, tmp_path: Path) -> None:
    model = _write(tmp_path, WORKED_EXAMPLE)
    out = tmp_path / "runs"
    result = invoke(runner, "run", str(model), "--out", str(out), "--deterministic-run-id", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body == {
        "runId": "run_deterministic_93753120",
        "runDir": str(out / "run_deterministic_93753120"),
        "scenarioHash": "sha256:93753120601ba5cb7063ef3cb453830e13f94206dab2eb72825d11828a693054",
        "series": 2,
    }
    csv = (out / "run_deterministic_93753120" / "series" / "handle_rate@HANDLE_RATE@DEFAULT.csv").read_text()
    assert csv == "bin_index,value\n0,0.8333333333333334\n1,0.6666666666666666\n2,1\n3,0\n"


def test_run_text_output_and_default_runs_root(runner: CliRunner, tmp_path: Path) -> None:
    model = _write(tmp_path, WORKED_EXAMPLE)
    result = invoke(runner, "run", str(model), "--run-id", "first", "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Run ID: first",
        f"Run directory: {(tmp_path / 'd' / 'first').absolute()}",
    ]
    assert (tmp_path / "d" / "first" / "run.json").is_file()


def test_run_existing_explicit_id_fails_without_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    model = _write(tmp_path, WORKED_EXAMPLE)
    args = ["run", str(model), "--out", str(tmp_path), "--run-id", "dup"]
    assert invoke(runner, *args).exit_code == 0
    again = invoke(runner, *args)
    assert again.exit_code == 1
    assert "Error [run_exists]: Run directory 'dup' already exists. Enable Overwrite to replace it." in again.stderr
    assert invoke(runner, *args, "--overwrite").exit_code == 0


def test_run_invalid_run_id_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    model = _write(tmp_path, WORKED_EXAMPLE)
    result = invoke(runner, "run", str(model), "--out", str(tmp_path), "--run-id", "../escape", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"error": "runId '../escape' is invalid.", "code": "invalid_run_id"}
    assert not (tmp_path.parent / "escape").exists()


def test_run_non_integer_seed_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "run", str(_write(tmp_path, WORKED_EXAMPLE)), "--seed", "abc")
    assert result.exit_code == 2


def test_run_model_error_json_body(runner: CliRunner, tmp_path: Path) -> None:
    text = (
        "schemaVersion: 1\ngrid: {bins: 2, binSize: 1, binUnit: hours}\nnodes:\n"
        '  - {id: a, kind: expr, expr: "b + 1"}\n'
    )
    result = invoke(runner, "run", str(_write(tmp_path, text)), "--out", str(tmp_path / "r"), "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["code"] == "model_invalid"
    assert body["error"] == "Node a: unknown node reference 'b'"
    assert [p["code"] for p in body["errors"]] == ["unknown_reference"]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_eval_json_summary(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "eval", str(_write(tmp_path, WORKED_EXAMPLE)), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["bins"] == 4 and body["columns"] == 3
    assert body["series"][0] == {"id": "calls", "sum": 36, "min": 0, "max": 15}
    assert body["series"][1] == {"id": "handled", "sum": 29, "min": 0, "max": 10}
    rate = body["series"][2]
    assert rate["id"] == "handle_rate" and rate["min"] == 0 and rate["max"] == 1
    assert rate["sum"] == pytest.approx(0.8333333333333334 + 0.6666666666666666 + 1)


def test_eval_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    model = _write(tmp_path, WORKED_EXAMPLE)
    before = sorted(tmp_path.rglob("*"))
    assert invoke(runner, "eval", str(model), "--data-dir", str(tmp_path / "d")).exit_code == 0
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "yaml_empty"),
        ("schemaVersion: 1\ngrid: [unclosed\n", "yaml_syntax"),
        ("- just\n- a list\n", "invalid_type"),
        ("hello world\n", "invalid_type"),
        ("schemaVersion: 1\ngrid: {bins: 2000000, binSize: 1, binUnit: hours}\n", "grid_invalid"),
        (
            "schemaVersion: 1\ngrid: {bins: 2, binSize: 1, binUnit: hours}\nnodes:\n  - {id: a, values: [1, NaN]}\n",
            "invalid_value",
        ),
        (
            "schemaVersion: 1\ngrid: {bins: 1, binSize: 1, binUnit: hours}\nnodes:\n  - {id: a, values: [1]}\n"
            "  - {id: A, values: [1]}\n",
            "duplicate_id",
        ),
        (
            "schemaVersion: 1\ngrid: {bins: 1, binSize: 1, binUnit: hours}\nnodes:\n  - {id: a, kind: blob}\n",
            "unknown_node_kind",
        ),
        (
            "schemaVersion: 1\ngrid: {bins: 1, binSize: 1, binUnit: hours}\nnodes:\n"
            '  - {id: a, kind: expr, expr: "2 ** 3"}\n',
            "expr_parse_error",
        ),
        (
            "schemaVersion: 1\ngrid: {bins: 1, binSize: 1, binUnit: hours}\nnodes:\n"
            '  - {id: a, kind: const, source: "file:missing.csv"}\n',
            "source_not_found",
        ),
        ("schemaVersion: 1\ngrid: {bins: many, binSize: 1, binUnit: hours}\n", "grid_invalid"),
        ("schemaVersion: 1\ngrid: {bins: 2, binSize: 1, binUnit: hours}\nnodes: {a: 1}\n", "invalid_type"),
        (
            "schemaVersion: 1\ngrid: {bins: 2, binSize: 1, binUnit: hours}\nnodes:\n  - {id: a, values: [1, true]}\n",
            "invalid_value",
        ),
    ],
    ids=[
        "empty",
        "syntax",
        "list",
        "scalar",
        "bins-limit",
        "nan-word",
        "duplicate-id",
        "unknown-kind",
        "expr-typo",
        "missing-source",
        "bins-not-integer",
        "nodes-not-list",
        "boolean-value",
    ],
)
def test_bad_models_exit_1_with_a_coded_error(runner: CliRunner, tmp_path: Path, text: str, code: str) -> None:
    result = invoke(runner, "run", str(_write(tmp_path, text)), "--out", str(tmp_path / "r"), "--json")
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert code in [p["code"] for p in body["errors"]]
    assert "Traceback" not in result.output


def test_syntax_error_names_the_line(runner: CliRunner, tmp_path: Path) -> None:
    text = "schemaVersion: 1\ngrid:\n  bins: 4\n  binSize: [1\n"
    result = invoke(runner, "validate", str(_write(tmp_path, text)), "--json")
    problem = json.loads(result.stdout)["problems"][0]
    assert problem["code"] == "yaml_syntax"
    assert problem["line"] >= 4


def test_missing_model_file_is_unreadable(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "eval", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert f"Error [model_unreadable]: Cannot read model file '{tmp_path / 'nope.yaml'}'." in result.stderr


def test_huge_file_is_rejected_by_the_size_limit(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as fh:
        fh.write("schemaVersion: 1\n# ")
        fh.write("x" * (100 * 1024 * 1024))
        fh.write("\n")
    result = invoke(runner, "validate", str(path), "--json")
    assert result.exit_code == 1
    assert [p["code"] for p in json.loads(result.stdout)["problems"]] == ["limit_exceeded"]


def test_global_options_are_accepted_anywhere() -> None:
    assert hoist_global_options(["run", "m.yaml", "--data-dir", "d", "--json", "--log-level=debug"]) == [
        "--data-dir",
        "d",
        "--log-level=debug",
        "run",
        "m.yaml",
        "--json",
    ]


def test_python_dash_m_entry_point_runs(tmp_path: Path) -> None:
    model = _write(tmp_path, WORKED_EXAMPLE)
    done = subprocess.run(
        [sys.executable, "-m", "flowtime", "eval", str(model), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["columns"] == 3


def test_error_lines_one_per_problem_for_parameter_errors() -> None:
    from flowtime.cli.output import error_lines
    from flowtime.errors import InvalidInput

    class _ParameterInvalid(InvalidInput):
        code = "parameter_invalid"

        def to_dict(self) -> dict[str, object]:
            return {
                "error": self.message,
                "code": self.code,
                "errors": [
                    {"code": "parameter_type", "message": "Parameter 'bins' must be an integer."},
                    {"code": "parameter_above_maximum", "message": "Parameter 'errorRate' value 7 exceeds maximum 1."},
                ],
            }

    assert error_lines(_ParameterInvalid("a; b")) == [
        "Error [parameter_type]: Parameter 'bins' must be an integer.",
        "Error [parameter_above_maximum]: Parameter 'errorRate' value 7 exceeds maximum 1.",
    ]


def test_error_lines_name_the_cli_option_instead_of_the_api_field() -> None:
    from flowtime.cli.output import error_lines
    from flowtime.errors import Conflict

    exc = Conflict(
        "Telemetry bundle already exists (generated at X). Set output.overwrite to regenerate.", code="capture_exists"
    )
    assert error_lines(exc) == [
        "Error [capture_exists]: Telemetry bundle already exists (generated at X). Use --overwrite to regenerate."
    ]


def test_a_telemetry_run_without_a_capture_names_the_options_to_use() -> None:
    from flowtime.cli.output import error_lines
    from flowtime.errors import FlowTimeError

    exc = FlowTimeError("telemetry.captureDirectory is required for telemetry runs.", code="capture_directory_required")
    assert error_lines(exc) == [
        "Error [capture_directory_required]: --capture-dir is required for telemetry runs (the default mode); "
        "use --mode simulation for a simulation run."
    ]
