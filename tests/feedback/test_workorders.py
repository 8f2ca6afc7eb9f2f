"""IT data: work orders from CSV / JSON joined to assets and time, stored idempotently.

The store part runs on SQLite and PostgreSQL; the API and CLI run over a real SQLite store.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from andon.api import create_app
from andon.app import Actor, Context, PlantRef, import_work_orders
from andon.cli.app import app as cli
from andon.clock import ManualClock, utc
from andon.errors import ItDataError, StoreError
from andon.feedback.workorders import (
    WorkOrder,
    WorkType,
    confirmed_failures,
    load_asset_map,
    read_work_orders,
)
from andon.store import SqlStore, open_store
from andon.testing.factories import add_token, add_user

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

if TYPE_CHECKING:

    from andon.spec import PlantSpec

T0 = utc(2026, 3, 2, 8)
CET = timezone(timedelta(hours=1))
HEADER = "WO Number,Equipment,Created,Completed,Order Type,Failure,Failure Mode,Code,Description"


def _csv(*rows: str) -> str:
    return "\n".join(rows) + "\n"


# -- store conformance (SQLite and PostgreSQL) ----------------------------------------------
def _wo(external_id: str, asset: str = "p-101", hours: float = 0, *, failure: bool = False,
        kind: WorkType = WorkType.CORRECTIVE, **extra: object) -> WorkOrder:
    return WorkOrder(external_id=external_id, asset=asset,
                     opened_at=T0 + timedelta(hours=hours), type=kind,
                     failure_confirmed=failure, **extra)  # type: ignore[arg-type]


def test_store_upserts_by_external_id_and_filters(any_store: SqlStore) -> None:
    """New, updated and unchanged counted; filters by asset, half-open time and failure."""
    store = any_store
    orders = [_wo("WO-1", failure=True, failure_mode="bearing wear", failure_code="BRG",
                  closed_at=T0 + timedelta(hours=5), description="replaced DE bearing",
                  source="cmms.csv"),
              _wo("WO-2", "p-102", 1, kind=WorkType.PREVENTIVE),
              _wo("WO-3", "p-101", 2, kind=WorkType.INSPECTION)]
    assert store.upsert_work_orders(orders, T0) == (3, 0)
    assert store.upsert_work_orders(orders, T0 + timedelta(days=1)) == (0, 0)
    changed = _wo("WO-3", "p-101", 2, kind=WorkType.INSPECTION, failure=True)
    assert store.upsert_work_orders([changed, _wo("WO-4", hours=3)], T0) == (1, 1)
    every = store.work_orders()
    assert [o.external_id for o in every] == ["WO-1", "WO-2", "WO-3", "WO-4"]
    first = every[0]
    assert first.opened_at == T0
    assert first.opened_at.tzinfo == UTC
    assert first.closed_at == T0 + timedelta(hours=5)
    assert (first.type, first.failure_confirmed, first.failure_mode, first.failure_code,
            first.description, first.source) == (WorkType.CORRECTIVE, True, "bearing wear",
                                                 "BRG", "replaced DE bearing", "cmms.csv")
    assert first.imported_at == T0
    assert [o.external_id for o in store.work_orders(asset="p-101")] == ["WO-1", "WO-3", "WO-4"]
    assert [o.external_id for o in store.work_orders(
        start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=3))] == ["WO-2", "WO-3"]
    assert [o.external_id for o in store.work_orders(failure_confirmed=True)] == ["WO-1",
                                                                                  "WO-3"]
    assert [o.external_id for o in store.work_orders(failure_confirmed=False)] == ["WO-2",
                                                                                   "WO-4"]
    assert len(store.work_orders(limit=2)) == 2
    with pytest.raises(StoreError, match="naive"):
        store.work_orders(start=datetime(2026, 3, 2))  # naive on purpose


# -- reading exports ------------------------------------------------------------------------
def test_csv_rows_are_mapped_to_assets_and_bad_rows_rejected_with_line(
    demo_spec: PlantSpec, tmp_path: Path,
) -> None:
    path = tmp_path / "cmms.csv"
    path.write_text(_csv(
        HEADER,
        ("1001,PUMP-0101,2026-03-02T09:00:00+01:00,2026-03-02T15:00:00+01:00,CM,Yes,bearing "
         "wear,BRG,Replaced DE bearing"),
        "1002,Pump P-102,2026-03-03T08:00:00Z,,PM,no,,,Quarterly greasing",
        "1003,p-101,2026-03-04T08:00:00Z,,inspection,,,,",
        "1004,TANK-9,2026-03-04T08:00:00Z,,CM,yes,,,",
        "1005,p-101,03/04/2026,,CM,yes,,,",
        "1006,p-101,2026-03-04T08:00:00Z,2026-03-03T08:00:00Z,CM,yes,,,",
        "1007,p-101,2026-03-04T08:00:00Z,,overhaul,yes,,,",
        "1008,p-101,2026-03-04T08:00:00Z,,CM,maybe,,,",
        "1009,p-101,2026-03-04 08:00,,CM,yes,,,",
        ",p-101,2026-03-04T08:00:00Z,,CM,yes,,,",
    ), encoding="utf-8")
    result = read_work_orders(path, demo_spec, asset_map={"PUMP-0101": "p-101"})
    assert result.read == 10
    assert [(o.external_id, o.asset, o.type, o.failure_confirmed) for o in result.orders] == [
        ("1001", "p-101", WorkType.CORRECTIVE, True),
        ("1002", "p-102", WorkType.PREVENTIVE, False),
        ("1003", "p-101", WorkType.INSPECTION, False),
    ]
    first = result.orders[0]
    assert first.opened_at == T0
    assert first.closed_at == T0 + timedelta(hours=6)
    assert (first.failure_mode, first.failure_code, first.description) == (
        "bearing wear", "BRG", "Replaced DE bearing")
    assert result.lines() == [
        ("cmms.csv:5: unknown asset 'TANK-9': not an asset id or name of the spec, and not "
         "in the asset map (--map-assets)"),
        "cmms.csv:6: opened_at '03/04/2026' is not an ISO 8601 date/time",
        ("cmms.csv:7: closed_at 2026-03-03T08:00:00+00:00 is before opened_at "
         "2026-03-04T08:00:00+00:00"),
        "cmms.csv:8: type 'overhaul' is not corrective, preventive or inspection",
        "cmms.csv:9: failure_confirmed 'maybe' is not true/false, yes/no or 1/0",
        ("cmms.csv:10: opened_at '2026-03-04 08:00' has no UTC offset; pass --timezone (e.g. "
         "Europe/Brussels)"),
        "cmms.csv:11: missing external id",
    ]
    assert "TANK-9" in result.rejected[0].raw
    local = read_work_orders(path, demo_spec, asset_map={"PUMP-0101": "p-101"},
                             timezone=CET)
    assert "1009" in [o.external_id for o in local.orders]
    assert next(o for o in local.orders if o.external_id == "1009").opened_at == utc(
        2026, 3, 4, 7)


def test_json_array_json_lines_and_wrapped_object_give_lines(demo_spec: PlantSpec,
                                                             tmp_path: Path) -> None:
    array = tmp_path / "orders.json"
    array.write_text('[\n  {"id": "A1", "asset": "p-101", "opened_at": "2026-03-02T08:00:00Z",'
                     ' "failure_confirmed": true},\n'
                     '  {"id": "A2", "asset": "nowhere",\n   "opened_at": '
                     '"2026-03-02T08:00:00Z"},\n  42\n]\n', encoding="utf-8")
    result = read_work_orders(array, demo_spec)
    assert [o.external_id for o in result.orders] == ["A1"]
    assert result.orders[0].failure_confirmed is True
    assert [r.where for r in result.rejected] == ["orders.json:3", "orders.json:5"]
    assert result.rejected[1].reason == "expected a JSON object, got int"
    lines = tmp_path / "orders.jsonl"
    lines.write_text('{"wo": "L1", "equipment": "p-102", "created": "2026-03-02T08:00:00Z"}\n'
                     "\n{broken\n", encoding="utf-8")
    result = read_work_orders(lines, demo_spec)
    assert [o.external_id for o in result.orders] == ["L1"]
    assert [r.where for r in result.rejected] == ["orders.jsonl:3"]
    assert result.rejected[0].reason.startswith("not JSON")
    wrapped = tmp_path / "export.json"
    wrapped.write_text(json.dumps({"work_orders": [
        {"id": "W1", "asset": "P-101", "opened_at": "2026-03-02T08:00:00Z"}]}),
        encoding="utf-8")
    assert [o.asset for o in read_work_orders(wrapped, demo_spec).orders] == ["p-101"]


def test_whole_file_problems_are_one_line_errors(demo_spec: PlantSpec, tmp_path: Path) -> None:
    with pytest.raises(ItDataError, match="no such file"):
        read_work_orders(tmp_path / "none.csv", demo_spec)
    odd = tmp_path / "orders.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(ItDataError, match=r"expected a \.csv, \.json or \.jsonl file"):
        read_work_orders(odd, demo_spec)
    header = tmp_path / "no_asset.csv"
    header.write_text("id,opened_at\n1,2026-03-02T08:00:00Z\n", encoding="utf-8")
    with pytest.raises(ItDataError, match=r"no_asset.csv:1: missing column\(s\) asset"):
        read_work_orders(header, demo_spec)
    amap = tmp_path / "assets.yaml"
    amap.write_text("PUMP-0101: p-999\n", encoding="utf-8")
    with pytest.raises(ItDataError, match="asset map names assets the spec does not have: "
                       "p-999"):
        read_work_orders(header, demo_spec, asset_map=load_asset_map(amap))
    as_csv = tmp_path / "assets.csv"
    as_csv.write_text("name,asset\nPUMP-0101,p-101\n", encoding="utf-8")
    assert load_asset_map(as_csv) == {"PUMP-0101": "p-101"}
    huge = tmp_path / "huge.csv"  # a field over csv's size limit: one line, no traceback
    huge.write_text(f"id,asset,opened_at\n1,p-101,{'x' * 200_000}\n", encoding="utf-8")
    with pytest.raises(ItDataError, match=r"huge.csv:\d+: not readable as CSV"):
        read_work_orders(huge, demo_spec)


def test_a_large_import_is_looked_up_in_chunks(any_store: SqlStore) -> None:
    """Ids looked up in several queries (SQLite caps bound parameters): counts stay exact."""
    orders = [_wo(f"WO-{i}", hours=i / 60) for i in range(1_200)]
    assert any_store.upsert_work_orders(orders, T0) == (1_200, 0)
    assert any_store.upsert_work_orders(orders, T0) == (0, 0)


def test_import_is_idempotent_and_confirmed_failures_join_assets_and_time(
    demo_spec: PlantSpec, store: SqlStore, tmp_path: Path,
) -> None:
    path = tmp_path / "cmms.csv"
    path.write_text(_csv(
        HEADER,
        "1,p-101,2026-03-02T08:00:00Z,,CM,yes,,,",
        "2,p-101,2026-03-05T08:00:00Z,,CM,yes,,,",
        "3,p-102,2026-03-03T08:00:00Z,,CM,yes,,,",
        "4,p-102,2026-03-03T09:00:00Z,,PM,no,,,",
    ), encoding="utf-8")
    ctx = Context(store, ManualClock(T0), PlantRef(demo_spec))
    first = import_work_orders(ctx, Actor.system(), path).record
    assert (first.new, first.updated, first.unchanged) == (4, 0, 0)
    again = import_work_orders(ctx, Actor.system(), path).record
    assert (again.new, again.updated, again.unchanged) == (0, 0, 4)
    assert len(store.work_orders()) == 4
    assert confirmed_failures(store) == {
        "p-101": [T0, T0 + timedelta(days=3)], "p-102": [T0 + timedelta(days=1)]}
    assert confirmed_failures(store, assets=["p-102"]) == {"p-102": [T0 + timedelta(days=1)]}
    assert confirmed_failures(store, start=T0 + timedelta(hours=1),
                              end=T0 + timedelta(days=3)) == {"p-102": [T0 + timedelta(days=1)]}


# -- API and CLI ----------------------------------------------------------------------------
def test_api_lists_work_orders_for_readers_only(demo_spec: PlantSpec, store: SqlStore) -> None:
    store.upsert_work_orders([_wo("WO-1", failure=True), _wo("WO-2", "p-102", 1)], T0)
    viewer = add_user(store, "viewer", access="viewer", password="pw")
    token = add_token(store, viewer.username, T0 + timedelta(days=1))
    app = create_app(store, demo_spec, clock=ManualClock(T0))
    with TestClient(app) as client:
        assert client.get("/api/work-orders").status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        listed = client.get("/api/work-orders", headers=headers)
        assert listed.status_code == 200
        body = listed.json()
        assert [o["external_id"] for o in body] == ["WO-1", "WO-2"]
        assert body[0]["failure_confirmed"] is True
        assert body[0]["type"] == "corrective"
        assert datetime.fromisoformat(body[0]["opened_at"]) == T0
        only = client.get("/api/work-orders", headers=headers,
                          params={"asset": "p-102", "since": "2026-03-02T08:30:00"})
        assert [o["external_id"] for o in only.json()] == ["WO-2"]
        confirmed = client.get("/api/work-orders", headers=headers,
                               params={"failure_confirmed": "true"})
        assert [o["external_id"] for o in confirmed.json()] == ["WO-1"]


def test_cli_imports_reports_rejects_and_exits_1(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    path = tmp_path / "cmms.csv"
    path.write_text(_csv(
        HEADER, "1,PUMP-0101,2026-03-02T08:00:00Z,,CM,yes,,,",
        "2,TANK-9,2026-03-02T08:00:00Z,,CM,yes,,,"), encoding="utf-8")
    amap = tmp_path / "assets.yaml"
    amap.write_text("PUMP-0101: p-101\n", encoding="utf-8")
    env = {"COLUMNS": "250", "NO_COLOR": "1"}
    result = CliRunner().invoke(cli, ["import", "work-orders", str(path), "--db", db,
                                      "--map-assets", str(amap), "--create"], env=env)
    assert result.exit_code == 1, result.output
    assert "2 rows read, 1 usable: 1 new, 0 updated, 0 unchanged; 1 rejected" in result.output
    assert "error: cmms.csv:3: unknown asset 'TANK-9'" in result.output
    rejects = (tmp_path / "cmms.rejects.csv").read_text(encoding="utf-8")
    assert "cmms.csv:3" in rejects
    with open_store(db) as store:
        assert [o.asset for o in store.work_orders()] == ["p-101"]
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n1,p-101,2026-03-02T08:00:00Z,,CM,yes,,,\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "work-orders", str(good), "--db", db], env=env)
    assert result.exit_code == 0, result.output
    assert "0 new, 0 updated, 1 unchanged; 0 rejected" in result.output
