"""Engine scale benchmark: parse / compile / evaluate / write time and peak RSS per model size.

Models come from ``../shared/bench/gen_models.py`` (N queue nodes with SHIFT feedback, WIP limits and retry
echo over T bins). Every size runs in fresh child processes, so peak RSS is that size's own:

- phases, in-process: *parse* (``parse_document``), *compile* (the rest of ``load_model``, then the engine's
  program assembly), *evaluate* (``evaluate`` minus program assembly), *write* (``write_run``: every series
  CSV, index, manifest, hashes, durable on disk) and their *total*; the median of ``--repeat`` children.
- whole process, as a user runs it: ``flowtime eval MODEL --json`` (median wall time and the peak RSS of the
  process; comparable with the reference engine's ``eval``) and ``flowtime run MODEL`` (evaluate and write the
  whole bundle). One unmeasured warm-up first, as the reference measurement did.

    python benchmarks/engine_scale.py                      # the issue's grid
    python benchmarks/engine_scale.py --sizes 10x1000,100x1000 --repeat 3
    python benchmarks/engine_scale.py --runs-root /dev/shm  # write bundles to tmpfs (file-system cost apart)
    python benchmarks/engine_scale.py --first-run          # also time the one-off native library build
    python benchmarks/engine_scale.py --record             # store this run as the baseline

Ratios compare with ``benchmarks/baseline.json`` (the last ``--record``); targets are the issue's (3x faster
than the reference engine measured on this machine class, half its memory).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
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
BIG = 100_000_000  # N x T from which whole-process commands run 3 times instead of --repeat

# The reference engine's `eval` on this machine class (wall s, peak MiB) and the targets.
REFERENCE = {
    "10x100000": (0.31, 252),
    "100x10000": (0.37, 252),
    "100x100000": (3.2, 2560),
    "1000x1000": (0.54, 262),
    "1000x10000": (4.6, 2560),
    "300x100000": (13.9, 7475),
}
TARGET_EVAL = {
    "10x100000": (0.10, 126),
    "100x10000": (0.12, 126),
    "100x100000": (1.1, 1280),
    "1000x1000": (0.18, 131),
    "1000x10000": (1.5, 1280),
    "300x100000": (4.6, 3686),
}
TARGET_RUN = {"10x1000": 0.15, "1000x1000": 2.0}


def _child(model_path: str, runs_root: str) -> None:
    """Measure one model in this (fresh) process and print one JSON line; the bundle goes to ``runs_root``
    (a new directory the parent removes later: deleting thousands of files just before creating as many
    makes ext4's inode allocator scan the recently deleted ones, which is not the writer's cost)."""
    import resource

    from flowtime.artifacts import write_run
    from flowtime.engine import evaluate
    from flowtime.engine.program import compile_program
    from flowtime.model import load_model
    from flowtime.model.parse import parse_document

    text = Path(model_path).read_text(encoding="utf-8")
    t0 = time.perf_counter()
    parse_document(text)
    t1 = time.perf_counter()
    model = load_model(text)
    t2 = time.perf_counter()
    parse_document(text)  # load_model parsed again, warm: that much of it is parsing
    t3 = time.perf_counter()
    compile_program(model, {column: i for i, column in enumerate(model.order)})
    t4 = time.perf_counter()
    evaluation = evaluate(model)
    t5 = time.perf_counter()
    t6 = time.perf_counter()
    written = write_run(Path(runs_root), spec_text=text, model=model, evaluation=evaluation, deterministic=True)
    t7 = time.perf_counter()
    assemble = t4 - t3
    phases = {
        "parse": t1 - t0,
        "compile": (t2 - t1) - (t3 - t2) + assemble,  # load_model without its parse, then program assembly
        "evaluate": (t5 - t4) - assemble,  # evaluate assembles the program itself
        "write": t7 - t6,
    }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                **phases,
                "total": sum(phases.values()),
                "series": len(written.series_ids),
                "rss_mib": usage.ru_maxrss / 1024,
            }
        )
    )


def _model(n: int, t: int) -> Path:
    path = WORK / f"dag_N{n}_T{t}.yaml"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GEN), str(WORK), str(n), str(t)], check=True, capture_output=True)
    return path


def _process(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, command)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _median_process(command: list[str], repeat: int) -> dict[str, float]:
    _process(command)  # warm-up: page cache, numpy and the native libraries
    runs = [_process(command) for _ in range(repeat)]
    return {
        "wall": statistics.median(r[0] for r in runs),
        "cpu": statistics.median(r[1] for r in runs),
        "rss_mib": max(r[2] for r in runs),
    }


def _flowtime(*args: str) -> list[str]:
    return [sys.executable, "-m", "flowtime", *args]


def _first_run() -> None:
    """The one-off cost of building the native libraries (engine kernels and CSV encoder) in an empty cache."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "FLOWTIME_CACHE_DIR": cache}
        model = str(_model(10, 1000))
        first = _process([*_flowtime("run", model, "--out", runs)], env)
        second = _process([*_flowtime("run", model, "--out", runs)], env)
    print(f"first run with an empty cache (builds the native libraries): {first[0]:.2f} s wall, {first[1]:.2f} s CPU")
    print(f"second run (libraries loaded from the cache):               {second[0]:.2f} s wall, {second[1]:.2f} s CPU")


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated NxT list")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (median)")
    parser.add_argument("--runs-root", default=str(WORK), help="where bundles are written (default: benchmarks/.work)")
    parser.add_argument("--first-run", action="store_true", help="also time the native library build")
    parser.add_argument("--record", action="store_true", help="store the results as the new baseline")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    # Byte-compile the sources as an installed package is (PYTHONDONTWRITEBYTECODE would otherwise make every
    # child process compile whatever changed since the last compile).
    compileall.compile_dir(ROOT / "src" / "flowtime", quiet=1)
    if args.first_run:
        _first_run()

    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    # What any numpy-based Python command pays before doing anything: the part of each whole-process figure
    # no change to FlowTime can remove on this machine.
    floor_code = "import os; os.environ.setdefault('OPENBLAS_NUM_THREADS', '1'); import numpy, yaml"  # as cli.main
    floor = _median_process([sys.executable, "-c", floor_code], max(args.repeat, 5))
    print(
        f"floor (python -c 'import numpy, yaml', whole process): {floor['wall']:.3f} s wall, "
        f"{floor['rss_mib']:.0f} MiB ({_ratio(floor['wall'], baseline.get('floor', {}).get('wall'))} vs base)"
    )
    Path(args.runs_root).mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {"floor": floor}
    header = (
        f"{'N x T':>14} {'parse':>6} {'compile':>7} {'eval':>6} {'write':>6} {'total':>6} {'RSS':>6} "
        f"{'vs base':>7} | {'eval cmd':>8} {'cpu':>6} {'RSS':>6} {'vs base':>7} {'target':>13} | "
        f"{'run cmd':>7} {'target':>6}"
    )
    print("phases: median seconds in-process, RSS in MiB; commands: whole-process median wall seconds")
    print(header)
    print("-" * len(header))
    for size in args.sizes.split(","):
        n, t = (int(x) for x in size.lower().split("x"))
        key = f"{n}x{t}"
        path = _model(n, t)
        repeat = args.repeat if n * t < BIG else min(args.repeat, 3)
        rows = []
        session = Path(tempfile.mkdtemp(dir=args.runs_root, prefix="bench-"))
        for k in range(repeat):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(path), str(session / f"child{k}")],
                check=True,
                capture_output=True,
                text=True,
            )
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        row = {name: statistics.median(r[name] for r in rows) for name in rows[0]}
        row["rss_mib"] = max(r["rss_mib"] for r in rows)
        eval_cmd = _median_process(_flowtime("eval", str(path), "--json"), repeat)
        row.update({"eval_cmd": eval_cmd["wall"], "eval_cmd_cpu": eval_cmd["cpu"], "eval_cmd_rss": eval_cmd["rss_mib"]})
        if key in TARGET_RUN:
            row["run_cmd"] = _median_process(_flowtime("run", str(path), "--out", str(session / "cmd")), repeat)["wall"]
        shutil.rmtree(session)
        results[key] = row
        base = baseline.get(key, {})
        target = TARGET_EVAL.get(key)
        verdict = "-"
        if target:
            met = row["eval_cmd"] <= target[0] and row["eval_cmd_rss"] <= target[1]
            verdict = f"{target[0]:.2f}s/{target[1]}M {'ok' if met else 'NO'}"
        run_cell = f"{row['run_cmd']:>7.3f} {TARGET_RUN[key]:>5.2f}" if "run_cmd" in row else f"{'-':>7} {'-':>6}"
        if "run_cmd" in row:
            run_cell += "+" if row["run_cmd"] <= TARGET_RUN[key] else "!"
        print(
            f"{n:>6} x {t:<7} {row['parse']:>6.3f} {row['compile']:>7.3f} {row['evaluate']:>6.3f} "
            f"{row['write']:>6.3f} {row['total']:>6.3f} {row['rss_mib']:>6.0f} "
            f"{_ratio(row['total'], base.get('total')):>7} | "
            f"{row['eval_cmd']:>8.3f} {row['eval_cmd_cpu']:>6.2f} {row['eval_cmd_rss']:>6.0f} "
            f"{_ratio(row['eval_cmd'], base.get('eval_cmd')):>7} {verdict:>13} | {run_cell}",
            flush=True,
        )
    print("target: reference wall / 3 and peak RSS / 2 (ok = both met); run target: + met, ! missed")
    if args.record:
        BASELINE.write_text(json.dumps(results, indent=2) + "\n")
        print(f"baseline written to {BASELINE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
