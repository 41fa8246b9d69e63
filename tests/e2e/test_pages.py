"""Runs list, orchestration form errors and health page in Chromium, with a screenshot of each."""

from __future__ import annotations

import httpx
from tests.e2e.conftest import require_playwright, shot

sync_api = require_playwright()
Page, expect = sync_api.Page, sync_api.expect


def _create(api: httpx.Client, template_id: str, mode: str = "simulation") -> str:
    response = api.post("/v1/runs", json={"templateId": template_id, "mode": mode})
    assert response.status_code == 201, response.text
    return response.json()["metadata"]["runId"]


def test_runs_list_shows_runs_and_filters_by_template(page: Page, server: str, api: httpx.Client) -> None:
    first = _create(api, "transportation-basic")
    second = _create(api, "manufacturing-line")

    page.goto(f"{server}/runs")
    expect(page.get_by_role("link", name=first, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=second, exact=True)).to_be_visible()
    row = page.locator("tr", has=page.get_by_role("link", name=first, exact=True))
    expect(row).to_contain_text("Transportation Network")
    expect(row).to_contain_text("6 × 60 minutes")
    expect(row.locator(".badge-simulation")).to_have_text("Simulation")
    shot(page, "runs-list")

    page.get_by_label("Template").select_option("manufacturing-line")
    expect(page.get_by_role("link", name=first, exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name=second, exact=True)).to_be_visible()
    assert "templateId=manufacturing-line" in page.url

    # Refresh re-reads the list with the filters and page now in the address bar.
    third = _create(api, "manufacturing-line")
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("link", name=third, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=first, exact=True)).to_have_count(0)

    page.get_by_label("Mode").select_option("telemetry")
    expect(page.get_by_text("No runs match these filters.")).to_be_visible()
    shot(page, "runs-list-no-match")


def test_server_validation_errors_are_shown_next_to_their_field(page: Page, server: str) -> None:
    page.goto(f"{server}/runs/new?templateId=transportation-basic")
    page.get_by_label("Periods", exact=True).fill("2")
    page.get_by_role("button", name="Plan").click()

    error = page.locator(".field-invalid .field-errors")
    expect(error).to_have_text("Parameter 'bins' value 2 is below minimum 3.")
    expect(page.get_by_label("Periods", exact=True)).to_have_value("2")
    expect(page.get_by_label("Periods", exact=True)).to_have_attribute("aria-invalid", "true")
    shot(page, "new-run-validation-error")


def test_health_page_names_roots_without_paths(page: Page, server: str) -> None:
    page.goto(f"{server}/health")

    expect(page.locator("main")).to_contain_text("healthy")
    expect(page.locator("main")).to_contain_text("Telemetry root")
    assert "/tmp" not in page.content()
    shot(page, "health")


def test_unknown_run_shows_an_error_page_with_a_way_back(page: Page, server: str) -> None:
    page.goto(f"{server}/runs/run_that_does_not_exist")

    expect(page.get_by_role("alert")).to_have_text("Run 'run_that_does_not_exist' not found.")
    expect(page.get_by_role("link", name="Back to the runs")).to_be_visible()
    shot(page, "error-run-not-found")
