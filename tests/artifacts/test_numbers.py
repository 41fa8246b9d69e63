"""format_double (§5.2) and the series CSV encoder (§5.1)."""

from __future__ import annotations

import io
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtime.artifacts import decode_series_csv, encode_series_csv, format_double, sha256_bytes, write_series_csv
from flowtime.artifacts.numbers import CSV, write_series_csvs
from flowtime.engine.jit import registered_modules


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (8.0, "8"),
        (0.1, "0.1"),
        (-3.75, "-3.75"),
        (10 / 12, "0.8333333333333334"),
        (1e15, "1000000000000000"),
        (1e16, "1e+16"),
        (0.0001, "0.0001"),
        (0.000099, "9.9e-05"),
        (2.5e-7, "2.5e-07"),
        (-0.0, "0"),
        (0.0, "0"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (1.5e16, "1.5e+16"),
        (-1e16, "-1e+16"),
        (9999999999999998.0, "9999999999999998"),
        (1e-7, "1e-07"),
        (123456789012345.6, "123456789012345.6"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (1e22, "1e+22"),
        (-2.0, "-2"),
    ],
)
def test_format_double_table(value: float, text: str) -> None:
    assert format_double(value) == text


def test_format_double_accepts_numpy_and_int() -> None:
    assert format_double(np.float64(2.5)) == "2.5"
    assert format_double(np.float32(0.5)) == "0.5"
    assert format_double(7) == "7"


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_double_round_trips_bitwise(value: float) -> None:
    text = format_double(value)
    assert _bits(float(text)) == _bits(0.0 if value == 0 else value)
    assert not text.endswith(".0")


def _naive_csv(values: np.ndarray, missing: np.ndarray | None = None) -> bytes:
    rows = []
    for i, v in enumerate(values.tolist()):
        cell = "" if missing is not None and missing[i] else format_double(v)
        rows.append(f"{i},{cell}\n")
    return ("bin_index,value\n" + "".join(rows)).encode()


def test_csv_of_the_worked_example() -> None:
    data = encode_series_csv([10 / 12, 10 / 15, 1.0, 0.0])
    assert data == b"bin_index,value\n0,0.8333333333333334\n1,0.6666666666666666\n2,1\n3,0\n"
    assert sha256_bytes(data) == "sha256:db6a720501b0d7bf2da48d2a0e791f1b3d13d537bf8fbb78848213c29156c5c7"


def test_csv_mixes_every_kind_of_value() -> None:
    values = np.array(
        [
            0.0,
            -0.0,
            7.0,
            -7.0,
            1e15,
            -9999999999999999.0,
            1e16,
            2.5,
            -0.125,
            math.nan,
            math.inf,
            -math.inf,
            1e-5,
            123.0,
            5e-324,
        ],
    )
    assert encode_series_csv(values) == _naive_csv(values)


def test_csv_of_an_empty_series_is_the_header() -> None:
    assert encode_series_csv([]) == b"bin_index,value\n"


def test_csv_across_chunk_boundaries_matches_the_formatter() -> None:
    rng = np.random.default_rng(7)
    values = np.floor(rng.normal(0, 1e6, 150_000))
    values[::97] = rng.random(values[::97].size)
    values[::1001] = math.nan
    assert encode_series_csv(values) == _naive_csv(values)


def test_csv_missing_cells_are_empty() -> None:
    values = np.array([30.0, 44.0, math.nan, 41.0])
    data = encode_series_csv(values, missing=[False, False, True, False])
    assert data == b"bin_index,value\n0,30\n1,44\n2,\n3,41\n"
    assert sha256_bytes(data) == "sha256:f9e9ab97bc9bddb1bac0cb4f4daa2d135c2614ea4949fa236d556452bb0f15cf"


def test_csv_missing_mask_must_match_the_series() -> None:
    with pytest.raises(ValueError, match="missing mask has 2 entries for a series of 3 bins"):
        encode_series_csv([1.0, 2.0, 3.0], missing=[True, False])


def test_write_series_csv_streams_and_hashes_the_same_bytes() -> None:
    values = np.arange(70_000, dtype=np.float64) / 3
    stream = io.BytesIO()
    digest = write_series_csv(stream, values)
    assert stream.getvalue() == encode_series_csv(values)
    assert digest == sha256_bytes(stream.getvalue())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(),
            st.integers(-(10**17), 10**17).map(float),
            st.integers(-1000, 1000).map(lambda i: i / 8),
        ),
        max_size=40,
    )
)
def test_csv_matches_the_formatter_for_any_values(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    assert encode_series_csv(array) == _naive_csv(array)


def test_csv_decimals_match_repr_across_magnitudes_and_digit_counts() -> None:
    rng = np.random.default_rng(2024)
    n = 20_000
    samples = [
        rng.random(n) * 10.0 ** rng.integers(-6, 17, n),  # 17-digit values of every magnitude
        rng.integers(1, 10**6, n) / 10.0 ** rng.integers(1, 12, n),  # short decimals: 0.25, 31.4159 …
        rng.integers(1, 1000, n) / rng.integers(1, 1000, n),  # ratios, as expressions produce
        2.0 ** rng.integers(-14, 49, n) * (1 + rng.integers(0, 8, n) / 8),  # powers of two and neighbours
        np.nextafter(rng.integers(1, 10**6, n) / 8.0, np.inf),  # one ulp off short values
        10.0 ** rng.integers(-4, 15, n) * (1 + (rng.random(n) - 0.5) * 1e-14),  # next to powers of ten
    ]
    values = np.concatenate(samples)
    values[::5] *= -1
    assert encode_series_csv(values) == _naive_csv(values)


def test_compiled_encoder_and_numba_dispatchers_write_the_same_bytes() -> None:
    rng = np.random.default_rng(11)
    values = np.concatenate(
        [
            rng.random(3000) * 10.0 ** rng.integers(-6, 17, 3000),
            np.round(rng.random(3000) * 500, 2),
            [math.nan, math.inf, -math.inf, -0.0, 1e-7, 2.0**-20, 1e16, 123456789012345.6],
        ]
    )
    values[::4] *= -1
    gaps = rng.random(values.size) < 0.1
    compiled = encode_series_csv(values, missing=gaps)
    saved = CSV._functions
    CSV._functions = {}  # entry points run as numba dispatchers
    try:
        dispatched = encode_series_csv(values, missing=gaps)
    finally:
        CSV._functions = saved
    assert compiled == dispatched == _naive_csv(values, gaps)


def test_values_the_compiled_encoder_leaves_open_are_formatted_by_repr() -> None:
    # exponent forms, a power of two needing 17 digits, a tie-adjacent value: the second pass fills them
    values = np.array([1.0, 9.9e-05, 2.0**-30, 1.5e300, 0.5 + 2.0**-52, 3.0])
    assert encode_series_csv(values) == _naive_csv(values)
    assert b"\n1,9.9e-05\n" in encode_series_csv(values)


def test_csv_library_lists_every_artifacts_module_that_defines_jit_functions() -> None:
    artifacts_modules = {m for m in registered_modules() if m.startswith("flowtime.artifacts.")}
    assert artifacts_modules == set(CSV.modules)


def _block_values(seed: int, rows: int, bins: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    block = rng.random((rows, bins)) * 10.0 ** rng.integers(-6, 17, (rows, bins))
    block[::3] = np.round(block[::3], 2)
    block.flat[::7] *= -1
    specials = [math.nan, math.inf, -math.inf, -0.0, 0.0, 9.9e-05, 2.0**-30, 1.5e300, 1e16, 0.5 + 2.0**-52]
    block.flat[: len(specials)] = specials  # open cells (repr's) in the first series, then the others
    block.flat[-len(specials) :] = specials
    return block


@pytest.mark.parametrize(("rows", "bins"), [(1, 1), (7, 1), (40, 1000), (3, 65536)])
def test_series_written_many_at_a_time_have_the_bytes_and_hashes_of_one_at_a_time(
    tmp_path: Path, rows: int, bins: int
) -> None:
    block = _block_values(rows * bins, rows, bins)
    paths = [tmp_path / f"s{r}.csv" for r in range(rows)]
    hashes = write_series_csvs(paths, block, fsync=False)
    for r, (path, digest) in enumerate(zip(paths, hashes, strict=True)):
        expected = encode_series_csv(block[r])
        assert path.read_bytes() == expected == _naive_csv(block[r])
        assert digest == sha256_bytes(expected)


def test_series_written_many_at_a_time_by_the_numba_dispatchers_are_the_same(tmp_path: Path) -> None:
    block = _block_values(5, 6, 300)
    compiled = write_series_csvs([tmp_path / f"c{r}.csv" for r in range(6)], block, fsync=True)
    saved = CSV._functions
    CSV._functions = {}
    try:
        dispatched = write_series_csvs([tmp_path / f"d{r}.csv" for r in range(6)], block, fsync=False)
    finally:
        CSV._functions = saved
    assert compiled == dispatched
    assert all((tmp_path / f"c{r}.csv").read_bytes() == (tmp_path / f"d{r}.csv").read_bytes() for r in range(6))


def test_series_written_many_at_a_time_must_be_short_and_one_per_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected 2 series of at most 65536 bins"):
        write_series_csvs([tmp_path / "a.csv", tmp_path / "b.csv"], np.zeros((3, 4)), fsync=False)
    with pytest.raises(ValueError, match="expected 1 series of at most 65536 bins"):
        write_series_csvs([tmp_path / "a.csv"], np.zeros((1, 65537)), fsync=False)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- decoding

_value_text = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(format_double),  # what the writer writes
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:.17g}"),  # not always the shortest
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:.25g}"),  # too many digits
    st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "0", "-0", "0.0", "9007199254740993", "1e-400", "1e400"]),
)


def _decoded_as_float_reads(texts: list[str], decoded: np.ndarray | None) -> None:
    if decoded is None:
        return
    expected = np.array([float(t) for t in texts])
    assert decoded.tobytes() == expected.tobytes()  # bit for bit, NaN payload and the sign of zero included


@settings(max_examples=400, deadline=None)
@given(st.lists(_value_text, max_size=30))
def test_decoded_values_are_bit_for_bit_what_float_reads(texts: list[str]) -> None:
    data = b"bin_index,value\n" + b"".join(f"{i},{t}\n".encode() for i, t in enumerate(texts))
    _decoded_as_float_reads(texts, decode_series_csv(data, len(texts)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=60))
def test_what_the_writer_writes_decodes_unless_a_value_needed_repr(values: list[float]) -> None:
    data = encode_series_csv(np.array(values))
    decoded = decode_series_csv(data, len(values))
    texts = [line.split(b",")[1].decode() for line in data.splitlines()[1:]]
    if all(("e" not in t) for t in texts):  # repr's exponent forms are left to the general reader
        assert decoded is not None
    _decoded_as_float_reads(texts, decoded)


def test_decoding_a_large_series_of_every_kind_of_value() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.random(20_000) * 1000 + 0.001,  # 17-digit values: proven by re-encoding
            np.round(rng.random(20_000) * 1000, 2),  # short decimals: exact by Clinger's fast path
            rng.integers(-(10**15), 10**15, 5_000).astype(np.float64),
            [math.inf, -math.inf, 0.0],
        ]
    )
    values[::3] *= -1
    decoded = decode_series_csv(encode_series_csv(values), values.size)
    assert decoded is not None
    assert decoded.tobytes() == values.tobytes()


def test_a_value_the_decoder_cannot_prove_leaves_the_file_to_the_general_reader() -> None:
    # 1.2345678901234567e+20 (repr's text) is neither exact by Clinger's fast path nor written by the
    # compiled encoder; 1e+16 is exact, and 0.1 + 0.2 needs 17 digits that re-encode to the same text
    assert decode_series_csv(encode_series_csv(np.array([1.0, 1.2345678901234567e20])), 2) is None
    decoded = decode_series_csv(encode_series_csv(np.array([1.0, 1e16, 0.1 + 0.2])), 3)
    assert decoded is not None
    assert decoded.tolist() == [1.0, 1e16, 0.1 + 0.2]


@pytest.mark.parametrize(
    "data",
    [
        b"bin_index,value\n0,1\n1,2",  # no final newline
        b"bin_index,value\n0,1\n1,2\n2,3\n",  # a row more than the grid
        b"bin_index,value\n0,1\n",  # a row less
        b"bin_index,value\n1,2\n0,1\n",  # another order
        b"bin_index,value\n00,1\n1,2\n",  # a leading zero
        b"bin_index,value\n0,1\n1,\n",  # a gap
        b"bin_index,value\n0, 1\n1,2\n",  # a space
        b"bin_index,value\r\n0,1\r\n1,2\r\n",  # CRLF
        b"bin_index,value\n0,+1\n1,2\n",  # a plus sign
        b"bin_index,value\n0,1.\n1,2\n",  # a bare point
        b"bin_index,value\n0,nan\n1,2\n",  # a word in another case
        b"bin_index,value\n0,1,2\n1,2\n",  # three fields
        b"Bin_Index,value\n0,1\n1,2\n",  # another header
        b"0,1\n1,2\n",  # no header
    ],
)
def test_anything_but_the_canonical_rows_is_left_to_the_general_reader(data: bytes) -> None:
    assert decode_series_csv(data, 2) is None


def test_compiled_decoder_and_numba_dispatchers_read_the_same_values() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([np.round(rng.random(250) * 1e6, 3), rng.random(250) * 100])
    data = encode_series_csv(values)
    compiled = decode_series_csv(data, values.size)
    saved = CSV._functions
    CSV._functions = {}
    try:
        dispatched = decode_series_csv(data, values.size)
    finally:
        CSV._functions = saved
    assert compiled is not None and dispatched is not None
    assert compiled.tobytes() == dispatched.tobytes() == values.tobytes()
