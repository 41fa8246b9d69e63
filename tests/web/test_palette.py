from flowtime.web.palette import legend, palette_json, status_for


def test_api_colours_map_to_okabe_ito_hex_with_words_and_glyphs():
    assert [(s.color, s.hex, s.word) for s in legend()] == [
        ("green", "#009E73", "OK"),
        ("yellow", "#E69F00", "Warning"),
        ("red", "#D55E00", "Critical"),
        ("gray", "#BBBBBB", "No data"),
    ]


def test_every_status_has_a_distinct_non_colour_cue():
    entries = legend()

    assert len({s.glyph for s in entries}) == len(entries)
    assert len({s.pattern for s in entries}) == len(entries)
    assert len({s.word for s in entries}) == len(entries)
    assert all(s.meaning for s in entries)


def test_unknown_or_missing_colour_reads_as_no_data():
    assert status_for(None).word == "No data"
    assert status_for("purple").color == "gray"
    assert status_for("RED").word == "Critical"


def test_palette_json_is_keyed_by_colour_word():
    data = palette_json()

    assert list(data) == ["green", "yellow", "red", "gray"]
    assert data["yellow"] == {
        "color": "yellow",
        "hex": "#E69F00",
        "word": "Warning",
        "glyph": "▲",
        "pattern": "pattern-warning",
        "meaning": "Utilisation 70–90 %, or latency up to 1.5 × the SLA.",
    }
