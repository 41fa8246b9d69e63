"""Overwrite replaces runs only: a directory under the runs root that is not a run is never replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.artifacts.test_write import write_example

from flowtime.errors import Conflict


@pytest.mark.parametrize("options", [{"run_id": "telemetry"}, {"deterministic": True}])
def test_a_directory_that_is_not_a_run_is_never_replaced(tmp_path: Path, options: dict[str, object]) -> None:
    target = "telemetry" if "run_id" in options else "run_deterministic_93753120"
    keep = tmp_path / target / "orders" / "manifest.json"
    keep.parent.mkdir(parents=True)
    keep.write_text("{}\n")

    with pytest.raises(Conflict) as caught:
        write_example(tmp_path, overwrite=True, **options)

    assert caught.value.code == "run_exists"
    assert "is not a run" in caught.value.message
    assert keep.read_text() == "{}\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp", ".old"))]
