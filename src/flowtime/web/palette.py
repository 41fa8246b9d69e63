"""Node status colours (Okabe-Ito, colour-blind safe) with the word, glyph and pattern that repeat them."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Status:
    """How one API colour word is drawn; colour is never the only cue, so each status has a word,
    a glyph and an SVG fill pattern of its own."""

    color: str  # the API's derived.color word
    hex: str
    word: str
    glyph: str
    pattern: str  # id of the SVG <pattern> drawn over the fill
    meaning: str


STATUSES: tuple[Status, ...] = (
    Status("green", "#009E73", "OK", "✓", "pattern-ok", "Utilisation below 70 %, or latency within the SLA."),
    Status(
        "yellow",
        "#E69F00",
        "Warning",
        "▲",
        "pattern-warning",
        "Utilisation 70–90 %, or latency up to 1.5 × the SLA.",
    ),
    Status(
        "red",
        "#D55E00",
        "Critical",
        "✖",
        "pattern-critical",
        "Utilisation 90 % or more, or latency over 1.5 × the SLA.",
    ),
    Status(
        "gray",
        "#BBBBBB",
        "No data",
        "–",
        "pattern-nodata",
        "No utilisation or latency for this bin (or no SLA).",
    ),
)

_BY_COLOR = {s.color: s for s in STATUSES}


def status_for(color: str | None) -> Status:
    """The status drawn for an API colour; anything unknown or missing reads as "No data" (gray)."""
    return _BY_COLOR.get((color or "").lower(), _BY_COLOR["gray"])


def legend() -> tuple[Status, ...]:
    """Legend entries in severity order, ending with "No data"."""
    return STATUSES


def palette_json() -> dict[str, dict[str, str]]:
    """The palette keyed by colour word, as the time-travel script reads it (one source of truth)."""
    return {s.color: asdict(s) for s in STATUSES}
