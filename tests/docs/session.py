"""Execute the runnable blocks of one docs page, in order, against a temporary data directory.

Block kinds (see docs/README.md, "How these pages are tested"):

- ```` ```<lang> file=NAME ```` writes the block to NAME in the page's working directory.
- ```` ```console runnable ```` is a transcript: ``$ command`` lines (a trailing ``\\`` or an open quote
  continues a command), each followed by the output it must print (stdout and stderr as a terminal shows
  them, then ``[exit N]`` when the exit code is not 0). A command ending in `` &`` starts in the background and must
  open the port it names before the page goes on.
- ```` ```http runnable ```` is a request (``METHOD /path``, headers, blank line, body), sent to the real
  ASGI app over the page's data directory; the next block must be the ```` ```http ```` response
  (status line, the headers that matter, blank line, body; JSON bodies pretty-printed).
- ```` ```console norun ```` may only hold installation and long-running commands (``NORUN_ALLOWED``).

Run ``python -m tests.docs.session docs/<page>.md [--update]`` from the repository root to see what each
block really prints; ``--update`` writes the actual outputs into the page (volatile values as placeholders).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.docs.markdown import REPO, Block, blocks, links
from tests.docs.matching import explain, matches, templatise

with warnings.catch_warnings():  # Starlette asks for httpx2; the httpx-based client is what the API tests use
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SHELL_LANGS = frozenset({"console", "sh", "shell", "bash"})
NORUN_ALLOWED = (
    re.compile(r"make (start|test)"),
    re.compile(r"python3 -m venv \.venv"),
    re.compile(r"\.venv/bin/pip install (-e )?'?\.(\[[a-z,]+\])?'?"),
    re.compile(r"\.venv/bin/python -m tests\.docs\.session docs/[\w.-]+\.md( --update)?"),
    re.compile(r"\.venv/bin/python scripts/gen_docs\.py( --check)?"),
)
DOC_PORT = "127.0.0.1:8080"
# RFC 9110 reason phrases (Python's http.HTTPStatus names changed between versions).
REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}
_SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?~\\\n]")
_COMMAND_TIMEOUT = 120.0
_SERVER_START_TIMEOUT = 60.0


@dataclass(slots=True)
class Failure:
    """One block (or command) whose actual output differs from the page."""

    where: str
    what: str
    expected: str
    actual: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}\n{self.detail}"


@dataclass(slots=True)
class _Edit:
    """Replace lines [start, end) of the page (0-based) with ``text`` (used by ``--update``)."""

    start: int
    end: int
    text: str


@dataclass(slots=True)
class Command:
    text: str
    expected: str
    first_output_line: int  # 0-based line of the page where its expected output starts
    end_output_line: int


def transcript(block: Block) -> list[Command]:
    """The ``$`` commands of a console block with their expected output (line numbers for ``--update``)."""
    lines = block.text.split("\n")[:-1] if block.text else []
    base = block.line  # the fence is line block.line (1-based), so body line j is page line base + j (0-based)
    commands: list[Command] = []
    i = 0
    if lines and not lines[0].startswith("$ "):
        raise ValueError(f"{block.where}: a console block must start with a '$ ' command line")
    while i < len(lines):
        parts = [lines[i][2:]]
        while not _complete("\n".join(parts)) and i + 1 < len(lines):
            i += 1
            parts.append(lines[i])
        i += 1
        start = i
        while i < len(lines) and not lines[i].startswith("$ "):
            i += 1
        commands.append(Command("\n".join(parts), "\n".join(lines[start:i]), base + start, base + i))
    return commands


def _complete(command: str) -> bool:
    """A command ends at a line without a trailing backslash and with every quote closed."""
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pretty_json(value: Any, indent: int = 0) -> str:
    """JSON as the docs show it: two-space indent, arrays of scalars on one line."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}  {json.dumps(k, ensure_ascii=False)}: {pretty_json(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
        items = [f"{pad}  {pretty_json(v, indent + 2)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Session:
    """The state one page builds up: working directory, data directory, background servers, the app."""

    page: Path
    root: Path
    work: Path = field(init=False)
    data: Path = field(init=False)
    port: int = field(init=False)
    env: dict[str, str] = field(init=False)
    failures: list[Failure] = field(default_factory=list)
    edits: list[_Edit] = field(default_factory=list)
    _client: TestClient | None = None
    _servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.work = (self.root / "work").resolve()
        self.data = self.work / "data"
        self.work.mkdir(parents=True)
        shutil.copytree(REPO / "examples", self.work / "examples")
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTIME_")}
        bin_dir = str(Path(sys.executable).parent)
        env.update(
            FLOWTIME_DATA_DIR=str(self.data),
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            COLUMNS="100",
            NO_COLOR="1",
            TERM="dumb",
            PYTHONUNBUFFERED="1",
        )
        self.env = env

    @property
    def literals(self) -> dict[str, str]:
        return {"<data-dir>": str(self.data), "<work-dir>": str(self.work), DOC_PORT: f"127.0.0.1:{self.port}"}

    def close(self) -> None:
        for server in self._servers:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        self._servers.clear()
        if self._client is not None:
            self._client.close()

    # -- blocks ---------------------------------------------------------------------------------------

    def run(self) -> None:
        page_blocks = blocks(self.page)
        i = 0
        while i < len(page_blocks):
            block = page_blocks[i]
            if "file" in block.options:
                self._write_file(block)
            elif block.lang in SHELL_LANGS:
                self._shell_block(block)
            elif block.lang == "http":
                response = page_blocks[i + 1] if i + 1 < len(page_blocks) else None
                self._http_pair(block, response)
                i += 1
            i += 1
        self._check_local_links()

    def _check_local_links(self) -> None:
        """Every ``http://127.0.0.1:8080/…`` link of the page answers a GET once the page has run."""
        for line, target in links(self.page):
            if target.startswith(f"http://{DOC_PORT}/"):
                path = target[len(f"http://{DOC_PORT}") :]
                status = self.client.get(path).status_code
                if status >= 400:
                    where = f"{self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page}:{line}"
                    self.failures.append(
                        Failure(where, target, "a page", f"HTTP {status}", f"GET {path} answered {status}")
                    )

    def _write_file(self, block: Block) -> None:
        target = (self.work / block.options["file"]).resolve()
        if not target.is_relative_to(self.work):
            raise ValueError(f"{block.where}: file= must name a path inside the working directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")

    def _shell_block(self, block: Block) -> None:
        if "norun" in block.flags:
            check_norun(block)
            return
        if block.lang != "console" or "runnable" not in block.flags:
            raise ValueError(f"{block.where}: shell examples must be ```console runnable (or ```console norun)")
        for command in transcript(block):
            actual = self.execute(command.text)
            expected = command.expected
            if not matches(expected, actual, self.literals):
                self.failures.append(
                    Failure(
                        f"{block.where}",
                        f"$ {command.text}",
                        expected,
                        actual,
                        explain(expected, actual, self.literals),
                    )
                )
                body = templatise(actual, self.literals)
                self.edits.append(
                    _Edit(command.first_output_line, command.end_output_line, body + "\n" if body else "")
                )

    # -- commands -------------------------------------------------------------------------------------

    def execute(self, command: str) -> str:
        """Run one transcript command; its output as a terminal would show it, plus ``[exit N]``."""
        command = command.replace(DOC_PORT, f"127.0.0.1:{self.port}").replace("--port 8080", f"--port {self.port}")
        if command.rstrip().endswith(" &"):
            return self._background(command.rstrip()[:-1].strip())
        flat = command.replace("\\\n", " ")
        words = shlex.split(flat)
        # `serve` runs until stopped and owns its process (signals, event loop): always a real process.
        simple = words and words[0] == "flowtime" and "serve" not in words and not _SHELL_SYNTAX.search(flat)
        if simple and not os.environ.get("FLOWTIME_DOCS_SUBPROCESS"):
            code, output = self._in_process(words[1:])
            return output + (f"[exit {code}]\n" if code else "")
        completed = subprocess.run(
            ["bash", "-c", command],
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=_COMMAND_TIMEOUT,
            check=False,
        )
        output = completed.stdout.decode("utf-8", errors="replace")
        if output and not output.endswith("\n"):
            output += "\n"
        return output + (f"[exit {completed.returncode}]\n" if completed.returncode else "")

    def _in_process(self, argv: list[str]) -> tuple[int, str]:
        """``flowtime`` without a new interpreter: the suite stays fast, the code path is the same."""
        from flowtime.cli.main import main

        buffer = io.StringIO()
        with _environment(self.env, self.work), contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, buffer.getvalue()

    def _background(self, command: str) -> str:
        log = (self.root / f"background-{len(self._servers)}.log").open("wb")
        server = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=self.work, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self._servers.append(server)
        deadline = time.monotonic() + _SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                return f"(background command exited with {server.returncode}; see {log.name})\n"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return ""
            time.sleep(0.1)
        return f"(background command did not open port {self.port} within {_SERVER_START_TIMEOUT:.0f} s)\n"

    # -- HTTP -----------------------------------------------------------------------------------------

    @property
    def client(self) -> TestClient:
        if self._client is None:
            from flowtime.runs import Settings
            from flowtime.server import create_app

            self._client = TestClient(create_app(Settings.resolve(data_dir=self.data, env={})))
        return self._client

    def _http_pair(self, request: Block, response: Block | None) -> None:
        if "runnable" not in request.flags:
            raise ValueError(f"{request.where}: an http request block must be marked runnable")
        if response is None or response.lang != "http" or not response.text.startswith("HTTP/"):
            raise ValueError(f"{request.where}: a runnable http request must be followed by an http response block")
        actual = self.send(request.text, _expected_headers(response.text))
        if not matches(response.text, actual, self.literals):
            first = request.text.split("\n", 1)[0]
            self.failures.append(
                Failure(response.where, first, response.text, actual, explain(response.text, actual, self.literals))
            )
            self.edits.append(
                _Edit(
                    response.line,
                    response.line + len(response.text.split("\n")) - 1,
                    templatise(actual, self.literals) + "\n",
                )
            )

    def send(self, request_text: str, header_names: list[str]) -> str:
        """Send one request and render the response the way the docs show it."""
        head, _, body = request_text.partition("\n\n")
        request_line, *header_lines = head.strip("\n").split("\n")
        method, target, *_ = request_line.split()
        headers = dict(line.split(": ", 1) for line in header_lines if line.strip())
        reply = self.client.request(method, target, headers=headers, content=body.strip("\n").encode() or None)
        lines = [f"HTTP/1.1 {reply.status_code} {REASONS.get(reply.status_code, 'Unknown')}"]
        lines += [f"{name}: {reply.headers.get(name, '(absent)')}" for name in header_names]
        text = reply.text
        if "json" in reply.headers.get("content-type", "") and text:
            text = pretty_json(reply.json())
        return "\n".join(lines) + "\n\n" + text + "\n"


def _expected_headers(response_text: str) -> list[str]:
    head = response_text.partition("\n\n")[0].split("\n")[1:]
    return [line.split(":", 1)[0] for line in head if ":" in line]


def check_norun(block: Block) -> None:
    """A block that is not executed may only show installation and start-up commands."""
    lines = [ln[2:] if ln.startswith("$ ") else ln for ln in block.text.split("\n") if ln.strip()]
    for line in lines:
        command = line.split("#", 1)[0].strip()
        if command and not any(p.fullmatch(command) for p in NORUN_ALLOWED):
            raise ValueError(f"{block.where}: '{command}' must run in the tests (mark the block runnable)")


@contextlib.contextmanager
def _environment(env: dict[str, str], cwd: Path) -> Iterator[None]:
    """The command's environment and working directory; afterwards the process is as it was, the
    ``flowtime`` logger included (each command configures it)."""
    saved_env = dict(os.environ)
    saved_cwd = Path.cwd()
    logger = logging.getLogger("flowtime")
    saved_logger = (list(logger.handlers), logger.level, logger.propagate)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        logger.handlers[:] = saved_logger[0]
        logger.setLevel(saved_logger[1])
        logger.propagate = saved_logger[2]


def run_page(page: Path, root: Path) -> Session:
    """Execute every block of ``page`` in a fresh session under ``root``; the caller reads ``failures``."""
    session = Session(page, root)
    try:
        session.run()
    finally:
        session.close()
    return session


def update_page(page: Path, edits: list[_Edit]) -> None:
    """Write actual outputs into the page (``--update``)."""
    lines = page.read_text(encoding="utf-8").split("\n")
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        replacement = edit.text.split("\n")[:-1] if edit.text else []
        lines[edit.start : edit.end] = replacement
    page.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    update = "--update" in argv
    pages = [Path(a).resolve() for a in argv if not a.startswith("--")]
    status = 0
    for page in pages:
        with tempfile.TemporaryDirectory(prefix="flowtime-docs-") as tmp:
            started = time.monotonic()
            session = run_page(page, Path(tmp))
            seconds = time.monotonic() - started
            print(f"{page.relative_to(REPO)}: {len(session.failures)} mismatch(es) in {seconds:.1f} s")
            for failure in session.failures:
                print(f"\n{failure}\n")
            if update and session.edits:
                update_page(page, session.edits)
            status = status or (1 if session.failures else 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
