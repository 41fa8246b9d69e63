"""The docs runner: transcripts, files, HTTP pairs and norun blocks behave as docs/README.md says."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.docs.markdown import blocks
from tests.docs.session import check_norun, pretty_json, run_page, transcript


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_transcript_splits_commands_continuations_and_open_quotes(tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        '```console runnable\n$ echo one \\\n    two\none two\n$ python -c "\nprint(3)"\n3\n$ true\n```\n',
    )
    commands = transcript(blocks(page)[0])
    assert [c.text for c in commands] == ["echo one \\\n    two", 'python -c "\nprint(3)"', "true"]
    assert [c.expected for c in commands] == ["one two", "3", ""]
    assert (commands[0].first_output_line, commands[0].end_output_line) == (3, 4)


def test_a_page_runs_files_shell_cli_and_http_in_one_data_directory(tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        "```yaml file=m.yaml\nschemaVersion: 1\ngrid: {bins: 2, binSize: 1, binUnit: hours}\n"
        "nodes: [{id: a, kind: const, values: [1, 2]}]\n```\n\n"
        "```console runnable\n$ flowtime run m.yaml --run-id r1\nRun ID: r1\nRun directory: <data-dir>/r1\n"
        "$ ls data\nr1\n$ flowtime run m.yaml --run-id r1\n"
        "Error [run_exists]: Run directory 'r1' already exists. Enable Overwrite to replace it.\n[exit 1]\n```\n\n"
        "```http runnable\nGET /v1/runs/r1/series/a HTTP/1.1\n```\n\n"
        "```http\nHTTP/1.1 200 OK\nContent-Type: text/csv; charset=utf-8\n\nbin_index,value\n0,1\n1,2\n```\n",
    )
    session = run_page(page, tmp_path / "session")
    assert session.failures == []


def test_a_changed_output_is_a_failure_and_update_writes_the_actual_one(tmp_path: Path) -> None:
    page = _page(tmp_path, "```console runnable\n$ echo hello\nhallo\n$ echo same\nsame\n```\n")
    session = run_page(page, tmp_path / "session")
    assert [f.what for f in session.failures] == ["$ echo hello"]
    assert "-hallo" in session.failures[0].detail and "+hello" in session.failures[0].detail
    from tests.docs.session import update_page

    update_page(page, session.edits)
    assert page.read_text(encoding="utf-8") == "```console runnable\n$ echo hello\nhello\n$ echo same\nsame\n```\n"


def test_http_status_and_shown_headers_are_compared(tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        "```http runnable\nGET /v1/runs/nope HTTP/1.1\n```\n\n"
        "```http\nHTTP/1.1 200 OK\ncontent-type: application/json; charset=utf-8\n\n"
        '{\n  "error": "Run \'nope\' not found.",\n  "code": "run_not_found"\n}\n```\n',
    )
    session = run_page(page, tmp_path / "session")
    assert len(session.failures) == 1
    assert "+HTTP/1.1 404 Not Found" in session.failures[0].detail


@pytest.mark.parametrize(
    "text",
    [
        "```sh\nflowtime runs list\n```\n",
        "```console norun\n$ rm -rf data\n```\n",
        "```http\nGET /healthz HTTP/1.1\n```\n",
        "```http runnable\nGET /healthz HTTP/1.1\n```\n\nno response block\n",
    ],
)
def test_examples_that_would_not_run_are_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError):
        run_page(_page(tmp_path, text), tmp_path / "session")


def test_norun_allows_installation_and_start_commands(tmp_path: Path) -> None:
    page = _page(tmp_path, "```console norun\n$ make start\n$ .venv/bin/pip install -e '.[parquet]'\n```\n")
    check_norun(blocks(page)[0])


def test_pretty_json_keeps_scalar_arrays_on_one_line() -> None:
    assert pretty_json({"a": [1, 2.5, None], "b": {}, "c": [{"d": "é"}], "e": []}) == (
        '{\n  "a": [1, 2.5, null],\n  "b": {},\n  "c": [\n    {\n      "d": "é"\n    }\n  ],\n  "e": []\n}'
    )


def test_links_to_the_local_server_must_answer(tmp_path: Path) -> None:
    page = _page(tmp_path, "See <http://127.0.0.1:8080/runs> and [a run](http://127.0.0.1:8080/runs/nope).\n")
    session = run_page(page, tmp_path / "session")
    assert [(f.what, f.detail) for f in session.failures] == [
        ("http://127.0.0.1:8080/runs/nope", "GET /runs/nope answered 404")
    ]
