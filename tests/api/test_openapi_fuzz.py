"""Schemathesis over the app's own OpenAPI document: no 5xx, and every answer is one the document declares."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.factories import write_run_dir

from flowtime.runs import Settings
from flowtime.server import create_app

# Schemathesis reads the schema when the module is collected, so the app (on a throw-away data directory
# removed at interpreter exit) is built here rather than in a fixture.
_DATA = tempfile.TemporaryDirectory(prefix="flowtime-fuzz-")
APP = create_app(Settings.resolve(data_dir=Path(_DATA.name), env={}))
write_run_dir(APP.state.settings.runs_root, "r")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers_and_no_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    )
