"""Which provenance a run records — header or embedded block — and the warnings of that choice (§11)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowtime.errors import Problem

PROVENANCE_IGNORED = Problem(
    code="provenance_ignored",
    message="Provenance without modelId was ignored.",
    severity="warning",
    path="provenance",
)
PROVENANCE_HEADER_OVERRIDE = Problem(
    code="provenance_header_override",
    message="Provenance header overrides the embedded provenance block.",
    severity="warning",
    path="provenance",
)


def resolve_provenance(
    supplied: Mapping[str, Any] | str | None,
    embedded: Mapping[str, Any] | None,
    *,
    from_header: bool = True,
) -> tuple[Mapping[str, Any] | None, tuple[Problem, ...]]:
    """The provenance a run records, and the warnings the choice raised.

    ``supplied`` (the ``X-Model-Provenance`` header or a bundle builder's supplement) wins over the model's
    ``embedded`` block; a string is a JSON object or, otherwise, a bare ``modelId``. A mapping without a
    non-blank ``modelId`` is ignored (``provenance_ignored``) and the next source is tried.
    ``provenance_header_override`` is reported when a header replaces an embedded block.
    """
    warnings: list[Problem] = []
    header = _as_mapping(supplied)
    if header is not None:
        if has_model_id(header):
            if embedded is not None and from_header:
                warnings.append(PROVENANCE_HEADER_OVERRIDE)
            return header, tuple(warnings)
        warnings.append(PROVENANCE_IGNORED)
    if embedded is not None:
        if has_model_id(embedded):
            return embedded, tuple(warnings)
        if PROVENANCE_IGNORED not in warnings:
            warnings.append(PROVENANCE_IGNORED)
    return None, tuple(warnings)


def has_model_id(provenance: Mapping[str, Any]) -> bool:
    model_id = provenance.get("modelId")
    return model_id is not None and not isinstance(model_id, (dict, list)) and bool(str(model_id).strip())


def _as_mapping(supplied: Mapping[str, Any] | str | None) -> Mapping[str, Any] | None:
    if supplied is None or isinstance(supplied, Mapping):
        return supplied
    text = supplied.strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"modelId": text}
    if isinstance(parsed, dict):
        return parsed
    return {"modelId": parsed if isinstance(parsed, str) else text}
