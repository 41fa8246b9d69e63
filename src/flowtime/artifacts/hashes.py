"""The three bundle hashes of ``artifacts.md`` §13: scenario, model and file (series) hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

_PREFIX = "sha256:"
_READ_SIZE = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """``sha256:`` + lowercase hex digest of ``data``."""
    return _PREFIX + hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    """Hash of a file's stored bytes, as they are (a reference bundle's BOM included)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_READ_SIZE):
            digest.update(block)
    return _PREFIX + digest.hexdigest()


def scenario_hash(spec_text: str, caller_seed: int | None) -> str:
    """Identity of a scenario: the normalised spec text (§6) and the caller's seed, nothing else.

    ``P = strip(specText) + "\\n" + seedPart + "\\n" + "null"``; the model's own ``rng.seed`` is part of
    the text, so it is covered without appearing in ``seedPart``. The last part is reserved and always null.
    """
    seed_part = "null" if caller_seed is None else str(int(caller_seed))
    payload = f"{spec_text.strip()}\n{seed_part}\nnull"
    return sha256_bytes(payload.encode("utf-8"))


def model_hash(model_yaml: bytes) -> str:
    """Hash of ``model/model.yaml``'s bytes (the normalised spec text as UTF-8)."""
    return sha256_bytes(model_yaml)


def hashes_equal(left: str | None, right: str | None) -> bool:
    """Hash comparison as readers do it: case-insensitive, whitespace ignored, None never equal."""
    if left is None or right is None:
        return False
    return left.strip().lower() == right.strip().lower()
