"""`flowtime sim list | show | generate | validate`: output, files written and local-tool exit codes."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from tests.sim.factories import CHECKOUT_SUMMARY, template_text
from typer.testing import CliRunner, Result

from flowtime.cli.context import set_settings, settings_of
from flowtime.cli.main import app as flowtime_app
from flowtime.cli.main import hoist_global_options
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


@pytest.fixture
def restored_settings() -> Iterator[None]:
    """The `flowtime` callback replaces the process settings; put the previous ones back afterwards."""
    previous = settings_of()
    try:
        yield
    finally:
        set_settings(previous)


@pytest.mark.usefixtures("restored_settings")
def test_extra_templates_come_from_the_global_option_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "checkout.yaml").write_text(template_text(), encoding="utf-8")
    monkeypatch.delenv("FLOWTIME_TEMPLATES_DIR", raising=False)
    argv = hoist_global_options(["sim", "show", "checkout", "--templates-dir", str(extra)])
    shown = CliRunner().invoke(flowtime_app, argv)
    assert shown.exit_code == 0 and "ID: checkout\n" in shown.stdout
    monkeypatch.setenv("FLOWTIME_TEMPLATES_DIR", str(extra))
    listed = CliRunner().invoke(flowtime_app, ["sim", "list", "--format", "json"])
    assert listed.exit_code == 0
    assert [t["id"] for t in json.loads(listed.stdout)][:2] == ["checkout", "http-service"]
    monkeypatch.setenv("FLOWTIME_TEMPLATES_DIR", str(tmp_path / "missing"))
    failed = CliRunner().invoke(flowtime_app, ["sim", "list"])
    assert failed.exit_code == 1
    assert failed.stderr == (
        f"Error [templates_dir_not_found]: Templates directory '{tmp_path / 'missing'}' does not exist or is not "
        "a directory.\n"
    )


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
    assert summaries[0] == CHECKOUT_SUMMARY


def test_show_text_lists_typed_parameters_with_defaults_and_bounds(templates_dir: Path) -> None:
    result = invoke("show", "http-service")
    assert result.exit_code == 0
    assert "Title: HTTP Service" in result.stdout
    assert "Capture key: http-service-telemetry" in result.stdout
    assert "  bins: integer = 8 [1..1440]\n" in result.stdout
    assert "  requestPattern: array of int = [80, 95, 120, 150, 165, 140, 110, 90] [0..1000000]\n" in result.stdout
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


NOT_FOUND_HINT = "Run 'flowtime sim list' for the available template ids; add your own with --templates-dir."


def test_unknown_template_is_a_failure_with_exit_1_and_says_where_to_look(templates_dir: Path) -> None:
    result = invoke("show", "nope")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error [template_not_found]: Template not found: nope", NOT_FOUND_HINT]


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


def test_generate_with_params_file_param_overrides_mode_out_and_provenance(templates_dir: Path, tmp_path: Path) -> None:
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
    assert re.fullmatch("[0-9a-f]{64}", written["modelId"])
    assert provenance.read_text(encoding="utf-8").endswith("}\n")


def test_model_id_is_stable_between_two_cli_generations(templates_dir: Path, tmp_path: Path, logs: io.StringIO) -> None:
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


def test_parameter_errors_are_printed_one_per_line_and_nothing_is_written(templates_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.yaml"
    result = invoke(
        "generate", "http-service", "--param", "bins=0", "--param", "errorRate=high",
        "--param", "colour=red", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error [parameter_below_minimum]: Parameter 'bins' value 0 is below minimum 1.",
        "Error [parameter_type]: Parameter 'errorRate' must be a number.",
        "Error [parameter_unknown]: Unknown parameter 'colour' for template 'http-service'.",
        "Run 'flowtime sim show http-service' for the parameters, their types and bounds.",
    ]
    assert not out.exists()


def test_wrong_array_length_is_reported_at_the_const_node(templates_dir: Path) -> None:
    result = invoke("generate", "http-service", "--param", "requestPattern=[1, 2, 3]")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error [parameter_length_mismatch]: Parameter 'requestPattern' provides 3 values but grid.bins is 8; "
        "const node 'http_arrivals' requires matching length. (nodes[0].values)\n"
    )


def test_invalid_mode_and_bad_param_syntax_are_usage_errors(templates_dir: Path) -> None:
    result = invoke("generate", "http-service", "--mode", "replay")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error [invalid_mode]: Invalid mode 'replay'. Expected 'simulation' or 'telemetry'.\n",
    )
    assert invoke("generate", "http-service", "--param", "bins").exit_code == 2


def test_params_file_problems_name_the_file_and_the_reason(templates_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    result = invoke("generate", "http-service", "--params", str(missing))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error [params_unreadable]: Cannot read parameter file '{missing}': No such file or directory.\n",
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"bins": 4,\n "binSize" 5}', encoding="utf-8")
    result = invoke("generate", "http-service", "--params", str(broken))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error [invalid_params]: Parameter file '{broken}' is not valid JSON: Expecting ':' delimiter "
        "(line 2, column 12).\n",
    )
    array = tmp_path / "array.json"
    array.write_text("[1, 2]", encoding="utf-8")
    result = invoke("generate", "http-service", "--params", str(array))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error [invalid_params]: Parameter file '{array}' must hold a JSON object of parameter values, "
        'e.g. {"bins": 12}.\n',
    )


def test_unknown_template_on_generate_exits_1(templates_dir: Path) -> None:
    result = invoke("generate", "does-not-exist")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error [template_not_found]: Template not found: does-not-exist",
        NOT_FOUND_HINT,
    ]


def test_string_parameters_take_the_param_text_as_it_is(templates_dir: Path, tmp_path: Path) -> None:
    (templates_dir / "checkout.yaml").write_text(template_text(), encoding="utf-8")
    provenance = tmp_path / "p.json"
    result = invoke(
        "generate", "checkout", "--param", "demandSource=123", "--param", "capacity=30",
        "--provenance", str(provenance), "--out", str(tmp_path / "m.yaml"),
    )  # fmt: skip
    # 123 is not a file: URI, so the model rule rejects it; as a string, not as "must be a string"
    assert (result.exit_code, result.stderr) == (
        1,
        "Error [uri_unsupported]: Unsupported URI scheme for '123'. Only file: URIs are supported. (nodes[0].source)\n",
    )
    result = invoke(
        "generate", "checkout", "--param", "capacity=30", "--provenance", str(provenance),
        "--out", str(tmp_path / "m.yaml"),
    )  # fmt: skip
    assert result.exit_code == 0
    assert json.loads(provenance.read_text(encoding="utf-8"))["parameters"]["capacity"] == 30


def test_unwritable_output_names_the_path_and_the_reason(templates_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "m.yaml"
    result = invoke("generate", "http-service", "--out", str(target))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error [write_failed]: Cannot write '{target}': No such file or directory.\n",
    )


def test_a_broken_file_in_the_templates_dir_is_skipped_with_a_note(templates_dir: Path) -> None:
    (templates_dir / "broken.yaml").write_text("metadata: {id: broken\n", encoding="utf-8")
    result = invoke("generate", "broken")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Warning: 1 template file(s) in '{templates_dir}' could not be loaded and were skipped; "
        "run 'flowtime sim validate FILE' on a file to see why.",
        "Error [template_not_found]: Template not found: broken",
        NOT_FOUND_HINT,
    ]
    listed = invoke("list", "--format", "json")
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 8


def test_a_listed_template_lacking_sections_fails_to_generate_with_every_problem(templates_dir: Path) -> None:
    (templates_dir / "bare.yaml").write_text(template_text(window="", topology=""), encoding="utf-8")
    result = invoke("generate", "checkout")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error [window_required]: Template must define window.start (window.timezone defaults to UTC). (window)",
        "Error [topology_required]: Template topology must define at least one node. (topology.nodes)",
    ]


# Every bad input: (arguments, exit code, the code of the first error line). Never a traceback.
BAD_INPUTS = [
    (["show", "nope"], 1, "template_not_found"),
    (["generate", "nope"], 1, "template_not_found"),
    (["generate", "http-service", "--param", "bins=many"], 1, "parameter_type"),
    (["generate", "http-service", "--param", "bins=2000"], 1, "parameter_above_maximum"),
    (["generate", "http-service", "--param", "requestPattern=[1, 2, -3, 4, 5, 6, 7, 8]"], 1, "parameter_below_minimum"),
    (["generate", "http-service", "--param", "requestPattern=[1, 2]"], 1, "parameter_length_mismatch"),
    (["generate", "http-service", "--param", "colour=red"], 1, "parameter_unknown"),
    (["generate", "http-service", "--param", "bins"], 2, "invalid_param"),
    (["generate", "http-service", "--param", "=4"], 2, "invalid_param"),
    (["generate", "http-service", "--mode", "replay"], 2, "invalid_mode"),
    (["generate", "http-service", "--embed-provenance", "--provenance", "p.json"], 2, "usage"),
    (["generate", "http-service", "--params", "missing.json"], 1, "params_unreadable"),
    (["generate"], 2, None),
    (["generate", "http-service", "--bogus"], 2, None),
    (["show"], 2, None),
    (["list", "--format", "xml"], 2, None),
    (["validate"], 2, None),
    (["validate", "missing.yaml"], 1, "template_unreadable"),
]


@pytest.mark.parametrize(("args", "exit_code", "code"), BAD_INPUTS)
def test_bad_inputs_exit_with_the_local_tool_codes_and_a_clear_line(
    templates_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    exit_code: int,
    code: str | None,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == exit_code
    assert not isinstance(result.exception, Exception)  # SystemExit only: no traceback
    assert "Traceback" not in result.output
    if code is not None:
        assert result.stderr.startswith(f"Error [{code}]: ")
    assert result.stdout == ""


def test_verbose_prints_flags_to_stderr(templates_dir: Path) -> None:
    result = invoke("generate", "network-reliability", "--verbose")
    assert result.exit_code == 0
    assert "Mode: simulation\nSchema Version: 1\nHas Window: true\nHas Topology: true\n" in result.stderr
    assert "Has Telemetry Sources: false\n" in result.stderr
    model_id = next(line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith("  modelId: "))
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
        "Error [template_schema_violation]: Unknown key 'owner' is not part of the template format. "
        "(topology.nodes[0].owner)",
        "Error [window_timezone_unsupported]: Template window.timezone 'CET' is not supported; only 'UTC' is "
        "allowed. (window.timezone)",
        "Error [unknown_reference]: Node unmet: unknown node reference 'servd' (nodes[3].expr)",
        "Template is invalid: 3 error(s).",
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
            "path": "grid.binSize",
        }
    ]


def test_validate_missing_file_exits_1(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    result = invoke("validate", str(missing))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error [template_unreadable]: Cannot read template file '{missing}': No such file or directory.\n",
    )


def test_every_shipped_template_validates(templates_dir: Path) -> None:
    for entry in resources.files("flowtime.sim").joinpath("templates").iterdir():
        path = templates_dir / entry.name
        path.write_bytes(entry.read_bytes())
        result = invoke("validate", str(path))
        assert (result.exit_code, result.stdout) == (0, "Template is valid.\n"), entry.name
