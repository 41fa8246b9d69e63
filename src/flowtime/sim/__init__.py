"""Templates ("Sim"): a catalogue of parameterised models and the generation of engine models from them."""

from flowtime.sim.catalogue import Catalogue, load_catalogue
from flowtime.sim.check import TemplateReport, check_template
from flowtime.sim.errors import (
    InvalidMode,
    ParameterInvalid,
    TemplateGenerationError,
    TemplateInvalid,
    TemplateNotFound,
    TemplateProblem,
    TemplateYamlError,
)
from flowtime.sim.generate import DEFAULT_SEED, GenerationResult, RngOverride, generate_model, parse_mode
from flowtime.sim.parameters import Parameter
from flowtime.sim.placeholders import render as render_value
from flowtime.sim.schema import template_schema
from flowtime.sim.template import Template, read_template

__all__ = [
    "DEFAULT_SEED",
    "Catalogue",
    "GenerationResult",
    "InvalidMode",
    "Parameter",
    "ParameterInvalid",
    "RngOverride",
    "Template",
    "TemplateGenerationError",
    "TemplateInvalid",
    "TemplateNotFound",
    "TemplateProblem",
    "TemplateReport",
    "TemplateYamlError",
    "check_template",
    "generate_model",
    "load_catalogue",
    "parse_mode",
    "read_template",
    "render_value",
    "template_schema",
]
