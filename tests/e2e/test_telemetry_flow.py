"""The seed's manual verification, driven in Chromium: simulate → generate → replay → time travel → 409."""

from __future__ import annotations

import re

import httpx
from tests.e2e.conftest import HeldPosts, colours, require_playwright, shot

sync_api = require_playwright()
Page, expect = sync_api.Page, sync_api.expect

STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC")


_COUNT_SENDS = """() => {
  window.sends = 0;
  if (!window.countingSends) {
    window.countingSends = true;
    document.body.addEventListener('htmx:beforeSend', () => window.sends++);
  }
}"""


def _press_while_in_flight(page: Page, url_glob: str, button: str, form: str, progress: str, done: str) -> None:
    """Press ``button`` and, while its POST is held, check the progress indicator and the disabled button and
    submit the form again (as Enter would). Once the answer is shown, exactly one request must have been sent:
    htmx sends a queued request as soon as the first completes, in the same task that swaps the answer in."""
    held = HeldPosts(page, url_glob)
    page.evaluate(_COUNT_SENDS)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("button", name=button, exact=True)).to_be_disabled()
    expect(page.locator(progress)).to_be_visible()
    page.locator(form).evaluate("f => f.requestSubmit()")
    held.release()
    expect(page.locator(done)).to_be_visible()
    assert page.evaluate("window.sends") == 1


def _inspector_values(page: Page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "[data-inspector-metrics] td",
        "els => Object.fromEntries(els.map(e => [e.dataset.metric, e.dataset.value]))",
    )


def _api_values(node: dict, i: int) -> dict[str, str]:
    values = {"color": node["colors"][i]}
    for key, series in node["series"].items():
        values[key] = "null" if series[i] is None else str(series[i])
    return values


def _same_values(shown: dict[str, str], expected: dict[str, str]) -> bool:
    if shown.keys() != expected.keys():
        return False
    for key, want in expected.items():
        got = shown[key]
        if key == "color" or "null" in (got, want):
            if got != want:
                return False
        elif abs(float(got) - float(want)) > 1e-9 * max(1.0, abs(float(want))):
            return False
    return True


def test_generate_replay_time_travel_and_overwrite(page: Page, server: str, api: httpx.Client) -> None:
    # A simulation run, created through the orchestration page (plan first, then run).
    runs_before = api.get("/v1/runs", params={"templateId": "order-system"}).json()["totalCount"]
    page.goto(f"{server}/runs/new")
    page.locator("[data-template-card]", has_text="Order System").click()
    expect(page.locator("#run-form h2")).to_contain_text("Order System")
    page.get_by_role("button", name="Plan").click()
    expect(page.locator("#plan-title")).to_be_visible()
    shot(page, "new-run-plan")
    _press_while_in_flight(page, "**/runs/new", "Run", "form.run-form", "#run-progress", "#created-title")
    assert api.get("/v1/runs", params={"templateId": "order-system"}).json()["totalCount"] == runs_before + 1
    run_id = page.locator(".result-ok dd code").first.inner_text()
    shot(page, "new-run-created")
    page.get_by_role("link", name="Open run detail").click()
    page.wait_for_url(f"**/runs/{run_id}")

    # 1. Telemetry unavailable; replay from telemetry disabled.
    expect(page.locator("[data-telemetry-available]")).to_have_text("No")
    expect(page.get_by_role("button", name="Replay from telemetry")).to_be_disabled()
    shot(page, "run-detail-simulation")

    # 2. Generate → availability turns true with the API's timestamp.
    _press_while_in_flight(
        page,
        f"**/runs/{run_id}/telemetry",
        "Generate telemetry",
        "form.telemetry-form",
        "#generate-progress",
        "[data-notice=success]",
    )
    expect(page.locator("[data-notice=success]")).to_contain_text("Telemetry bundle generated at")
    expect(page.locator("[data-telemetry-available]")).to_have_text("Yes")
    generated = api.get(f"/v1/runs/{run_id}").json()["telemetry"]["generatedAtUtc"]
    shown = page.locator("[data-telemetry-generated]").inner_text()
    assert STAMP.fullmatch(shown)
    assert shown == generated[:10] + " " + generated[11:19] + " UTC"
    expect(page.locator("[data-notice=success]")).to_have_text(f"Telemetry bundle generated at {shown}.")
    shot(page, "run-detail-generated")

    # 3. Replay from telemetry really creates a telemetry-mode run.
    page.get_by_role("button", name="Replay from telemetry").click()
    page.wait_for_url(re.compile(r"/runs/(?!" + re.escape(run_id) + r"$)[^/]+$"))
    replay_id = page.url.rsplit("/", 1)[1]
    replay = api.get(f"/v1/runs/{replay_id}").json()
    assert replay["metadata"]["mode"] == "telemetry"
    assert replay["metadata"]["templateId"] == "order-system"
    expect(page.locator("h1 .badge")).to_have_text("Telemetry")
    shot(page, "run-detail-telemetry-replay")

    # 4. Time travel on the replay: colours and inspector values are the API's, at bin 0 and after scrubbing.
    page.get_by_role("link", name="Time travel").first.click()
    expect(page.locator("#topology")).to_have_attribute("data-bin", "0")
    bins = replay["run"]["grid"]["bins"]
    window = api.get(f"/v1/runs/{replay_id}/state_window", params={"startBin": 0, "endBin": bins - 1}).json()
    nodes = {n["id"]: n for n in window["nodes"]}
    assert colours(page) == {n: d["colors"][0] for n, d in nodes.items()}

    # The first bin whose colours differ from bin 0's, and a node whose colour changes there.
    target = next(b for b in range(1, bins) if any(d["colors"][b] != d["colors"][0] for d in nodes.values()))
    node_id = next(n for n, d in nodes.items() if d["colors"][target] != d["colors"][0])
    page.locator(f'.node[data-node="{node_id}"]').click()
    expect(page.locator("[data-inspector-node]")).to_contain_text(node_id)
    assert _same_values(_inspector_values(page), _api_values(nodes[node_id], 0))
    shot(page, "time-travel-bin-0")

    page.locator("#scrubber").focus()
    for _ in range(target):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#topology")).to_have_attribute("data-bin", str(target))
    assert colours(page) == {n: d["colors"][target] for n, d in nodes.items()}
    assert page.locator(f'.node[data-node="{node_id}"]').get_attribute("data-color") != nodes[node_id]["colors"][0]
    shown_values = _inspector_values(page)
    assert _same_values(shown_values, _api_values(nodes[node_id], target))
    assert not _same_values(shown_values, _api_values(nodes[node_id], 0))
    expect(page.locator("#bin-label")).to_contain_text(f"Bin {target + 1} of {bins}")
    shot(page, "time-travel-scrubbed")

    # 5. Generate again without overwrite → 409 message with the stored time; then overwrite.
    page.goto(f"{server}/runs/{run_id}")
    page.get_by_role("button", name="Generate telemetry").click()
    notice = page.locator("[data-notice=info]")
    expect(notice).to_contain_text(f"A telemetry bundle already exists (generated at {shown}).")
    expect(notice).to_contain_text("Turn on Overwrite to regenerate.")
    shot(page, "run-detail-409")
    page.get_by_role("button", name="Overwrite and regenerate").click()
    expect(page.locator("[data-notice=success]")).to_contain_text("Telemetry bundle regenerated at")
    regenerated = api.get(f"/v1/runs/{run_id}").json()["telemetry"]["generatedAtUtc"]
    assert regenerated > generated
    expect(page.locator("[data-telemetry-generated]")).to_have_text(
        regenerated[:10] + " " + regenerated[11:19] + " UTC"
    )
