"""Regenerate the parts of docs/ that are derived from the product, or check that they are current.

- docs/templates.md: the "Shipped templates" section, one parameter table per template of the catalogue;
- docs/api-examples.md: the error index, built from the page's own response examples;
- docs/openapi.json: the OpenAPI document the app serves.

Usage (from the repository root): ``.venv/bin/python scripts/gen_docs.py`` rewrites them;
``--check`` only reports what is out of date and exits 1 (tests/docs runs the check).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
BEGIN = "<!-- BEGIN GENERATED: {name} (scripts/gen_docs.py; do not edit by hand) -->"
END = "<!-- END GENERATED: {name} -->"

# Error codes the API answers that no example on docs/api-examples.md can provoke on demand; the index lists
# them with the situation instead (they are described on the page).
UNPROVOKED = {
    "capture_in_progress": (409, "`POST /v1/telemetry/captures`", "another generation holds the bundle's lock"),
    "capture_failed": (500, "`POST /v1/telemetry/captures`", "the bundle could not be written"),
    "write_failed": (500, "`POST /v1/runs`", "the run could not be written"),
    "internal_error": (500, "any", "an unexpected failure (logged with the request id, event 5002)"),
}


# ----------------------------------------------------------------------------------------------- templates


def _bounds(parameter: dict[str, Any], fmt: Callable[[float], str]) -> str:
    low, high = parameter.get("min"), parameter.get("max")
    if low is None and high is None:
        return "—"
    return f"{fmt(low) if low is not None else ''}..{fmt(high) if high is not None else ''}"


def _type(parameter: dict[str, Any]) -> str:
    if parameter["type"] == "array":
        return f"array of {parameter.get('arrayOf') or 'double'}"
    return str(parameter["type"])


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def template_tables() -> str:
    """One subsection per shipped template: facts, then the parameter table (name, type, default, bounds,
    meaning)."""
    from flowtime.artifacts import format_double
    from flowtime.sim import load_catalogue, render_value

    def number(value: float) -> str:
        return str(value) if isinstance(value, int) else format_double(float(value))

    parts: list[str] = []
    for template in load_catalogue().templates:
        detail = template.detail()
        facts = [
            f"version `{detail['version']}`",
            f"capture key `{detail['captureKey']}`" if detail.get("captureKey") else "no capture key",
            "**stochastic**" if detail["stochastic"] else "deterministic",
            "tags " + ", ".join(f"`{t}`" for t in detail.get("tags") or []),
        ]
        rows = [
            "| name | type | default | bounds | meaning |",
            "|---|---|---|---|---|",
        ]
        for p in detail["parameters"]:
            default = "—" if p.get("defaultValue") is None else f"`{render_value(p['defaultValue'])}`"
            meaning = p.get("description") or p.get("title") or ""
            rows.append(f"| `{p['name']}` | {_type(p)} | {default} | {_bounds(p, number)} | {_cell(meaning)} |")
        parts.append(
            f"### `{detail['id']}` — {detail['title']}\n\n"
            f"{_cell(detail.get('description') or '')}\n\n"
            f"{'; '.join(facts)}.\n\n" + "\n".join(rows)
        )
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------------- error index

_FENCE = re.compile(r"^(`{3,})(.*)$")
_HEADING = re.compile(r"^(#{2,3})\s+(.*?)\s*$")


@dataclass(frozen=True)
class _Example:
    code: str
    status: int
    heading: str


def slug(heading: str) -> str:
    """GitHub's anchor of a heading (the docs link check uses the same rule)."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _fenced(lines: list[str]) -> Iterator[tuple[str, str, list[str]]]:
    """(info, last heading, body lines) of every fenced block."""
    heading = ""
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            found = _HEADING.match(lines[i])
            if found:
                heading = found.group(2)
            i += 1
            continue
        fence, info = match.groups()
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        yield info.strip(), heading, body
        i += 1


def api_examples(page: Path) -> list[_Example]:
    """The error responses shown on the API examples page: code, status, section."""
    found: list[_Example] = []
    for info, heading, body in _fenced(page.read_text(encoding="utf-8").splitlines()):
        if info != "http" or not body or not body[0].startswith("HTTP/"):
            continue
        status = int(body[0].split()[1])
        code = re.search(r'^  "code": "([a-z_]+)"', "\n".join(body), re.MULTILINE)
        if status >= 400 and code:
            found.append(_Example(code.group(1), status, heading))
    return found


def error_index(page: Path) -> str:
    """A table of every error code on the page with its status and links to its examples."""
    by_code: dict[str, list[_Example]] = {}
    for example in api_examples(page):
        by_code.setdefault(example.code, []).append(example)
    rows = ["| code | status | examples |", "|---|---|---|"]
    for code in sorted({*by_code, *UNPROVOKED}):
        if code in by_code:
            examples = by_code[code]
            statuses = ", ".join(str(s) for s in sorted({e.status for e in examples}))
            seen: list[str] = []
            for e in examples:
                if e.heading not in seen:
                    seen.append(e.heading)
            links = " · ".join(f"[{h}](#{slug(h)})" for h in seen)
            rows.append(f"| `{code}` | {statuses} | {links} |")
        else:
            status, endpoint, when = UNPROVOKED[code]
            rows.append(f"| `{code}` | {status} | no example: {when} ({endpoint}) |")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------------- openapi


def openapi_document() -> str:
    """The document ``GET /openapi.json`` serves, as stable, indented JSON."""
    import tempfile

    from flowtime.runs import Settings
    from flowtime.server import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings.resolve(data_dir=Path(tmp), env={}))
        return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------------- files


def replace_region(text: str, name: str, content: str) -> str:
    """``text`` with the region between the BEGIN/END markers of ``name`` replaced by ``content``."""
    begin, end = BEGIN.format(name=name), END.format(name=name)
    if begin not in text or end not in text:
        raise ValueError(f"markers for '{name}' are missing: {begin} ... {end}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n\n{content}\n\n{end}{tail}"


def expected_files() -> dict[Path, str]:
    """Every generated file with the content it must have now."""
    templates = DOCS / "templates.md"
    examples = DOCS / "api-examples.md"
    return {
        templates: replace_region(templates.read_text(encoding="utf-8"), "template-parameters", template_tables()),
        examples: replace_region(examples.read_text(encoding="utf-8"), "error-index", error_index(examples)),
        DOCS / "openapi.json": openapi_document(),
    }


def stale_files() -> list[Path]:
    """Generated files whose content differs from what the product gives now."""
    return [
        path
        for path, content in expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_files()
        for path in stale:
            print(f"{path.relative_to(REPO)} is out of date: run .venv/bin/python scripts/gen_docs.py")
        return 1 if stale else 0
    for path, content in expected_files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
