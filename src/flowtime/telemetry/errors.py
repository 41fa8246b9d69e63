"""The coded errors of capture, generation, bundling and import, each in its FlowTimeError family."""

from __future__ import annotations

from flowtime.errors import Conflict, FlowTimeError, InvalidInput, NotFound, Unprocessable


class CaptureSourceInvalid(Unprocessable):
    """The run to capture is unreadable or incomplete, or is not a simulation run."""

    code = "capture_source_invalid"


class CaptureEmpty(Unprocessable):
    """The run has no series that its topology semantics or outputs bind to a capture file."""

    code = "capture_empty"


class CaptureExists(Conflict):
    """A capture (``manifest.json``) already exists at the target and overwriting was not requested.

    ``generated_at_utc`` and ``source_run_id`` are the stored values, returned to the caller.
    """

    code = "capture_exists"

    def __init__(self, message: str, *, generated_at_utc: str | None = None, source_run_id: str | None = None) -> None:
        super().__init__(message)
        self.generated_at_utc = generated_at_utc
        self.source_run_id = source_run_id


class CaptureInProgress(Conflict):
    """Another generation, capture or import holds the lock of the same target."""

    code = "capture_in_progress"


class CaptureNotFound(Unprocessable):
    """The capture directory named by the caller does not exist (422 for replays, ``api.md`` §4.4)."""

    code = "capture_not_found"


class CaptureFailed(FlowTimeError):
    """Generation failed on I/O; nothing visible changed."""

    code = "capture_failed"


class RunNotFound(NotFound):
    """The run (directory) to capture or generate from does not exist."""

    code = "run_not_found"


class InvalidOutput(InvalidInput):
    """Both ``output.captureKey`` and ``output.directory`` were given."""

    code = "invalid_output"


class PathOutsideRoots(InvalidInput):
    """A capture or output directory lies outside every allowed root."""

    code = "path_outside_roots"


class InvalidCaptureKey(InvalidInput):
    """A capture key that is not 1–8 segments of ``[A-Za-z0-9][A-Za-z0-9._-]{0,63}``."""

    code = "invalid_capture_key"


class ImportRowInvalid(Unprocessable):
    """A data row that cannot be read: blank node or metric, bad timestamp, non-numeric value."""

    code = "import_row_invalid"


class ImportColumnMissing(Unprocessable):
    """A required input column is absent."""

    code = "import_column_missing"


class ParquetUnavailable(Unprocessable):
    """Parquet input without the optional ``flowtime[parquet]`` extra (pyarrow) installed."""

    code = "parquet_unavailable"


class ImportInputInvalid(Unprocessable):
    """The input file cannot be opened or is not a readable CSV/Parquet file."""

    code = "import_input_invalid"


class ImportGridInvalid(InvalidInput):
    """The import grid (from ``--model`` or the grid options) is incomplete or out of the engine's limits."""

    code = "import_grid_invalid"


class CaptureFileMissing(Unprocessable):
    """A manifest file is not a plain relative path inside the capture, or does not exist."""

    code = "capture_file_missing"


class CaptureChecksumMismatch(Unprocessable):
    """A capture file's bytes do not hash to its manifest ``hash``."""

    code = "capture_checksum_mismatch"


class CaptureGridMismatch(Unprocessable):
    """The model's grid differs from the capture's."""

    code = "capture_grid_mismatch"
