"""`flowtime sim list | show | generate | validate`: output, files written and local-tool exit codes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from tests.sim.factories import template_text
from typer.testing import CliRunner, Result

from flowtime.cli.context import set_settings, settings_of
from flowtime.cli.sim import app
from flowtime.logs import configure_logging
from flowtime.model import validate_model


@pytest.fixture(autouse=True)
def logs() -> io.StringIO:
    """Send FlowTime's JSON log lines to a buffer, so stderr holds only what the command prints (a handler
    left by an earlier test may point at a stream that is closed by now)."""
    buffer = io.StringIO()
    configure_logging(logging.INFO, stream=buffer)
    return buffer


@pytest.fixture
def templates_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty extra templates directory for this invocation's settings (restored afterwards)."""
    directory = tmp_path / "templates"
    directory.mkdir()
    previous = settings_of()
    set_settings(replace(previous, templates_dir=directory))
    try:
        yield directory
    finally:
        set_settings(previous)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


# ------------------------------------------------------------------------------------------- list/show


def test_list_text_names_every_template(templates_dir: Path) -> None:
    result = invoke("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Templates: 8"
    assert "ID: http-service" in lines and "Title: HTTP Service" in lines
    assert lines.count("Parameters: 6") == 2  # http-service, network-reliability
    assert [line for line in lines if line.startswith("ID: ")][-1] == "ID: transportation-basic"


def test_list_json_is_the_summary_array_and_includes_the_extra_directory(templates_dir: Path) -> None:
    (templates_dir / "checkout.yaml").write_text(template_text(), encoding="utf-8")
    result = invoke("list", "--format", "json")
    assert result.exit_code == 0
    summaries = json.loads(result.stdout)
    assert [s["id"] for s in summaries][:2] == ["checkout", "http-service"]
    assert summaries[0] == {
        "id": "checkout",
        "title": "Checkout",
        "description": None,
        "category": "general",
        "tags": [],
        "captureKey": "checkout-telemetry",
        "version": "1.0.0",
        "stochastic": False,
        "parameterCount": 5,
    }


def test_show_text_lists_typed_parameters_with_defaults_and_bounds(templates_dir: Path) -> None:
    result = invoke("show", "http-service")
    assert result.exit_code == 0
    assert "Title: HTTP Service" in result.stdout
    assert "Capture key: http-service-telemetry" in result.stdout
    assert "  bins: integer = 8 [1..1440]\n" in result.stdout
    assert (
        "  requestPattern: array of int = [80, 95, 120, 150, 165, 140, 110, 90] [0..1000000]\n"
        in result.stdout
    )
    assert "  errorRate: number = 0.02 [0..1]\n" in result.stdout
    assert '  telemetryRequestsSource: string = ""\n' in result.stdout


def test_show_json_has_typed_defaults(templates_dir: Path) -> None:
    detail = json.loads(invoke("show", "order-system", "--format", "json").stdout)
    parameters = {p["name"]: p for p in detail["parameters"]}
    assert parameters["orderCapacity"]["defaultValue"] == [60] * 12
    assert parameters["orderCapacity"]["arrayOf"] == "int"
    assert parameters["paymentShare"] == {
        "name": "paymentShare",
        "type": "number",
        "arrayOf": None,
        "title": "Share sent to payment",
        "description": "Share of successful orders that continue to the payment service (0 to 1).",
        "defaultValue": 0.9,
        "min": 0,
        "max": 1,
    }


def test_unknown_template_is_a_failure_with_exit_1(templates_dir: Path) -> None:
    result = invoke("show", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error [template_not_found]: Template not found: nope\n"


def test_bad_format_is_a_usage_error(templates_dir: Path) -> None:
    assert invoke("list", "--format", "xml").exit_code == 2


# ---------------------------------------------------------------------------------------------- generate


def test_generate_prints_the_model_to_stdout(templates_dir: Path) -> None:
    result = invoke("generate", "http-service")
    assert result.exit_code == 0
    assert result.stdout.startswith("schemaVersion: 1\ngenerator: flowtime-sim\nmode: simulation\n")
    assert "\nprovenance:\n  source: flowtime-sim\n" in result.stdout
    assert validate_model(result.stdout) == []
    assert result.stderr == ""


def test_generate_with_params_file_param_overrides_mode_out_and_provenance(
    templates_dir: Path, tmp_path: Path
) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"bins": 4, "binSize": 5, "requestPattern": [1, 2, 3, 4]}), encoding="utf-8")
    out, provenance = tmp_path / "model.yaml", tmp_path / "provenance.json"
    result = invoke(
        "generate", "http-service", "--params", str(params), "--param", "binSize=2",
        "--param", "telemetryRequestsSource=file:///srv/capture/http/arrivals.csv",
        "--mode", "telemetry", "--out", str(out), "--provenance", str(provenance),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    model = out.read_text(encoding="utf-8")
    assert "\nmode: telemetry\n" in model
    assert "    source: file:///srv/capture/http/arrivals.csv\n" in model
    written = json.loads(provenance.read_text(encoding="utf-8"))
    assert written["parameters"]["bins"] == 4 and written["parameters"]["binSize"] == 2
    assert written["mode"] == "telemetry" and written["templateId"] == "http-service"
    assert len(written["modelId"]) == 64 and int(written["modelId"], 16) >= 0
    assert provenance.read_text(encoding="utf-8").endswith("}\n")


def test_model_id_is_stable_between_two_cli_generations(
    templates_dir: Path, tmp_path: Path, logs: io.StringIO
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert invoke("generate", "order-system", "--provenance", str(first)).exit_code == 0
    assert invoke("generate", "order-system", "--provenance", str(second)).exit_code == 0
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    assert a["modelId"] == b["modelId"]
    assert a["generatedAt"] != b["generatedAt"]
    generated = [json.loads(line) for line in logs.getvalue().splitlines() if '"eventId": 1003' in line]
    assert [(e["event"], e["templateId"], e["modelId"]) for e in generated] == [
        ("TemplateGenerated", "order-system", a["modelId"]),
        ("TemplateGenerated", "order-system", a["modelId"]),
    ]


def test_embed_provenance_with_provenance_is_a_usage_error_and_writes_nothing(
    templates_dir: Path, tmp_path: Path
) -> None:
    out, provenance = tmp_path / "m.yaml", tmp_path / "p.json"
    result = invoke(
        "generate", "http-service", "--embed-provenance", "--provenance", str(provenance), "--out", str(out)
    )
    assert result.exit_code == 2
    assert not out.exists() and not provenance.exists()
    assert invoke("generate", "http-service", "--embed-provenance", "--out", str(out)).exit_code == 0


def test_parameter_errors_are_printed_one_per_line_and_nothing_is_written(
    templates_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.yaml"
    result = invoke(
        "generate", "http-service", "--param", "bins=0", "--param", "errorRate=high",
        "--param", "colour=red", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error [parameter_below_minimum]: Parameter 'bins' value 0 is below minimum 1.",
        "Error [parameter_type]: Parameter 'errorRate' must be a number.",
        "Error [parameter_unknown]: Unknown parameter 'colour' for template 'http-service'.",
    ]
    assert not out.exists()


def test_wrong_array_length_is_reported(templates_dir: Path) -> None:
    result = invoke("generate", "http-service", "--param", "requestPattern=[1, 2, 3]")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error [parameter_length_mismatch]: Parameter 'requestPattern' provides 3 values but grid.bins is 8; "
        "const node 'http_arrivals' requires matching length.\n"
    )


def test_invalid_mode_and_bad_param_syntax_are_usage_errors(templates_dir: Path) -> None:
    result = invoke("generate", "http-service", "--mode", "replay")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error [invalid_mode]: Invalid mode 'replay'. Expected 'simulation' or 'telemetry'.\n",
    )
    assert invoke("generate", "http-service", "--param", "bins").exit_code == 2


def test_params_file_problems(templates_dir: Path, tmp_path: Path) -> None:
    missing = invoke("generate", "http-service", "--params", str(tmp_path / "none.json"))
    assert missing.exit_code == 1 and missing.stderr.startswith("Error [params_unreadable]:")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    result = invoke("generate", "http-service", "--params", str(bad))
    assert result.exit_code == 2 and "must hold a JSON object" in result.stderr


def test_unknown_template_on_generate_exits_1(templates_dir: Path) -> None:
    result = invoke("generate", "does-not-exist")
    assert result.exit_code == 1
    assert result.stderr == "Error [template_not_found]: Template not found: does-not-exist\n"


def test_verbose_prints_flags_to_stderr(templates_dir: Path) -> None:
    result = invoke("generate", "network-reliability", "--verbose")
    assert result.exit_code == 0
    assert "Mode: simulation\nSchema Version: 1\nHas Window: true\nHas Topology: true\n" in result.stderr
    assert "Has Telemetry Sources: false\n" in result.stderr
    model_id = next(
        line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith("  modelId: ")
    )
    assert f"Model ID: {model_id}\n" in result.stderr


# ---------------------------------------------------------------------------------------------- validate


def test_validate_a_good_template(tmp_path: Path) -> None:
    path = tmp_path / "checkout.yaml"
    path.write_text(template_text(), encoding="utf-8")
    result = invoke("validate", str(path))
    assert (result.exit_code, result.stdout) == (0, "Template is valid.\n")


def test_validate_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    text = (
        template_text()
        .replace("  timezone: UTC", "  timezone: CET")
        .replace('expr: "demand - served"', 'expr: "demand - servd"')
        .replace("      kind: service\n", "      kind: service\n      owner: sre\n")
    )
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "Error [template_schema_violation]: Template schema: 'CET' does not match '^[Uu][Tt][Cc]$'. "
        "(window.timezone)",
        "Error [template_schema_violation]: Unknown key 'owner' is not part of the template format. "
        "(topology.nodes[0].owner)",
        "Error [window_timezone_unsupported]: Template window.timezone 'CET' is not supported; only 'UTC' is "
        "allowed. (window.timezone)",
        "Error [unknown_reference]: Node unmet: unknown node reference 'servd' (nodes[3].expr)",
        "Template is invalid: 4 error(s).",
    ]


def test_validate_json_and_yaml_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("metadata: {id: x\n", encoding="utf-8")
    result = invoke("validate", str(path), "--format", "json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["valid"] is False and body["templateId"] is None and body["warnings"] == []
    assert [e["code"] for e in body["errors"]] == ["template_yaml_error"]
    assert set(body["errors"][0]) == {"code", "message", "path"}


def test_validate_a_template_whose_placeholder_has_no_parameter(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(template_text().replace("binSize: 15", "binSize: ${size}"), encoding="utf-8")
    result = invoke("validate", str(path), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [
        {
            "code": "placeholder_undeclared",
            "message": "Placeholder '${size}' does not match any declared parameter.",
            "path": None,
        }
    ]


def test_validate_missing_file_exits_1(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "none.yaml"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error [template_unreadable]: Cannot read template file")


def test_every_shipped_template_validates(templates_dir: Path) -> None:
    for entry in resources.files("flowtime.sim").joinpath("templates").iterdir():
        path = templates_dir / entry.name
        path.write_bytes(entry.read_bytes())
        result = invoke("validate", str(path))
        assert (result.exit_code, result.stdout) == (0, "Template is valid.\n"), entry.name
