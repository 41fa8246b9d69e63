"""Every case folder in ../shared/conformance is a test; new cases are picked up without code changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from flowtime.engine import evaluate
from flowtime.errors import ModelInvalid
from flowtime.model import load_model

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = Path(os.environ.get("FLOWTIME_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
CASES = sorted(p for p in CASES_DIR.glob("*/") if (p / "model.yaml").is_file()) if CASES_DIR.is_dir() else []


def test_conformance_folder_is_present() -> None:
    if not CASES and not os.environ.get("CI"):
        pytest.skip(f"no conformance cases at {CASES_DIR}")
    assert CASES, f"no conformance cases found at {CASES_DIR}"


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_conformance_case(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    text = (case / "model.yaml").read_text(encoding="utf-8")
    if "error" in expected:
        with pytest.raises(ModelInvalid) as info:
            load_model(text, model_dir=case)
        codes = [p.code for p in info.value.errors]
        assert expected["error"] in codes, f"expected {expected['error']}, got {codes}"
        return
    evaluation = evaluate(load_model(text, model_dir=case))
    tolerance = float(expected.get("tolerance", 1e-9))
    for column, values in expected["series"].items():
        np.testing.assert_allclose(
            evaluation.series(column),
            np.asarray(values, dtype=float),
            rtol=tolerance,
            atol=0.0,
            err_msg=f"series {column}",
        )
