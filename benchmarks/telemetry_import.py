"""Telemetry import benchmark: stream a generated long-format CSV into a capture bundle; time and peak RSS.

The CSV (``timestamp,nodeId,metric,value``, one sample per node and metric each second, a few rows out of
order and out of the window) is written to a temporary directory and deleted afterwards. The import runs
in a fresh child process, so the peak RSS reported is the import's own: it is bounded by the grid
(bins × series), not by the file size.

    python benchmarks/telemetry_import.py                 # the issue's 1 GB file
    python benchmarks/telemetry_import.py --size-mb 50    # a quick run

Exits with status 1 when the import's peak RSS exceeds ``--max-rss-mb`` (default 256 MiB, a quarter of the
1 GiB file), so the memory bound is checked, not just reported.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

NODES = tuple(f"Service{i:02d}" for i in range(10))
METRICS = ("arrivals", "served", "errors", "queueDepth")
START = datetime(2026, 3, 1, tzinfo=UTC)
BIN_MINUTES = 1


def generate(path: Path, size_bytes: int) -> tuple[int, int]:
    """Write rows until the file reaches ``size_bytes``; returns (rows, seconds covered)."""
    rows = 0
    second = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("timestamp,nodeId,metric,value\n")
        written = 0
        while written < size_bytes:
            moment = (START + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
            chunk = []
            for n, node in enumerate(NODES):
                for m, metric in enumerate(METRICS):
                    value = (second * 7 + n * 13 + m) % 97
                    chunk.append(f"{moment},{node},{metric},{value}\n")
            if second % 1000 == 999:  # a late row for an earlier bin and one before the window
                chunk.append(f"{START.strftime('%Y-%m-%dT%H:%M:%SZ')},{NODES[0]},arrivals,1\n")
                chunk.append(f"2026-02-28T00:00:00Z,{NODES[1]},served,1\n")
            text = "".join(chunk)
            out.write(text)
            written += len(text)
            rows += len(chunk)
            second += 1
    return rows, second


def _child(input_path: str, bins: int, output: str) -> None:
    """Import in this (fresh) process and print one JSON line."""
    from flowtime.telemetry import ImportOptions, import_telemetry, make_grid

    grid = make_grid(START, bins, BIN_MINUTES, "minutes")
    started = time.perf_counter()
    result = import_telemetry(
        Path(input_path),
        Path(output),
        grid=grid,
        telemetry_root=Path(output).parent,
        options=ImportOptions(gap_mode="warn"),
    )
    elapsed = time.perf_counter() - started
    counts = result.plan.counts
    print(json.dumps({"seconds": elapsed, "rows": counts.read, "files": len(result.plan.files)}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=1024.0, help="CSV size in MiB (default 1024)")
    parser.add_argument("--max-rss-mb", type=float, default=256.0, help="peak RSS budget in MiB (default 256)")
    parser.add_argument("--child", nargs=3, metavar=("INPUT", "BINS", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]), args.child[2])
        return
    with tempfile.TemporaryDirectory(prefix="flowtime-import-bench-") as work:
        csv_path = Path(work) / "telemetry.csv"
        t0 = time.perf_counter()
        rows, seconds = generate(csv_path, int(args.size_mb * 1024 * 1024))
        generated = time.perf_counter() - t0
        bins = max(1, seconds // 60)
        size = csv_path.stat().st_size
        print(f"generated {rows:,} rows ({size / 2**20:,.0f} MiB) in {generated:.1f} s", file=sys.stderr)
        command = [
            sys.executable,
            __file__,
            "--child",
            str(csv_path),
            str(bins),
            str(Path(work) / "out" / "bundle"),
        ]
        completed = subprocess.run(command, check=True, capture_output=True, text=True)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        measured = json.loads(completed.stdout.strip().splitlines()[-1])
    header = ("file size", "rows", "bins x series", "seconds", "rows/s", "peak RSS")
    row = (
        f"{size / 2**20:,.0f} MiB",
        f"{measured['rows']:,}",
        f"{bins:,} x {measured['files']}",
        f"{measured['seconds']:.1f}",
        f"{measured['rows'] / measured['seconds']:,.0f}",
        f"{peak_kib / 1024:,.0f} MiB",
    )
    widths = [max(len(h), len(c)) for h, c in zip(header, row, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    if peak_kib / 1024 > args.max_rss_mb:
        print(
            f"FAIL: peak RSS {peak_kib / 1024:,.0f} MiB exceeds the {args.max_rss_mb:,.0f} MiB budget", file=sys.stderr
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
