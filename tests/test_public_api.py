"""Each package's ``__all__`` is exact: every name exists, and the top-level façade resolves lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import flowtime

PACKAGES = [
    "flowtime.errors",
    "flowtime.model",
    "flowtime.engine",
    "flowtime.artifacts",
    "flowtime.sim",
    "flowtime.telemetry",
    "flowtime.runs",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_once(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []


def test_top_level_facade_resolves_every_name() -> None:
    assert set(flowtime.__all__) == {"__version__", *flowtime._EXPORTS}
    for name in flowtime.__all__:
        assert getattr(flowtime, name) is not None
    assert flowtime.load_model is importlib.import_module("flowtime.model").load_model
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        flowtime.nope  # noqa: B018


def test_importing_flowtime_loads_no_heavy_layers() -> None:
    code = (
        "import sys, flowtime; print(sorted(m for m in sys.modules if m.startswith(('numpy', 'fastapi', 'flowtime.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_cli_entry_loads_no_service_stack() -> None:
    code = (
        "import sys, flowtime.cli.main; "
        "print(sorted(m for m in sys.modules if m.startswith(('fastapi', 'numba', 'flowtime.sim', "
        "'flowtime.telemetry', 'flowtime.runs.service'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
