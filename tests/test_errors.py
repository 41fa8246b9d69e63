"""The error hierarchy: every family has a code, a docstring and an exit code in each CLI convention."""

from __future__ import annotations

import pytest

from flowtime import errors
from flowtime.cli.exit_codes import Convention, exit_code
from flowtime.errors import (
    Conflict,
    FlowTimeError,
    InvalidInput,
    ModelInvalid,
    NotFound,
    PathEscape,
    Problem,
    Unprocessable,
    WriteFailed,
)

FAMILIES = [
    FlowTimeError,
    InvalidInput,
    PathEscape,
    NotFound,
    Conflict,
    Unprocessable,
    ModelInvalid,
    WriteFailed,
]


@pytest.mark.parametrize("cls", FAMILIES)
def test_every_family_has_a_docstring_and_a_code(cls: type[FlowTimeError]) -> None:
    assert cls.__doc__ and cls.__doc__.strip()
    assert cls.code and cls.code.islower()


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in FAMILIES]
    assert len(codes) == len(set(codes))


def test_all_is_exact() -> None:
    public = {n for n in dir(errors) if not n.startswith("_") and n[0].isupper()}
    assert set(errors.__all__) == public - {"Any", "Iterable", "Literal"}


@pytest.mark.parametrize(
    ("exc", "client", "engine", "local"),
    [
        (InvalidInput("bad"), 2, 2, 2),
        (PathEscape("out"), 2, 2, 2),
        (NotFound("gone"), 4, 1, 1),
        (Conflict("exists"), 3, 1, 3),
        (Unprocessable("no"), 5, 1, 1),
        (ModelInvalid([Problem("cycle", "c")]), 5, 1, 1),
        (WriteFailed("disk"), 1, 1, 1),
        (FlowTimeError("bug"), 1, 1, 1),
    ],
)
def test_exit_codes_per_convention(exc: FlowTimeError, client: int, engine: int, local: int) -> None:
    assert exit_code(exc, Convention.CLIENT) == client
    assert exit_code(exc, Convention.ENGINE) == engine
    assert exit_code(exc, Convention.LOCAL) == local


def test_explicit_code_overrides_the_family_default() -> None:
    exc = InvalidInput("runId 'x/y' is invalid.", code="invalid_run_id", location="x/y")
    assert exc.code == "invalid_run_id"
    assert exc.to_dict() == {"error": "runId 'x/y' is invalid.", "code": "invalid_run_id"}


def test_model_invalid_joins_error_messages_and_keeps_warnings_out_of_the_body() -> None:
    problems = [
        Problem("unknown_key", "Unknown key 'x' at root was ignored", "warning", path="x"),
        Problem("cycle", "Graph has a cycle involving nodes: a, b", nodes=("a", "b")),
        Problem(
            "unknown_reference",
            "Node c: unknown node reference 'd'",
            path="nodes[2].expr",
            node_id="c",
            position=0,
        ),
    ]
    exc = ModelInvalid(problems)
    assert exc.code == "model_invalid"
    assert exc.message == "Graph has a cycle involving nodes: a, b; Node c: unknown node reference 'd'"
    body = exc.to_dict()
    assert [p["code"] for p in body["errors"]] == ["cycle", "unknown_reference"]
    assert body["errors"][0]["nodes"] == ["a", "b"]
    assert "position" not in body["errors"][0]
    assert body["errors"][1]["position"] == 0


def test_problem_text_names_code_and_location() -> None:
    p = Problem("yaml_syntax", "Invalid YAML syntax", line=3)
    assert str(p) == "error yaml_syntax: Invalid YAML syntax [line 3]"
