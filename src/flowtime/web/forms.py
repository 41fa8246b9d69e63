"""Template parameter definitions to form fields, and submitted form values back to typed parameters."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Widget = Literal["integer", "number", "switch", "text", "array"]
FormValue = str | list[str]
FIELD_PREFIX = "param."


@dataclass(frozen=True, slots=True)
class ParameterField:
    """One input of the parameter form, already holding what to show (default or what the user typed).

    ``element`` is the cell type of an ``array`` widget; ``cells`` its values; ``value`` the text of a
    scalar input; ``checked`` the state of a switch. ``errors`` are the server's messages for this field.
    """

    name: str
    label: str
    description: str
    widget: Widget
    element: Literal["integer", "number"] | None
    minimum: float | None
    maximum: float | None
    value: str
    cells: tuple[str, ...]
    checked: bool
    has_default: bool
    errors: tuple[str, ...]
    invalid_cells: frozenset[int] = frozenset()

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name

    @property
    def step(self) -> str:
        return "1" if "integer" in (self.widget, self.element) else "any"

    @property
    def bounds(self) -> str:
        """ "min 0 · max 100" style hint, empty when unbounded."""
        parts = []
        if self.minimum is not None:
            parts.append(f"min {format_number(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"max {format_number(self.maximum)}")
        return " · ".join(parts)


def build_fields(
    definitions: Sequence[Mapping[str, Any]],
    submitted: Mapping[str, FormValue] | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
    invalid_cells: Mapping[str, Iterable[int]] | None = None,
) -> tuple[ParameterField, ...]:
    """Fields for template parameter definitions (the API's ``parameters`` items, declaration order).

    Without ``submitted`` the defaults are shown; with it (the values read by ``read_form``) the
    user's own text is kept, so a form re-rendered with server errors loses nothing. ``invalid_cells``
    names the array cells the server's element errors point at.
    """
    errors = errors or {}
    invalid_cells = invalid_cells or {}
    fields = []
    for d in definitions:
        name = str(d["name"])
        widget = _widget(str(d.get("type", "string")))
        element: Literal["integer", "number"] | None = None
        if widget == "array":
            element = "integer" if d.get("arrayOf") in ("int", "integer") else "number"
        default = d.get("defaultValue")
        shown: Any = default if submitted is None else submitted.get(name)
        cells: tuple[str, ...] = ()
        value = ""
        checked = False
        if widget == "array":
            cells = tuple(_text(v) for v in _as_list(shown))
        elif widget == "switch":
            checked = shown is True or (isinstance(shown, str) and shown.lower() == "true")
        else:
            value = _text(shown)
        fields.append(
            ParameterField(
                name=name,
                label=str(d.get("title") or name),
                description=str(d.get("description") or ""),
                widget=widget,
                element=element,
                minimum=_bound(d.get("min", d.get("minimum"))),
                maximum=_bound(d.get("max", d.get("maximum"))),
                value=value,
                cells=cells,
                checked=checked,
                has_default=default is not None,
                errors=tuple(errors.get(name, ())),
                invalid_cells=frozenset(invalid_cells.get(name, ())),
            )
        )
    return tuple(fields)


def read_form(definitions: Sequence[Mapping[str, Any]], pairs: Iterable[tuple[str, str]]) -> dict[str, FormValue]:
    """The raw text the user submitted per declared parameter: a list for arrays, the last value otherwise.

    A switch posts a hidden ``false`` followed by ``true`` when on, so the last value is its state.
    """
    arrays = {str(d["name"]) for d in definitions if d.get("type") == "array"}
    declared = {str(d["name"]) for d in definitions}
    raw: dict[str, FormValue] = {name: [] for name in arrays}
    for key, value in pairs:
        if not key.startswith(FIELD_PREFIX):
            continue
        name = key[len(FIELD_PREFIX) :]
        if name in arrays:
            cells = raw[name]
            assert isinstance(cells, list)
            cells.append(value)
        elif name in declared:
            raw[name] = value
    return raw


def parse_parameters(definitions: Sequence[Mapping[str, Any]], raw: Mapping[str, FormValue]) -> dict[str, Any]:
    """Typed parameter values for ``POST /v1/runs`` from ``read_form`` output.

    Blank scalars and empty arrays are left out, so the template default applies. Text that is not
    a number is passed on unchanged: the template validator then answers with its exact message
    (``Parameter 'x' must be a number.``), which the form shows next to the field.
    """
    values: dict[str, Any] = {}
    for d in definitions:
        name = str(d["name"])
        if name not in raw:
            continue
        widget = _widget(str(d.get("type", "string")))
        entry = raw[name]
        if widget == "array":
            cells = [c.strip() for c in (entry if isinstance(entry, list) else [entry])]
            if any(cells):
                values[name] = [_number(c) for c in cells]
        elif widget == "switch":
            values[name] = str(entry).lower() == "true"
        elif widget == "text":
            values[name] = str(entry)
        elif str(entry).strip():
            values[name] = _number(str(entry).strip())
    return values


def errors_by_parameter(
    problems: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, list[str]], dict[str, set[int]], list[str]]:
    """Split API problems into messages per parameter, the array cells they point at (``index``), and
    messages that concern no single field."""
    by_name: dict[str, list[str]] = {}
    cells: dict[str, set[int]] = {}
    general: list[str] = []
    for p in problems:
        message = str(p.get("message", ""))
        name = p.get("parameter")
        if name:
            by_name.setdefault(str(name), []).append(message)
            if isinstance(p.get("index"), int):
                cells.setdefault(str(name), set()).add(p["index"])
        else:
            general.append(message)
    return by_name, cells, general


def format_number(value: float) -> str:
    """Integral values without ``.0`` (the API's number style); others as Python's shortest repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_WIDGETS: dict[str, Widget] = {
    "integer": "integer",
    "number": "number",
    "boolean": "switch",
    "array": "array",
}


def _widget(kind: str) -> Widget:
    return _WIDGETS.get(kind, "text")


def _number(text: str) -> Any:
    """JSON number text → int or float; anything else (NaN and ±Infinity included) stays text."""
    try:
        value = json.loads(text, parse_constant=lambda _: None)
    except ValueError:
        return text
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return text
    return value


def _bound(value: Any) -> float | None:
    return None if value is None or isinstance(value, bool) else float(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return format_number(value)
    return str(value)
