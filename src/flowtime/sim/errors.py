"""Template problems and the errors generation raises, each carrying every collected problem."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flowtime.errors import InvalidInput, NotFound, Severity


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One finding about a template, its parameters or the model it generates.

    Parameter problems name the ``parameter`` (and the array ``index`` for element errors); structural
    problems name a dotted ``path`` (``nodes[2].expr``). Both may be set: a parameter problem found while
    checking a template file also points at the declaration.
    """

    code: str
    message: str
    severity: Severity = "error"
    path: str | None = None
    parameter: str | None = None
    index: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        """Wire form: ``{code, message, parameter, index?}`` (§4.3) or ``{code, message, path}`` (§6)."""
        if self.parameter is not None:
            out: dict[str, Any] = {"code": self.code, "message": self.message, "parameter": self.parameter}
            if self.index is not None:
                out["index"] = self.index
            return out
        return {"code": self.code, "message": self.message, "path": self.path}

    def line(self) -> str:
        """``Error [<code>]: <message> (<path>)`` as the CLI prints it (``api.md`` §11)."""
        label = "Error" if self.is_error else "Warning"
        where = f" ({self.path})" if self.path else ""
        return f"{label} [{self.code}]: {self.message}{where}"


class TemplateNotFound(NotFound):
    """No template with this id is in the catalogue."""

    code = "template_not_found"


class InvalidMode(InvalidInput):
    """A mode other than ``simulation`` or ``telemetry`` was requested."""

    code = "invalid_mode"


class TemplateGenerationError(InvalidInput):
    """Generation stopped; ``problems`` holds every error of the failing step (``templates.md`` §5)."""

    code = "template_invalid"

    def __init__(self, problems: Iterable[TemplateProblem], *, warnings: Iterable[TemplateProblem] = ()) -> None:
        self.problems: tuple[TemplateProblem, ...] = tuple(problems)
        self.warnings: tuple[TemplateProblem, ...] = tuple(warnings)
        super().__init__("; ".join(p.message for p in self.problems) or "Template generation failed.")

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, "errors": [p.to_dict() for p in self.problems]}


class ParameterInvalid(TemplateGenerationError):
    """Supplied values or placeholders failed the checks of ``templates.md`` §4.3."""

    code = "parameter_invalid"


class TemplateYamlError(TemplateGenerationError):
    """The template text (or its substituted text) is not parseable YAML."""

    code = "template_yaml_error"


class TemplateInvalid(TemplateGenerationError):
    """The substituted template broke a template rule or a model rule (``templates.md`` §6)."""

    code = "template_invalid"
