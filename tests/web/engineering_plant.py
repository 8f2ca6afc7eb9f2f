"""A day of the demo plant for the engineering pages, written through the store and ``andon.app``.

Shared by the TestClient tests (``test_engineering_pages.py``) and the browser test
(``e2e/test_browser_engineering.py``). The plant's clock stands at ``NOW``:

- p-101 has six tags sampled every minute for the last 30 h; its bearing temperature climbs
  in the last 8 h; one open intervention detected at ``NOW - 6 h`` with a 30-minute evidence
  window; a stuck-sensor breach of its bearing temperature (a ``data_quality`` event) and a
  quarantined out-of-range vibration message.
- pump-bearing v1 is signed with the plant's trusted key and promoted; v2 is signed with a
  key the plant does not trust and rolled out in shadow on cooling-water.
- edge-ghent heartbeats every 10 s up to ``NOW`` (outbox 0, 3, 7, 2); edge-porto's last
  heartbeat is 10 minutes old: stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.app import (
    Actor,
    Context,
    PlantRef,
    promote_model,
    register_model,
    start_rollout,
)
from andon.audit import Event, EventKind
from andon.clock import ManualClock, to_ms
from andon.contracts.quarantine import Quarantined
from andon.contracts.rules import Rule
from andon.edge.heartbeat import EdgeIdentity, edge_document
from andon.feedback import Via
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.registry import generate_keypair, trusted_keys
from andon.testing.factories import T0, make_intervention, save_version, small_model

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from andon.spec import PlantSpec
    from andon.store import SqlStore

NOW = T0 + timedelta(days=1)
DETECTED = NOW - timedelta(hours=6)
EVIDENCE = (DETECTED - timedelta(minutes=30), DETECTED)
BREACH_AT = NOW - timedelta(hours=10)
QUARANTINED_AT = NOW - timedelta(hours=8)
IV_ID = "iv-p101-bearing"
SAMPLED_FOR = timedelta(hours=30)
#: tag -> (value at rest, climb over the last 8 h) of p-101
_TAGS = {"flow": (250.0, 0.0), "discharge_pressure": (6.0, 0.0), "motor_current": (60.0, 4.0),
         "vibration": (2.0, 3.0), "bearing_temp": (55.0, 25.0), "speed": (2950.0, 0.0)}


@dataclass(frozen=True)
class Seeded:
    """Where the seeded plant's artifacts and keys are, and its trusted key's id."""

    models_dir: Path
    trusted_keys: Path
    plant_key_id: str
    rogue_key_id: str


def seed(store: SqlStore, spec: PlantSpec, root: Path) -> Seeded:
    """Fill ``store`` (and ``root``: models, keys) with the plant described above."""
    _samples(store)
    store.save_intervention(replace(
        make_intervention(IV_ID, created_at=DETECTED + timedelta(minutes=5)),
        detected_at=DETECTED, window_start=EVIDENCE[0], window_end=EVIDENCE[1]))
    store.add_event(Event(EventKind.DATA_QUALITY,
                          "acme/ghent/utilities/cooling-water/p-101/bearing_temp",
                          "stuck: flat for 10 periods at 55 degC", BREACH_AT))
    store.add_quarantined([Quarantined(
        QUARANTINED_AT, "andon/v1/acme/ghent/utilities/cooling-water/p-101/vibration",
        b'{"v": 99}', 9, Rule.OUT_OF_RANGE, "99 mm/s is outside [0, 45] mm/s", "plc-1",
        TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", "vibration"))])
    seeded = _models(store, spec, root)
    _edges(store)
    return seeded


def key_id_of_pub(directory: Path) -> str:
    """The key id of the one public key in ``directory``."""
    [key_id] = trusted_keys(directory)
    return key_id


def _samples(store: SqlStore) -> None:
    rows = []
    start = NOW - SAMPLED_FOR
    climb_from = NOW - timedelta(hours=8)
    minutes = int(SAMPLED_FOR.total_seconds() // 60)
    for i in range(minutes):
        at = start + timedelta(minutes=i)
        rising = max((at - climb_from).total_seconds(), 0.0) / (8 * 3600)
        for n, (tag, (base, climb)) in enumerate(_TAGS.items()):
            address = TagAddress("acme", "ghent", "utilities", "cooling-water", "p-101", tag)
            value = base + climb * rising + 0.01 * (i % 7)
            rows.append(Sample(address, value, "", Quality.GOOD, to_ms(at), i * 10 + n,
                               "plc-1"))
    store.add_samples(rows, to_ms(NOW))


def _models(store: SqlStore, spec: PlantSpec, root: Path) -> Seeded:
    models_dir, trusted = root / "models", root / "trusted"
    plant_key, _pub, plant_id = generate_keypair(trusted, "plant")
    rogue_key, _pub2, rogue_id = generate_keypair(root / "rogue", "rogue")
    clock = ManualClock(T0)
    ctx = Context(store, clock, PlantRef(spec), models_dir=models_dir, trusted_keys=trusted)
    dana = Actor("dana", "reliability_engineer", "engineer", Via.CLI)
    save_version(small_model(), models_dir)
    register_model(ctx, dana, "pump-bearing", 1, key=plant_key, models_dir=models_dir)
    clock.advance(3600)
    promote_model(ctx, dana, "pump-bearing", 1, "first version; passed the replay")
    clock.advance(3600)
    save_version(small_model(), models_dir)
    register_model(ctx, dana, "pump-bearing", 2, key=rogue_key, models_dir=models_dir)
    clock.advance(3600)
    start_rollout(ctx, dana, "pump-bearing", 2, pilot="cooling-water",
                  reason="v2 beats v1 on replay")
    return Seeded(models_dir, trusted, plant_id, rogue_id)


def _edges(store: SqlStore) -> None:
    ghent = EdgeIdentity("edge-ghent", "acme", heartbeat_s=10.0)
    porto = EdgeIdentity("edge-porto", "acme", heartbeat_s=10.0)
    models = {"pump-bearing": "pump-bearing v1"}
    for n, depth in enumerate((0, 3, 7, 2)):
        _beat(store, ghent, NOW - timedelta(seconds=10 * (3 - n)), depth, models)
    _beat(store, porto, NOW - timedelta(minutes=10), 0, {})


def _beat(store: SqlStore, identity: EdgeIdentity, at: datetime, depth: int,
          models: dict[str, str]) -> None:
    doc = edge_document(identity, "heartbeat", at=at, link="online", buffer_depth=depth,
                        dropped={}, models=models, extra={"lines": ["cooling-water"]})
    store.add_event(Event(EventKind.EDGE_HEARTBEAT, identity.edge_id, json.dumps(doc), at))
