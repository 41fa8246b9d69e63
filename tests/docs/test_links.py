"""Every relative link in the README and docs/ points at an existing file, and every #anchor at a heading."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from tests.docs.markdown import DOCS, REPO, anchors, doc_pages, links, markdown_files


def _relative(target: str) -> bool:
    return not urlsplit(target).scheme and not target.startswith("//")


def dead_links(page: Path, root: Path = REPO) -> list[str]:
    """``file:line: target (reason)`` for every relative link of ``page`` that does not resolve; paths in
    the report are relative to ``root``."""
    dead: list[str] = []
    for line, target in links(page):
        if not _relative(target):
            continue
        path_part, _, fragment = target.partition("#")
        where = f"{page.relative_to(root)}:{line}: {target}"
        if path_part.startswith("/"):
            dead.append(f"{where} (absolute paths break outside this checkout; use a relative link)")
            continue
        file = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not file.exists():
            dead.append(f"{where} (no such file)")
        elif fragment and file.suffix == ".md" and unquote(fragment) not in anchors(file):
            dead.append(f"{where} (no heading with anchor #{fragment} in {file.relative_to(root)})")
    return dead


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path) -> None:
    assert dead_links(page) == []


def test_dead_links_are_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other page\n\n## Known `section`\n", encoding="utf-8")
    page.write_text(
        "# Page\n\n[ok](other.md#known-section) [gone](missing.md) [bad anchor](other.md#nope)\n"
        "[self](#page) [own bad](#elsewhere) [web](https://example.org/x) `[code](ignored.md)`\n"
        "```sh\n[in a block](also-ignored.md)\n```\n",
        encoding="utf-8",
    )
    reasons = [d.split(": ", 1)[1] for d in dead_links(page, tmp_path)]
    assert reasons == [
        "missing.md (no such file)",
        "other.md#nope (no heading with anchor #nope in other.md)",
        "#elsewhere (no heading with anchor #elsewhere in page.md)",
    ]


def test_readme_links_every_docs_page() -> None:
    linked = {
        (REPO / target.partition("#")[0]).resolve()
        for _, target in links(REPO / "README.md")
        if _relative(target) and target.partition("#")[0]
    }
    missing = [str(p.relative_to(REPO)) for p in doc_pages() if p.resolve() not in linked]
    assert missing == [], "pages not linked from README.md"


def test_docs_index_links_every_page() -> None:
    index = DOCS / "README.md"
    linked = {(DOCS / t.partition("#")[0]).resolve() for _, t in links(index) if _relative(t)}
    missing = [str(p.relative_to(REPO)) for p in doc_pages() if p != index and p.resolve() not in linked]
    assert missing == [], "pages not linked from docs/README.md"
