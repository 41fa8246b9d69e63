"""Every runnable block of every docs page runs against a temporary data directory and prints what it shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.docs.markdown import REPO, doc_pages
from tests.docs.session import run_page


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_page_runs_as_documented(page: Path, tmp_path: Path) -> None:
    session = run_page(page, tmp_path)
    assert not session.failures, (
        f"{len(session.failures)} example(s) in {page.relative_to(REPO)} no longer match the product "
        f"(see `python -m tests.docs.session {page.relative_to(REPO)}`):\n\n"
        + "\n\n".join(str(f) for f in session.failures)
    )
