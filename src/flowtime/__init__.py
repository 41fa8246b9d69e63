"""FlowTime: a deterministic flow-modelling engine for service systems.

The public surface of the core layers, loaded on first use so ``import flowtime`` (and the CLI) stays fast::

    from flowtime import load_model, evaluate, write_run
    model = load_model(text)
    evaluation = evaluate(model, seed=42)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "load_model": "flowtime.model",
    "validate_model": "flowtime.model",
    "Model": "flowtime.model",
    "Limits": "flowtime.model",
    "evaluate": "flowtime.engine",
    "Evaluation": "flowtime.engine",
    "derive_metrics": "flowtime.engine",
    "write_run": "flowtime.artifacts",
    "open_bundle": "flowtime.artifacts",
    "RunWritten": "flowtime.artifacts",
    "RunBundle": "flowtime.artifacts",
    "Problem": "flowtime.errors",
    "FlowTimeError": "flowtime.errors",
    "ModelInvalid": "flowtime.errors",
}

__all__ = [
    "Evaluation",
    "FlowTimeError",
    "Limits",
    "Model",
    "ModelInvalid",
    "Problem",
    "RunBundle",
    "RunWritten",
    "__version__",
    "derive_metrics",
    "evaluate",
    "load_model",
    "open_bundle",
    "validate_model",
    "write_run",
]

if TYPE_CHECKING:
    from flowtime.artifacts import RunBundle, RunWritten, open_bundle, write_run
    from flowtime.engine import Evaluation, derive_metrics, evaluate
    from flowtime.errors import FlowTimeError, ModelInvalid, Problem
    from flowtime.model import Limits, Model, load_model, validate_model


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowtime' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
