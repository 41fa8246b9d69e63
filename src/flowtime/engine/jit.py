"""Numba compilation, deferred to the first call and cached on disk wherever a cache directory is writable.

Importing numba and initialising its compiler costs most of a second, so ``flowtime.engine`` must not pay it
at import time: commands that never evaluate (``validate``, listings, the server's startup) stay fast. The
decorators below register plain Python functions; the first call of any of them imports numba, turns every
registered function into a dispatcher and rebinds the module globals that name them, so compiled callers
resolve compiled callees.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

# error_model="numpy": division and domain errors give IEEE results instead of Python exceptions.
# No fastmath: contraction into FMA or reassociation would break bit-identity with model.md §8.3.
_OPTIONS: dict[str, Any] = {"nogil": True, "error_model": "numpy"}

_lock = threading.Lock()
_pending: list[_Deferred] = []
_ready = False


class _Deferred:
    """A registered function until numba is loaded; calling it loads numba and compiles on demand."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.func = func
        self.options = options
        self.compiled: Any = None
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is None:
            _load_all()
        return self.compiled(*args, **kwargs)


def _dispatcher(func: Callable[..., Any], options: dict[str, Any]) -> Any:
    """``numba.njit`` with the disk cache; without a writable cache directory numba raises at decoration
    time, and the function is then compiled in memory only."""
    import numba

    try:
        return numba.njit(cache=True, **options)(func)
    except RuntimeError:
        return numba.njit(cache=False, **options)(func)


def _load_all() -> None:
    global _ready
    with _lock:
        for deferred in _pending:
            deferred.compiled = _dispatcher(deferred.func, deferred.options)
        for module_name in {deferred.func.__module__ for deferred in _pending}:
            namespace = sys.modules[module_name].__dict__
            for name, value in list(namespace.items()):
                if isinstance(value, _Deferred) and value.compiled is not None:
                    namespace[name] = value.compiled
        _pending.clear()
        _ready = True


def _register(func: F, options: dict[str, Any]) -> F:
    with _lock:
        if _ready:
            return cast(F, _dispatcher(func, options))
        deferred = _Deferred(func, options)
        _pending.append(deferred)
        return cast(F, deferred)


def jit(func: F) -> F:
    """Compile ``func`` in nopython mode (on first use), cached on disk when possible."""
    return _register(func, _OPTIONS)


def inline(func: F) -> F:
    """Like :func:`jit`, but inlined into compiled callers at numba IR level.

    For small scalar helpers of the per-bin loops: inlining lets LLVM vectorize the loops that call them.
    """
    return _register(func, {**_OPTIONS, "inline": "always"})
