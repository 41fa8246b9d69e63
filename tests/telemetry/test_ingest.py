"""Import of long-format telemetry: resampling, gaps, ordering, row accounting, fatal rows, bundle files."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.events import EventLog

from flowtime.artifacts import file_hash, sha256_bytes
from flowtime.errors import FlowTimeError
from flowtime.telemetry.ingest import ImportOptions, grid_from_model, import_telemetry, make_grid, plan_import
from flowtime.telemetry.longformat import ColumnNames
from flowtime.telemetry.manifest import read_manifest

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)

IRREGULAR = """\
time,node,Metric,value,host
2026-03-02T08:07:13Z,Web,arrivals,10,a
2026-03-02T08:01:00Z,Web,arrivals,5,a
2026-03-02T09:14:59.999999+01:00,Web,Arrivals,7,a
2026-03-02T08:15:00Z,Web,queue_depth,3,a
2026-03-02T08:29:00Z,Web,QueueDepth,4,a
2026-03-02T08:20:00Z,Web,queue,9,a

2026-03-02T08:44:00Z,Web,arrivals,NaN,a
2026-03-02T08:46:00,Web,arrivals,2,a
2026-03-02T08:50:00Z,Web,arrivals,,a
2026-03-02T07:59:59Z,Web,arrivals,100,a
2026-03-02T09:00:00Z,Web,arrivals,100,a
2026-03-02T08:10:00Z,Db,latency,5,a
2026-03-02T08:10:00Z,Db,served,"12.5","quoted, with comma"
"""


def write(tmp_path: Path, text: str, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def grid(**overrides: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {"start": START, "bins": 4, "bin_size": 15, "bin_unit": "minutes"}
    values.update(overrides)
    node_ids = values.pop("node_ids", None)
    return make_grid(values["start"], values["bins"], values["bin_size"], values["bin_unit"], node_ids=node_ids)  # type: ignore[arg-type]


def csv_rows(data: bytes) -> list[str]:
    return data.decode().splitlines()


def test_irregular_out_of_order_rows_resample_onto_the_grid(tmp_path: Path) -> None:
    plan = plan_import(write(tmp_path, IRREGULAR), grid())
    assert [(f.node_id, f.metric.name, f.file_name) for f in plan.files] == [
        ("Web", "Arrivals", "Web_arrivals.csv"),
        ("Web", "QueueDepth", "Web_queuedepth.csv"),
        ("Db", "Served", "Db_served.csv"),
    ]
    arrivals, queue, served = (csv_rows(f.data) for f in plan.files)
    assert arrivals == ["bin_index,value", "0,22", "1,", "2,NaN", "3,2"]
    assert queue == ["bin_index,value", "0,", "1,4", "2,", "3,"]
    assert served == ["bin_index,value", "0,12.5", "1,", "2,", "3,"]
    assert (plan.counts.read, plan.counts.accepted, plan.counts.out_of_window, plan.counts.dropped) == (
        13,
        10,
        2,
        1,
    )
    assert [(w.code, w.node_id, w.bins) for w in plan.warnings] == [
        ("rows_out_of_window", None, None),
        ("unknown_metric", None, None),
        ("data_gap", "Web", (1,)),
        ("nan_detected", "Web", (2,)),
        ("nan_detected", "Web", (3,)),
        ("data_gap", "Web", (0,)),
        ("data_gap", "Web", (2,)),
        ("data_gap", "Web", (3,)),
        ("data_gap", "Db", (1,)),
        ("data_gap", "Db", (2,)),
        ("data_gap", "Db", (3,)),
    ]
    assert plan.warnings[0].message == "Dropped 2 rows outside the grid window."
    assert plan.warnings[1].message == "Dropped 1 rows with unknown metric 'latency'."
    assert plan.warnings[2].message == "Missing value at bin 1 for Web:Arrivals."


def test_gap_modes_and_nan_fill(tmp_path: Path) -> None:
    path = write(tmp_path, IRREGULAR)
    filled = plan_import(path, grid(), ImportOptions(gap_mode="fill-zero", fill_nan=True))
    assert csv_rows(filled.files[0].data) == ["bin_index,value", "0,22", "1,0", "2,0", "3,2"]
    web = [(w.code, w.bins) for w in filled.warnings if w.node_id == "Web" and w.metric == "Arrivals"]
    assert web == [("data_gap", (1,)), ("nan_fill", (2,)), ("nan_detected", (3,))]
    ignored = plan_import(path, grid(), ImportOptions(gap_mode="ignore"))
    assert [w.code for w in ignored.warnings] == [
        "rows_out_of_window",
        "unknown_metric",
        "nan_detected",
        "nan_detected",
    ]


def test_model_grid_orders_nodes_by_topology_and_drops_unknown_nodes(tmp_path: Path) -> None:
    model = write(
        tmp_path,
        "schemaVersion: 1\n"
        "grid: {bins: 4, binSize: 15, binUnit: Minutes, start: '2026-03-02T09:00:00+01:00'}\n"
        "topology:\n  nodes:\n"
        "    - {id: Db, semantics: {arrivals: a}}\n"
        "    - {id: Cache, semantics: {arrivals: b}}\n",
        "model.yaml",
    )
    made, model_hash = grid_from_model(model)
    assert made.start == START and made.bin_unit == "minutes" and made.node_ids == ("Db", "Cache")
    assert model_hash == file_hash(model)
    plan = plan_import(write(tmp_path, IRREGULAR), made, model_hash=model_hash)
    assert [(f.node_id, f.metric.name) for f in plan.files] == [("Db", "Served")]
    assert [w.to_json() for w in plan.warnings[:2]] == [
        {
            "code": "unknown_node",
            "message": "Dropped 11 rows for node 'Web' not present in the model topology.",
            "nodeId": "Web",
        },
        {"code": "unknown_metric", "message": "Dropped 1 rows with unknown metric 'latency'."},
    ]
    assert plan.counts.dropped == 12 and plan.counts.out_of_window == 0


def test_model_without_start_is_rejected(tmp_path: Path) -> None:
    model = write(tmp_path, "schemaVersion: 1\ngrid: {bins: 4, binSize: 15, binUnit: minutes}\n", "m.yaml")
    with pytest.raises(FlowTimeError) as info:
        grid_from_model(model)
    assert info.value.code == "import_grid_invalid"
    assert "grid start" in info.value.message


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"start": "noon"}, "start 'noon' is not a time: use an ISO-8601 timestamp such as 2026-03-02T08:00:00Z."),
        ({"bins": 0}, "bins must be between 1 and 1000000 (got 0)."),
        ({"bins": "4x"}, "bins must be between 1 and 1000000 (got 4x)."),
        ({"bin_size": 1001}, "binSize must be between 1 and 1000 (got 1001)."),
        ({"bin_unit": "seconds"}, "binUnit must be one of: minutes, hours, days, weeks (got seconds)."),
    ],
)
def test_grid_options_are_checked(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(FlowTimeError) as info:
        grid(**overrides)
    assert info.value.code == "import_grid_invalid" and info.value.message.endswith(fragment)


def test_level_last_ties_go_to_the_later_row_and_mean_averages(tmp_path: Path) -> None:
    text = (
        "timestamp,nodeId,metric,value\n"
        "2026-03-02T08:05:00Z,Q,capacity,5\n"
        "2026-03-02T08:05:00Z,Q,capacity,7\n"
        "2026-03-02T08:01:00Z,Q,capacity,100\n"
        "2026-03-02T08:02:00Z,Q,queue,1\n"
        "2026-03-02T08:03:00Z,Q,queue,2\n"
        "2026-03-02T08:04:00Z,Q,queue,inf\n"
    )
    path = write(tmp_path, text)
    last = plan_import(path, grid(bins=1))
    assert [csv_rows(f.data)[1] for f in last.files] == ["0,2", "0,7"]
    mean = plan_import(path, grid(bins=1), ImportOptions(level_agg={"queueDepth": "mean", "capacity": "mean"}))
    assert [csv_rows(f.data)[1] for f in mean.files] == ["0,1.5", "0,37.333333333333336"]
    assert [(w.code, w.node_id) for w in mean.warnings] == [("nan_detected", "Q")]


def test_flow_sums_are_in_input_order(tmp_path: Path) -> None:
    text = "ts,node,metric,value\n" + "".join(f"2026-03-02T08:00:0{i}Z,A,served,0.1\n" for i in range(3))
    plan = plan_import(write(tmp_path, text), grid(bins=1))
    assert csv_rows(plan.files[0].data)[1] == "0,0.30000000000000004"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-03-02T08:00:00Z,,served,1", "Row 2: nodeId is blank."),
        ("2026-03-02T08:00:00Z,A, ,1", "Row 2: metric is blank."),
        ("yesterday,A,served,1", "Row 2: timestamp 'yesterday' is not an ISO-8601 time such as 2026-03-02T08:00:00Z."),
        ("2026-03-02T08:00:00Z,A,served,1_000", "Row 2: value '1_000' is not a number."),
        ("2026-03-02T08:00:00Z,A,served,ten", "Row 2: value 'ten' is not a number."),
        ("2026-03-02T08:00:00Z,A", "Row 2: expected at least 4 fields, found 2."),
    ],
)
def test_fatal_rows_are_coded_and_write_nothing(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "timestamp,nodeId,metric,value\n2026-03-02T08:00:00Z,A,served,1\n" + row + "\n")
    out = tmp_path / "out"
    with pytest.raises(FlowTimeError) as info:
        import_telemetry(path, out, grid=grid(), telemetry_root=tmp_path / "tel")
    assert info.value.code == "import_row_invalid"
    assert info.value.message == message
    assert not out.exists()


def test_columns_are_configurable_and_missing_columns_are_fatal(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffWhen,Svc,Kind,Amount,value\n2026-03-02T08:00:00Z,A,served,3,99\n")
    names = ColumnNames(timestamp=" when ", node="SVC", metric="kind", value="amount")
    plan = plan_import(path, grid(bins=1), ImportOptions(columns=names))
    assert csv_rows(plan.files[0].data)[1] == "0,3"
    with pytest.raises(FlowTimeError) as info:
        plan_import(path, grid(bins=1))
    assert info.value.code == "import_column_missing"
    assert info.value.message == "Input has no 'timestamp' column."
    with pytest.raises(FlowTimeError) as configured:
        plan_import(path, grid(bins=1), ImportOptions(columns=ColumnNames(timestamp="when", node="host")))
    assert configured.value.message == "Input has no 'host' column."


def test_import_writes_a_standard_bundle(tmp_path: Path) -> None:
    path = write(tmp_path, IRREGULAR)
    out = tmp_path / "tel" / "web"
    result = import_telemetry(path, out, grid=grid(), telemetry_root=tmp_path / "tel", roots=[tmp_path], now=NOW)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "Db_served.csv",
        "Web_arrivals.csv",
        "Web_queuedepth.csv",
        "import.json",
        "manifest.json",
    ]
    manifest = read_manifest(out, label="web")
    input_hash = file_hash(path)
    assert manifest.provenance.run_id == "import_" + input_hash[7:15]
    assert manifest.provenance.scenario_hash == input_hash and manifest.provenance.model_hash is None
    assert manifest.provenance.captured_at_utc == "2026-03-02T10:00:00.123456Z"
    assert manifest.start_time_utc == "2026-03-02T08:00:00Z"
    for f in manifest.files:
        assert sha256_bytes((out / f.path).read_bytes()) == f.hash and f.points == 4
    assert result.manifest is not None and result.manifest.to_json() == manifest.to_json()
    doc = json.loads((out / "import.json").read_text())
    assert doc == {
        "schemaVersion": 1,
        "source": {
            "fileName": "input.csv",
            "format": "csv",
            "hash": input_hash,
            "rowsRead": 13,
            "rowsAccepted": 10,
            "rowsOutOfWindow": 2,
            "rowsDropped": 1,
        },
        "grid": {"bins": 4, "binSize": 15, "binUnit": "minutes"},
        "aggregation": {
            "arrivals": "sum",
            "served": "sum",
            "errors": "sum",
            "externalDemand": "sum",
            "queueDepth": "last",
            "capacity": "last",
        },
        "gapMode": "warn",
        "fillNaN": False,
        "importedAtUtc": "2026-03-02T10:00:00.123456Z",
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-capture-")]


def test_existing_bundle_needs_overwrite_and_dry_run_touches_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, IRREGULAR)
    out = tmp_path / "out"
    import_telemetry(path, out, grid=grid(), telemetry_root=tmp_path / "tel")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(FlowTimeError) as info:
        import_telemetry(path, out, grid=grid(bins=2), telemetry_root=tmp_path / "tel", output_label="out")
    assert info.value.code == "capture_exists"
    dry = import_telemetry(path, tmp_path / "dry", grid=grid(), telemetry_root=tmp_path / "tel", dry_run=True)
    assert not (tmp_path / "dry").exists() and dry.manifest is None
    assert dry.plan.to_json("dry")["files"][0] == {
        "nodeId": "Web",
        "metric": "Arrivals",
        "targetFileName": "Web_arrivals.csv",
    }
    import_telemetry(path, out, grid=grid(bins=2), telemetry_root=tmp_path / "tel", overwrite=True)
    assert {p.name for p in out.iterdir()} == set(before)
    assert csv_rows((out / "Web_arrivals.csv").read_bytes()) == ["bin_index,value", "0,22", "1,"]


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(FlowTimeError) as info:
        plan_import(write(tmp_path, "x", "data.txt"), grid())
    assert (info.value.code, info.value.message) == (
        "import_format_unknown",
        "Cannot tell the format of 'data.txt' from its extension: use --format csv or --format parquet.",
    )
    with pytest.raises(FlowTimeError) as named:
        plan_import(write(tmp_path, "x", "data.csv"), grid(), format="xml")
    assert named.value.message == "Unknown input format 'xml': use --format csv or --format parquet."


def test_missing_input_and_a_directory_are_coded(tmp_path: Path) -> None:
    for path, what in ((tmp_path / "none.csv", "was not found"), (tmp_path, "is not a regular file")):
        with pytest.raises(FlowTimeError) as info:
            plan_import(path, grid(), format="csv")
        assert (info.value.code, info.value.message) == ("import_input_invalid", f"Input file '{path}' {what}.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schemaVersion: 1\ngrid: [1]\n", "Model file '{m}' has no grid mapping (bins, binSize, binUnit, start)."),
        ("a: [\n", "Model file '{m}' is not a valid model document; check it with flowtime validate."),
        (
            "grid: {bins: 0, binSize: 15, binUnit: minutes, start: 2026-03-02T08:00:00Z}\n",
            "Model file '{m}': grid.bins must be between 1 and 1000000 (got 0).",
        ),
        (
            "grid: {bins: 4, binSize: 15, binUnit: seconds, start: 2026-03-02T08:00:00Z}\n",
            "Model file '{m}': grid.binUnit must be one of: minutes, hours, days, weeks (got seconds).",
        ),
    ],
)
def test_model_file_problems_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    model = write(tmp_path, text, "m.yaml")
    with pytest.raises(FlowTimeError) as info:
        grid_from_model(model)
    assert (info.value.code, info.value.message) == ("import_grid_invalid", message.format(m=model))


def test_an_unreadable_model_file_is_model_unreadable(tmp_path: Path) -> None:
    with pytest.raises(FlowTimeError) as info:
        grid_from_model(tmp_path / "none.yaml")
    assert (info.value.code, info.value.message) == (
        "model_unreadable",
        f"Cannot read model file '{tmp_path / 'none.yaml'}'.",
    )


def test_parquet_input_with_aware_naive_and_text_timestamps(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    aware = pa.array(
        [datetime(2026, 3, 2, 9, 5, tzinfo=UTC), datetime(2026, 3, 2, 8, 20, tzinfo=UTC)],
        type=pa.timestamp("ns", tz="Europe/Paris"),
    )
    table = pa.table({"Timestamp": aware, "node": ["A", "A"], "metric": ["served", "served"], "value": [2, 3]})
    pq.write_table(table, tmp_path / "aware.parquet")
    plan = plan_import(tmp_path / "aware.parquet", grid())
    assert csv_rows(plan.files[0].data) == ["bin_index,value", "0,", "1,3", "2,", "3,"]
    assert plan.counts.out_of_window == 1 and plan.format == "parquet"
    naive = pa.table(
        {
            "ts": pa.array([datetime(2026, 3, 2, 8, 1)], type=pa.timestamp("us")),
            "node": ["B"],
            "metric": ["Arrivals"],
            "value": pa.array([None], type=pa.float64()),
        }
    )
    pq.write_table(naive, tmp_path / "naive.parquet")
    nan_plan = plan_import(tmp_path / "naive.parquet", grid(bins=1))
    assert csv_rows(nan_plan.files[0].data)[1] == "0,NaN"
    text = pa.table({"time": ["2026-03-02T08:16:00Z"], "node": ["C"], "metric": ["errors"], "value": ["4"]})
    pq.write_table(text, tmp_path / "text.data")
    text_plan = plan_import(tmp_path / "text.data", grid(), format="parquet")
    assert csv_rows(text_plan.files[0].data)[2] == "1,4"
    assert text_plan.input_hash == file_hash(tmp_path / "text.data")


def test_parquet_without_pyarrow_is_coded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(FlowTimeError) as info:
        plan_import(tmp_path / "x.parquet", grid())
    assert info.value.code == "parquet_unavailable"
    assert "flowtime[parquet]" in info.value.message


def test_corrupt_parquet_is_coded(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(FlowTimeError) as info:
        plan_import(tmp_path / "x.parquet", grid())
    assert info.value.code == "import_input_invalid"


def test_progress_reports_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, IRREGULAR)
    seen: list[tuple[int, int]] = []
    plan_import(path, grid(), progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert seen[-1] == (size, size)
    assert not math.isnan(size)


def test_quoted_fields_may_hold_commas_quotes_and_line_breaks(tmp_path: Path) -> None:
    text = (
        "timestamp,nodeId,metric,value,note\r\n"
        '2026-03-02T08:00:00Z,A,served,1,"multi\r\nline, ""quoted"" note"\r\n'
        '2026-03-02T08:01:00Z,"A","served","2",plain\r\n'
        '"2026-03-02T08:02:00Z",A,served,3,\r\n'
    )
    plan = plan_import(write(tmp_path, text), grid(bins=1))
    assert plan.counts.read == 3
    assert csv_rows(plan.files[0].data)[1] == "0,6"
    bad = write(tmp_path, text + "2026-03-02T08:03:00Z,A,served,x\r\n", "bad.csv")
    with pytest.raises(FlowTimeError) as info:
        plan_import(bad, grid(bins=1))
    assert info.value.message == "Row 4: value 'x' is not a number."


def test_import_logs_start_warnings_completed_and_failed(tmp_path: Path, events: EventLog) -> None:
    import_telemetry(write(tmp_path, IRREGULAR), tmp_path / "out", grid=grid(), telemetry_root=tmp_path / "tel")
    with pytest.raises(FlowTimeError):
        import_telemetry(
            write(tmp_path, "a,b\n1,2\n", "bad.csv"), tmp_path / "o2", grid=grid(), telemetry_root=tmp_path
        )
    ids = events.ids()
    assert ids[0] == 2301 and ids.count(2004) == 11 and 2302 in ids and ids[-2:] == [2301, 2303]
    completed = events.of(2302)[0]
    assert (completed["inputFile"], completed["format"], completed["rowsRead"], completed["rowsAccepted"]) == (
        "input.csv",
        "csv",
        13,
        10,
    )
    assert (completed["fileCount"], completed["warningCount"]) == (3, 11)
    assert events.of(2303)[0]["code"] == "import_column_missing"


def test_node_ids_with_the_same_file_name_keep_the_first_series(tmp_path: Path) -> None:
    rows = (
        "timestamp,nodeId,metric,value\n"
        "2026-03-02T08:00:00Z,web api,arrivals,1\n"
        "2026-03-02T08:00:00Z,web_api,arrivals,2\n"
        "2026-03-02T08:00:00Z,WEB/API,arrivals,3\n"
    )
    plan = plan_import(write(tmp_path, rows), grid(bins=1))
    assert [(f.node_id, f.file_name, csv_rows(f.data)[1]) for f in plan.files] == [
        ("web api", "web_api_arrivals.csv", "0,1")
    ]
    assert [w.to_json() for w in plan.warnings] == [
        {
            "code": "binding_duplicate",
            "message": "No free file name for web_api:Arrivals; binding skipped.",
            "nodeId": "web_api",
        },
        {
            "code": "binding_duplicate",
            "message": "No free file name for WEB/API:Arrivals; binding skipped.",
            "nodeId": "WEB/API",
        },
    ]
