"""Numba compilation with an on-disk cache wherever a writable cache directory exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

# error_model="numpy": division and domain errors give IEEE results instead of Python exceptions.
# No fastmath: contraction into FMA or reassociation would break bit-identity with model.md §8.3.
_OPTIONS: dict[str, Any] = {"nogil": True, "error_model": "numpy"}


def _compile(func: F, options: dict[str, Any]) -> F:
    try:
        return numba.njit(cache=True, **options)(func)  # type: ignore[no-any-return]
    except RuntimeError:
        return numba.njit(cache=False, **options)(func)  # type: ignore[no-any-return]


def jit(func: F) -> F:
    """Compile ``func`` in nopython mode on first call, cached on disk when possible.

    Numba looks for a writable cache directory (``NUMBA_CACHE_DIR``, ``__pycache__`` beside the source,
    the user cache directory) and raises at decoration time when none exists; a read-only installation
    then compiles in memory instead of failing to import.
    """
    return _compile(func, _OPTIONS)


def inline(func: F) -> F:
    """Like :func:`jit`, but inlined into compiled callers at numba IR level.

    Calls between compiled functions that pass arrays cost atomic reference-count updates; helpers of the
    per-bin loops must therefore be inlined, not called.
    """
    return _compile(func, {**_OPTIONS, "inline": "always"})
