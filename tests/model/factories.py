"""Small builders of model documents for the model-layer tests; everything goes through the public loader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from flowtime.errors import Problem
from flowtime.model import Limits, Model, load_model, validate_model


def grid(bins: int = 4, **extra: Any) -> dict[str, Any]:
    return {"bins": bins, "binSize": 1, "binUnit": "hours", **extra}


def const(node_id: str, values: Sequence[Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": "const", "values": list(values), **extra}


def expr(node_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": "expr", "expr": text, **extra}


def pmf(node_id: str, values: Sequence[float], probabilities: Sequence[float]) -> dict[str, Any]:
    return {
        "id": node_id,
        "kind": "pmf",
        "pmf": {"values": list(values), "probabilities": list(probabilities)},
    }


def topology_node(node_id: str, kind: str = "service", **semantics: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "semantics": semantics}


def document(*nodes: dict[str, Any], bins: int = 4, **root: Any) -> dict[str, Any]:
    """A model document: ``schemaVersion: 1``, a ``bins``-long hourly grid, ``nodes``, then ``root`` keys."""
    return {"schemaVersion": 1, "grid": grid(bins), "nodes": list(nodes), **root}


def model_text(*nodes: dict[str, Any], bins: int = 4, **root: Any) -> str:
    return yaml.safe_dump(document(*nodes, bins=bins, **root), sort_keys=False)


def make_model(*nodes: dict[str, Any], bins: int = 4, limits: Limits | None = None, **root: Any) -> Model:
    """A model loaded exactly as user input is; fails the test (ModelInvalid) if it is not valid."""
    text = model_text(*nodes, bins=bins, **root)
    return load_model(text) if limits is None else load_model(text, limits=limits)


def problems_of(*nodes: dict[str, Any], bins: int = 4, limits: Limits | None = None, **root: Any) -> list[Problem]:
    text = model_text(*nodes, bins=bins, **root)
    return validate_model(text) if limits is None else validate_model(text, limits=limits)


def codes(problems: Sequence[Problem]) -> list[str]:
    return [p.code for p in problems]


def only(problems: Sequence[Problem], code: str) -> Problem:
    """The one problem with ``code``; fails when there are none or several."""
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, f"expected one {code}, got {[str(p) for p in problems]}"
    return found[0]


def messages(problems: Sequence[Problem]) -> list[str]:
    return [p.message for p in problems]
