"""Typed template parameters: declarations (``templates.md`` §2.4) and value coercion and checks (§4)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flowtime.sim.errors import TemplateProblem
from flowtime.sim.placeholders import NAME, render

TYPES = ("integer", "number", "boolean", "string", "array")
_ARRAY_OF = {"int": "int", "integer": "int", "double": "double", "number": "double"}
_BOUNDS = (("minimum", "min"), ("maximum", "max"))
_JSON_INT = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")  # cannot be written as UTF-8 template text
_ARTICLE = {"integer": "an integer", "number": "a number", "boolean": "a boolean", "string": "a string"}

Number = int | float


@dataclass(frozen=True, slots=True)
class Parameter:
    """One declared parameter; ``default`` is already coerced (None = no default)."""

    name: str
    type: str
    array_of: str | None = None  # "int" | "double" for arrays, else None
    title: str | None = None
    description: str | None = None
    default: Any = None
    minimum: Number | None = None
    maximum: Number | None = None

    def to_dict(self) -> dict[str, Any]:
        """The template-detail form of ``api.md`` §3, with a typed ``defaultValue``."""
        return {
            "name": self.name,
            "type": self.type,
            "arrayOf": self.array_of,
            "title": self.title,
            "description": self.description,
            "defaultValue": self.default,
            "min": self.minimum,
            "max": self.maximum,
        }

    def coerce(self, value: Any) -> tuple[Any, list[TemplateProblem]]:
        """``value`` normalised per §4.2 and checked against the bounds, or the problems it has."""
        if self.type == "array":
            return self._coerce_array(value)
        coerced = _SCALAR[self.type](value)
        if isinstance(coerced, str) and _SURROGATE.search(coerced):
            message = f"Parameter '{self.name}' must be valid Unicode text; it contains a lone surrogate."
            return None, [self._problem("parameter_type", message)]
        if coerced is None:
            return None, [self._problem("parameter_type", f"Parameter '{self.name}' must be {_ARTICLE[self.type]}.")]
        return coerced, self._bounds(coerced, None)

    def _coerce_array(self, value: Any) -> tuple[Any, list[TemplateProblem]]:
        items = _as_list(value)
        if items is None:
            return None, [self._problem("parameter_type", f"Parameter '{self.name}' expects an array value.")]
        element_type = "integer" if self.array_of == "int" else "number"
        out: list[Number] = []
        problems: list[TemplateProblem] = []
        for i, item in enumerate(items):
            element = _SCALAR[element_type](item)
            if element is None:
                message = f"Parameter '{self.name}' element at index {i} must be {_ARTICLE[element_type]}."
                problems.append(self._problem("parameter_type", message, i))
                continue
            problems += self._bounds(element, i)
            out.append(element)
        return (None, problems) if problems else (out, [])

    def _bounds(self, value: Number, index: int | None) -> list[TemplateProblem]:
        what = f"value {render(value)}" if index is None else f"element at index {index} ({render(value)})"
        if self.minimum is not None and value < self.minimum:
            message = f"Parameter '{self.name}' {what} is below minimum {render(self.minimum)}."
            return [self._problem("parameter_below_minimum", message, index)]
        if self.maximum is not None and value > self.maximum:
            message = f"Parameter '{self.name}' {what} exceeds maximum {render(self.maximum)}."
            return [self._problem("parameter_above_maximum", message, index)]
        return []

    def _problem(self, code: str, message: str, index: int | None = None) -> TemplateProblem:
        return TemplateProblem(code, message, parameter=self.name, index=index)


def read_declarations(raw: Any) -> tuple[tuple[Parameter, ...], list[TemplateProblem]]:
    """The ``parameters`` section as Parameters, with every declaration problem found.

    A declaration with a problem is left out of the result; the catalogue skips such a template (§10.1).
    """
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [_declaration("Template parameters must be a list of parameter declarations.", "parameters")]
    parameters: list[Parameter] = []
    problems: list[TemplateProblem] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        parameter, found = _read_declaration(item, f"parameters[{i}]", seen)
        problems += found
        if parameter is not None and not found:
            parameters.append(parameter)
        if parameter is not None:
            seen.add(parameter.name)
    return tuple(parameters), problems


def check_values(
    parameters: tuple[Parameter, ...], supplied: Mapping[str, Any], template_id: str
) -> tuple[dict[str, Any], list[TemplateProblem]]:
    """Merged values (defaults overridden by supplied ones, declaration order) and every §4.3 problem.

    Supplied ``None`` values are dropped so the default applies (§4.1).
    """
    declared = {p.name: p for p in parameters}
    chosen: dict[str, Any] = {}
    problems: list[TemplateProblem] = []
    for name, value in supplied.items():
        if value is None:
            continue
        parameter = declared.get(name)
        if parameter is None:
            message = f"Unknown parameter '{name}' for template '{template_id}'."
            problems.append(TemplateProblem("parameter_unknown", message, parameter=str(name)))
            continue
        coerced, found = parameter.coerce(value)
        problems += found
        if not found:
            chosen[name] = coerced
    merged = {p.name: chosen.get(p.name, p.default) for p in parameters if p.name in chosen or p.default is not None}
    return merged, problems


def _read_declaration(item: Any, path: str, seen: set[str]) -> tuple[Parameter | None, list[TemplateProblem]]:
    if not isinstance(item, dict):
        return None, [_declaration(f"Parameter declaration at {path} must be a mapping.", path)]
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        return None, [_declaration(f"Parameter declaration at {path} requires a name.", f"{path}.name")]
    if not NAME.match(name):
        message = (
            f"Parameter name '{name}' is invalid: names must start with a letter or '_' and contain only "
            "letters, digits and '_'."
        )
        return None, [_declaration(message, f"{path}.name", name)]
    if name in seen:
        return None, [_declaration(f"Duplicate parameter name '{name}'.", f"{path}.name", name)]
    problems: list[TemplateProblem] = []
    kind = item.get("type")
    if kind not in TYPES:
        expected = "integer, number, boolean, string or array"
        message = (
            f"Parameter '{name}' requires a type ({expected})."
            if kind is None
            else f"Parameter '{name}' has unsupported type '{kind}'. Expected {expected}."
        )
        return Parameter(name, "string"), [_declaration(message, f"{path}.type", name)]
    array_of = _read_array_of(item.get("arrayOf"), kind, name, path, problems)
    bounds = [_read_bound(item, key, alias, name, path, problems) for key, alias in _BOUNDS]
    minimum, maximum = bounds
    if kind in ("boolean", "string") and (minimum is not None or maximum is not None):
        problems.append(
            _declaration(f"Parameter '{name}' is a {kind}; minimum and maximum are not allowed.", path, name)
        )
        minimum = maximum = None
    if minimum is not None and maximum is not None and minimum > maximum:
        message = f"Parameter '{name}' minimum {render(minimum)} is greater than its maximum {render(maximum)}."
        problems.append(_declaration(message, path, name))
    parameter = Parameter(
        name=name,
        type=kind,
        array_of=array_of,
        title=_text(item.get("title")),
        description=_text(item.get("description")),
        minimum=minimum,
        maximum=maximum,
    )
    if item.get("default") is not None and not problems:
        default, found = parameter.coerce(item["default"])
        for p in found:
            problems.append(
                TemplateProblem(
                    "parameter_default_invalid",
                    f"Invalid default: {p.message}",
                    path=f"{path}.default",
                    parameter=name,
                    index=p.index,
                )
            )
        parameter = parameter if found else replace(parameter, default=default)
    return parameter, problems


def _read_array_of(raw: Any, kind: str, name: str, path: str, problems: list[TemplateProblem]) -> str | None:
    if raw is None:
        return "double" if kind == "array" else None
    if kind != "array":
        problems.append(
            _declaration(f"Parameter '{name}' declares arrayOf but is not an array.", f"{path}.arrayOf", name)
        )
        return None
    if not isinstance(raw, str) or raw not in _ARRAY_OF:
        message = f"Parameter '{name}' has unsupported arrayOf '{raw}'. Expected 'int' or 'double'."
        problems.append(_declaration(message, f"{path}.arrayOf", name))
        return "double"
    return _ARRAY_OF[raw]


def _read_bound(
    item: dict[str, Any], key: str, alias: str, name: str, path: str, problems: list[TemplateProblem]
) -> Number | None:
    if item.get(key) is not None and item.get(alias) is not None:
        message = f"Parameter '{name}' gives both '{key}' and '{alias}'; keep one."
        problems.append(_declaration(message, f"{path}.{alias}", name))
        return None
    used = key if item.get(key) is not None else alias
    value = item.get(used)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(_declaration(f"Parameter '{name}' {used} must be a number.", f"{path}.{used}", name))
        return None
    return value


def _declaration(message: str, path: str, name: str | None = None) -> TemplateProblem:
    return TemplateProblem("parameter_declaration_invalid", message, path=path, parameter=name)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and _JSON_INT.match(value.strip()):
        return int(value.strip())
    return None


def _as_number(value: Any) -> Number | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _JSON_NUMBER.match(text := value.strip()):
        if _JSON_INT.match(text):
            return int(text)
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def _as_boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _as_string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value, parse_constant=_reject_constant)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_SCALAR = {
    "integer": _as_integer,
    "number": _as_number,
    "boolean": _as_boolean,
    "string": _as_string,
}
