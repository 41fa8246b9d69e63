"""The generated parts of docs/ equal what scripts/gen_docs.py derives from the product now."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from tests.docs.markdown import DOCS, REPO

from flowtime.sim import load_catalogue


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script is executed
    spec.loader.exec_module(module)
    return module


gen_docs = _load_generator()


def test_generated_docs_are_current() -> None:
    stale = [str(p.relative_to(REPO)) for p in gen_docs.stale_files()]
    assert stale == [], "run `.venv/bin/python scripts/gen_docs.py` and commit the result"


def _parameter_rows(text: str, template_id: str) -> dict[str, list[str]]:
    """The parameter table under the heading of ``template_id``: name -> cells."""
    section = text.split(f"### `{template_id}` — ", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


@pytest.mark.parametrize("template", load_catalogue().templates, ids=lambda t: t.id)
def test_templates_page_has_one_row_per_parameter(template: object) -> None:
    detail = template.detail()  # type: ignore[attr-defined]
    rows = _parameter_rows((DOCS / "templates.md").read_text(encoding="utf-8"), detail["id"])
    assert list(rows) == [p["name"] for p in detail["parameters"]]
    for p in detail["parameters"]:
        _name, kind, default, bounds, meaning = rows[p["name"]]
        assert kind.startswith(p["type"])
        assert (default == "—") == (p["defaultValue"] is None)
        assert (bounds == "—") == (p["min"] is None and p["max"] is None)
        assert meaning.replace("\\|", "|") == (p["description"] or p["title"] or "")


def test_a_hand_edited_table_is_stale(tmp_path: Path) -> None:
    page = (DOCS / "templates.md").read_text(encoding="utf-8")
    edited = page.replace("| `bins` | integer | `8` |", "| `bins` | integer | `9` |", 1)
    assert edited != page
    regenerated = gen_docs.replace_region(edited, "template-parameters", gen_docs.template_tables())
    assert regenerated == page


def test_error_index_lists_every_error_example() -> None:
    page = DOCS / "api-examples.md"
    text = page.read_text(encoding="utf-8")
    shown = {e.code for e in gen_docs.api_examples(page)}
    index = text.split("## Error index", 1)[1]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", index, re.MULTILINE))
    assert listed == shown | set(gen_docs.UNPROVOKED)
    assert not shown & set(gen_docs.UNPROVOKED), "a code with an example is still listed as unprovoked"
