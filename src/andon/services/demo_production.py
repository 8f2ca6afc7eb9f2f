"""The demo plant's production past: line states and counters before and after Andon.

So that ``andon report kpi`` and the ``/kpi`` page have a before and an after, the demo writes
the production tags (``production:`` in the spec) of its lines over two stretches the rest
of the warm-up does not simulate, as a historian import would:

* **before Andon** (``BASELINE`` before the models went live, up to the healthy warm-up):
  bearing failures on the cooling-water line ran to breakdown and waited for parts
  (``BASELINE_OUTAGES``);
* **the recorded fortnight** (``demo_history``): each failure of its episodes stops the line
  for the four hours of its corrective work order.

The figures are the simulator's (``andon.simulator.production``); the outages are this
script's story, written here and in docs/kpi.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from andon.clock import to_ms
from andon.services.demo_history import EPISODES, PILOT_LINE
from andon.simulator.production import Outage, production_samples

if TYPE_CHECKING:
    from andon.spec.model import PlantSpec
    from andon.store import Store

__all__ = ["BASELINE", "BASELINE_OUTAGES", "REPAIR", "WEAR_AFTER", "WEAR_BEFORE",
           "write_production_history"]

#: how far before the models went live the production past reaches
BASELINE: Final = timedelta(days=16)
#: before Andon: (start after the baseline's start, length) of run-to-failure outages; the
#: worn bearing made off-spec batches for a day before each
BASELINE_OUTAGES: Final = ((timedelta(days=2, hours=15), timedelta(hours=11)),
                           (timedelta(days=6, hours=16), timedelta(hours=9)),
                           (timedelta(days=10, hours=14), timedelta(hours=12)),
                           (timedelta(days=13, hours=15), timedelta(hours=8)))
#: how long a bearing wore (making scrap) before a failure, before and with Andon (found
#: early, replaced at the next stop)
WEAR_BEFORE: Final = timedelta(hours=24)
WEAR_AFTER: Final = timedelta(hours=6)
#: a failure of the recorded fortnight stops the line this long (its work order's repair)
REPAIR: Final = timedelta(hours=4)
#: sequence numbers of these stretches, apart from every other run of the line's source
_FIRST_SEQ: Final = 3_000_000_000
_BATCH: Final = 20_000
#: left unsimulated where a stretch meets another simulation: a gap the KPIs see and flag
_SEAM: Final = timedelta(minutes=10)


def write_production_history(spec: PlantSpec, store: Store, *, live: datetime,
                             warm_up: timedelta, end: datetime, seed: int) -> int:
    """Write every production line's tags before and after ``live``; the samples written.

    Over ``[live - BASELINE, live - warm_up)`` and ``[live, end)``, each less ``_SEAM`` where
    it meets another simulation (so no counter runs across two). ``live``: when the models
    went live.
    """
    episodes = [Outage(live + ep.at, live + ep.at + REPAIR,
                       WEAR_AFTER if ep.kind == "failure" else timedelta(0))
                for ep in EPISODES if ep.kind in {"failure", "sudden"}]
    start = live - BASELINE
    before = [Outage(start + at, start + at + length, WEAR_BEFORE)
              for at, length in BASELINE_OUTAGES]
    written = 0
    for _s, _a, line in spec.lines():
        if line.production is None:
            continue
        outages = [*before, *episodes] if line.id == PILOT_LINE else []
        for n, (a, b) in enumerate(((start, live - warm_up - _SEAM), (live + _SEAM,
                                                                      end - _SEAM))):
            pending = []
            for batch in production_samples(spec, line.id, seed=seed, start=a, end=b,
                                            outages=outages,
                                            first_seq=_FIRST_SEQ + n * 100_000_000):
                pending += batch
                if len(pending) >= _BATCH:
                    written += store.add_samples(pending, to_ms(b))
                    pending = []
            written += store.add_samples(pending, to_ms(b))
    return written
