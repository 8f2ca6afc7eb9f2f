"""The demo plant's recorded past: two weeks of Andon on the cooling-water line, replayed.

A track record is only worth showing once it has something in it. Before the live stream
starts, the demo writes the plant's last two weeks into the store the way they would have
happened: the reference models are trained on a healthy stretch before that fortnight and
promoted (their ``model_promoted`` events carry that date), a challenger of ``pump-bearing``
is trained on the last day of it and rolled out in shadow on the cooling-water line, and then
a few fault episodes of the line run through the **live edge** (``build_edge`` on the demo's
store, a clock that follows the data): production raises and stores its interventions, the
shadow version its would-be ones. What people did is written with the application's own use
cases, as the planner and the CMMS would have: an acknowledged intervention done with the
outcome *fault confirmed* and a corrective work order with the failure, an inspection that
found *no fault* (a sensor stepped out of calibration: a false alarm), and a seal failure
that gave no warning in the data (a missed failure). Every figure the track record then shows
(``andon report track-record``, the ``/track-record`` and ``/rollouts`` pages, the inbox's
"right N of M times") is computed from these records by the same code as any plant's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from andon.app import Actor, Context, PlantRef, record_outcome
from andon.app import move as move_intervention
from andon.clock import ManualClock
from andon.edge import build_edge
from andon.feedback.answers import Via
from andon.feedback.workorders import WorkOrder, WorkType
from andon.simulator import Fault, PlantSimulator, Scenario
from andon.spec.model import PlantSpec
from andon.store import SqlStore

__all__ = ["CHALLENGED", "EPISODES", "FIRST_SEQ", "HISTORY", "PILOT_LINE", "Episode",
           "history_start", "replay_history"]

#: how far back the demo plant's recorded history reaches before the live stream
HISTORY = timedelta(days=14)
#: the line the challenger is rolled out on (in shadow), and its use case
PILOT_LINE = "cooling-water"
CHALLENGED = "pump-bearing"
#: the healthy stretch before the history counts its sources from here, apart from the
#: live simulation's sequence numbers (which start at 0)
FIRST_SEQ = 1_000_000_000
#: healthy running simulated before an episode's fault, so the windows are full
_LEAD_IN = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class Episode:
    """One event of the history on ``asset``: its failure (or end) ``at`` after the start.

    ``failure``: bearing wear for ``wear`` ending in a confirmed failure (a corrective work
    order); ``false_alarm``: the bearing temperature sensor steps out of calibration for
    ``wear``, the planner inspects and finds no fault; ``sudden``: a seal failure with no
    precursor in the data.
    """

    asset: str
    at: timedelta
    kind: Literal["failure", "false_alarm", "sudden"]
    wear: timedelta = timedelta(hours=8)


def _t(day: int, hour: int) -> timedelta:
    return timedelta(days=day, hours=hour)


#: spaced more than the use case's horizon (24 h) apart, so each is judged on its own, and in
#: the afternoon (UTC), away from the pilot line's planned stops (a failure found in a planned
#: stop counts neither as detected nor as missed)
EPISODES = (
    Episode("p-101", _t(3, 15), "failure", timedelta(hours=8)),
    Episode("p-102", _t(5, 16), "false_alarm", timedelta(hours=6)),
    Episode("p-102", _t(7, 14), "failure", timedelta(hours=12)),
    Episode("p-101", _t(9, 17), "sudden"),
    Episode("p-101", _t(11, 15), "failure", timedelta(hours=6)),
)


def history_start(live_start: datetime) -> datetime:
    """Midnight (UTC) ``HISTORY`` before ``live_start``.

    Episode times then do not depend on the hour the demo was started at.
    """
    return (live_start - HISTORY).replace(hour=0, minute=0, second=0, microsecond=0)


def replay_history(spec: PlantSpec, store: SqlStore, models: Path, trusted: Path, *,
                   start: datetime, seed: int, actor: Actor, say: Callable[[str], None],
                   ) -> int:
    """Run ``EPISODES`` from ``start`` through the live edge; interventions raised live.

    The models must already be trained, signed and in production, and the challenger rolled
    out (``andon.services.demo.warm_up`` does this, dated ``start``).
    """
    clock = ManualClock(start)
    edge = build_edge(spec, store, models, clock=clock, trusted_keys=trusted,
                      lines={PILOT_LINE}, record=False)
    edge.reload_models()
    ctx = Context(store, clock, PlantRef(spec))
    planner = Actor(next((p.id for p in spec.people if p.role == "maintenance_planner"),
                         actor.name), "maintenance_planner", "operator", Via.WEB)
    raised = 0
    for n, ep in enumerate(EPISODES, start=1):
        at = start + ep.at
        if ep.kind == "sudden":
            _work_order(store, ep, at, n, "mechanical seal leak; no warning beforehand",
                        clock=clock)
            say(f"History         {at:%a %d %b %H:%M} UTC: sudden seal failure on {ep.asset}, "
                "nothing in the data before it (a corrective work order)")
            continue
        begin = at - ep.wear - _LEAD_IN
        fault = (Fault("bearing_wear", asset=ep.asset, start_s=_LEAD_IN.total_seconds(),
                       end_s=(_LEAD_IN + ep.wear).total_seconds())
                 if ep.kind == "failure" else
                 Fault("calibration_step", asset=ep.asset, tag="bearing_temp",
                       start_s=_LEAD_IN.total_seconds(),
                       end_s=(_LEAD_IN + ep.wear).total_seconds(), offset=15.0))
        sim = PlantSimulator(spec, seed=seed + n, start=begin, scenario=Scenario((fault,)),
                             lines={PILOT_LINE})
        before = {iv.id for iv in store.list_interventions(open_only=False, limit=10_000)}
        for samples in sim.run_until(at):
            for s in samples:
                edge.on_sample(s)
            clock.set(sim.now)
        edge.flush()
        mine = [iv for iv in store.list_interventions(open_only=False, limit=10_000)
                if iv.id not in before and iv.asset == ep.asset]
        raised += len(mine)
        for iv in mine:  # the planner went and looked
            clock.set(max(clock.now(), iv.detected_at + timedelta(hours=1)))
            move_intervention(ctx, planner, iv.id, "acknowledged")
            move_intervention(ctx, planner, iv.id, "done")
            if ep.kind == "failure":
                record_outcome(ctx, planner, iv.id, "fault_confirmed",
                               "drive-end bearing worn; replaced at the next stop")
            else:
                record_outcome(ctx, planner, iv.id, "no_fault",
                               "bearing fine; temperature sensor recalibrated")
        if ep.kind == "failure":
            _work_order(store, ep, at, n, "drive-end bearing worn out; bearing replaced",
                        clock=clock)
        say(f"History         {at:%a %d %b %H:%M} UTC: {ep.kind.replace('_', ' ')} on "
            f"{ep.asset}; production raised {len(mine)} intervention(s)")
    clock.set(max(clock.now(), start + HISTORY))
    return raised


def _work_order(store: SqlStore, ep: Episode, at: datetime, n: int, text: str, *,
                clock: ManualClock) -> None:
    """The CMMS's corrective work order confirming a failure, as an import would bring it."""
    order = WorkOrder(external_id=f"WO-DEMO-{n:03d}", asset=ep.asset, opened_at=at,
                      type=WorkType.CORRECTIVE, failure_confirmed=True,
                      closed_at=at + timedelta(hours=4), failure_mode=text.split(";", 1)[0],
                      description=text, source="demo history")
    store.upsert_work_orders([order], max(clock.now(), at))
