"""``housekeeping``: a batch that cannot be forwarded is still written on the edge."""

from __future__ import annotations

import asyncio
from typing import Any

from andon.audit import Event
from andon.clock import utc
from andon.edge.runtime import housekeeping
from andon.namespace.sample import Sample

_AT = utc(2026, 3, 2, 7, 0)


class _Edge:
    """The parts of ``Edge`` housekeeping calls, recording what was written."""

    def __init__(self) -> None:
        self.written: list[tuple[Any, ...]] = []

    def take_pending(self) -> tuple[list[Sample], list[Event], list[Any]]:
        return [], [Event("model_loaded", "pump-bearing", "v1", _AT)], []

    def write(self, *batch: Any) -> int:
        self.written.append(batch)
        return 0

    def reload_models(self) -> None:
        pass

    def release_queued(self) -> int:
        return 0


def _broken_forward(samples: list[Sample], events: list[Event]) -> None:
    del samples, events
    raise OSError(28, "No space left on device")


def test_a_failed_forward_neither_loses_the_batch_nor_stops_the_loop() -> None:
    edge = _Edge()
    turns = iter([True, True, False])  # two passes, then stop

    async def run() -> None:
        await housekeeping(edge, asyncio.Event(), flush_every_s=0.0,  # type: ignore[arg-type]
                           running=lambda: next(turns), forward=_broken_forward)

    asyncio.run(run())
    assert len(edge.written) == 2
    assert edge.written[0][1][0].kind == "model_loaded"
