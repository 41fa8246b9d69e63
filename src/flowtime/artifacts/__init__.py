"""The canonical run bundle on disk: writing it atomically, reading it tolerantly (``artifacts.md``)."""

from flowtime.artifacts.hashes import file_hash, hashes_equal, model_hash, scenario_hash, sha256_bytes
from flowtime.artifacts.jsonfmt import dumps_json, json_bytes, json_string
from flowtime.artifacts.layout import (
    DEFAULT_CLASS,
    INDEX_FILE,
    MANIFEST_FILE,
    METADATA_FILE,
    MODEL_DIR,
    MODEL_FILE,
    PROVENANCE_FILE,
    RUN_FILE,
    SERIES_DIR,
    SERIES_ID_PATTERN,
    SPEC_FILE,
    TELEMETRY_DIR,
    component_id,
    series_id,
    series_node,
    series_path,
)
from flowtime.artifacts.locks import run_lock
from flowtime.artifacts.manifest import SeriesEntry
from flowtime.artifacts.numbers import (
    CSV_HEADER,
    decode_series_csv,
    encode_series_csv,
    format_double,
    write_series_csv,
)
from flowtime.artifacts.provenance import resolve_provenance
from flowtime.artifacts.read import BundleGrid, BundleSeries, RunBundle, RunListing, list_runs, open_bundle
from flowtime.artifacts.runids import (
    RUN_ID_PATTERN,
    deterministic_run_id,
    is_valid_run_id,
    random_run_id,
    validate_run_id,
)
from flowtime.artifacts.selection import required_columns, select_columns
from flowtime.artifacts.spectext import SpecText, normalise_spec_text
from flowtime.artifacts.timestamps import format_grid_time, format_utc, model_start, model_start_text, parse_utc
from flowtime.artifacts.write import (
    RunStaging,
    RunWritten,
    SeriesSource,
    fsync_directory,
    remove_stale_staging,
    stage_run,
    write_run,
)

__all__ = [
    "CSV_HEADER",
    "DEFAULT_CLASS",
    "INDEX_FILE",
    "MANIFEST_FILE",
    "METADATA_FILE",
    "MODEL_DIR",
    "MODEL_FILE",
    "PROVENANCE_FILE",
    "RUN_FILE",
    "RUN_ID_PATTERN",
    "SERIES_DIR",
    "SERIES_ID_PATTERN",
    "SPEC_FILE",
    "TELEMETRY_DIR",
    "BundleGrid",
    "BundleSeries",
    "RunBundle",
    "RunListing",
    "RunStaging",
    "RunWritten",
    "SeriesEntry",
    "SeriesSource",
    "SpecText",
    "component_id",
    "decode_series_csv",
    "deterministic_run_id",
    "dumps_json",
    "encode_series_csv",
    "file_hash",
    "format_double",
    "format_grid_time",
    "format_utc",
    "fsync_directory",
    "hashes_equal",
    "is_valid_run_id",
    "json_bytes",
    "json_string",
    "list_runs",
    "model_hash",
    "model_start",
    "model_start_text",
    "normalise_spec_text",
    "open_bundle",
    "parse_utc",
    "random_run_id",
    "remove_stale_staging",
    "required_columns",
    "resolve_provenance",
    "run_lock",
    "scenario_hash",
    "select_columns",
    "series_id",
    "series_node",
    "series_path",
    "sha256_bytes",
    "stage_run",
    "validate_run_id",
    "write_run",
    "write_series_csv",
]
