"""A database as release 0.1.0 left it: its schema (``create_all``, no ``alembic_version``) and
rows in every table, written in 0.1's names and formats.

The rows are literal on purpose: what 0.1 wrote must not change when today's row mapping does.
``RENAMES`` says where each 0.1 table and column lives from revision 0002 on.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from andon.clock import to_ms, utc
from andon.store import SqlStore
from andon.store.migrations.release_0_1 import METADATA
from andon.testing.factories import make_model

if TYPE_CHECKING:
    from sqlalchemy import Connection

T0 = utc(2026, 3, 2, 7)
H = timedelta(hours=1)

#: 0.1 table -> (table from revision 0002 on, {0.1 column: column from 0002 on})
RENAMES: dict[str, tuple[str, dict[str, str]]] = {
    "recommendations": ("interventions", {}),
    "feedback": ("feedback", {"recommendation_id": "intervention_id"}),
    "labels": ("labels", {"recommendation_id": "intervention_id"}),
    "gate_episodes": ("gate_episodes", {"rec_id": "intervention_id"}),
    "gate_log": ("gate_log", {"rec_id": "intervention_id"}),
    "gate_queue": ("gate_queue", {"rec_id": "intervention_id"}),
}

WHY = [
    {"feature": "vibration.mean", "value": 7.9, "baseline": 2.1, "spread": 0.3, "share": 0.61,
     "unit": "mm/s"},
    {"feature": "bearing_temp.slope", "value": 0.8, "baseline": 0.05, "spread": 0.04,
     "share": 0.22, "unit": "degC/h"},
]
KEY = "pump-bearing/p-101"
POSITION = "ghent/maintenance_planner"


def _move(from_state: str | None, to_state: str, by: str, hours: float,
          reason: str = "") -> dict[str, Any]:
    return {"from_state": from_state, "to_state": to_state, "by": by,
            "at": (T0 + hours * H).isoformat(), "reason": reason}


def _recommendation(rec_id: str, asset: str, state: str, history: list[dict[str, Any]],
                    **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": rec_id, "use_case": "pump-bearing", "enterprise": "acme", "site": "ghent",
        "area": "utilities", "line": "cooling-water", "asset": asset,
        "asset_name": f"Pump {asset.upper()}",
        "action": f"Inspect the drive-end bearing of Pump {asset.upper()} at the changeover stop",
        "owner_role": "maintenance_planner", "deadline": T0 + 21.5 * H,
        "deadline_label": "Early-shift changeover stop", "predicted_failure": T0 + 72 * H,
        "detected_at": T0 - timedelta(minutes=5), "score": 7.91, "threshold": 4.0,
        "model": "pump-bearing", "model_version": "3", "why": json.dumps(WHY), "state": state,
        "detections": 4, "created_at": T0, "updated_at": T0 + H, "priority": "high",
        "assignee": None, "escalation_level": 0, "shelved_until": None,
        "history": json.dumps(history), "dedup_key": f"pump-bearing/{asset}/{T0.isoformat()}",
        "window_start": T0 - timedelta(minutes=25), "window_end": T0 - timedelta(minutes=5),
        "outcome": None, "outcome_detail": "",
    }
    row.update(changes)
    return row


def _label(rec_id: str, kind: str, label: str, by: str, hours: float, *, detail: str = "",
           via: str = "web") -> dict[str, Any]:
    return {"recommendation_id": rec_id, "asset": "p-101", "use_case": "pump-bearing",
            "model": "pump-bearing", "model_version": "3",
            "window_start": T0 - timedelta(minutes=25), "window_end": T0 - timedelta(minutes=5),
            "kind": kind, "label": label, "detail": detail, "by": by, "at": T0 + hours * H,
            "via": via}


def _queued_document(rec: dict[str, Any]) -> str:
    """The gate queue's JSON of a recommendation, as 0.1's pydantic adapter wrote it."""
    doc = {k: v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v
           for k, v in rec.items()}
    doc["why"] = WHY
    doc["history"] = json.loads(rec["history"])
    return json.dumps(doc)


#: held back by the gate's rate limit: in the gate's queue only, not (yet) a recommendation row
QUEUED = _recommendation("rec-7d2e", "p-102", "new", [_move(None, "new", "andon", 0)])

ROWS: dict[str, list[dict[str, Any]]] = {
    "samples": [
        {"enterprise": "acme", "site": "ghent", "area": "utilities", "line": "cooling-water",
         "asset": "p-101", "tag": "bearing_temp", "value": 41.5, "unit": "degC",
         "quality": "good", "ts_ms": to_ms(T0) + i * 1000, "seq": i, "source": "plc-ghent",
         "ingest_ms": to_ms(T0) + i * 1000 + 40, "reason": None}
        for i in range(1, 4)
    ] + [
        {"enterprise": "acme", "site": "ghent", "area": "utilities", "line": "cooling-water",
         "asset": "p-101", "tag": "vibration", "value": 7.9, "unit": "mm/s",
         "quality": "uncertain", "ts_ms": to_ms(T0), "seq": 9, "source": "plc-ghent",
         "ingest_ms": to_ms(T0) + 40, "reason": "step"},
    ],
    "recommendations": [
        _recommendation("rec-3f9a", "p-101", "acknowledged",
                        [_move(None, "new", "andon", 0), _move("new", "acknowledged", "ana", 0.5)],
                        assignee="ana"),
        _recommendation("rec-51c0", "p-301", "done",
                        [_move(None, "new", "andon", 0), _move("new", "acknowledged", "ana", 0.5),
                         _move("acknowledged", "done", "ana", 2, "bearing replaced")],
                        assignee="ana", outcome="fault_confirmed",
                        outcome_detail="outer race spalling"),
        _recommendation("rec-a804", "p-302", "dismissed",
                        [_move(None, "new", "andon", 0),
                         _move("new", "dismissed", "bob", 1, "sensor was being recalibrated")],
                        escalation_level=1, priority="medium"),
    ],
    "feedback": [
        {"recommendation_id": "rec-51c0", "kind": "acted", "reason": "bearing replaced",
         "by": "ana", "at": T0 + 2 * H, "via": "web"},
        {"recommendation_id": "rec-a804", "kind": "dismissed",
         "reason": "sensor was being recalibrated", "by": "bob", "at": T0 + H, "via": "mqtt"},
    ],
    "labels": [
        _label("rec-51c0", "feedback", "acted", "ana", 2, detail="bearing replaced"),
        _label("rec-51c0", "outcome", "fault_confirmed", "ana", 3,
               detail="outer race spalling", via="cmms"),
        _label("rec-a804", "feedback", "dismissed", "bob", 1,
               detail="sensor was being recalibrated", via="mqtt"),
    ],
    "models": [
        {"name": "pump-bearing", "version": 3, "meta": make_model(version=3).to_json(),
         "stage": "production", "key_id": "c0ffee" * 8, "signer": "eve"},
        {"name": "pump-bearing", "version": 4, "meta": make_model(version=4).to_json(),
         "stage": "candidate", "key_id": None, "signer": None},
    ],
    "users": [
        {"username": "ana", "role": "maintenance_planner", "access": "operator",
         "display_name": "Ana Peeters", "password_hash": "scrypt$16384$8$1$c2FsdA$aGFzaA"},
        {"username": "eve", "role": "reliability_engineer", "access": "engineer",
         "display_name": "Eve", "password_hash": ""},
    ],
    "tokens": [
        {"token_hash": "1" * 64, "username": "ana", "expires_at": T0 + 24 * H,
         "revoked": False},
        {"token_hash": "2" * 64, "username": "eve", "expires_at": None, "revoked": True},
    ],
    "spec_versions": [
        {"version": 1, "text": "enterprise: acme\n", "by": "eve", "at": T0 - 48 * H},
        {"version": 2, "text": "enterprise: acme\nsites: []\n", "by": "eve", "at": T0 - 24 * H},
    ],
    "events": [
        {"kind": "model_promoted", "subject": "pump-bearing v3", "detail": "to production",
         "at": T0 - 12 * H, "by": "eve"},
        {"kind": "feedback", "subject": "rec-51c0", "detail": "acted: bearing replaced",
         "at": T0 + 2 * H, "by": "ana"},
        {"kind": "fatigue_suppressed", "subject": KEY, "detail": "planned stop",
         "at": T0 + 4 * H, "by": "andon"},
    ],
    "quarantine": [
        {"received_at": T0, "topic": "acme/ghent/utilities/cooling-water/p-101/bearing_temp",
         "payload": b'{"v": oops}', "size": 11, "rule": "malformed", "reason": "not JSON",
         "source": None, "enterprise": None, "site": None, "area": None, "line": None,
         "asset": None, "tag": None, "replayed_at": None},
        {"received_at": T0 + H, "topic": "acme/ghent/utilities/cooling-water/p-101/bearing_temp",
         "payload": b'{"v":171.5,"u":"degC"}', "size": 22, "rule": "out_of_range",
         "reason": "value 171.5 degC is outside the valid range [-10, 150]",
         "source": "plc-ghent", "enterprise": "acme", "site": "ghent", "area": "utilities",
         "line": "cooling-water", "asset": "p-101", "tag": "bearing_temp",
         "replayed_at": T0 + 5 * H},
    ],
    "deliveries": [
        {"sink": "cmms:maximo", "intervention_id": "rec-51c0", "dedup_key": "pump-bearing/p-301",
         "version": 1, "digest": "ab" * 32, "attempt": 1, "at": T0, "ok": False,
         "http_status": 503, "error": "HTTP 503 Service Unavailable", "external_id": None},
        {"sink": "cmms:maximo", "intervention_id": "rec-51c0", "dedup_key": "pump-bearing/p-301",
         "version": 1, "digest": "ab" * 32, "attempt": 2, "at": T0 + H, "ok": True,
         "http_status": 201, "error": "", "external_id": "WO-1042"},
    ],
    "gate_episodes": [
        {"key": "pump-bearing/p-101", "position": POSITION, "state": "delivered",
         "opened_at": T0, "last_at": T0 + H, "detections": 4, "rec_id": "rec-3f9a",
         "triage_id": None, "normal_windows": 0},
        {"key": "pump-bearing/p-102", "position": POSITION, "state": "queued",
         "opened_at": T0 + H, "last_at": T0 + H, "detections": 1, "rec_id": "rec-7d2e",
         "triage_id": None, "normal_windows": 0},
        {"key": "pump-bearing/k-104", "position": POSITION, "state": "triage",
         "opened_at": T0, "last_at": T0, "detections": 1, "rec_id": None, "triage_id": 1,
         "normal_windows": 2},
    ],
    "gate_log": [
        {"at": T0, "position": POSITION, "key": "pump-bearing/p-101", "verdict": "delivered",
         "reason": "new episode", "rec_id": "rec-3f9a", "arrival": True},
        {"at": T0 + H, "position": POSITION, "key": "pump-bearing/p-102", "verdict": "queued",
         "reason": "rate limit 10 per 10 min", "rec_id": "rec-7d2e", "arrival": True},
        {"at": T0 + 4 * H, "position": POSITION, "key": "pump-bearing/p-101",
         "verdict": "suppressed", "reason": "planned stop", "rec_id": None, "arrival": False},
    ],
    "gate_queue": [
        {"rec_id": "rec-7d2e", "position": POSITION, "queued_at": T0 + H,
         "document": _queued_document(QUEUED)},
    ],
    "triage": [
        {"use_case": "pump-bearing", "site": "ghent", "line": "cooling-water", "asset": "k-104",
         "reasons": "low_confidence,out_of_distribution", "score": 4.4, "threshold": 4.0,
         "model": "pump-bearing", "model_version": "3", "window_end": T0,
         "why": json.dumps([[c["feature"], c["value"], c["baseline"], c["spread"], c["share"],
                             c["unit"]] for c in WHY]),
         "created_at": T0, "updated_at": T0 + H, "detections": 2, "status": "labelled"},
    ],
    "triage_labels": [
        {"item_id": 1, "verdict": "normal", "by": "eve", "role": "reliability_engineer",
         "at": T0 + H, "note": "start-up transient"},
    ],
    "work_orders": [
        {"external_id": "WO-1042", "asset": "p-301", "opened_at": T0 + H,
         "closed_at": T0 + 5 * H, "type": "corrective", "failure_confirmed": True,
         "failure_mode": "bearing wear", "failure_code": "BRG", "description": "replace DE",
         "source": "cmms.csv", "imported_at": T0 + 6 * H},
    ],
    "quality_counts": [
        {"bucket_ms": to_ms(T0), "site": "ghent", "asset": "p-101", "tag": "bearing_temp",
         "source": "", "metric": "received", "count": 3600},
        {"bucket_ms": to_ms(T0), "site": "ghent", "asset": "", "tag": "", "source": "plc-ghent",
         "metric": "skew_corrected", "count": 12},
    ],
    "source_skew": [
        {"source": "plc-ghent", "at_ms": to_ms(T0), "skew_ms": 1500, "correcting": True},
    ],
}


def make_0_1_database(url: str) -> dict[str, list[dict[str, Any]]]:
    """Create 0.1's schema at ``url`` with ``ROWS``; every table's rows as read back (0.1 names)."""
    store = SqlStore(url)  # no start-up: the database stays exactly as built here
    try:
        with store._write() as conn:
            METADATA.create_all(conn)
            for table in METADATA.sorted_tables:
                conn.execute(table.insert(), ROWS[table.name])
        with store._read() as conn:
            return read_all(conn, METADATA.sorted_tables)
    finally:
        store.close()


def read_all(conn: Connection, tables: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of each table, by primary key, as dicts."""
    return {
        table.name: [dict(row._mapping) for row in
                     conn.execute(select(table).order_by(*table.primary_key.columns))]
        for table in tables
    }


def renamed(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """0.1 rows as they are at head: the names of revision 0002, and 0003's ``change_seq``
    (1, 2, ... in the order the interventions last changed), 0006's and 0008's new columns."""
    out = {}
    for name, table_rows in rows.items():
        new_name, columns = RENAMES.get(name, (name, {}))
        out[new_name] = [{columns.get(k, k): v for k, v in row.items()} for row in table_rows]
    order = sorted(out["interventions"], key=lambda r: (r["updated_at"], r["id"]))
    seq = {row["id"]: i for i, row in enumerate(order, start=1)}
    # 0008: no failure band and no stop recorded before it
    out["interventions"] = [{**row, "change_seq": seq[row["id"]], "failure_earliest": None,
                             "stopped_at": None} for row in out["interventions"]]
    # 0006: enabled users, API tokens never used, events from before the audit chain began
    out["users"] = [{**row, "disabled": False} for row in out["users"]]
    out["tokens"] = [{**row, "kind": "api", "issued_at": None, "last_used_at": None}
                     for row in out["tokens"]]
    out["events"] = [{**row, "seq": None, "prev_hash": None, "hash": None, "record_hash": None}
                     for row in out["events"]]
    return out
