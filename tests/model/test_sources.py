import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtime.artifacts import encode_series_csv
from flowtime.errors import InvalidInput, NotFound, PathEscape, Unprocessable
from flowtime.model import (
    SourceNotFound,
    TelemetryCsvInvalid,
    TelemetryLengthMismatch,
    UriOutsideSandbox,
    UriRequiresModelDir,
    UriUnsupported,
    is_file_uri,
    is_inside,
    parse_file_uri,
    parse_series_csv,
    read_series_csv,
    resolve_uri,
)
from flowtime.model.sources import _parse_canonical, _parse_rows

# -------------------------------------------------------------------------------------------- forms


@pytest.mark.parametrize(
    ("uri", "kind", "path"),
    [
        ("file://telemetry/HttpService_served.csv", "telemetry", "HttpService_served.csv"),
        ("FILE://TELEMETRY/a.csv", "telemetry", "a.csv"),
        ("file:///srv/ft/telemetry/web/a.csv", "absolute", "/srv/ft/telemetry/web/a.csv"),
        ("file://localhost/srv/a.csv", "absolute", "/srv/a.csv"),
        ("file://LocalHost/srv/a.csv", "absolute", "/srv/a.csv"),
        ("file:/srv/ft/a.csv", "absolute", "/srv/ft/a.csv"),
        ("file:HttpService_served.csv", "relative", "HttpService_served.csv"),
        ("file:telemetry/a.csv", "relative", "telemetry/a.csv"),
        ("File:a%20b.csv", "relative", "a b.csv"),
        ("file:%2e%2e/x.csv", "relative", "../x.csv"),
    ],
)
def test_file_uri_forms(uri: str, kind: str, path: str) -> None:
    parsed = parse_file_uri(uri)
    assert (parsed.kind, parsed.path) == (kind, path)


@pytest.mark.parametrize("uri", ["file://fileserver/a.csv", "http://example.com/a.csv", "arrivals", "s3://b/a.csv"])
def test_other_hosts_schemes_and_bare_text_are_unsupported(uri: str) -> None:
    with pytest.raises(UriUnsupported) as caught:
        parse_file_uri(uri)
    assert caught.value.code == "uri_unsupported"
    assert caught.value.message == f"Unsupported URI scheme for '{uri}'. Only file: URIs are supported."


@pytest.mark.parametrize("uri", ["", "   "])
def test_a_blank_uri_is_unsupported(uri: str) -> None:
    with pytest.raises(UriUnsupported, match=r"^URI must not be blank\.$"):
        parse_file_uri(uri)


def test_is_file_uri_checks_the_scheme_only() -> None:
    assert is_file_uri("FILE:x") and is_file_uri(" file://h/x")
    assert not is_file_uri("files:x") and not is_file_uri("demand")


def test_error_families() -> None:
    assert issubclass(UriUnsupported, InvalidInput) and issubclass(UriRequiresModelDir, InvalidInput)
    assert issubclass(UriOutsideSandbox, PathEscape)
    assert issubclass(SourceNotFound, NotFound)
    assert issubclass(TelemetryCsvInvalid, Unprocessable) and issubclass(TelemetryLengthMismatch, Unprocessable)


# ----------------------------------------------------------------------------------------- resolve


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A model directory, an allowed runs root, a sibling ``runs2`` and an outside directory, with files."""
    dirs = {name: tmp_path / name for name in ("model", "runs", "runs2", "outside")}
    for directory in dirs.values():
        directory.mkdir()
    (dirs["model"] / "telemetry").mkdir()
    (dirs["model"] / "sub").mkdir()
    for path in (
        dirs["model"] / "a.csv",
        dirs["model"] / "a b.csv",
        dirs["model"] / "telemetry" / "t.csv",
        dirs["runs"] / "r.csv",
        dirs["runs2"] / "r.csv",
        dirs["outside"] / "secret.csv",
    ):
        path.write_text("bin_index,value\n0,1\n")
    return dirs


def test_relative_and_telemetry_uris_resolve_in_the_model_directory(layout: dict[str, Path]) -> None:
    model = layout["model"]
    assert resolve_uri("file:a.csv", model) == model / "a.csv"
    assert resolve_uri("file:a%20b.csv", model) == model / "a b.csv"
    assert resolve_uri("file://telemetry/t.csv", model) == model / "telemetry" / "t.csv"
    assert resolve_uri("file:telemetry/t.csv", model) == model / "telemetry" / "t.csv"


def test_a_dot_dot_that_stays_inside_is_accepted(layout: dict[str, Path]) -> None:
    assert resolve_uri("file:sub/../a.csv", layout["model"]) == layout["model"] / "a.csv"


@pytest.mark.parametrize("form", ["file://{path}", "file:{path}", "file://localhost{path}"])
def test_absolute_uris_inside_an_allowed_root(layout: dict[str, Path], form: str) -> None:
    path = layout["runs"] / "r.csv"
    uri = form.format(path=path)
    assert resolve_uri(uri, layout["model"], [layout["runs"]]) == path
    assert resolve_uri(uri, None, [layout["runs"]]) == path


@pytest.mark.parametrize(
    "uri",
    [
        "file:../outside/secret.csv",
        "file:../../etc/passwd",
        "file:%2e%2e/outside/secret.csv",
        "file:sub/%2E%2E/%2E%2E/outside/secret.csv",
        "file://telemetry/../../outside/secret.csv",
        "file:///etc/passwd",
    ],
)
def test_paths_leaving_every_base_are_refused(layout: dict[str, Path], uri: str) -> None:
    with pytest.raises(UriOutsideSandbox) as caught:
        resolve_uri(uri, layout["model"], [layout["runs"]])
    assert caught.value.code == "uri_outside_sandbox"
    assert caught.value.message == f"Path for '{uri}' escapes the allowed directories."


def test_a_sibling_with_a_common_prefix_is_not_inside(layout: dict[str, Path]) -> None:
    uri = f"file://{layout['runs2'] / 'r.csv'}"
    with pytest.raises(UriOutsideSandbox):
        resolve_uri(uri, layout["model"], [layout["runs"]])
    assert not is_inside(layout["runs2"] / "r.csv", [layout["runs"]])
    assert is_inside(layout["runs"] / "r.csv", [layout["runs"]])


def test_a_symlink_leading_out_is_refused(layout: dict[str, Path]) -> None:
    (layout["model"] / "link.csv").symlink_to(layout["outside"] / "secret.csv")
    (layout["model"] / "dirlink").symlink_to(layout["outside"], target_is_directory=True)
    for uri in ("file:link.csv", "file:dirlink/secret.csv"):
        with pytest.raises(UriOutsideSandbox):
            resolve_uri(uri, layout["model"])


def test_a_symlink_staying_inside_is_accepted(layout: dict[str, Path]) -> None:
    (layout["model"] / "alias.csv").symlink_to(layout["model"] / "a.csv")
    assert resolve_uri("file:alias.csv", layout["model"]) == layout["model"] / "alias.csv"


def test_a_model_directory_reached_through_a_symlink_is_its_own_base(layout: dict[str, Path], tmp_path: Path) -> None:
    linked = tmp_path / "linked-model"
    linked.symlink_to(layout["model"], target_is_directory=True)
    assert resolve_uri("file:a.csv", linked) == linked / "a.csv"


def test_relative_forms_need_a_model_directory() -> None:
    with pytest.raises(UriRequiresModelDir, match=r"^Relative file URIs require a model directory for resolution\.$"):
        resolve_uri("file:a.csv")
    with pytest.raises(UriRequiresModelDir, match=r"^Telemetry URIs require a model directory for resolution\.$"):
        resolve_uri("file://telemetry/a.csv")


def test_absolute_uris_without_any_base_are_outside() -> None:
    with pytest.raises(UriOutsideSandbox):
        resolve_uri("file:///etc/hostname")


def test_a_missing_file_or_a_directory_is_not_found(layout: dict[str, Path]) -> None:
    for uri in ("file:missing.csv", "file:sub", "file:nul%00.csv"):
        with pytest.raises(SourceNotFound) as caught:
            resolve_uri(uri, layout["model"])
        assert caught.value.message == f"'{uri}' was not found."
    assert resolve_uri("file:missing.csv", layout["model"], must_exist=False) == layout["model"] / "missing.csv"


def test_messages_never_show_resolved_paths(layout: dict[str, Path]) -> None:
    for uri in ("file:missing.csv", "file:../outside/secret.csv", "file://other/x"):
        with pytest.raises(Exception) as caught:
            resolve_uri(uri, layout["model"])
        assert str(layout["model"]) not in str(caught.value)


# ---------------------------------------------------------------------------------------------- CSV


def test_strict_read_of_a_complete_series() -> None:
    read = parse_series_csv("bin_index,value\n0,1.5\n1,2\n2,-3e2\n", 3, name="a.csv")
    assert read.values.tolist() == [1.5, 2.0, -300.0]
    assert (read.rows, read.absent, read.empty) == (3, (), ())


def test_reader_tolerance() -> None:
    text = "\ufeff  T , Value \r\n\r\n  0 , NaN \r\n1,Infinity\n2,-INF\n3,+infinity\n   \n4,\n5, 1E+15 \n6,.5"
    read = parse_series_csv(text, 7, "strict", name="a.csv")
    values = read.values
    assert math.isnan(values[0]) and math.isnan(values[4])
    assert values[1:4].tolist() == [math.inf, -math.inf, math.inf]
    assert values[5:].tolist() == [1e15, 0.5]
    assert read.empty == (4,)


def test_bytes_with_bom_are_read() -> None:
    read = parse_series_csv(b"\xef\xbb\xbfbin_index,value\n0,7\n", 1, name="a.csv")
    assert read.values.tolist() == [7.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "index,value\n0,1\n",
            "Invalid CSV 'a.csv' at line 1: header must be 'bin_index,value' or 't,value'.",
        ),
        ("", "Invalid CSV 'a.csv' at line 1: header must be 'bin_index,value' or 't,value'."),
        ("\n\nt,value\n0,abc\n", "Invalid CSV 'a.csv' at line 4: invalid value 'abc'."),
        ("t,value\n0,1,2\n", "Invalid CSV 'a.csv' at line 2: expected 2 fields, found 3."),
        ("t,value\n0\n", "Invalid CSV 'a.csv' at line 2: expected 2 fields, found 1."),
        ("t,value\n-1,2\n", "Invalid CSV 'a.csv' at line 2: invalid bin index '-1'."),
        ("t,value\n1.0,2\n", "Invalid CSV 'a.csv' at line 2: invalid bin index '1.0'."),
        ("t,value\n0,1\n0,2\n", "Invalid CSV 'a.csv' at line 3: duplicate bin index 0."),
        ('t,value\n0,"1"\n', "Invalid CSV 'a.csv' at line 2: invalid value '\"1\"'."),
        ("t,value\n0,1_0\n", "Invalid CSV 'a.csv' at line 2: invalid value '1_0'."),
        (b"t,value\n0,\xff\n", "Invalid CSV 'a.csv' at line 2: not valid UTF-8."),
    ],
)
def test_malformed_csv_is_invalid_in_every_mode(text: str | bytes, message: str) -> None:
    for mode in ("strict", "lenient", "capture"):
        with pytest.raises(TelemetryCsvInvalid) as caught:
            parse_series_csv(text, 2, mode, name="a.csv")
        assert caught.value.code == "telemetry_csv_invalid"
        assert caught.value.message == message


def test_strict_mode_accepts_rows_in_any_order() -> None:
    assert parse_series_csv("t,value\n2,3\n0,1\n1,2\n", 3, name="s.csv").values.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(("rows", "count"), [("0,1\n1,2\n", 2), ("0,1\n1,2\n2,3\n3,4\n", 4), ("0,1\n1,2\n5,3\n", 3)])
def test_strict_mode_needs_exactly_the_indices_of_the_grid(rows: str, count: int) -> None:
    with pytest.raises(TelemetryLengthMismatch) as caught:
        parse_series_csv("t,value\n" + rows, 3, "strict", name="s.csv")
    assert caught.value.code == "telemetry_length_mismatch"
    assert caught.value.message == f"Telemetry CSV 's.csv' contained {count} points but expected 3."


def test_lenient_mode_reads_absent_bins_as_zero() -> None:
    read = parse_series_csv("t,value\n0,5\n2,\n", 4, "lenient", name="s.csv")
    assert read.values[[0, 1, 3]].tolist() == [5.0, 0.0, 0.0]
    assert math.isnan(read.values[2])
    assert (read.absent, read.empty, read.rows) == ((1, 3), (2,), 2)


def test_lenient_mode_refuses_an_index_beyond_the_grid() -> None:
    with pytest.raises(TelemetryCsvInvalid, match=r"^Invalid CSV 's.csv' at line 3: index 4 is outside 0\.\.3\.$"):
        parse_series_csv("t,value\n0,5\n4,1\n", 4, "lenient", name="s.csv")


def test_capture_mode_drops_rows_beyond_the_grid_and_marks_missing_slots() -> None:
    read = parse_series_csv("t,value\n0,5\n2,\n7,9\n", 4, "capture", name="s.csv")
    assert read.rows == 3
    assert read.values[0] == 5.0 and np.isnan(read.values[1:]).all()
    assert (read.absent, read.empty, read.missing) == ((1, 3), (2,), (1, 2, 3))


def test_read_series_csv_names_the_file_by_its_base_name(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "series.csv"
    path.parent.mkdir()
    path.write_text("t,value\n0,1\n")
    with pytest.raises(TelemetryLengthMismatch) as caught:
        read_series_csv(path, 2)
    assert caught.value.message == "Telemetry CSV 'series.csv' contained 1 points but expected 2."
    assert str(tmp_path) not in caught.value.message
    assert read_series_csv(path, 1).values.tolist() == [1.0]


def test_read_series_csv_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFound, match=r"^'gone.csv' was not found\.$"):
        read_series_csv(tmp_path / "gone.csv", 2)
    with pytest.raises(SourceNotFound):
        read_series_csv(tmp_path, 2)  # a directory is not a series file


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(SourceNotFound):
        read_series_csv(fifo, 2)
    with pytest.raises(SourceNotFound):
        resolve_uri("file:pipe.csv", tmp_path)


def test_a_runaway_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowtime.model import sources

    path = tmp_path / "big.csv"
    path.write_text("t,value\n0,1\n")
    monkeypatch.setattr(sources, "MAX_CSV_BYTES", 8)
    with pytest.raises(
        TelemetryCsvInvalid, match=r"^Invalid CSV 'big.csv' at line 1: the file is larger than 8 bytes\.$"
    ):
        read_series_csv(path, 1)


# ------------------------------------------------------------------------- canonical files, read by numpy

_finite = st.floats(allow_nan=False, allow_infinity=False)
_decimal_text = st.one_of(
    _finite.map(repr),
    _finite.map(lambda x: f"{x:.25g}"),  # more digits than a double holds: rounding must match float()
    st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_decimal_text, min_size=1, max_size=40), st.sampled_from(["bin_index", "t"]), st.booleans())
def test_a_canonical_file_reads_as_the_row_by_row_reader_reads_it(values: list[str], header: str, bom: bool) -> None:
    text = f"{header},value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    data = ("\ufeff" if bom else "").encode() + text.encode()
    fast = _parse_canonical(data, len(values))
    assert fast is not None
    expected = [float(v) for v in values]
    np.testing.assert_array_equal(fast.values, expected)
    assert [math.copysign(1, v) for v in fast.values] == [math.copysign(1, v) for v in expected]
    for mode in ("strict", "lenient", "capture"):
        slow = _parse_rows(data, len(values), mode, "s.csv")
        np.testing.assert_array_equal(slow.values, fast.values)
        assert (slow.rows, slow.absent, slow.empty) == (fast.rows, fast.absent, fast.empty) == (len(values), (), ())
        np.testing.assert_array_equal(parse_series_csv(data, len(values), mode, name="s.csv").values, fast.values)


@settings(max_examples=100, deadline=None)
@given(st.lists(_finite, min_size=1, max_size=200))
def test_bundle_series_files_are_canonical(values: list[float]) -> None:
    data = encode_series_csv(np.array(values))
    fast = _parse_canonical(data, len(values))
    assert fast is not None
    np.testing.assert_array_equal(fast.values, _parse_rows(data, len(values), "strict", "s.csv").values)


@pytest.mark.parametrize(
    "text",
    [
        "bin_index,value\r\n0,1\r\n1,2\r\n",  # CRLF
        "bin_index,value\n0, 1\n1,2\n",  # a space
        "Bin_Index,value\n0,1\n1,2\n",  # another case
        "bin_index,value\n1,2\n0,1\n",  # another order
        "bin_index,value\n0,1\n0,2\n",  # a duplicate
        "bin_index,value\n0,1\n1,\n",  # a gap
        "bin_index,value\n0,1\n1,NaN\n",  # a special word
        "bin_index,value\n0,+1\n1,2\n",  # a sign the writer never emits
        "bin_index,value\n0,1.\n1,2\n",  # a bare point
        "bin_index,value\n0,1\n1,2",  # no final newline
        "bin_index,value\n0,1\n1,2\n\n",  # a blank line
        "bin_index,value\n0,1\n1,2\n2,3\n",  # more rows than bins
        "bin_index,value\n0,1\n",  # fewer
        "bin_index,value\n0,1\n1,2,3\n",  # three fields
        "bin_index,value\n0,١\n1,2\n",  # a non-ASCII digit (float() reads it; the fast path does not)
    ],
)
def test_anything_else_takes_the_row_by_row_path(text: str) -> None:
    assert _parse_canonical(text.encode(), 2) is None
