"""Fenced blocks, headings and links of the Markdown pages, as the docs tests need them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)\)")
_AUTOLINK = re.compile(r"<(?P<target>https?://[^>\s]+)>")
_REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+(?P<target>\S+)", re.MULTILINE)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block: ``info`` is split into the language and ``key`` / ``key=value`` attributes."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    flags: frozenset[str]
    options: dict[str, str] = field(hash=False)
    text: str

    @property
    def where(self) -> str:
        page = self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page
        return f"{page}:{self.line}"


def doc_pages() -> list[Path]:
    """Every Markdown page under docs/, in path order."""
    return sorted(DOCS.rglob("*.md"))


def markdown_files() -> list[Path]:
    """The pages the link check covers: the README and everything under docs/."""
    return [REPO / "README.md", *doc_pages()]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in document order; an unclosed fence is an error."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence = match["fence"]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not _closes(lines[i], fence):
            body.append(lines[i])
            i += 1
        if i >= len(lines):
            raise ValueError(f"{page}:{start + 1}: unclosed code fence")
        words = match["info"].split()
        options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        flags = frozenset(w for w in words[1:] if "=" not in w)
        found.append(
            Block(
                page=page,
                line=start + 1,
                lang=words[0] if words else "",
                flags=flags,
                options=options,
                text="\n".join(body) + ("\n" if body else ""),
            )
        )
        i += 1
    return found


def prose_lines(page: Path) -> Iterator[tuple[int, str]]:
    """Lines outside fenced blocks (1-based numbers), with inline code spans blanked out."""
    for number, line in prose_lines_raw(page):
        yield number, _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


def prose_lines_raw(page: Path) -> Iterator[tuple[int, str]]:
    """Lines outside fenced blocks, unmodified, with their 1-based numbers."""
    inside: str | None = None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if inside is None:
            match = _FENCE.match(line)
            if match is not None:
                inside = match["fence"]
            else:
                yield number, line
        elif _closes(line, inside):
            inside = None


def _closes(line: str, fence: str) -> bool:
    """A closing fence: only the opening fence's character, at least as many of them."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every ``#fragment`` a link may use for ``page``: heading slugs (deduplicated as GitHub does), HTML ids."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, line in prose_lines_raw(page):
        heading = _HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            result.add(base if count == 0 else f"{base}-{count}")
        result.update(_HTML_ANCHOR.findall(line))
    return result


def links(page: Path) -> list[tuple[int, str]]:
    """Link and image targets of ``page`` (outside code), with their line numbers."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(page):
        for pattern in (_LINK, _IMAGE, _REFERENCE_DEF, _AUTOLINK):
            for match in pattern.finditer(line):
                found.append((number, match["target"].strip("<>")))
    return found
