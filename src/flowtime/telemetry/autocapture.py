"""``autocapture.json``: who generated a capture from which run and template parameters (§4)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

from flowtime.artifacts import format_double, json_string

AUTOCAPTURE_NAME = "autocapture.json"
DEFAULT_SEED = 123


def canonical_json(value: Any) -> str:
    """Compact JSON with keys sorted by code point, §1 numbers and RFC 8259 minimal string escapes.

    Integral floats render as integers (``15.0`` → ``15``); non-finite floats, which JSON cannot carry,
    render as ``null``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{json_string(k)}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def parameters_hash(
    template_id: str | None, template_version: str | None, rng_seed: int, parameters: Mapping[str, Any]
) -> str:
    """``sha256:`` of ``{"templateId","templateVersion","rngSeed","parameters"}`` in canonical JSON.

    >>> parameters_hash("http-service", "1.0.0", 123, {"bins": 4, "binSize": 15, "errorRate": 0.05,
    ...     "requestPattern": [30, 44, 52, 41], "serviceCapacity": 50, "telemetryRequestsSource": ""})
    'sha256:da725c6204c67aa7dc0acaaf406a74fa04cfb63112ae79cd8dcbea9b90c739da'
    """
    head = (
        f'{{"templateId":{canonical_json(template_id)},"templateVersion":{canonical_json(template_version)},'
        f'"rngSeed":{canonical_json(rng_seed)},"parameters":{canonical_json(dict(parameters))}}}'
    )
    return "sha256:" + hashlib.sha256(head.encode("utf-8")).hexdigest()


def autocapture_document(
    *,
    metadata: Mapping[str, Any],
    run_manifest: Mapping[str, Any],
    run_json: Mapping[str, Any],
    source_run_id: str,
    capture_key: str | None,
    generated_at_utc: str,
) -> dict[str, Any]:
    """The ``autocapture.json`` object, keys in order and nulls kept, from the source run's files.

    ``metadata`` is ``model/metadata.json``, ``run_manifest`` the run's ``manifest.json`` (for
    ``rng.seed``; 123 when absent) and ``run_json`` its ``run.json`` (for ``scenarioHash``).
    """
    template_id = _text(metadata.get("templateId"))
    template_version = _text(metadata.get("templateVersion"))
    rng = run_manifest.get("rng")
    seed = rng.get("seed") if isinstance(rng, Mapping) else None
    rng_seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else DEFAULT_SEED
    parameters = metadata.get("parameters")
    params = parameters if isinstance(parameters, Mapping) else {}
    return {
        "templateId": template_id,
        "templateVersion": template_version,
        "captureKey": capture_key,
        "sourceRunId": source_run_id,
        "generatedAtUtc": generated_at_utc,
        "rngSeed": rng_seed,
        "parametersHash": parameters_hash(template_id, template_version, rng_seed, params),
        "scenarioHash": _text(run_json.get("scenarioHash")),
    }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
