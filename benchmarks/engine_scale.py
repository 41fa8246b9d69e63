"""Engine scale benchmark: parse / compile / evaluate / write time and peak RSS per model size.

Models come from ``../shared/bench/gen_models.py`` (N queue nodes with SHIFT feedback, WIP limits and retry
echo over T bins). Every size runs in a fresh child process so peak RSS is that size's own. Also times the
whole ``flowtime eval --json`` process, the figure comparable with the reference engine.

    python benchmarks/engine_scale.py                      # the issue's grid
    python benchmarks/engine_scale.py --sizes 10x1000,100x1000
    python benchmarks/engine_scale.py --record             # store this run as the baseline
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GEN = Path(os.environ.get("FLOWTIME_BENCH_GEN", ROOT.parent / "shared" / "bench" / "gen_models.py"))
WORK = HERE / ".work"
BASELINE = HERE / "baseline.json"
DEFAULT_SIZES = "10x1000,10x100000,100x10000,100x100000,1000x1000,1000x10000,300x100000"


def _child(model_path: str) -> None:
    """Measure one model in this (fresh) process and print one JSON line."""
    from flowtime.artifacts import write_run
    from flowtime.engine import evaluate
    from flowtime.model import load_model
    from flowtime.model.parse import parse_document

    text = Path(model_path).read_text(encoding="utf-8")
    t0 = time.perf_counter()
    parse_document(text)
    t1 = time.perf_counter()
    model = load_model(text)
    t2 = time.perf_counter()
    evaluation = evaluate(model)
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs:
        written = write_run(
            Path(runs), spec_text=text, model=model, evaluation=evaluation, deterministic=True
        )
        t4 = time.perf_counter()
        series = len(written.series_ids)
    parse = t1 - t0
    print(
        json.dumps(
            {
                "parse": parse,
                "compile": (t2 - t1) - parse,
                "evaluate": t3 - t2,
                "write": t4 - t3,
                "total": (t4 - t3) + (t3 - t2) + (t2 - t1),
                "series": series,
                "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _model(n: int, t: int) -> Path:
    path = WORK / f"dag_N{n}_T{t}.yaml"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GEN), str(WORK), str(n), str(t)], check=True, capture_output=True)
    return path


def _whole_process_eval(path: Path) -> float:
    """Wall time of ``flowtime eval MODEL --json`` as a user runs it (process start included)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flowtime", "eval", str(path), "--json"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated NxT list")
    parser.add_argument("--record", action="store_true", help="store the results as the new baseline")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return

    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    results: dict[str, dict[str, float]] = {}
    header = (
        f"{'N x T':>14} {'parse s':>8} {'compile s':>9} {'eval s':>8} {'write s':>8} {'total s':>8} "
        f"{'RSS MiB':>8} {'eval cmd s':>10} {'vs base':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes.split(","):
        n, t = (int(x) for x in size.lower().split("x"))
        path = _model(n, t)
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True, text=True
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["eval_cmd"] = _whole_process_eval(path)
        key = f"{n}x{t}"
        results[key] = row
        base = baseline.get(key, {}).get("total")
        ratio = f"{row['total'] / base:.2f}x" if base else "-"
        print(
            f"{n:>6} x {t:<7} {row['parse']:>8.3f} {row['compile']:>9.3f} {row['evaluate']:>8.3f} "
            f"{row['write']:>8.3f} {row['total']:>8.3f} {row['rss_mib']:>8.0f} "
            f"{row['eval_cmd']:>10.3f} {ratio:>8}",
            flush=True,
        )
    if args.record:
        BASELINE.write_text(json.dumps(results, indent=2) + "\n")
        print(f"baseline written to {BASELINE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
