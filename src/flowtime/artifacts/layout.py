"""Names and relative paths inside a run bundle, and the series-id scheme (``artifacts.md`` §2, §4)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

SCHEMA_VERSION = 1
DEFAULT_CLASS = "DEFAULT"

SPEC_FILE = "spec.yaml"
RUN_FILE = "run.json"
MANIFEST_FILE = "manifest.json"
SERIES_DIR = "series"
INDEX_FILE = "series/index.json"
MODEL_DIR = "model"
MODEL_FILE = "model/model.yaml"
METADATA_FILE = "model/metadata.json"
PROVENANCE_FILE = "model/provenance.json"
TELEMETRY_DIR = "model/telemetry"

SERIES_ID_PATTERN = re.compile(r"^[A-Za-z0-9._@-]+$")

_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def component_id(column_id: str) -> str:
    """ASCII upper case of a column id: ``handle_rate`` → ``HANDLE_RATE``."""
    return column_id.translate(_ASCII_UPPER)


def series_id(column_id: str, class_id: str = DEFAULT_CLASS) -> str:
    """Series id of a column: ``handled`` → ``handled@HANDLED@DEFAULT`` (§4).

    >>> series_id("intake_queue_queue")
    'intake_queue_queue@INTAKE_QUEUE_QUEUE@DEFAULT'
    """
    return f"{column_id}@{component_id(column_id)}@{class_id}"


def series_node(series_id_: str) -> str:
    """The node (column) part of a series id: everything before the first ``@`` (the whole id if none)."""
    return series_id_.split("@", 1)[0]


def series_path(series_id_: str) -> str:
    """Bundle-relative path of a series CSV: ``series/<seriesId>.csv``."""
    return f"{SERIES_DIR}/{series_id_}.csv"


def is_inside(relative: str) -> bool:
    """True when a bundle-relative path (as written in index.json) stays inside the run directory.

    Absolute paths, drive letters, backslash separators that climb, and any ``..`` segment are rejected.
    """
    text = relative.replace("\\", "/")
    if not text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return False
    return ".." not in PurePosixPath(text).parts
