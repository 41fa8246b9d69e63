"""Latency of ``/state`` and ``/state_window`` through the ASGI app: p50 / p99 per endpoint.

A 20-node model (10 services, 10 queues) over 288 five-minute bins (one day) is run once; then every bin is
requested through ``/state`` and the full day through ``/state_window`` (at most the server's window limit,
500 bins by default), cold (first request, the run is loaded) and warm (the service keeps loaded runs while
their files are unchanged).

    python benchmarks/api_state.py                  # 288 bins, 20 nodes, 200 requests per endpoint
    python benchmarks/api_state.py --bins 2016 --nodes 50 --requests 100
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from flowtime.runs import Settings, execute_model
from flowtime.server import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def model_text(nodes: int, bins: int) -> str:
    """``nodes`` topology nodes: service i feeds queue i; arrivals vary over the day."""
    lines = [
        "schemaVersion: 1",
        "metadata: {id: bench, title: Bench, version: 1.0.0}",
        f"grid: {{bins: {bins}, binSize: 5, binUnit: minutes, start: '2026-03-02T00:00:00Z'}}",
        "nodes:",
    ]
    topology = ["topology:", "  nodes:"]
    for i in range(nodes // 2):
        pattern = ", ".join(str(50 + (b * (i + 3)) % 40) for b in range(bins))
        lines += [
            f"  - {{id: arr_{i}, kind: const, values: [{pattern}]}}",
            f"  - {{id: cap_{i}, kind: const, values: [{', '.join(['70'] * bins)}]}}",
            f"  - {{id: served_{i}, kind: expr, expr: 'MIN(arr_{i}, cap_{i})'}}",
            f"  - {{id: out_{i}, kind: expr, expr: 'served_{i} * 0.9'}}",
        ]
        topology += [
            f"    - {{id: Svc{i}, kind: service, semantics: "
            f"{{arrivals: arr_{i}, served: served_{i}, capacity: cap_{i}}}}}",
            f"    - {{id: Queue{i}, kind: queue, semantics: {{arrivals: served_{i}, served: out_{i}, slaMin: 15}}}}",
        ]
    return "\n".join(lines + topology) + "\n"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bins", type=int, default=288)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        settings = Settings.resolve(data_dir=Path(data), env={})
        app = create_app(settings)
        window = min(args.bins, settings.state_window_max)
        execute_model(model_text(args.nodes, args.bins), runs_root=app.state.settings.runs_root, run_id="bench")
        with TestClient(app) as client:
            results = {}
            for name, path, params in (
                ("state", "/v1/runs/bench/state", lambda i: {"binIndex": i % args.bins}),
                (
                    "state_window",
                    "/v1/runs/bench/state_window",
                    lambda i: {"startBin": 0, "endBin": window - 1},
                ),
            ):
                app.state.service._forget_state("bench")
                started = time.perf_counter()
                first = client.get(path, params=params(0))
                cold = (time.perf_counter() - started) * 1000
                assert first.status_code == 200, first.text
                samples = []
                for i in range(args.requests):
                    started = time.perf_counter()
                    response = client.get(path, params=params(i))
                    samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                results[name] = (cold, samples, len(first.content))
    print(f"{args.nodes} nodes x {args.bins} bins (windows of {window}), {args.requests} warm requests per endpoint")
    print(f"{'endpoint':<14}{'cold ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}{'bytes':>10}")
    for name, (cold, samples, size) in results.items():
        print(
            f"{name:<14}{cold:>10.2f}{percentile(samples, 0.5):>10.2f}{percentile(samples, 0.99):>10.2f}"
            f"{statistics.fmean(samples):>10.2f}{size:>10}"
        )


if __name__ == "__main__":
    main()
