"""Replay backtests: a historian export runs through the same path as live scoring.

A simulated pump develops bearing wear; its healthy history trains the model, the rest is
exported as a historian CSV. Fed live (UNS messages into the edge on a manual clock) and
replayed from the file, it must raise the same intervention, on the same asset, at the same
detection time. Bad rows in an export are reported with ``file:line``, never a crash.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import msgspec
import pytest

from andon.app import Actor, Context, PlantRef, import_work_orders, track_record
from andon.clock import ManualClock, to_ms, utc
from andon.connectors.historian import HistorianExport
from andon.edge import build_edge
from andon.errors import HistorianError, ReplayError
from andon.feedback.workorders import read_work_orders
from andon.kpi.leadtime import LeadTime
from andon.kpi.trackrecord import write_csv
from andon.namespace import encode_sample
from andon.namespace.sample import Sample
from andon.rollout.stages import start as start_rollout
from andon.services.history import backfill
from andon.services.replay import ReplaySummary, replay_export
from andon.services.simulate import topic_of
from andon.services.training import train_use_case
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.store import open_store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from andon.interventions import Intervention
    from andon.spec import PlantSpec
    from andon.store import SqlStore

START = utc(2026, 3, 2, 8)
LINE = "cooling-water"
WARMUP = timedelta(hours=48)
WEAR_START = timedelta(hours=50)
FAILURE = timedelta(hours=74)
CEST = timezone(timedelta(hours=2))


@dataclass
class Backtest:
    spec: PlantSpec
    store: SqlStore  # the plant's store: training data, model registry, work orders
    models: Path
    live: list[list[Sample]]  # the simulated steps after the training period
    export: Path  # the same samples as a long-format historian CSV
    failure: datetime


def _write_long_csv(path: Path, steps: list[list[Sample]], *, iso: bool = True) -> None:
    """Long format; times alternate between ISO 8601 with an offset and epoch ms (or, not
    ``iso``, all epoch ms: what the columnar reader takes)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "tag", "value", "unit", "quality"])
        for i, samples in enumerate(steps):
            for s in samples:
                ts = (s.ts.astimezone(CEST).isoformat() if i % 2 and iso else str(s.ts_ms))
                path_ = "/".join(s.address.topic.split("/")[2:])  # without andon/v1
                w.writerow([ts, path_, repr(s.value), s.unit, s.quality.value])


@pytest.fixture(scope="module")
def backtest(demo_spec: PlantSpec, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[Backtest]:
    tmp = tmp_path_factory.mktemp("backtest")
    store = open_store(f"sqlite:///{tmp / 'andon.db'}")
    clock = ManualClock(START)
    scenario = Scenario((Fault("bearing_wear", asset="p-101", start_s=WEAR_START.total_seconds(),
                               end_s=FAILURE.total_seconds()),))
    sim = PlantSimulator(demo_spec, seed=11, start=START, scenario=scenario, lines={LINE})
    backfill(sim, store, START + WARMUP, clock=clock)
    train_use_case(demo_spec, store, tmp / "models", "pump-bearing", start=START,
                   end=START + WARMUP, clock=clock)
    live = list(sim.run_until(START + FAILURE))
    export = tmp / "p101-export.csv"
    _write_long_csv(export, live)
    yield Backtest(demo_spec, store, tmp / "models", live, export, START + FAILURE)
    store.close()


def _live_interventions(bt: Backtest, tmp: Path) -> list[tuple[str, datetime]]:
    """The live path: every sample as a UNS message into the edge, on a manual clock."""
    with open_store(f"sqlite:///{tmp / 'live.db'}") as store:
        clock = ManualClock(START + WARMUP)
        edge = build_edge(bt.spec, store, bt.models, clock=clock, lines={LINE}, record=False)
        assert edge.reload_models()
        for samples in bt.live:
            clock.set(samples[0].ts)
            for s in samples:
                edge.on_message(topic_of(s), encode_sample(s))
        ivs = store.list_interventions(open_only=False)
    return sorted((r.asset, r.detected_at) for r in ivs if r.use_case == "pump-bearing")


def test_replay_raises_the_same_intervention_as_the_live_path(
    backtest: Backtest, tmp_path: Path,
) -> None:
    """Same asset and detection time from the file as from live messages; scores per window
    are written; the detection comes before the failure."""
    live = _live_interventions(backtest, tmp_path)
    scores, ivs = io.StringIO(), io.StringIO()
    summary = replay_export(HistorianExport(backtest.export), backtest.spec, "pump-bearing",
                            backtest.models, scores=scores, interventions=ivs)
    replayed = [(r.asset, r.detected_at) for r in summary.interventions]
    assert replayed == live
    assert [a for a, _ in replayed] == ["p-101"]
    assert START + WEAR_START < replayed[0][1] < backtest.failure
    assert summary.rows == sum(len(s) for s in backtest.live)
    assert summary.samples == summary.rows
    assert summary.rejected == 0
    rows = list(csv.DictReader(io.StringIO(scores.getvalue())))
    assert len(rows) == summary.scored > 0
    assert {r["asset"] for r in rows} == {"p-101", "p-102"}
    anomalous = [r for r in rows if r["anomalous"] == "true"]
    assert len(anomalous) == summary.anomalies
    assert all(float(r["score"]) > float(r["threshold"]) for r in anomalous)
    assert anomalous[-1]["top_features"].startswith(("vibration", "bearing_temp"))
    iv_rows = list(csv.DictReader(io.StringIO(ivs.getvalue())))
    assert [(r["asset"], datetime.fromisoformat(r["detected_at"])) for r in iv_rows] == live
    assert "Pump P-101" in iv_rows[0]["action"]


def test_replay_summary_gives_lead_time_from_confirmed_failures(
    backtest: Backtest, tmp_path: Path,
) -> None:
    """A work order confirming the failure turns the first detection into a lead time."""
    orders = tmp_path / "orders.csv"
    failed = backtest.failure.astimezone(CEST).isoformat()
    orders.write_text("external_id,asset,opened_at,type,failure_confirmed,failure_mode\n"
                      f"WO-1,Pump P-101,{failed},corrective,yes,bearing wear\n"
                      f"WO-2,p-102,{failed},preventive,no,\n", encoding="utf-8")
    ctx = Context(backtest.store, ManualClock(backtest.failure), PlantRef(backtest.spec))
    imported = import_work_orders(ctx, Actor.system(), orders).record
    assert imported.new == 2
    summary = replay_export(HistorianExport(backtest.export), backtest.spec, "pump-bearing",
                            backtest.models, registry=backtest.store)
    [first] = summary.first_detections
    assert first.asset == "p-101"
    assert first.failure_at == backtest.failure
    assert first.lead_time == backtest.failure - first.detected_at
    assert first.lead_time > timedelta(hours=1)
    text = "\n".join(summary.lines())
    assert "lead time" in text
    assert "newest in the models directory" in summary.model


def test_hostile_rows_are_reported_with_file_and_line(backtest: Backtest, tmp_path: Path,
                                                      ) -> None:
    """Malformed rows are rejected with file:line and reason; a contract breach is
    quarantined by rule; good rows around them still score; nothing crashes."""
    path = tmp_path / "hostile.csv"
    base = to_ms(START + WARMUP)
    tag = "acme/ghent/utilities/cooling-water/p-101/vibration"
    path.write_text(
        "timestamp,tag,value,unit,quality\n"
        f"{base},{tag},2.5,mm/s,good\n"  # line 2: fine
        f"{base + 60_000},{tag},NaN,mm/s,good\n"  # 3: not finite
        f"not-a-time,{tag},2.5,mm/s,good\n"  # 4
        f"{base + 120_000},no/such/tag,2.5,mm/s,good\n"  # 5: unknown tag
        f"{base + 180_000},{tag},2.5\n"  # 6: too few columns
        f"{base + 240_000},{tag},999,mm/s,good\n"  # 7: out of range (0..45): quarantined
        f"{base + 300_000},{tag},2.5,mm/s,dreadful\n"  # 8: bad quality word
        '"unterminated,' + "x" * 300 + "\n",  # 9: an unterminated quote eats the rest
        encoding="utf-8",
    )
    summary = replay_export(HistorianExport(path), backtest.spec, "pump-bearing",
                            backtest.models)
    where = dict(summary.rejects)
    assert set(where) == {"hostile.csv:3", "hostile.csv:4", "hostile.csv:5", "hostile.csv:6",
                          "hostile.csv:8", "hostile.csv:9"}
    assert "not a finite number" in where["hostile.csv:3"]
    assert "neither ISO 8601 nor epoch" in where["hostile.csv:4"]
    assert "unknown tag 'no/such/tag'" in where["hostile.csv:5"]
    assert "columns" in where["hostile.csv:6"]
    assert "quality 'dreadful'" in where["hostile.csv:8"]
    assert summary.rejected == 6
    assert summary.samples == 2
    assert summary.quarantined["out_of_range"] == 1
    assert summary.quarantined["malformed"] == 6
    assert any("rejected hostile.csv:3" in line for line in summary.lines())


def test_replay_refuses_what_it_cannot_run(backtest: Backtest, tmp_path: Path) -> None:
    """Unknown use case, missing model version, naive timestamps: one line each."""
    with pytest.raises(ReplayError, match="unknown use case 'nope'"):
        replay_export(HistorianExport(backtest.export), backtest.spec, "nope", backtest.models)
    with pytest.raises(ReplayError, match="no model motor-health"):
        replay_export(HistorianExport(backtest.export), backtest.spec, "motor-health",
                      backtest.models)
    with pytest.raises(ReplayError, match="no version 9 of model pump-bearing"):
        replay_export(HistorianExport(backtest.export), backtest.spec, "pump-bearing",
                      backtest.models, model_version=9)
    naive = tmp_path / "naive.csv"
    naive.write_text("timestamp,tag,value,unit\n2026-03-04 10:00:00,p-101/flow,1,m^3/h\n",
                     encoding="utf-8")
    with pytest.raises(HistorianError, match=r"naive.csv: timestamp .* has no UTC offset; "
                       "pass --timezone"):
        replay_export(HistorianExport(naive, spec=backtest.spec), backtest.spec,
                      "pump-bearing", backtest.models)
    summary = replay_export(HistorianExport(naive, spec=backtest.spec, timezone="Europe/Lisbon"),
                            backtest.spec, "pump-bearing", backtest.models)
    assert summary.start == datetime(2026, 3, 4, 10, tzinfo=UTC)  # Lisbon is UTC in March


def test_cli_replay_writes_scores_interventions_and_a_summary(backtest: Backtest,
                                                                tmp_path: Path) -> None:
    """``andon replay FILE --use-case`` end to end: CSVs written, summary printed."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from andon.cli.app import app  # noqa: PLC0415

    scores, ivs = tmp_path / "scores.csv", tmp_path / "ivs.csv"
    result = CliRunner().invoke(app, [
        "replay", str(backtest.export), "--use-case", "pump-bearing",
        "--models", str(backtest.models), "--out", str(scores), "--interventions", str(ivs),
        "--db", f"sqlite:///{tmp_path / 'absent.db'}",
    ], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert f"rows read {sum(len(s) for s in backtest.live):,}" in result.output
    assert "interventions 1" in result.output
    assert "first detection on p-101" in result.output
    assert not (tmp_path / "absent.db").exists(), "a replay must not create a store"
    [iv] = list(csv.DictReader(ivs.read_text(encoding="utf-8").splitlines()))
    assert iv["asset"] == "p-101"
    assert len(scores.read_text(encoding="utf-8").splitlines()) > 100
    orders = tmp_path / "orders.json"
    orders.write_text('[{"external_id": "WO-1", "asset": "p-101", "opened_at": "'
                      f'{backtest.failure.isoformat()}", "type": "corrective", '
                      '"failure_confirmed": true}]', encoding="utf-8")
    record_csv = tmp_path / "record.csv"
    as_json = CliRunner().invoke(app, [
        "replay", str(backtest.export), "--models", str(backtest.models), "--json",
        "--work-orders", str(orders), "--track-record-csv", str(record_csv),
        "--db", f"sqlite:///{tmp_path / 'absent.db'}",
    ])
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)  # logs go to stderr
    assert doc["use_cases"] == ["pump-bearing"]  # the only use case with a model
    [rec] = doc["track_record"]["records"]
    assert (rec["scope"], rec["mode"], rec["detected"], rec["missed"]) == (
        "cooling-water", "shadow", 1, 0)
    assert rec["confirmed"] == len(doc["interventions"]) == 1
    assert doc["track_record"]["failures_from"] == "the work-orders file"
    [row] = list(csv.DictReader(record_csv.read_text(encoding="utf-8").splitlines()))
    assert (row["raised"], row["confirmed"], row["recall"]) == ("1", "1", "1.0")
    assert row["lead_times_h"] == str(rec["lead_times_h"][0])
    table = CliRunner().invoke(app, [
        "replay", str(backtest.export), "--use-case", "pump-bearing", "--use-case",
        "pump-bearing", "--models", str(backtest.models), "--work-orders", str(orders),
        "--db", f"sqlite:///{tmp_path / 'absent.db'}", "--exact",
    ], env={"COLUMNS": "250", "NO_COLOR": "1"})
    assert table.exit_code == 0, table.output
    assert "judged as a shadow version's; failures from the work-orders file" in table.output
    assert "100%" in table.output  # precision and recall
    assert "path: per-sample (--exact" in table.output
    assert "path: fast (batched" in result.output
    missing = CliRunner().invoke(app, ["replay", str(tmp_path / "nope.csv"), "--use-case",
                                       "pump-bearing", "--models", str(backtest.models),
                                       "--db", f"sqlite:///{tmp_path / 'absent.db'}"])
    assert missing.exit_code != 0


def test_a_bogus_future_row_is_quarantined_and_a_real_hole_is_crossed(
    backtest: Backtest, tmp_path: Path,
) -> None:
    """A year-2100 row does not drag event time along (the rest still scores as before); a
    two-day hole in the export is crossed after a few rows beyond it."""
    steps = backtest.live
    half = len(steps) // 2
    plain = replay_export(HistorianExport(backtest.export), backtest.spec, "pump-bearing",
                          backtest.models)
    s = steps[half][0]
    bogus = Sample(s.address, s.value, s.unit, s.quality, to_ms(utc(2100, 1, 1)), 0, s.source)
    spiked = tmp_path / "spiked.csv"
    _write_long_csv(spiked, [*steps[:half], [bogus], *steps[half:]])
    got = replay_export(HistorianExport(spiked), backtest.spec, "pump-bearing",
                        backtest.models)
    assert dict(got.quarantined) == {**plain.quarantined, "future": 1}
    assert (got.windows, got.scored) == (plain.windows, plain.scored)

    later = [[msgspec.structs.replace(x, ts_ms=x.ts_ms + 2 * 86_400_000) for x in step]
             for step in steps[half:]]
    holed = tmp_path / "holed.csv"
    _write_long_csv(holed, [*steps[:half], *later])
    crossed = replay_export(HistorianExport(holed), backtest.spec, "pump-bearing",
                            backtest.models)
    times = sorted({x.ts_ms for step in later for x in step})[:2]
    held = sum(1 for step in later for x in step if x.ts_ms in times)
    assert crossed.quarantined["future"] == held
    assert crossed.scored >= plain.scored - 2


def _live_run(bt: Backtest, tmp: Path) -> list[Intervention]:
    """The live path into a store: every sample as a UNS message, on a manual clock."""
    with open_store(f"sqlite:///{tmp / 'edge.db'}") as store:
        clock = ManualClock(START + WARMUP)
        edge = build_edge(bt.spec, store, bt.models, clock=clock, lines={LINE}, record=False)
        assert edge.reload_models()
        for samples in bt.live:
            clock.set(samples[0].ts)
            for s in samples:
                edge.on_message(topic_of(s), encode_sample(s))
        return store.list_interventions(open_only=False)


@pytest.mark.parametrize("case", ["failure-reported", "failure-unreported"])
def test_replay_track_record_equals_the_live_report_of_the_same_data(
    backtest: Backtest, tmp_path: Path, case: str,
) -> None:
    """The record a replay prints is the one ``andon report track-record`` computes for the
    same history: the live edge's interventions kept as a shadow version's (a rollout puts
    version 1 in shadow on the line) beside the same imported work orders. Every figure
    matches: counts, precision, recall, false alarms per asset-week, lead times, misses.

    With the p-101 failure reported, its intervention is confirmed and the failure detected;
    unreported, the intervention is a false alarm once the horizon (24 h) has passed. The
    p-102 failure nobody warned of is missed either way."""
    rows = ["external_id,asset,opened_at,type,failure_confirmed,failure_mode",
            f"WO-3,p-102,{(START + timedelta(hours=60)).isoformat()},corrective,no,seal leak"]
    if case == "failure-reported":
        rows.append(f"WO-1,Pump P-101,{backtest.failure.isoformat()},corrective,yes,bearing")
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join(rows) + "\n", encoding="utf-8")
    start, end = START + WARMUP, backtest.failure + timedelta(days=2)

    with open_store(f"sqlite:///{tmp_path / 'plant.db'}") as plant:
        ctx = Context(plant, ManualClock(end + timedelta(days=30)), PlantRef(backtest.spec))
        assert import_work_orders(ctx, Actor.system(), orders).record.new == len(rows) - 1
        plant.save_rollout(start_rollout("pump-bearing", "pump-bearing", "1", pilot=LINE,
                                         at=START, by="test", reason="shadow pilot"), 0)
        raised = _live_run(backtest, tmp_path)
        assert raised
        for iv in raised:  # what a shadow version's edge hands the central side
            assert plant.save_shadow_intervention(iv)
        live = track_record(ctx, start=start, end=end, mode="shadow",
                            use_cases=["pump-bearing"])

    summary = replay_export(HistorianExport(backtest.export), backtest.spec, ["pump-bearing"],
                            backtest.models, since=start, until=end,
                            work_orders=read_work_orders(orders, backtest.spec).orders)
    replayed = summary.records
    assert [r.to_dict() for r in replayed] == [r.to_dict() for r in live]
    assert [[(j.intervention.id, j.verdict, j.lead_time) for j in r.judged] for r in replayed] \
        == [[(j.intervention.id, j.verdict, j.lead_time) for j in r.judged] for r in live]
    [record] = replayed
    assert (record.model, record.version, record.scope, record.mode) == (
        "pump-bearing", "1", LINE, "shadow")
    assert record.raised == len(raised)
    assert [f.source for f in record.missed_failures] == ["WO-3"]
    if case == "failure-reported":
        assert (record.confirmed, record.false_alarms, record.detected, record.missed) == (
            len(raised), 0, 1, 1)
        assert record.precision == 1.0
        assert record.recall == 0.5
        assert record.lead_times[0] == backtest.failure - raised[-1].lifecycle.raised_at
    else:
        assert (record.confirmed, record.false_alarms, record.detected, record.missed) == (
            0, len(raised), 0, 1)
        assert record.precision == 0.0
        assert record.false_alarms_per_asset_week == pytest.approx(
            len(raised) / (2 * (end - start) / timedelta(days=7)))
    out = io.StringIO()
    write_csv(replayed, out)
    assert out.getvalue().splitlines()[1].startswith(f"pump-bearing,1,{LINE},shadow,")


@pytest.mark.parametrize("times", ["iso-and-epoch", "epoch"])
def test_the_fast_path_gives_what_scoring_each_window_as_it_closes_gives(
    backtest: Backtest, tmp_path: Path, times: str,
) -> None:
    """Batched scoring with the gate in memory (the default) against ``exact`` (each window
    scored as it closes, the gate in a SQLite store, as ``andon edge`` runs): the same
    windows, scores, detections, interventions (evidence included) and track record. With
    epoch-ms times only, the fast path also reads the file column-wise."""
    export = backtest.export
    if times == "epoch":
        export = tmp_path / "epoch.csv"
        _write_long_csv(export, backtest.live, iso=False)
    orders = tmp_path / "orders.csv"
    orders.write_text("external_id,asset,opened_at,type,failure_confirmed\n"
                      f"WO-1,p-101,{backtest.failure.isoformat()},corrective,yes\n",
                      encoding="utf-8")
    wos = read_work_orders(orders, backtest.spec).orders
    runs = {}
    for exact in (False, True):
        scores, ivs = io.StringIO(), io.StringIO()
        summary = replay_export(HistorianExport(export), backtest.spec,
                                "pump-bearing", backtest.models, scores=scores,
                                interventions=ivs, exact=exact, work_orders=wos)
        runs[exact] = (summary, scores.getvalue(), ivs.getvalue())
    (fast, fast_scores, fast_ivs), (slow, slow_scores, slow_ivs) = runs[False], runs[True]
    assert fast.path.startswith("fast")
    assert slow.path.startswith("per-sample")
    assert slow.path.endswith("reader: rows (csv module)")
    assert ("reader: columnar (pyarrow)" if times == "epoch" else
            "not columnar: not plain typed columns") in fast.path
    assert (fast.windows, fast.scored, fast.anomalies) == (slow.windows, slow.scored,
                                                          slow.anomalies)
    assert slow.anomalies > 10
    got = list(csv.DictReader(io.StringIO(fast_scores)))
    want = list(csv.DictReader(io.StringIO(slow_scores)))
    assert len(got) == len(want) == slow.scored
    for g, w in zip(got, want, strict=True):
        assert {k: v for k, v in g.items() if k != "score"} == {
            k: v for k, v in w.items() if k != "score"}
        assert float(g["score"]) == pytest.approx(float(w["score"]), rel=1e-9, abs=1e-9)
    assert fast_ivs == slow_ivs
    assert len(fast.interventions) == len(slow.interventions) >= 1
    for a, b in zip(fast.interventions, slow.interventions, strict=True):
        assert a.score == pytest.approx(b.score, rel=1e-9)
        assert (a.id, a.asset, a.detected_at, a.deadline, a.action) == (
            b.id, b.asset, b.detected_at, b.deadline, b.action)
    assert [r.to_dict() for r in fast.records] == [r.to_dict() for r in slow.records]
    assert fast.records[0].detected == 1


def test_the_summary_says_when_a_first_detection_is_beyond_the_horizon() -> None:
    """A failure 61 h after the first detection is a lead time to the old summary line, but
    the track record (horizon 24 h) calls the intervention a false alarm: the line says so."""
    detected = START + timedelta(hours=5)
    summary = ReplaySummary("x.csv", "pump-bearing", "pump-bearing v1", start=START,
                            end=START + timedelta(days=5), horizon=timedelta(hours=24),
                            first_detections=[
                                LeadTime("p-101", detected, detected + timedelta(hours=61)),
                                LeadTime("p-102", detected, detected + timedelta(hours=3))])
    text = summary.lines()
    [far] = [line for line in text if "first detection on p-101" in line]
    [near] = [line for line in text if "first detection on p-102" in line]
    assert far.endswith("lead time 61.0 h (beyond the 24.0 h horizon: the track record does "
                        "not count it as a warning of that failure)")
    assert near.endswith("lead time 3.0 h")
