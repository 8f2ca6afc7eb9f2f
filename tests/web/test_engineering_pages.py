"""The engineering pages: assets (trends with evidence and events), model versions, edges.

The store holds a day of the demo plant (``engineering_plant``): samples, an intervention with
its evidence window, a breach, a quarantined message, two signed model versions (one by a
trusted key, one not) and two edges (one stale); the plant's clock stands at ``NOW``.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.api import create_app
from andon.app import Context, PlantRef, asset_history
from andon.clock import ManualClock, to_ms
from andon.errors import NotFound, ReportError
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.store import open_store
from andon.testing.factories import add_token, add_user
from andon.web.tag_trends import downsample, eng, trend
from web.engineering_plant import EVIDENCE, IV_ID, NOW, Seeded, key_id_of_pub, seed

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from andon.spec import PlantSpec
    from andon.store import SqlStore
    from api.conftest import Login

_H = timedelta(hours=1)
PAGES = ["/assets", "/assets/p-101", "/models", "/models/pump-bearing", "/edges"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, demo_spec: PlantSpec) -> Path:
    """The seeded plant (store, models, keys), made once; each test gets a copy."""
    root = tmp_path_factory.mktemp("engineering-plant")
    with open_store(f"sqlite:///{root / 'andon.db'}") as s:
        seed(s, demo_spec, root)
    return root


@pytest.fixture
def seeded(template: Path, tmp_path: Path) -> Seeded:
    root = tmp_path / "plant"
    shutil.copytree(template, root)
    return Seeded(root / "models", root / "trusted", key_id_of_pub(root / "trusted"),
                  key_id_of_pub(root / "rogue"))


@pytest.fixture
def store(seeded: Seeded) -> Iterator[SqlStore]:
    with open_store(f"sqlite:///{seeded.models_dir.parent / 'andon.db'}") as s:
        yield s


@pytest.fixture
def app(store: SqlStore, demo_spec: PlantSpec, clock: ManualClock,
        seeded: Seeded) -> FastAPI:
    return create_app(store, demo_spec, clock=clock, models_dir=seeded.models_dir,
                      trusted_keys=seeded.trusted_keys)


def _svg(html: str, tag: str) -> str:
    """The trend of ``tag`` on an asset page."""
    found = re.search(rf'<section class="chart-block trend" id="trend-{tag}".*?</section>',
                      html, re.DOTALL)
    assert found is not None, f"no trend of {tag}"
    return found.group(0)


def test_each_page_needs_a_signed_in_caller_and_a_viewer_may_read_it(
        client: TestClient, logins: dict[str, Login]) -> None:
    for path in PAGES:
        anonymous = client.get(path)
        assert anonymous.status_code == 401, path
        assert '<form method="post" action="/login"' in anonymous.text
        page = client.get(path, headers=logins["viewer"].headers)
        assert page.status_code == 200, path
        for link in ("/assets", "/models", "/edges"):  # the nav links every page
            assert f'<a href="{link}">' in page.text


def test_the_asset_list_shows_open_interventions_and_the_newest_samples_age(
        client: TestClient, logins: dict[str, Login], demo_spec: PlantSpec) -> None:
    page = client.get("/assets", headers=logins["viewer"].headers).text
    p101 = re.search(r'<tr data-asset="p-101".*?</tr>', page, re.DOTALL)
    p102 = re.search(r'<tr data-asset="p-102".*?</tr>', page, re.DOTALL)
    assert p101 is not None
    assert p102 is not None
    assert '<td class="num" data-open>1</td>' in p101.group(0)
    assert "1 min ago" in p101.group(0)  # the last sample is a minute before NOW
    assert "badge-stale" not in p101.group(0)
    assert '<td class="num" data-open>0</td>' in p102.group(0)
    assert "no data" in p102.group(0)
    assert 'class="quiet"' in p102.group(0)
    assert page.count("<tr data-asset=") == len(demo_spec.assets())  # every asset


def test_the_asset_page_draws_a_trend_per_tag_with_band_evidence_and_markers(
        client: TestClient, logins: dict[str, Login]) -> None:
    page = client.get("/assets/p-101", headers=logins["viewer"].headers)
    assert page.status_code == 200
    html = page.text
    assert html.count('class="chart-block trend"') == 6
    temp = _svg(html, "bearing_temp")
    assert "(°C)" in temp
    assert "healthy -10.0 °C to 150 °C" in temp
    assert temp.count('class="band-healthy"') == 1
    assert temp.count('class="evidence"') == 1
    assert f"evidence of {IV_ID}" in temp
    assert temp.count('class="mark-intervention"') == 1
    assert temp.count('class="mark-breach"') == 1
    assert "stuck: flat" in temp
    assert 'class="mark-quarantine"' not in temp  # the quarantined message was vibration's
    vibration = _svg(html, "vibration")
    assert vibration.count('class="mark-quarantine"') == 1
    assert 'class="mark-breach"' not in vibration
    # times on the axis and in the list are the site's (Brussels: UTC+1 in March)
    assert "Europe/Brussels" in html
    events = re.findall(r'<tr data-kind="(\w+)">', html)
    assert sorted(events) == ["breach", "intervention", "quarantine"]
    assert f'href="/api/interventions/{IV_ID}"' in html
    assert 'href="/api/quarantine/1"' in html
    assert 'href="#trend-bearing_temp"' in html


def test_the_default_period_is_the_day_around_the_newest_intervention(
        store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, seeded: Seeded) -> None:
    del seeded
    ctx = Context(store, clock, PlantRef(demo_spec))
    h = asset_history(ctx, "p-101")
    assert h.defaulted
    assert (h.start, h.end) == (EVIDENCE[0] - 12 * _H, EVIDENCE[1] + 12 * _H)
    assert [iv.id for iv in h.interventions] == [IV_ID]
    # an asset without interventions: the last 24 h of the plant's clock
    quiet = asset_history(ctx, "p-102")
    assert (quiet.start, quiet.end, quiet.interventions) == (NOW - 24 * _H, NOW, ())
    # a period that misses the evidence window and the events shows none of them
    early = asset_history(ctx, "p-101", start=NOW - 29 * _H, end=NOW - 20 * _H)
    assert (early.interventions, early.quarantined) == ((), ())
    assert all(not s.breaches for s in early.series)
    assert all(s.count == 9 * 60 for s in early.series)


def test_the_period_is_read_in_the_sites_time_and_bad_ones_are_refused(
        client: TestClient, logins: dict[str, Login]) -> None:
    headers = logins["viewer"].headers
    # NOW is 07:00 UTC on 3 March, 08:00 in Brussels: 06:00 to 07:00 there is 05:00 to 06:00
    page = client.get("/assets/p-101?from=2026-03-03T06:00&to=2026-03-03T07:00",
                      headers=headers)
    assert page.status_code == 200
    assert 'value="2026-03-03T06:00"' in page.text
    assert 'value="2026-03-03T07:00"' in page.text
    assert page.text.count(" 60 samples") == 6  # a minute's samples of one hour, per tag
    bad = client.get("/assets/p-101?from=yesterday", headers=headers)
    assert bad.status_code == 422
    assert "from: &#39;yesterday&#39; is not a date or a time" in bad.text
    backwards = client.get("/assets/p-101?from=2026-03-03&to=2026-03-02", headers=headers)
    assert backwards.status_code == 422
    assert "before it starts" in backwards.text
    too_long = client.get("/assets/p-101?from=2026-01-01&to=2026-03-03", headers=headers)
    assert too_long.status_code == 422
    assert "at most 31 days" in too_long.text


def test_an_unknown_asset_or_model_is_a_404_page(client: TestClient,
                                                 logins: dict[str, Login]) -> None:
    headers = logins["viewer"].headers
    asset = client.get("/assets/p-999", headers=headers)
    assert asset.status_code == 404
    assert "asset &#39;p-999&#39; is not in the plant spec" in asset.text
    model = client.get("/models/no-such-model", headers=headers)
    assert model.status_code == 404
    assert "no-such-model" in model.text


def test_the_app_functions_refuse_an_unknown_asset_and_a_bad_period(
        store: SqlStore, demo_spec: PlantSpec, clock: ManualClock) -> None:
    ctx = Context(store, clock, PlantRef(demo_spec))
    with pytest.raises(NotFound):
        asset_history(ctx, "p-999")
    with pytest.raises(ReportError, match=r"ends .* before it starts"):
        asset_history(ctx, "p-101", start=NOW, end=NOW - _H)
    only_end = asset_history(ctx, "p-101", end=NOW)
    assert only_end.end - only_end.start == 24 * _H


def test_a_long_period_is_downsampled_to_the_charts_pixels(
        client: TestClient, logins: dict[str, Login], store: SqlStore) -> None:
    # a week more of minute data on p-102's flow, with one spike
    address = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-102", "flow")
    start = NOW - 7 * 24 * _H
    spike = 5000
    store.add_samples([Sample(address, 390.0 if i == spike else 100.0 + i % 5, "",
                              Quality.GOOD, to_ms(start) + 60_000 * i, i, "plc-2")
                       for i in range(7 * 24 * 60)], to_ms(NOW))
    page = client.get("/assets/p-102?from=2026-02-24T08:00&to=2026-03-03T08:00",
                      headers=logins["viewer"].headers)
    flow = _svg(page.text, "flow")
    points = sum(len(m.split()) for m in re.findall(r'<polyline class="series"[^>]*points="'
                                                   r'([^"]*)"', flow))
    assert "10080 samples" in flow
    assert 0 < points <= 2 * 810 // 2  # a min/max pair per bucket of two pixels at most
    assert "high 390 m³/h" in flow  # the spike is kept
    assert len(page.content) < 150_000


def test_downsampling_keeps_each_buckets_extremes_in_time_order() -> None:
    points = [(ms, v) for ms, v in enumerate([5.0, 1.0, 9.0, 4.0, 2.0, 2.0, 8.0, 3.0])]
    assert downsample(points, 0, 8, buckets=2) == [(1, 1.0), (2, 9.0), (4, 2.0), (6, 8.0)]
    assert downsample(points, 0, 8, buckets=8) == points  # one point per bucket: all kept
    assert downsample([(9, 1.0)], 0, 8, buckets=2) == []  # outside the period
    assert eng(0.0, "bar") == "0 bar"
    assert eng(1234.5) == "1234"
    assert eng(5e-4) == "500e-6"


def test_the_value_axis_tells_its_ticks_apart_on_a_narrow_range() -> None:
    start = NOW - _H
    flat = [(to_ms(start) + 60_000 * i, 250.0 + 0.01 * (i % 7)) for i in range(60)]
    svg = trend(flat, start=start, end=NOW, tz="UTC", label="flow", unit="m^3/h")
    ticks = re.findall(r'text-anchor="end" fill="#4b5563">([^<]*)<', svg)
    assert ticks == ["249.995 m³/h", "250.030 m³/h", "250.065 m³/h"]
    wide = trend([(to_ms(start), 0.0), (to_ms(start) + 1, 100.0)], start=start, end=NOW,
                 tz="UTC", label="flow", unit="m^3/h")
    assert re.findall(r'text-anchor="end" fill="#4b5563">([^<]*)<', wide) == [
        "-8.00 m³/h", "50.0 m³/h", "108 m³/h"]


def test_the_model_list_shows_each_models_versions_and_production(
        client: TestClient, logins: dict[str, Login]) -> None:
    page = client.get("/models", headers=logins["viewer"].headers).text
    row = re.search(r'<tr data-model="pump-bearing">.*?</tr>', page, re.DOTALL)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.DOTALL)
    assert cells[1:] == ["pump-bearing", "v1, v2", "v1", "v2 shadow_pilot"]
    assert '<tr data-model="motor-health">' in page  # in the spec, nothing registered


def test_the_model_page_shows_lineage_history_and_each_signatures_status(
        client: TestClient, logins: dict[str, Login], seeded: Seeded) -> None:
    page = client.get("/models/pump-bearing", headers=logins["viewer"].headers).text
    v1 = re.search(r'<section class="chart-block version" id="v1".*?</section>', page, re.DOTALL)
    v2 = re.search(r'<section class="chart-block version" id="v2".*?</section>', page, re.DOTALL)
    assert v1 is not None
    assert v2 is not None
    assert page.index('id="v2"') < page.index('id="v1"')  # newest first
    one, two = v1.group(0), v2.group(0)
    assert "data-stage>production<" in one
    assert "data-stage>candidate<" in two
    assert "shadow pilot for pump-bearing: shadow on cooling-water" in two
    assert 'data-signature="verified"' in one
    assert f"verified: trusted key {seeded.plant_key_id} (signed by dana)" in one
    assert 'data-signature="refused"' in two
    assert f"refused: signed by untrusted key {seeded.rogue_key_id}" in two
    assert '<a href="#v1">v1</a>' in two
    assert "none (first version)" in one
    assert "vibration.mean (mm/s)" in one
    assert "train_windows" not in one
    assert "300 windows of p-101" in one
    assert "code 0.1.0" in one
    history = re.findall(r"<li>(.*?)</li>", one, re.DOTALL)
    assert [re.sub(r"<.*?>", "", h).split(": ")[1].split(" (")[0] for h in history] == [
        "model registered", "model promoted"]
    assert "dana" in history[1]
    assert "first version; passed the replay" in history[1]
    assert "rollout shadow pilot" in two


def test_a_version_whose_artifact_was_altered_is_refused_as_an_edge_refuses_it(
        client: TestClient, logins: dict[str, Login], seeded: Seeded) -> None:
    meta = seeded.models_dir / "pump-bearing" / "v1" / "meta.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"threshold": ',
                                                             '"threshold": 1'),
                    encoding="utf-8")
    page = client.get("/models/pump-bearing", headers=logins["viewer"].headers).text
    assert "refused: signature does not match (artifact or metadata altered)" in page


def test_without_trusted_keys_the_signature_is_not_checked(
        store: SqlStore, demo_spec: PlantSpec, clock: ManualClock, seeded: Seeded,
        logins: dict[str, Login]) -> None:
    from fastapi.testclient import TestClient  # noqa: PLC0415 - the conftest's import

    del seeded
    with TestClient(create_app(store, demo_spec, clock=clock)) as bare:
        page = bare.get("/models/pump-bearing", headers=logins["viewer"].headers).text
    assert page.count('data-signature="unchecked"') == 2
    assert "not checked: this server has no models directory" in page


def test_the_edges_page_flags_the_stale_edge_and_draws_the_outbox(
        client: TestClient, logins: dict[str, Login]) -> None:
    page = client.get("/edges", headers=logins["viewer"].headers).text
    ghent = re.search(r'<tr data-edge="edge-ghent".*?</tr>', page, re.DOTALL)
    porto = re.search(r'<tr data-edge="edge-porto".*?</tr>', page, re.DOTALL)
    assert ghent is not None
    assert porto is not None
    assert "data-stale" not in ghent.group(0)
    assert 'class="stale"' in porto.group(0)
    assert '<td class="num" data-depth>2' in ghent.group(0)  # the newest heartbeat's
    assert "0 s ago" in ghent.group(0)
    assert "10 min ago" in porto.group(0)
    assert "pump-bearing: pump-bearing v1" in ghent.group(0)
    assert ghent.group(0).count('class="spark-point"') == 4
    assert porto.group(0).count('class="spark-point"') == 1


def test_an_empty_plant_shows_no_edge_and_no_version(demo_spec: PlantSpec, clock: ManualClock,
                                                    tmp_path: Path) -> None:
    from fastapi.testclient import TestClient  # noqa: PLC0415 - the conftest's import

    with open_store(f"sqlite:///{tmp_path / 'empty.db'}") as empty:
        token = add_token(empty, add_user(empty, "gus", access="viewer").username,
                          NOW + 24 * _H)
        with TestClient(create_app(empty, demo_spec, clock=clock)) as c:
            headers = {"Authorization": f"Bearer {token}"}
            assert 'id="no-edges"' in c.get("/edges", headers=headers).text
            assert 'id="no-versions"' in c.get("/models/pump-bearing", headers=headers).text
            assert 'id="asset-no-events"' in c.get("/assets/p-101", headers=headers).text
