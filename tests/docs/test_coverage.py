"""The docs cover the product: every error code, log event, HTTP route and CLI command appears in them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import typer
from tests.docs.markdown import DOCS, REPO, blocks, doc_pages

from flowtime.cli.main import app as cli_app
from flowtime.runs import Settings
from flowtime.server import create_app

SRC = REPO / "src" / "flowtime"
_SNAKE = re.compile(r"^[a-z]+(?:_[a-z0-9]+)+$")
_WORD = re.compile(r"^[a-z]+(?:_[a-z0-9]+)*$")
# Defaults of the error families (errors.py); they are never sent for a concrete failure.
FAMILY_CODES = frozenset({"invalid_input", "not_found", "conflict", "unprocessable", "path_escape"})
_CALLS = re.compile(r"error|warn|problem|fail|reject", re.IGNORECASE)


def _constant(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _codes_in(tree: ast.AST) -> Iterator[str]:
    """String codes in ``code = "…"``, ``code="…"``, ``{"code": "…"}`` and ``error("…", …)``-like calls."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets)) or (
            isinstance(node, ast.keyword) and node.arg == "code"
        ):
            yield from filter(None, [_constant(node.value)])
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _constant(key) == "code":
                    yield from filter(None, [_constant(value)])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = _constant(node.args[0])
            # Problem("cycle", …) may use a one-word code; other reporting calls need a snake_case one.
            if first and (("roblem" in name and _WORD.match(first)) or (_CALLS.search(name) and _SNAKE.match(first))):
                yield first


def source_codes() -> set[str]:
    """Every error or warning code the source raises with a literal code."""
    codes: set[str] = set()
    for file in SRC.rglob("*.py"):
        codes.update(c for c in _codes_in(ast.parse(file.read_text(encoding="utf-8"))) if _WORD.match(c))
    return codes - FAMILY_CODES


def docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in doc_pages())


def test_every_error_and_warning_code_is_documented() -> None:
    documented = set(re.findall(r"`([a-z0-9_]+)`", docs_text()))
    missing = sorted(source_codes() - documented)
    assert missing == [], "codes raised in src/ but explained nowhere in docs/"


def test_the_code_scan_finds_codes_of_every_kind() -> None:
    codes = source_codes()
    # exception classes, keyword codes, dict bodies, model problems, template problems, capture warnings
    assert {"capture_exists", "invalid_run_id", "payload_too_large", "cycle", "parameter_type", "data_gap"} <= codes


def log_events() -> set[tuple[int, str]]:
    """(event id, event name) of every ``log_event(logger, "Name", id, …)`` call in the source."""
    events: set[tuple[int, str]] = set()
    for file in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "log_event":
                name, number = node.args[1], node.args[2]
                if isinstance(name, ast.Constant) and isinstance(number, ast.Constant):
                    events.add((int(number.value), str(name.value)))
    return events


def test_every_log_event_is_in_the_api_reference() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| (\d{4}) \| `(\w+)` \|", text, re.MULTILINE))
    found = log_events()
    assert len(found) > 30
    assert {(str(i), n) for i, n in found} - table == set(), "log events missing from docs/api.md"
    assert table - {(str(i), n) for i, n in found} == set(), "docs/api.md lists events the source never logs"


def api_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path) of every JSON API route of the app (the web UI pages and /docs excluded)."""
    app = create_app(Settings.resolve(data_dir=tmp_path, env={}))
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        path = getattr(route, "path", "")
        if not (path.startswith(("/v1/", "/api/v1/")) or path in ("/healthz", "/openapi.json")):
            continue
        for method in getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    return routes


def _example_requests() -> list[tuple[str, str]]:
    """(method, path without query) of every runnable http request in docs/."""
    found: list[tuple[str, str]] = []
    for page in doc_pages():
        for block in blocks(page):
            if block.lang == "http" and "runnable" in block.flags:
                method, target = block.text.split()[:2]
                found.append((method, target.split("?", 1)[0]))
    return found


def test_every_api_route_has_a_runnable_example(tmp_path: Path) -> None:
    examples = _example_requests()
    missing = []
    for method, path in sorted(api_routes(tmp_path)):
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        if not any(m == method and pattern.match(p) for m, p in examples):
            missing.append(f"{method} {path}")
    assert missing == []


def cli_commands() -> list[str]:
    """Every leaf command of ``flowtime`` as typed (``telemetry capture``, ``validate``, …)."""
    root = typer.main.get_command(cli_app)
    found: list[str] = []

    def walk(command: click.Command, prefix: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            found.append(prefix)

    walk(root, "")
    return found


def test_every_cli_command_is_run_in_the_docs() -> None:
    commands = cli_commands()
    assert "telemetry import" in commands and "validate" in commands
    run = [
        line[2:]
        for page in doc_pages()
        for block in blocks(page)
        if block.lang == "console" and "runnable" in block.flags
        for line in block.text.splitlines()
        if line.startswith("$ ")
    ]
    words = [re.sub(r"--[\w-]+(?:[ =]\S+)?", " ", line).split() for line in run if "flowtime" in line]
    used = {" ".join(w[w.index("flowtime") + 1 : w.index("flowtime") + 3]) for w in words}
    used |= {" ".join(w[w.index("flowtime") + 1 : w.index("flowtime") + 2]) for w in words}
    missing = [c for c in commands if c not in used]
    assert missing == [], "commands no docs example runs"
