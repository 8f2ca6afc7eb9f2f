"""The edge serves only a signed production model, and keeps its last good one otherwise.

A real model is trained on simulated healthy data of the cooling-water line, saved, signed with
a real Ed25519 key and promoted; then bad versions are promoted over it (unsigned, one byte of
the artifact flipped, threshold edited in meta.json, truncated, signed by an untrusted key).
Each is refused with its own one-line reason and a ``model_refused`` event, while the good
model keeps scoring the live samples fed to the edge.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from andon.clock import ManualClock, from_ms, utc
from andon.edge import Edge, build_edge
from andon.features import feature_names, feature_rows, use_case_tags
from andon.namespace.sample import Sample
from andon.registry import SIGNATURE_FILE, Registry, Stage, generate_keypair, sign
from andon.scoring import PcaSpeModel, save_model
from andon.simulator import PlantSimulator
from andon.spec import PlantSpec
from andon.store import SqlStore, open_store

START = utc(2026, 3, 2, 8)
LINE = "cooling-water"
TRAIN = timedelta(hours=8)
UC = "pump-bearing"


@dataclass
class Plant:
    spec: PlantSpec
    model: PcaSpeModel
    fields: dict[str, object]
    live: list[list[Sample]]  # one hour of samples per chunk, after the training period


@pytest.fixture(scope="module")
def plant(demo_spec: PlantSpec) -> Plant:
    sim = PlantSimulator(demo_spec, seed=5, start=START, lines={LINE})
    healthy = [s for step in sim.run_until(START + TRAIN) for s in step]
    uc = demo_spec.use_case(UC)
    tags = use_case_tags(demo_spec, uc)
    assets = sorted({s.address.asset for s in healthy}
                    & {a.id for *_, a in demo_spec.use_case_assets(uc)})
    x, keys = feature_rows(healthy, dict.fromkeys(assets, tags), window_s=uc.window,
                           hop_s=uc.hop)
    names, units = feature_names(tags)
    model = PcaSpeModel.fit(x, names, units, top=uc.top_features)
    fields: dict[str, object] = {
        "name": uc.model, "use_case": uc.id, "asset_kind": uc.asset_kind,
        "train_start": START, "train_end": START + TRAIN,
        "train_assets": sorted({a for a, _ in keys}), "train_windows": len(keys),
        "data_sha256": hashlib.sha256(x.tobytes()).hexdigest(), "created_at": START + TRAIN,
        "code_version": "0.1.0",
    }
    live = []
    for hour in range(4):
        end = START + TRAIN + timedelta(hours=hour + 1)
        live.append([s for step in sim.run_until(end) for s in step])
    return Plant(demo_spec, model, fields, live)


@dataclass
class Site:
    """One edge with its store, models directory, trusted keys and the plant's registry."""

    plant: Plant
    store: SqlStore
    clock: ManualClock
    models: Path
    key: Path
    foreign_key: Path
    foreign_id: str
    registry: Registry
    edge: Edge
    fed: int = 0

    def release(self, tamper: Callable[[Path], object] | None = None) -> Path:
        """Save the next version, sign it, promote it; then ``tamper`` with its files."""
        meta = save_model(self.plant.model, dict(self.plant.fields), self.models)
        vdir = self.models / meta.name / f"v{meta.version}"
        self.registry.register(vdir, self.key, "ana")
        self.registry.promote(meta.name, meta.version, "ana", f"release v{meta.version}")
        if tamper is not None:
            tamper(vdir)
        return vdir

    def feed_hour(self) -> int:
        """Feed the next hour of live samples; return how many windows were scored."""
        before = self.edge.stats.scored
        for sample in self.plant.live[self.fed]:
            self.clock.set(max(self.clock.now(), from_ms(sample.ts_ms)))
            self.edge.on_sample(sample)
        self.fed += 1
        return self.edge.stats.scored - before

    def refusals(self) -> list[str]:
        return [e.detail for e in self.store.events(kind="model_refused")]


@pytest.fixture
def site(plant: Plant, tmp_path: Path) -> Iterator[Site]:
    store = open_store(f"sqlite:///{tmp_path / 'andon.db'}")
    clock = ManualClock(START + TRAIN)
    key, pub, _ = generate_keypair(tmp_path / "keys", "plant")
    trusted = tmp_path / "keys" / "trusted"
    trusted.mkdir()
    (trusted / pub.name).write_bytes(pub.read_bytes())
    foreign, _fpub, foreign_id = generate_keypair(tmp_path / "elsewhere", "mallory")
    models = tmp_path / "models"
    edge = build_edge(plant.spec, store, models, clock=clock, trusted_keys=trusted, lines={LINE},
                record=False)
    yield Site(plant, store, clock, models, key, foreign, foreign_id,
               Registry(store, clock, models, trusted_keys=trusted), edge)
    store.close()


# -- the good path ------------------------------------------------------------------------------
def test_a_signed_production_model_is_loaded_and_scores(site: Site) -> None:
    site.release()
    assert site.edge.reload_models() == ["pump-bearing v1"]
    assert site.feed_hour() > 0
    [loaded] = site.store.events(kind="model_loaded")
    assert loaded.detail.startswith("pump-bearing v1 (signed by key ")
    assert site.refusals() == []


def test_a_candidate_is_not_loaded(site: Site) -> None:
    meta = save_model(site.plant.model, dict(site.plant.fields), site.models)
    site.registry.register(site.models / meta.name / "v1", site.key, "ana")
    assert site.edge.reload_models() == []
    assert site.edge.model(UC) is None
    assert site.feed_hour() == 0
    assert site.edge.stats.unscored > 0
    assert site.refusals() == []


def test_promoting_v2_switches_the_edge_and_archives_v1(site: Site) -> None:
    site.release()
    assert site.edge.reload_models() == ["pump-bearing v1"]
    site.release()
    assert site.registry.show("pump-bearing", 1).stage is Stage.ARCHIVED
    assert site.registry.show("pump-bearing", 2).stage is Stage.PRODUCTION
    assert site.edge.reload_models() == ["pump-bearing v2"]
    loaded = site.edge.model(UC)
    assert loaded is not None
    assert loaded[1].version == 2
    assert site.edge.stats.models[UC] == "pump-bearing v2"
    assert site.feed_hour() > 0
    assert site.edge.reload_models() == []  # nothing new


# -- refusals: each with its own reason, the last good model keeps scoring -----------------------
def unsign(vdir: Path) -> None:
    (vdir / SIGNATURE_FILE).unlink()


def flip_one_byte(vdir: Path) -> None:
    blob = bytearray((vdir / "model.skops").read_bytes())
    blob[len(blob) // 2] ^= 0x10
    (vdir / "model.skops").write_bytes(bytes(blob))


def raise_threshold(vdir: Path) -> None:
    meta = json.loads((vdir / "meta.json").read_text(encoding="utf-8"))
    meta["threshold"] = meta["threshold"] * 100  # would silence every alarm
    (vdir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True),
                                    encoding="utf-8")


def truncate(vdir: Path) -> None:
    blob = (vdir / "model.skops").read_bytes()
    (vdir / "model.skops").write_bytes(blob[: len(blob) // 3])


#: case -> (what is done to the promoted version, the file the reason names, the reason)
BAD: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "unsigned": (unsign, "", "unsigned (no signature.json)"),
    "tampered": (flip_one_byte, "",
                 "signature does not match (artifact or metadata altered)"),
    "meta-edited": (raise_threshold, "",
                    "signature does not match (artifact or metadata altered)"),
    "truncated": (truncate, "model.skops",
                  "truncated or unreadable artifact (not a complete skops file)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_production_model_is_refused_and_the_good_one_keeps_scoring(
        site: Site, case: str) -> None:
    tamper, file, reason = BAD[case]
    site.release()
    assert site.edge.reload_models() == ["pump-bearing v1"]
    assert site.feed_hour() > 0

    vdir = site.release(tamper)
    assert site.edge.reload_models() == []
    assert site.refusals() == [f"{vdir / file if file else vdir}: {reason}"]
    assert site.edge.stats.models[UC] == "pump-bearing v1"
    assert site.feed_hour() > 0, "the last known good model stopped scoring"
    assert site.edge.reload_models() == []
    assert len(site.refusals()) == 1, "a refusal is recorded once, not at every reload"


def test_a_model_signed_by_an_untrusted_key_is_refused(site: Site) -> None:
    site.release()
    assert site.edge.reload_models() == ["pump-bearing v1"]
    assert site.feed_hour() > 0

    vdir = site.release(lambda d: sign(d, site.foreign_key, "mallory", at=site.clock.now()))
    assert site.edge.reload_models() == []
    assert site.refusals() == [f"{vdir}: signed by untrusted key {site.foreign_id}"]
    assert site.edge.stats.models[UC] == "pump-bearing v1"
    assert site.feed_hour() > 0


def test_a_refused_version_is_retried_once_its_files_change(site: Site) -> None:
    site.release()
    site.edge.reload_models()
    vdir = site.release(unsign)
    assert site.edge.reload_models() == []
    sign(vdir, site.key, "ana", at=site.clock.now())  # the engineer signs it after all
    assert site.edge.reload_models() == ["pump-bearing v2"]


def test_without_trusted_keys_the_newest_directory_is_loaded_unsigned(site: Site) -> None:
    """Backwards compatibility for tests that pass ``trusted_keys=None``."""
    save_model(site.plant.model, dict(site.plant.fields), site.models)
    edge = build_edge(site.plant.spec, site.store, site.models, clock=site.clock, lines={LINE},
                record=False)
    assert edge.reload_models() == ["pump-bearing v1"]


# -- last known good, across a restart --------------------------------------------------------
def restart(site: Site) -> Edge:
    """A new edge process on the same store and models directory (nothing kept in memory)."""
    return build_edge(site.plant.spec, site.store, site.models, clock=site.clock,
                      trusted_keys=site.edge.models.trusted_keys, lines={LINE}, record=False)


def test_after_a_restart_a_refused_production_version_falls_back_to_the_last_known_good(
        site: Site) -> None:
    site.release()
    assert site.edge.reload_models() == ["pump-bearing v1"]
    kept = site.models / ".last-known-good" / UC / "pump-bearing" / "v1"
    assert sorted(p.name for p in kept.iterdir()) == ["meta.json", "model.skops",
                                                      SIGNATURE_FILE]
    vdir = site.release(flip_one_byte)  # v2 promoted, then its artifact altered
    edge = restart(site)
    assert edge.reload_models() == ["pump-bearing v1"]
    assert edge.stats.models[UC] == "pump-bearing v1"
    altered = "signature does not match (artifact or metadata altered)"
    assert site.refusals() == [f"{vdir}: {altered}"]
    [loaded] = [e.detail for e in site.store.events(kind="model_loaded")
                if "last known good" in e.detail]
    assert loaded.startswith("pump-bearing v1 (signed by key ")
    assert loaded.endswith("; last known good, pump-bearing v2 was refused")
    site.edge = edge
    assert site.feed_hour() > 0, "the restarted edge does not score with its last known good"
    assert edge.reload_models() == []  # nothing to announce again at the next reload


def test_the_kept_copy_survives_its_original_being_altered(site: Site) -> None:
    vdir = site.release()
    assert site.edge.reload_models() == ["pump-bearing v1"]
    flip_one_byte(vdir)  # the production version itself altered on disk
    edge = restart(site)
    assert edge.reload_models() == ["pump-bearing v1"]  # from the verified copy
    assert edge.stats.models[UC] == "pump-bearing v1"


def test_without_a_kept_copy_a_refused_use_case_serves_nothing_and_says_why(site: Site) -> None:
    site.release(flip_one_byte)
    edge = restart(site)
    assert edge.reload_models() == []
    assert UC not in edge.stats.models
    assert len(site.refusals()) == 1


def test_a_tampered_kept_copy_is_refused_too(site: Site) -> None:
    site.release()
    assert site.edge.reload_models() == ["pump-bearing v1"]
    flip_one_byte(site.models / ".last-known-good" / UC / "pump-bearing" / "v1")
    site.release(flip_one_byte)
    edge = restart(site)
    assert edge.reload_models() == []
    assert UC not in edge.stats.models
    assert len(site.refusals()) == 2  # v2, and the kept copy of v1
