"""The template JSON Schema shipped in the package (``templates.md`` §9) and its violations as problems."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from flowtime.model import format_path
from flowtime.sim.errors import TemplateProblem

SCHEMA_CODE = "template_schema_violation"
_MAX_MESSAGE = 240


@functools.cache
def _schema_text() -> str:
    return resources.files("flowtime.sim").joinpath("template.schema.json").read_text(encoding="utf-8")


def template_schema() -> dict[str, Any]:
    """A fresh copy of the schema document, as served by ``GET /v1/templates/schema``."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    schema = template_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(document: Any) -> list[TemplateProblem]:
    """Every schema violation of a template document (§3.2), one problem per unknown key; a missing required
    key is reported at the path it should have."""
    problems: list[TemplateProblem] = []
    for error in _validator().iter_errors(document):
        problems += _problems_of(error)
    return problems


def _problems_of(error: ValidationError) -> list[TemplateProblem]:
    path = format_path(list(error.absolute_path))
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        return [
            TemplateProblem(
                SCHEMA_CODE,
                f"Unknown key '{key}' is not part of the template format.",
                path=f"{path}.{key}" if path else str(key),
            )
            for key in error.instance
            if key not in known
        ]
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = next((k for k in error.validator_value if error.message.startswith(f"{k!r} ")), None)
        if missing is not None:
            path = f"{path}.{missing}" if path else str(missing)
    detail = best_match(error.context) if error.context else error
    message = detail.message if len(detail.message) <= _MAX_MESSAGE else detail.message[: _MAX_MESSAGE - 1] + "…"
    return [TemplateProblem(SCHEMA_CODE, f"Template schema: {message}.", path=path or None)]
