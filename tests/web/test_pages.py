import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import create_run

from flowtime.errors import WriteFailed
from flowtime.web import pages

HX = {"HX-Request": "true"}
FORM = {**HX, "Content-Type": "application/x-www-form-urlencoded"}


def _post_pairs(client: TestClient, url: str, pairs: list[tuple[str, str]]):
    """Repeated names (array cells) in order, as a browser posts them."""
    return client.post(url, content=urlencode(pairs), headers=FORM)


def _config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="tt-config">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


# ------------------------------------------------------------------------------------------------ runs list


def test_empty_runs_page_says_how_to_create_a_run(client: TestClient):
    response = client.get("/")

    assert response.status_code == 200
    assert "No runs yet." in response.text
    assert 'href="/runs/new"' in response.text


def test_runs_table_lists_run_with_template_grid_and_telemetry(client: TestClient, data_dir: Path):
    run_id = create_run(client)

    html = client.get("/runs").text

    assert f'href="/runs/{run_id}"' in html
    assert "Transportation Network" in html
    assert "6 × 60 minutes" in html
    assert f'href="/runs/{run_id}/time-travel"' in html
    assert 'aria-label="No telemetry"' in html
    assert str(data_dir) not in html


def test_htmx_request_gets_the_table_fragment_only(client: TestClient):
    create_run(client)

    response = client.get("/runs?mode=telemetry", headers=HX)

    assert "<html" not in response.text
    assert "No runs match these filters." in response.text
    assert response.headers["vary"] == "HX-Request"


def test_history_restore_gets_the_whole_page(client: TestClient):
    response = client.get("/runs", headers={**HX, "HX-History-Restore-Request": "true"})

    assert "<html" in response.text


def test_invalid_filter_shows_the_api_message_with_retry(client: TestClient):
    html = client.get("/runs?hasWarnings=maybe", headers=HX).text

    assert "hasWarnings must be &#39;true&#39; or &#39;false&#39;." in html
    assert "Retry" in html


def test_paging_links_keep_filters(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pages, "_RUNS_PAGE_SIZE", 1)
    create_run(client)
    create_run(client, "manufacturing-line")

    html = client.get("/runs?mode=simulation").text

    assert "Page 1 of 2" in html
    assert "Showing 1–1 of 2 runs" in html
    assert 'href="/runs?mode=simulation&amp;page=2"' in html
    assert 'rel="prev"' not in html


# -------------------------------------------------------------------------------------------------- new run


def test_new_run_page_lists_templates_and_builds_the_selected_form(client: TestClient):
    html = client.get("/runs/new?templateId=transportation-basic").text

    assert "Manufacturing Production Line" in html
    assert 'name="param.bins"' in html
    assert 'value="6"' in html
    assert "min 3 · max 48" in html
    assert html.count('class="cell" name="param.demandPattern"') == 6
    assert 'data-array-match="param.bins"' in html


def test_unknown_template_is_reported(client: TestClient):
    assert "Template &#39;nope&#39; not found" in client.get("/runs/new?templateId=nope").text
    assert client.get("/runs/new/form?templateId=nope", headers=HX).status_code == 404


def test_plan_shows_the_dry_run_and_writes_nothing(client: TestClient):
    form = {"templateId": "transportation-basic", "mode": "simulation", "action": "plan", "param.bins": "6"}

    response = client.post("/runs/new", data=form, headers=HX)

    assert response.status_code == 200
    assert "Plan (dry run — nothing was written)" in response.text
    assert "None: a simulation run computes every series from the model." in response.text
    assert client.get("/v1/runs").json()["totalCount"] == 0


def test_telemetry_plan_lists_the_capture_files_by_name(client: TestClient, data_dir: Path):
    run_id = create_run(client)
    client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX)
    form = {
        "templateId": "transportation-basic",
        "mode": "telemetry",
        "captureDirectory": f"run:{run_id}",
        "action": "plan",
    }

    html = client.post("/runs/new", data=form, headers=HX).text

    assert f"<dt>Telemetry bundle</dt><dd>kept with run <code>{run_id}</code>, generated" in html
    assert '<li><code>demand.csv</code> <span class="muted">TransitLine · Arrivals</span></li>' in html
    assert f'<option value="run:{run_id}" selected>' in html
    assert str(data_dir) not in html


def test_run_creates_the_run_and_links_to_it(client: TestClient):
    form = [
        ("templateId", "transportation-basic"),
        ("mode", "simulation"),
        ("action", "run"),
        *[("param.demandPattern", str(v)) for v in (1, 2, 3, 4, 5, 6)],
    ]

    response = _post_pairs(client, "/runs/new", form)

    assert response.status_code == 201
    run_id = client.get("/v1/runs").json()["items"][0]["runId"]
    assert f'href="/runs/{run_id}"' in response.text
    detail = client.get(f"/v1/runs/{run_id}").json()
    assert detail["run"]["parameters"]["demandPattern"] == [1, 2, 3, 4, 5, 6]


def test_seed_is_offered_for_stochastic_templates_only_and_used(client: TestClient):
    assert 'id="seed"' not in client.get("/runs/new?templateId=transportation-basic").text
    assert 'id="seed"' in client.get("/runs/new?templateId=network-reliability").text
    form = {"templateId": "network-reliability", "mode": "simulation", "action": "run", "seed": "7"}

    response = client.post("/runs/new", data=form, headers=HX)

    assert response.status_code == 201
    assert "<dt>Seed</dt><dd>7</dd>" in response.text
    run_id = client.get("/v1/runs").json()["items"][0]["runId"]
    assert client.get(f"/v1/runs/{run_id}").json()["metadata"]["rng"]["seed"] == 7


def test_parameter_errors_are_shown_next_to_their_fields(client: TestClient):
    form = [
        ("templateId", "transportation-basic"),
        ("mode", "simulation"),
        ("action", "run"),
        ("param.bins", "2"),
        *[("param.demandPattern", v) for v in ("1", "-5", "3", "4", "5", "6")],
    ]

    response = _post_pairs(client, "/runs/new", form)

    assert response.status_code == 400
    html = response.text
    bins_field = html[html.index('id="p-bins"') : html.index('id="p-binSize"')]
    assert "Parameter &#39;bins&#39; value 2 is below minimum 3." in bins_field
    assert 'aria-invalid="true"' in bins_field
    assert "element at index 1 (-5) is below minimum 0." in html
    assert re.search(r'value="-5"[^>]*aria-label="Passenger demand value 1" aria-invalid="true"', html)


def test_bad_seed_is_shown_at_the_seed_field(client: TestClient):
    form = {"templateId": "network-reliability", "mode": "simulation", "action": "plan", "seed": "abc"}

    html = client.post("/runs/new", data=form, headers=HX).text

    seed_field = html[html.index('id="seed"') :]
    assert '<ul class="field-errors" id="seed-err"><li>rng.seed must be an integer.</li></ul>' in seed_field
    assert 'value="abc"' in seed_field


def test_telemetry_mode_without_a_bundle_explains_what_to_do(client: TestClient):
    form = {"templateId": "transportation-basic", "mode": "telemetry", "action": "run"}

    response = client.post("/runs/new", data=form, headers=HX)

    assert response.status_code == 400
    assert "No telemetry bundle exists for this template yet." in response.text
    assert "telemetry.captureDirectory is required for telemetry runs." in response.text


# ----------------------------------------------------------------------------------------------- run detail


def test_detail_shows_provenance_parameters_and_no_paths(client: TestClient, data_dir: Path):
    run_id = create_run(client, rng={"kind": "pcg32", "seed": 99})

    html = client.get(f"/runs/{run_id}").text

    assert "Transportation Network" in html
    assert "<dt>RNG seed</dt><dd>99</dd>" in html
    assert re.search(r'<code title="sha256:[0-9a-f]{64}">sha256:[0-9a-f]{12}…</code>', html)
    assert "<code>demandPattern</code></th><td>[10, 15, 20, 25, 18, 12]</td>" in html
    assert 'data-telemetry-available><span class="badge badge-muted">No</span>' in html
    assert 'value="transportation-basic-telemetry"' in html  # capture key pre-filled from the template
    assert re.search(r'<button type="submit" class="btn" name="source" value="telemetry" disabled', html)
    assert str(data_dir) not in html


def test_unknown_run_is_a_404_page(client: TestClient):
    response = client.get("/runs/run_missing")

    assert response.status_code == 404
    assert "Run &#39;run_missing&#39; not found." in response.text


def test_generate_then_409_then_overwrite(client: TestClient, data_dir: Path):
    run_id = create_run(client)

    first = client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX)
    generated = client.get(f"/v1/runs/{run_id}").json()["telemetry"]["generatedAtUtc"]
    again = client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX)
    overwrite = client.post(f"/runs/{run_id}/telemetry", data={"captureKey": "", "overwrite": "true"}, headers=HX)

    shown = f"{generated[:10]} {generated[11:19]} UTC"
    assert first.status_code == 200
    assert f"Telemetry bundle generated at {shown}." in first.text
    assert 'value="telemetry">Replay from telemetry</button>' in first.text
    assert again.status_code == 409
    assert f"A telemetry bundle already exists (generated at {shown}). Turn on Overwrite to regenerate." in again.text
    assert "Overwrite and regenerate" in again.text
    assert overwrite.status_code == 200
    assert "Telemetry bundle regenerated at" in overwrite.text
    assert all(str(data_dir) not in r.text for r in (first, again, overwrite))


def test_409_for_a_bundle_of_another_run_names_that_run(client: TestClient):
    first = create_run(client)
    second = create_run(client, parameters={"demandPattern": [1, 2, 3, 4, 5, 6]})
    client.post(f"/runs/{first}/telemetry", data={"captureKey": "shared-key"}, headers=HX)

    response = client.post(f"/runs/{second}/telemetry", data={"captureKey": "shared-key"}, headers=HX)

    assert response.status_code == 409
    assert f"It was captured from run {first}; overwriting replaces it with this run&#39;s." in response.text


def test_replay_names_the_bundle_it_will_use(client: TestClient):
    run_id = create_run(client)
    client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX)

    html = client.get(f"/runs/{run_id}").text

    assert f"Replay from telemetry uses the bundle kept with run <code>{run_id}</code>, generated" in html
    assert f'<input type="hidden" name="captureDirectory" value="run:{run_id}">' in html


def test_server_failures_show_their_code_but_never_their_text(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    run_id = create_run(client)
    service = client.app.state.service  # type: ignore[attr-defined]

    def fail(body: object) -> None:
        raise WriteFailed("Could not write /srv/flowtime/telemetry/x.csv: disk full", code="capture_failed")

    monkeypatch.setattr(service, "generate_capture", fail)

    response = client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX)

    assert response.status_code == 500
    assert "The server could not complete this request (capture_failed)." in response.text
    assert "/srv/flowtime" not in response.text


def test_generate_on_a_telemetry_run_is_not_offered(client: TestClient):
    run_id = create_run(client)
    client.post(f"/runs/{run_id}/telemetry", data={"captureKey": "tk"}, headers=HX)
    replay = client.post(f"/runs/{run_id}/replay", data={"source": "telemetry", "captureDirectory": "tk"}, headers=HX)
    replay_id = replay.headers["HX-Redirect"].rsplit("/", 1)[1]

    html = client.get(f"/runs/{replay_id}").text

    assert "Generate telemetry" not in html
    assert f'href="/runs/{run_id}"' in html  # the source run


def test_replay_from_model_creates_a_simulation_run_with_the_same_parameters(client: TestClient):
    run_id = create_run(client, parameters={"demandPattern": [1, 2, 3, 4, 5, 6]}, rng={"kind": "pcg32", "seed": 5})

    response = client.post(f"/runs/{run_id}/replay", data={"source": "model"}, headers=HX)

    assert response.status_code == 201
    new_id = response.headers["HX-Redirect"].rsplit("/", 1)[1]
    assert new_id != run_id
    detail = client.get(f"/v1/runs/{new_id}").json()
    assert detail["metadata"]["mode"] == "simulation"
    assert detail["run"]["parameters"]["demandPattern"] == [1, 2, 3, 4, 5, 6]
    assert detail["metadata"]["rng"]["seed"] == 5


def test_replay_from_telemetry_creates_a_telemetry_mode_run(client: TestClient):
    run_id = create_run(client)
    client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX)

    response = client.post(
        f"/runs/{run_id}/replay",
        data={"source": "telemetry", "captureDirectory": f"run:{run_id}"},
        headers=HX,
    )

    assert response.status_code == 201, response.text
    new_id = response.headers["HX-Redirect"].rsplit("/", 1)[1]
    assert client.get(f"/v1/runs/{new_id}").json()["metadata"]["mode"] == "telemetry"


def test_replay_from_telemetry_without_a_bundle_is_refused(client: TestClient):
    run_id = create_run(client)

    response = client.post(f"/runs/{run_id}/replay", data={"source": "telemetry"}, headers=HX)

    assert response.status_code == 400
    assert "No telemetry bundle was chosen. Generate telemetry first, then replay." in response.text
    assert "HX-Redirect" not in response.headers


# ---------------------------------------------------------------------------------------------- time travel


def test_time_travel_page_draws_every_topology_node_and_configures_the_script(client: TestClient, data_dir: Path):
    run_id = create_run(client, "it-system-microservices")

    html = client.get(f"/runs/{run_id}/time-travel").text

    nodes = re.findall(r'data-node="([^"]+)" data-kind="([^"]+)" data-layer="(\d+)"', html)
    assert nodes == [("LoadBalancer", "service", "0"), ("AuthService", "service", "1"), ("Database", "service", "2")]
    assert html.count('marker-end="url(#arrow)"') == 2
    assert _config(html) == {
        "runId": run_id,
        "bins": 6,
        "binMinutes": 60,
        "windowMax": 500,
        "stateWindowUrl": f"/v1/runs/{run_id}/state_window",
        "palette": pages.palette_json(),
    }
    assert "Utilisation 90 % or more" in html  # the legend
    assert str(data_dir) not in html


def test_time_travel_of_unknown_run_is_a_404_page(client: TestClient):
    response = client.get("/runs/nope/time-travel")

    assert response.status_code == 404
    assert "Run &#39;nope&#39; not found." in response.text


def test_every_posting_form_disables_its_buttons_while_in_flight(client: TestClient):
    run_id = create_run(client)
    pages_html = [
        client.get("/runs/new?templateId=transportation-basic").text,
        client.get(f"/runs/{run_id}").text,
        client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX).text,
        client.post(f"/runs/{run_id}/telemetry", data={"captureKey": ""}, headers=HX).text,  # 409 offer
    ]

    forms = [f for html in pages_html for f in re.findall(r"<form[^>]*hx-post[^>]*>", html)]

    assert len(forms) >= 6
    # A plain selector disables every match; htmx's "find …" would disable only the first button.
    disabled = {re.search(r'hx-disabled-elt="([^"]+)"', f).group(1) for f in forms}  # type: ignore[union-attr]
    assert disabled == {".run-form button[type=submit]", "#telemetry-panel button"}
    assert all(re.search(r'hx-sync="[^"]+:drop"', f) for f in forms), forms


# ---------------------------------------------------------------------------------------- health and static


def test_health_page_shows_status_counts_and_root_names_only(client: TestClient, data_dir: Path):
    create_run(client)

    html = client.get("/health").text

    assert "healthy" in html
    assert "<dt>Runs</dt><dd>1</dd>" in html
    assert "Telemetry root" in html
    assert '<a href="/openapi.json">OpenAPI document</a>' in html
    assert str(data_dir) not in html


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/htmx/LICENSE",
        "/static/vendor/uplot/uPlot.iife.min.js",
        "/static/vendor/uplot/LICENSE",
        "/static/time-travel.js",
        "/static/app.css",
    ],
)
def test_vendored_assets_are_served_from_the_package(client: TestClient, path: str):
    response = client.get(path)

    assert response.status_code == 200
    assert len(response.content) > 100


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("file:///srv/flowtime/telemetry/x.csv", "file: …/x.csv"),
        ("Telemetry source '/srv/a/b.csv' has no rows", "Telemetry source '…/b.csv' has no rows"),
        ("/x.csv", "/x.csv"),
        ("file://telemetry/HttpService_arrivals.csv", "file://telemetry/HttpService_arrivals.csv"),
        ("requests/min over a/b/c", "requests/min over a/b/c"),
    ],
)
def test_absolute_paths_are_cut_to_their_file_name(text: str, shown: str):
    assert pages._no_paths(text) == shown
