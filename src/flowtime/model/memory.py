"""Pausing the cyclic garbage collector while a large structure is built."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # pauses in progress, in any thread
_resume = False  # whether the collector was enabled when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cyclic collector off for the block (pauses may nest and overlap across threads).

    Loading a large model or assembling its program allocates hundreds of thousands of containers that
    all stay alive; the collector's repeated passes over them found nothing to free and took a third of
    the time. Reference counting still frees everything that is not in a cycle.
    """
    global _active, _resume
    with _lock:
        if _active == 0:
            _resume = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _resume:
                gc.enable()
