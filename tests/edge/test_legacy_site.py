"""A legacy site through its tag map: a model trained on site A scores site B unchanged.

A pump model is trained on Ghent's canonical history only. Porto's pumps then reach two edges
as the same simulated data: once as canonical UNS samples, once as Porto's PLCs send it
(raw names, °F, tenths of psi, in/s; ``andon.connectors.legacy``) through the demo spec's map.
Both edges record the same canonical samples and raise the same interventions with the same
scores. A wrong map (psi declared as bar) is caught by the contracts: every pressure sample is
quarantined as out of range, naming the raw value, and the pump is no longer scored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.app import Actor, Context, PlantRef, ReplayResult, replay_quarantined
from andon.clock import Clock, ManualClock, from_ms, utc
from andon.connectors.legacy import LegacyDecoder, encode_legacy, legacy_topic
from andon.connectors.legacy import _fields as legacy_fields
from andon.contracts import ContractChecker
from andon.edge import Edge, build_edge
from andon.errors import PayloadError
from andon.features import feature_names, feature_rows, use_case_tags
from andon.namespace import encode_sample
from andon.namespace.sample import Quality, Sample
from andon.namespace.tagmap import TagBinding, site_maps
from andon.scoring import PcaSpeModel, save_model
from andon.services.simulate import message_of
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.spec import PlantSpec, load_spec_text
from andon.store import SqlStore, open_store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-plant.yaml"
START = utc(2026, 3, 2, 8)
TRAIN = timedelta(hours=8)
LIVE = timedelta(hours=10)
UC = "pump-bearing"
PUMPS = ("p-301", "p-302")

def replay(store: SqlStore, spec: PlantSpec, clock: Clock, **kwargs: Any) -> ReplayResult:
    """``andon.app.replay_quarantined`` as the system, on ``spec`` and ``clock``."""
    return replay_quarantined(Context(store, clock, PlantRef(spec)), Actor.system(),
                              **kwargs).record



@dataclass
class Data:
    spec: PlantSpec
    models: Path
    live: list[Sample]  # Porto pumps, canonical; P-301 wears from the start of LIVE


@pytest.fixture(scope="module")
def data(demo_spec: PlantSpec, tmp_path_factory: pytest.TempPathFactory) -> Data:
    ghent = PlantSimulator(demo_spec, seed=11, start=START, lines={"cooling-water"})
    healthy = [s for step in ghent.run_until(START + TRAIN) for s in step]
    uc = demo_spec.use_case(UC)
    tags = use_case_tags(demo_spec, uc)
    x, keys = feature_rows(healthy, dict.fromkeys(("p-101", "p-102"), tags), window_s=uc.window,
                           hop_s=uc.hop)
    names, units = feature_names(tags)
    model = PcaSpeModel.fit(x, names, units, top=uc.top_features)
    models = tmp_path_factory.mktemp("models")
    save_model(model, {
        "name": uc.model, "use_case": uc.id, "asset_kind": uc.asset_kind,
        "train_start": START, "train_end": START + TRAIN,
        "train_assets": sorted({a for a, _ in keys}), "train_windows": len(keys),
        "data_sha256": hashlib.sha256(x.tobytes()).hexdigest(), "created_at": START + TRAIN,
        "code_version": "0.1.0",
    }, models)
    wear = Scenario((Fault("bearing_wear", asset="p-301", start_s=TRAIN.total_seconds(),
                           end_s=(TRAIN + LIVE).total_seconds() + 3600),))
    porto = PlantSimulator(demo_spec, seed=11, start=START, lines={"process-water"},
                           scenario=wear)
    list(porto.run_until(START + TRAIN))
    live = [s for step in porto.run_until(START + TRAIN + LIVE) for s in step
            if s.address.asset in PUMPS]
    return Data(demo_spec, models, live)


def run_edge_on(spec: PlantSpec, models: Path, store: SqlStore,
                messages: list[tuple[str, bytes]]) -> Edge:
    clock = ManualClock(START + TRAIN)
    edge = build_edge(spec, store, models, clock=clock, lines={"process-water"})
    edge.reload_models()
    for topic, payload in messages:
        clock.set(max(clock.now(), from_ms(json.loads(payload)["ts"])))
        edge.on_message(topic, payload)
    edge.flush()
    return edge


def scores(store: SqlStore, spec: PlantSpec, models: Path) -> np.ndarray:
    """The model's score of every window of the recorded samples."""
    from andon.scoring import latest_version_dir, load_model  # noqa: PLC0415 - test helper

    uc = spec.use_case(UC)
    version = latest_version_dir(models, uc.model)
    assert version is not None
    model, _ = load_model(version, top=uc.top_features)
    x, _keys = feature_rows(store.samples(assets=list(PUMPS)),
                            dict.fromkeys(PUMPS, use_case_tags(spec, uc)),
                            window_s=uc.window, hop_s=uc.hop)
    return model.spe(x)


def test_the_simulator_publishes_porto_raw_and_ghent_canonical(demo_spec: PlantSpec) -> None:
    maps = site_maps(demo_spec)
    sample = next(s for s in PlantSimulator(demo_spec, seed=1, start=START).step()
                  if s.address.asset == "p-301" and s.address.tag == "bearing_temp")
    topic, payload = message_of(sample, maps)
    assert topic == legacy_topic("acme", "porto", "Pump_01_Temp_F")
    raw = json.loads(payload)
    assert raw["value"] == pytest.approx(sample.value * 9 / 5 + 32)  # °F on the wire
    decoded = LegacyDecoder(demo_spec).decode(topic, payload)
    assert (decoded.address, decoded.unit, decoded.seq, decoded.source) == (
        sample.address, "degF", sample.seq, sample.source)
    ghent = next(s for s in PlantSimulator(demo_spec, seed=1, start=START).step()
                 if s.address.site == "ghent")
    assert message_of(ghent, maps) == (ghent.address.topic, encode_sample(ghent))


def test_a_model_trained_on_ghent_scores_porto_through_the_map_as_canonically(
        data: Data, tmp_path: Path) -> None:
    maps = site_maps(data.spec)
    canonical = [(s.address.topic, encode_sample(s)) for s in data.live]
    legacy = [message_of(s, maps) for s in data.live]
    assert all(t.startswith("legacy/acme/porto/") for t, _ in legacy)
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as a, \
            open_store(f"sqlite:///{tmp_path / 'b.db'}") as b:
        edge_a = run_edge_on(data.spec, data.models, a, canonical)
        edge_b = run_edge_on(data.spec, data.models, b, legacy)
        assert edge_b.stats.quarantined == edge_a.stats.quarantined == 0
        assert edge_b.stats.recorded == edge_a.stats.recorded == len(data.live)
        assert edge_b.stats.scored == edge_a.stats.scored > 0
        sa, sb = a.samples(assets=list(PUMPS)), b.samples(assets=list(PUMPS))
        assert [(s.address, s.ts_ms, s.seq, s.unit) for s in sb] == [
            (s.address, s.ts_ms, s.seq, s.unit) for s in sa]
        assert np.allclose([s.value for s in sb], [s.value for s in sa], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(scores(b, data.spec, data.models),
                                   scores(a, data.spec, data.models), rtol=1e-9)
        ivs_a = a.list_interventions(open_only=False)
        ivs_b = b.list_interventions(open_only=False)
        assert [r.asset for r in ivs_a] == ["p-301"]  # the wear is found on site B
        assert [(r.asset, r.detections, r.detected_at) for r in ivs_b] == [
            (r.asset, r.detections, r.detected_at) for r in ivs_a]
        assert ivs_b[0].score == pytest.approx(ivs_a[0].score, rel=1e-9)


def test_a_wrong_map_psi_declared_as_bar_is_quarantined_and_not_scored(
        data: Data, tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8").replace(
        'raw: "PLC2.DB10.W4", asset: p-301, tag: discharge_pressure, unit: "psi"',
        'raw: "PLC2.DB10.W4", asset: p-301, tag: discharge_pressure, unit: "bar"')
    wrong = load_spec_text(text, "demo-plant.yaml")  # bar is a pressure: the map loads
    legacy = [message_of(s, site_maps(data.spec)) for s in data.live]  # the PLC sends psi
    with open_store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        edge = run_edge_on(wrong, data.models, store, legacy)
        pressures = sum(1 for s in data.live
                        if (s.address.asset, s.address.tag) == ("p-301", "discharge_pressure"))
        assert edge.stats.quarantined == pressures
        items = store.quarantined(rule="out_of_range", limit=10_000)
        assert len(items) == pressures
        assert items[0].topic == "legacy/acme/porto/PLC2.DB10.W4"
        assert "discharge_pressure: value" in items[0].reason
        assert "outside the valid range [0, 16]" in items[0].reason
        # without its pressure, P-301 has no complete window: not scored, no intervention
        assert [r.asset for r in store.list_interventions(open_only=False)] == []
        # the map fixed (psi), a replay stores every quarantined pressure, in bar
        result = replay(store, data.spec, ManualClock(START + TRAIN + LIVE),
                                    rule="out_of_range")
        assert (result.checked, result.stored) == (pressures, pressures)
        stored = [s for s in store.samples(assets=["p-301"]) if s.address.tag ==
                  "discharge_pressure"]
        assert len(stored) == pressures
        assert {s.unit for s in stored} == {"bar"}
        assert all(0 <= s.value <= 16 for s in stored)  # the tag's range


def test_hostile_bytes_on_canonical_and_legacy_topics_are_quarantined_never_raised(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    """Raw invalid UTF-8 and deep nesting: the fast decoders defer to the reference ones."""
    canonical = "andon/v1/acme/ghent/utilities/cooling-water/p-101/flow"
    legacy = "legacy/acme/porto/P301_FLOW"
    ts = b"1772438400000"
    hostile = [
        (canonical, b'{"v":1,"u":"m^3/h","ts":' + ts + b',"seq":1,"src":"\xff"}'),
        (canonical, b'{"v":1,"u":"m^3/h","ts":' + ts + b',"seq":2,"src":"s","x":'
         + b"[" * 1000 + b"]" * 1000 + b"}"),
        (legacy, b'{"value":1,"ts":' + ts + b',"src":"\xff"}'),
        (legacy, b'{"value":1,"ts":' + ts + b',"seq":3,"x":' + b"[" * 1000 + b"]" * 1000
         + b"}"),
    ]
    with open_store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        edge = build_edge(demo_spec, store, tmp_path, clock=ManualClock(START))
        for topic, payload in hostile:
            edge.on_message(topic, payload)  # raised UnicodeDecodeError / RecursionError once
        edge.flush()
        assert edge.stats.rejected == len(hostile)
        assert sorted(q.payload for q in store.quarantined(limit=10)) == sorted(
            p for _, p in hostile)


def test_an_unknown_raw_name_is_quarantined_naming_it_and_the_site(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    payload = b'{"value": 1.5, "ts": 1772438400000, "seq": 1}'
    with open_store(f"sqlite:///{tmp_path / 'u.db'}") as store:
        edge = run_edge_on(demo_spec, tmp_path, store, [
            ("legacy/acme/porto/PLC9.DB1.W1", payload),
            ("legacy/acme/lisbon/P1", payload),
            ("legacy/acme/porto/Pump_01_Temp_F", b'{"value": "hot", "ts": 1772438400000}'),
        ])
        assert edge.stats.rejected == 3
        reasons = sorted(q.reason for q in store.quarantined(limit=10))
        assert reasons == [
            "Pump_01_Temp_F: 'value' must be a finite number, got 'hot'",
            "raw name 'PLC9.DB1.W1' is not in the tag map of site 'porto'",
            "site 'lisbon' has no tag map for raw name 'P1'",
        ]


def test_the_edge_subscribes_to_the_legacy_topics_of_its_mapped_sites(
        demo_spec: PlantSpec, tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as store:
        clock = ManualClock(START)
        porto = build_edge(demo_spec, store, tmp_path, clock=clock, lines={"bottling-1"})
        assert "legacy/acme/porto/#" in porto.subscriptions()
        ghent = build_edge(demo_spec, store, tmp_path, clock=clock, lines={"cooling-water"})
        assert not any(f.startswith("legacy/") for f in ghent.subscriptions())
        # a site-wide raw topic brings other lines' tags: counted, neither stored nor rejected
        sample = next(s for s in PlantSimulator(demo_spec, seed=1, start=START).step()
                      if s.address.asset == "p-301")
        porto.on_message(*message_of(sample, site_maps(demo_spec)))
        assert (porto.stats.foreign, porto.stats.rejected, len(porto.take_pending()[0])) == (
            1, 0, 0)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_every_mapped_tag_survives_encode_then_decode_then_the_contract(
        data: st.DataObject) -> None:
    """Property: raw units and scaling out, the map and the contracts back: the same value."""
    spec = DEMO_SPEC
    binding = data.draw(st.sampled_from(sorted(MAPS_OF_DEMO["porto"].bindings.values(),
                                               key=lambda b: b.raw)))
    tag = next(t for *_, x in spec.assets() if x.id == binding.address.asset for t in x.tags
               if t.name == binding.address.tag)
    value = data.draw(st.floats(*tag.range))
    seq = data.draw(st.integers(0, 2**53))
    sample = Sample(binding.address, value, tag.unit, Quality.GOOD, 1_772_438_400_000, seq,
                    "plc-porto")
    topic, payload = encode_legacy(sample, binding)
    decoded = LegacyDecoder(spec).decode(topic, payload)
    assert (decoded.address, decoded.unit, decoded.seq, decoded.source) == (
        sample.address, binding.unit, seq, "plc-porto")
    checked = ContractChecker(spec).check(decoded, decoded.ts_ms).sample
    if checked is not None:  # a value at the very edge may round just outside the range
        assert checked.unit == tag.unit
        assert checked.value == pytest.approx(value, rel=1e-9, abs=1e-9)


DEMO_SPEC = load_spec_text(DEMO.read_text(encoding="utf-8"), "demo-plant.yaml")
MAPS_OF_DEMO = site_maps(DEMO_SPEC)


def assert_both_decoders_agree(binding: TagBinding, raw: bytes) -> None:
    """The legacy decoder (msgspec fast path) and its reference give the same sample or reason."""
    topic = legacy_topic("acme", "porto", binding.raw)

    def outcome(decode: Callable[[], Sample]) -> Sample | str:
        try:
            return decode()
        except PayloadError as exc:
            return str(exc)

    assert outcome(lambda: LegacyDecoder(DEMO_SPEC).decode(topic, raw)) == outcome(
        lambda: legacy_fields(topic, raw, binding, "porto"))


LEGACY_FIELDS = st.sampled_from(["value", "ts", "seq", "src", "q"])
LEGACY_VALUES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
                 | st.sampled_from([2**63, 10**400, 1e308, -(2**63), "x" * 201, "good", "bad",
                                    253_402_300_799_999, 253_402_300_800_000, [], {}]))


@given(st.sampled_from(sorted(MAPS_OF_DEMO["porto"].bindings.values(), key=lambda b: b.raw)),
       st.dictionaries(LEGACY_FIELDS | st.text(max_size=3), LEGACY_VALUES, max_size=6),
       st.sampled_from(["value", "ts", "seq", "src", "q", ""]))
@settings(max_examples=500, deadline=None)
def test_the_legacy_fast_path_and_the_reference_decoder_agree(
        binding: TagBinding, changes: dict[str, object], dropped: str) -> None:
    """msgspec decodes the common payload; whatever it accepts, the field decoder would too."""
    doc = {"value": 98.6, "ts": 1_772_438_400_000, "seq": 7, "src": "plc", "q": "good",
           **changes}
    doc.pop(dropped, None)
    raw = json.dumps(doc).encode()
    assert_both_decoders_agree(binding, raw)


@given(st.binary(min_size=1, max_size=8)
       | st.text(min_size=1, max_size=4).map(lambda t: t.encode(errors="surrogatepass")),
       st.sampled_from(["src", "q", "x"]))
@settings(max_examples=200, deadline=None)
def test_raw_bytes_inside_a_legacy_field_get_the_reference_decoders_answer(
        inside: bytes, key: str) -> None:
    binding = MAPS_OF_DEMO["porto"].bindings["P301_FLOW"]
    doc = {"value": 98.6, "ts": 1_772_438_400_000, "seq": 7, key: "@"}
    raw = json.dumps(doc).encode().replace(b"@", inside.replace(b'"', b"").replace(b"\\", b""))
    assert_both_decoders_agree(binding, raw)
