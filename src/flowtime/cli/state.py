"""``flowtime state RUN_ID``: the time-travel state of a run at one bin or over a bin window."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flowtime.cli.exit_codes import Convention
from flowtime.cli.output import handle_errors, print_json
from flowtime.cli.runs import JsonOpt, ServerOpt, client, print_table
from flowtime.errors import InvalidInput


@handle_errors(Convention.CLIENT)
def state(
    context: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="Run id.", show_default=False)],
    bin_index: Annotated[int | None, typer.Option("--bin", help="Bin index (snapshot).")] = None,
    start_bin: Annotated[int | None, typer.Option("--start-bin", help="First bin of a window.")] = None,
    end_bin: Annotated[int | None, typer.Option("--end-bin", help="Last bin of a window (inclusive).")] = None,
    json_output: JsonOpt = False,
    server: ServerOpt = None,
) -> None:
    """Node metrics at --bin N (GET /state), or over --start-bin S --end-bin E (GET /state_window)."""
    windowed = start_bin is not None or end_bin is not None
    if windowed == (bin_index is not None) or (windowed and (start_bin is None or end_bin is None)):
        raise InvalidInput("Give either --bin N or both --start-bin S and --end-bin E.", code="invalid_option")
    if windowed:
        assert start_bin is not None and end_bin is not None
        response = client(context, server).state_window(run_id, start_bin, end_bin)
    else:
        assert bin_index is not None
        response = client(context, server).state(run_id, bin_index)
    if json_output:
        print_json(response)
    elif windowed:
        _print_window(response)
    else:
        _print_snapshot(response)


def _print_snapshot(response: dict[str, Any]) -> None:
    b = response["bin"]
    typer.echo(
        f"Run {response['metadata']['runId']} ({response['metadata']['mode']}), bin {b['index']}"
        + (f" [{b['startUtc']} .. {b['endUtc']})" if b["startUtc"] else "")
    )
    rows = []
    for node in response["nodes"]:
        m, d = node["metrics"], node["derived"]
        rows.append(
            [
                node["id"],
                node["kind"],
                *(_cell(m[k]) for k in ("arrivals", "served", "errors", "queue", "capacity")),
                _cell(d["utilization"]),
                _cell(d["latencyMinutes"]),
                d["color"],
            ]
        )
    print_table(
        ["NODE", "KIND", "ARRIVALS", "SERVED", "ERRORS", "QUEUE", "CAPACITY", "UTIL", "LATENCY", "COLOR"],
        rows,
    )
    _print_warnings(response)


def _print_window(response: dict[str, Any]) -> None:
    w, meta = response["window"], response["metadata"]
    typer.echo(f"Run {meta['runId']} ({meta['mode']}), bins {w['startBin']}..{w['endBin']}")
    for node in response["nodes"]:
        typer.echo(f"{node['id']} ({node['kind']}): colors {' '.join(node['colors'])}")
        for name, values in node["series"].items():
            typer.echo(f"  {name}: {' '.join(_cell(v) for v in values)}")
    _print_warnings(response)


def _print_warnings(response: dict[str, Any]) -> None:
    warnings = list(response["warnings"])
    for node in response["nodes"]:
        warnings += node["telemetry"]["warnings"]
    for item in warnings:
        where = f" ({item['nodeId']})" if item.get("nodeId") else ""
        typer.echo(f"Warning [{item['code']}]: {item['message']}{where}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


__all__ = ["state"]
