"""The engineers' pages: data quality, quarantine (with replay), triage, operator load.

The store is filled the way a plant fills it: an edge (``build_edge``) on the test's manual
clock receives good samples, an out-of-range one, a broken payload, a counter that went down
and a topic whose asset id carries a right-to-left override; the gate's triage items and the
interventions are saved as the runtime saves them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.app import Actor, Context, PlantRef, move
from andon.clock import ManualClock, to_ms
from andon.edge import build_edge
from andon.feedback import Via
from andon.interventions.triage import TriageItem, TriageReason
from andon.namespace import tag_topic
from andon.spec import load_spec
from andon.testing.factories import T0, make_intervention
from andon.web import quality_pages
from api.conftest import PASSWORD, SESSION_TTL_S, Login, TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI

    from andon.spec import PlantSpec
    from andon.store import SqlStore

TEMP = tag_topic("acme", "ghent", "utilities", "cooling-water", "p-101", "bearing_temp")
PRESS = tag_topic("acme", "ghent", "assembly", "press-line", "pr-201", "stroke_count")
RLO = "\u202e"
HOSTILE = TEMP.replace("p-101", f"p-101{RLO}live")
DEMO_SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
PAGES = ("/quality", "/quarantine", "/triage", "/load")


def payload(clock: ManualClock, value: float, seq: int, src: str = "plc-ghent-cw",
            unit: str = "degC") -> bytes:
    return (f'{{"v":{value},"u":"{unit}","ts":{to_ms(clock.now())},"seq":{seq},'
            f'"src":"{src}"}}').encode()


def fill_plant(store: SqlStore, spec: PlantSpec, clock: ManualClock, models: Path) -> None:
    """Two hours of data through a real edge: 6 recorded, 3 quarantined per tag, 1 malformed.

    Hour one: five good temperatures and one out of range (999 degC). Hour two: a stroke
    counter going 100 -> 50, a broken payload, a hostile topic. The clock ends in hour two.
    """
    edge = build_edge(spec, store, models, clock=clock)
    for i in range(5):
        edge.on_message(TEMP, payload(clock, 60 + i, i + 1))
        clock.advance(seconds=60)
    edge.on_message(TEMP, payload(clock, 999, 10))
    edge.flush()
    clock.advance(seconds=3600)
    edge.on_message(PRESS, payload(clock, 100, 1, "plc-press", "dimensionless"))
    clock.advance(seconds=60)
    edge.on_message(PRESS, payload(clock, 50, 2, "plc-press", "dimensionless"))
    edge.on_message(TEMP, b"{broken")
    edge.on_message(HOSTILE, payload(clock, 70, 11))
    edge.flush()


@pytest.fixture
def plant(store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, tmp_path: Path) -> None:
    fill_plant(store, demo_spec, clock, tmp_path / "models")


@pytest.fixture
def fixed_app(store: SqlStore, clock: ManualClock, tmp_path: Path) -> FastAPI:
    """The app after the fix: the spec says the stroke counter may go down."""
    text = DEMO_SPEC.read_text(encoding="utf-8")
    old = "{name: stroke_count, quantity: count,"
    assert old in text
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(text.replace(old, old + " monotonic: false,"), encoding="utf-8")
    return create_app(store, load_spec(fixed), clock=clock, session_ttl_s=SESSION_TTL_S)


def sign_in(app: FastAPI, username: str) -> tuple[TestClient, str]:
    """A browser-like client signed in as ``username``, and its CSRF token."""
    client = TestClient(app, follow_redirects=False)
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 303
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/quarantine").text)
    assert match is not None
    return client, match.group(1)


@pytest.fixture
def viewer(app: FastAPI, logins: dict[str, Login]) -> Iterator[tuple[TestClient, str]]:
    client, csrf = sign_in(app, "viewer")
    with client:
        yield client, csrf


@pytest.fixture
def engineer(app: FastAPI, logins: dict[str, Login]) -> Iterator[tuple[TestClient, str]]:
    client, csrf = sign_in(app, "engineer")
    with client:
        yield client, csrf


def cell_texts(html: str, row_attr: str) -> list[list[str]]:
    """The cells' text of every table row carrying ``row_attr``."""
    rows = re.findall(rf"<tr {row_attr}[^>]*>(.*?)</tr>", html, re.DOTALL)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r,
                                                                   re.DOTALL)] for r in rows]


# -- who may -------------------------------------------------------------------------------
def test_anonymous_callers_get_the_login_form_and_cannot_act(
        client: TestClient, logins: dict[str, Login]) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 401, path
        assert '<form method="post" action="/login"' in response.text
    assert client.get("/quarantine/replay/abc").status_code == 401
    assert client.post("/quarantine/replay", data={"rule": ""}).status_code == 401
    assert client.post("/triage/1/label", data={"verdict": "normal"}).status_code == 401


def test_every_signed_in_reader_sees_the_four_pages_linked_from_the_header(
        client: TestClient, logins: dict[str, Login]) -> None:
    for path in PAGES:
        response = client.get(path, headers=logins["viewer"].headers)
        assert response.status_code == 200, (path, response.text[:300])
        for link in PAGES:
            assert f'<a href="{link}">' in response.text


# -- data quality --------------------------------------------------------------------------
@pytest.mark.usefixtures("plant")
def test_the_quality_page_counts_recorded_and_quarantined_by_rule_with_an_hourly_trend(
        client: TestClient, logins: dict[str, Login]) -> None:
    html = client.get("/quality", headers=logins["viewer"].headers).text
    assert re.search(r"data-recorded>6<", html)
    assert re.search(r"data-quarantined>3<", html)
    assert re.search(r"data-rate>33.3 %<", html)  # 3 of 9 seen
    rules = re.findall(r'<li data-rule="([a-z_]+)">', html)
    assert sorted(rules) == ["counter_decreased", "out_of_range", "unknown_tag"]
    by_rule = html[html.index('id="dq-by-rule"'):html.index('id="dq-trend"')]
    assert by_rule.count('class="bar"') == 3
    trend = html[html.index('id="dq-trend"'):]
    # two hours with data (out_of_range in the first, two refusals in the second)
    assert "16.7 %" in trend  # 1 of 6 in hour one
    assert "66.7 %" in trend  # 2 of 3 in hour two
    temp = next(r for r in cell_texts(html, "data-tag") if r[1] == "p-101")
    assert temp == ["ghent", "p-101", "bearing_temp", "5", "0", "0", "1", "out_of_range 1",
                    "out of range: 1 quarantined"]


@pytest.mark.usefixtures("plant")
def test_the_quality_page_narrows_to_a_line_and_a_period_and_names_a_bad_period(
        client: TestClient, clock: ManualClock, logins: dict[str, Login]) -> None:
    headers = logins["viewer"].headers
    line = client.get("/quality", params={"line": "press-line", "all": "true"},
                      headers=headers).text
    assert [r[1] for r in cell_texts(line, "data-tag")] == ["pr-201"]
    assert 'id="dq-sources"' not in line  # sources are not per line
    # counts are kept per hour: a period starts at the start of its hour
    recent = client.get("/quality", params={"since": "5min"}, headers=headers).text
    assert sorted(re.findall(r'<li data-rule="([a-z_]+)">', recent)) == [
        "counter_decreased", "unknown_tag"]  # the hour before is left out
    bad = client.get("/quality", params={"since": "yesterday-ish"}, headers=headers)
    assert bad.status_code == 422
    assert "since &#39;yesterday-ish&#39; is neither a duration" in bad.text


# -- quarantine ----------------------------------------------------------------------------
@pytest.mark.usefixtures("plant")
def test_the_quarantine_page_filters_pages_and_spells_out_a_right_to_left_override(
        client: TestClient, logins: dict[str, Login], monkeypatch: pytest.MonkeyPatch) -> None:
    headers = logins["viewer"].headers
    html = client.get("/quarantine", headers=headers).text
    assert [r[4] for r in cell_texts(html, "data-id")] == [
        "unknown_tag", "malformed", "counter_decreased", "out_of_range"]
    assert RLO not in html  # nothing can reorder the page
    assert "p-101\\u202elive" in html
    by_rule = client.get("/quarantine", params={"rule": "malformed"}, headers=headers).text
    assert [r[4] for r in cell_texts(by_rule, "data-id")] == ["malformed"]
    by_text = client.get("/quarantine", params={"q": "PR-201"}, headers=headers).text
    assert [r[4] for r in cell_texts(by_text, "data-id")] == ["counter_decreased"]
    older = client.get("/quarantine", params={"until": "30min"}, headers=headers).text
    assert [r[4] for r in cell_texts(older, "data-id")] == ["out_of_range"]
    monkeypatch.setattr(quality_pages, "PER_PAGE", 3)
    second = client.get("/quarantine", params={"page": 2}, headers=headers).text
    assert [r[4] for r in cell_texts(second, "data-id")] == ["out_of_range"]
    assert "page 2 of 2" in second
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second
    odd = client.get("/quarantine", params={"rule": "nonsense"}, headers=headers)
    assert odd.status_code == 422
    assert "rule &#39;nonsense&#39; is not a rule code" in odd.text


@pytest.mark.usefixtures("plant")
def test_a_viewer_may_not_replay(viewer: tuple[TestClient, str]) -> None:
    client, csrf = viewer
    assert 'id="replay-readonly"' in client.get("/quarantine").text
    refused = client.post("/quarantine/replay", data={"rule": "", "csrf": csrf})
    assert refused.status_code == 403
    assert "may not manage models" in refused.text


@pytest.mark.usefixtures("plant")
def test_an_engineer_replays_in_the_background_and_reads_the_result(
        fixed_app: FastAPI, logins: dict[str, Login]) -> None:
    client, csrf = sign_in(fixed_app, "engineer")
    with client:
        assert client.post("/quarantine/replay", data={"rule": ""}).status_code == 403  # CSRF
        started = client.post("/quarantine/replay", data={"rule": "", "csrf": csrf})
        assert started.status_code == 303
        job = re.fullmatch(r"/quarantine\?job=([0-9a-f]+)", started.headers["location"])
        assert job is not None
        done = client.get(f"/quarantine/replay/{job.group(1)}", params={"wait": 10}).json()
        assert done["state"] == "done"
        assert (done["done"], done["total"], done["stored"]) == (4, 4, 1)  # the counter
        assert done["still"] == {"malformed": 1, "out_of_range": 1, "unknown_tag": 1}
        page = client.get(started.headers["location"]).text
        assert 'data-state="done"' in page
        assert re.search(r'id="replay-stored">1<', page)
        pending = client.get("/quarantine", params={"replayed": "no"}).text
        assert "counter_decreased" not in [r[4] for r in cell_texts(pending, "data-id")]
        assert client.get("/quarantine/replay/unknown").status_code == 404


# -- triage --------------------------------------------------------------------------------
def held(store: SqlStore, asset: str = "p-102") -> TriageItem:
    return store.add_triage(TriageItem(
        id=0, use_case="pump-bearing", site="ghent", line="cooling-water", asset=asset,
        reasons=(TriageReason.LOW_CONFIDENCE,), score=4.4, threshold=4.0,
        model="pump-bearing", model_version="3", window_end=T0,
        why=make_intervention().why, created_at=T0, updated_at=T0))


def test_a_viewer_reads_the_triage_queue_with_evidence_but_may_not_label(
        store: SqlStore, viewer: tuple[TestClient, str]) -> None:
    item = held(store)
    client, csrf = viewer
    html = client.get("/triage").text
    assert f'data-triage-id="{item.id}"' in html
    assert item.why[0].describe() in html  # the evidence, as the inbox words it
    assert "confidence <strong>1.10</strong>" in html
    assert 'action="/triage/' not in html
    refused = client.post(f"/triage/{item.id}/label", data={"verdict": "normal",
                                                            "csrf": csrf})
    assert refused.status_code == 403


def test_an_engineer_labels_and_the_item_moves_to_the_labelled_tab(
        store: SqlStore, engineer: tuple[TestClient, str]) -> None:
    first, second = held(store, "p-101"), held(store, "p-102")
    client, csrf = engineer
    path = f"/triage/{first.id}/label"
    assert client.post(path, data={"verdict": "normal"}).status_code == 403  # no CSRF
    odd = client.post(path, data={"verdict": "maybe", "csrf": csrf})
    assert odd.status_code == 422
    assert "Choose Fault confirmed, No fault or Unsure." in odd.text
    gone = client.post("/triage/999999/label", data={"verdict": "normal", "csrf": csrf})
    assert gone.status_code == 404
    done = client.post(path, data={"verdict": "real_problem", "note": "bearing noisy",
                                   "csrf": csrf})
    assert (done.status_code, done.headers["location"]) == (303, f"/triage?labelled={first.id}")
    queue = client.get(done.headers["location"]).text
    assert f"Labelled triage item {first.id}" in queue
    assert re.findall(r'data-triage-id="(\d+)"', queue) == [str(second.id)]
    assert "Queue (1)" in queue
    assert "Labelled (1)" in queue
    labelled = client.get("/triage", params={"tab": "labelled"}).text
    assert re.findall(r'data-triage-id="(\d+)"', labelled) == [str(first.id)]
    assert "Fault confirmed by engineer (reliability_engineer)" in labelled
    assert "“bearing noisy”" in labelled
    assert store.get_triage(first.id).label is not None


# -- operator load -------------------------------------------------------------------------
def test_the_load_page_shows_isa_figures_per_position_with_the_targets(
        client: TestClient, store: SqlStore, demo_spec: PlantSpec, clock: ManualClock,
        logins: dict[str, Login]) -> None:
    """Ten interventions in one 10-minute period (a flood), three from one pump (chattering);
    one done, one raised two days ago still open (stale)."""
    start = T0 - timedelta(hours=3)
    assets = ["p-101", "p-101", "p-101", "p-102", "k-104", "m-103", "p-102", "k-104",
              "m-103", "p-103"]
    for n, asset in enumerate(assets):
        store.save_intervention(make_intervention(f"iv-{n}", asset=asset,
                                                  created_at=start + timedelta(minutes=n)))
    store.save_intervention(make_intervention("iv-old", created_at=T0 - timedelta(days=2)))
    ctx = Context(store, clock, PlantRef(demo_spec))
    actor = Actor("engineer", "reliability_engineer", "engineer", Via.WEB)
    move(ctx, actor, "iv-0", "acknowledged")
    move(ctx, actor, "iv-0", "done")
    html = client.get("/load", params={"since": "6h"}, headers=logins["viewer"].headers).text
    [row] = cell_texts(html, "data-position")
    assert row[:9] == ["ghent/maintenance_planner", "10", "1.67", "10", "0.28", "10",
                       "2.8 % (1)", "100.0 %", "1"]
    assert row[9] == "pump-bearing/p-101 (3)"
    chart = html[html.index('id="load-chart"'):]
    assert chart.count('class="target"') == 2
    assert "acceptable (6)" in chart
    assert "max manageable (12)" in chart
    assert chart.count('class="point"') == 6  # one per hour of the six
    bad = client.get("/load", params={"since": "2026-03-02T08:00", "until": "2026-03-02T07:00"},
                     headers=logins["viewer"].headers)
    assert bad.status_code == 422
    assert "until must be after since" in bad.text
