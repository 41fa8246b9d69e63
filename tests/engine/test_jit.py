"""The native library: built once into the cache, loaded without numba, identical to the numba dispatchers,
and a failed build falls back to numba without being retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from flowtime.engine import Pcg32, queue_depth
from flowtime.engine.jit import ENGINE, cache_directory, registered_modules

ROOT = Path(__file__).resolve().parents[2]

# Evaluates a model with every op kind, a feedback group, a queue with a WIP limit and PMF sampling, and prints
# whether the native library was used, whether numba got imported and the bits of every series.
EVALUATE = textwrap.dedent(
    """
    import json, sys
    from flowtime.engine import evaluate, queue_depth
    from flowtime.engine.jit import ENGINE
    from tests.engine.factories import const, expr, make_model, overflow, pmf, queue

    model = make_model(
        const("a", [1.5, -2, 0, 7, float("nan"), 3, 1e300, -0.0]),
        pmf("p", [1, 2, 3], [0.2, 0.5, 0.3]),
        expr("b", "MIN(a, 4) + MAX(a, -1) * 0.5 - a / (a - 3) + MOD(a, 2.5) + POW(ABS(a), 0.5) + STEP(a, 1)"),
        expr("c", "FLOOR(b) + CEIL(b) + ROUND(b) + SQRT(ABS(b)) + CLAMP(b, -1, 2) + PULSE(2, 1, b) - -p"),
        expr("d", "CONV(c, [0.5, 0.25]) + SHIFT(c * 2, 2)"),
        expr("served", "MIN(ABS(a) + SHIFT(q, 1), 5)"),
        queue("q", "p", "served", limit=4.0, overflow="spill", initial=1.0),
        overflow("spill", "q"),
        initial_conditions={"q": 1.0},
        rng=True,
        rng_seed=7,
    )
    result = evaluate(model)
    depth, spill = queue_depth([3.0, 4.0, 5.0], [1.0, 1.0, 9.0], limit=3.0)
    print(json.dumps({
        "native": ENGINE.is_native,
        "numba": "numba" in sys.modules,
        "bits": {c: result.series(c).view("int64").tolist() for c in result.order},
        "queue": [depth.tolist(), spill.tolist()],
    }))
    """
)


def _evaluate(cache: Path, **env: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", EVALUATE],
        cwd=ROOT,
        env={**os.environ, "FLOWTIME_CACHE_DIR": str(cache), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
def test_native_library_is_built_once_then_used_without_numba_and_matches_numba(tmp_path: Path) -> None:
    built = _evaluate(tmp_path)
    libraries = sorted(p.name for p in tmp_path.glob("flowtime-engine-*.so"))
    assert len(libraries) == 1 and not list(tmp_path.glob("*.failed"))
    assert built["native"] is True

    loaded = _evaluate(tmp_path)
    assert loaded["native"] is True
    assert loaded["numba"] is False  # evaluating with a built library never imports numba
    assert sorted(p.name for p in tmp_path.glob("flowtime-engine-*.so")) == libraries

    dispatched = _evaluate(tmp_path, FLOWTIME_NATIVE="0")
    assert dispatched["native"] is False and dispatched["numba"] is True
    assert loaded["bits"] == dispatched["bits"] == built["bits"]
    assert loaded["queue"] == dispatched["queue"] == [[2.0, 3.0, 0.0], [0.0, 2.0, 0.0]]


@pytest.mark.slow
def test_failed_build_falls_back_to_numba_and_is_not_retried(tmp_path: Path) -> None:
    first = _evaluate(tmp_path, CC="false")  # a "compiler" that always fails: linking fails
    assert first["native"] is False
    (marker,) = tmp_path.glob("flowtime-engine-*.failed")
    assert "linking failed" in marker.read_text()
    assert not list(tmp_path.glob("*.so"))

    second = _evaluate(tmp_path)  # a working compiler now, but the marker says: do not retry
    assert second["native"] is False and second["bits"] == first["bits"]
    assert not list(tmp_path.glob("*.so"))

    marker.unlink()  # deleting the marker retries the build
    third = _evaluate(tmp_path)
    assert third["native"] is True and third["bits"] == first["bits"]


def test_engine_library_lists_every_engine_module_that_defines_jit_functions() -> None:
    engine_modules = {m for m in registered_modules() if m.startswith("flowtime.engine.")}
    assert engine_modules <= set(ENGINE.modules)


def test_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLOWTIME_CACHE_DIR", str(tmp_path / "c"))
    assert cache_directory() == tmp_path / "c"
    monkeypatch.delenv("FLOWTIME_CACHE_DIR")
    assert cache_directory().name in {"__pycache__", "flowtime"}


def test_entry_points_refuse_arrays_of_the_wrong_layout() -> None:
    if not ENGINE.is_native:
        pytest.skip("no native library on this machine (numba dispatchers check types themselves)")
    with pytest.raises(TypeError, match="C-contiguous 1-d float64"):
        queue_depth.__globals__["_depth_loop"](
            np.zeros(4),
            np.zeros(4),
            np.zeros(4),
            0.0,
            np.zeros(4),
            np.zeros(8)[::2],  # strided
            np.zeros(4),
        )
    with pytest.raises(TypeError, match="uint32"):
        Pcg32(1).__class__.uint32s.__globals__["_draw"](np.zeros(1, dtype=np.uint64), np.zeros(3))


def test_entry_points_agree_in_process_with_numba_dispatchers() -> None:
    native = (Pcg32(42).uint32s(5).tolist(), [a.tolist() for a in queue_depth([5.0, 1.0], [1.0, 9.0], limit=3)])
    saved = ENGINE._functions
    ENGINE._functions = {}
    try:
        dispatched = (Pcg32(42).uint32s(5).tolist(), [a.tolist() for a in queue_depth([5.0, 1.0], [1.0, 9.0], limit=3)])
    finally:
        ENGINE._functions = saved
    assert native == dispatched
    assert native[0] == [1971522493, 242089394, 3457789919, 3637502659, 19596830]


def _c_compiler() -> str | None:
    import shlex
    import shutil
    import sysconfig

    words = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    return shutil.which(words[0]) if words else None


@pytest.mark.parametrize("library", ["flowtime.engine.jit:ENGINE", "flowtime.artifacts.numbers:CSV"])
def test_every_native_library_builds_where_a_c_compiler_exists(library: str) -> None:
    # A kernel that calls one of numba's C helpers (np.nextafter, say) cannot be linked on its own; the
    # library then silently runs on numba dispatchers, which costs every process the numba import.
    if os.environ.get("FLOWTIME_NATIVE", "1") == "0" or _c_compiler() is None:
        pytest.skip("native libraries are off or there is no C compiler: dispatchers are the design")
    import importlib

    module, name = library.split(":")
    native = getattr(importlib.import_module(module), name)
    failed = native.path().with_suffix(".failed")
    assert native.functions(), failed.read_text() if failed.exists() else "no library was built"
