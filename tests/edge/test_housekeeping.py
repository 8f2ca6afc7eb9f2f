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


class _Intake:
    """The parts of ``UnsConnector`` housekeeping calls: a mark per turn, acknowledgements."""

    def __init__(self, order: list[str]) -> None:
        self.order = order
        self.acks_due = asyncio.Event()
        self.handed = 0

    def ack_mark(self) -> int:
        self.handed += 10  # ten more messages handed over since the last turn
        self.order.append(f"mark {self.handed}")
        return self.handed

    def acknowledge(self, mark: int) -> int:
        self.order.append(f"ack {mark}")
        if mark == 10:  # ten more waited meanwhile: acknowledgements are due again
            self.acks_due.set()
        else:
            self.acks_due.clear()
        return 10


class _OrderedEdge(_Edge):
    def __init__(self, order: list[str]) -> None:
        super().__init__()
        self.order = order

    def take_pending(self) -> tuple[list[Sample], list[Event], list[Any]]:
        self.order.append("take")
        return super().take_pending()

    def write(self, *batch: Any) -> int:
        self.order.append("write")
        return super().write(*batch)


def test_messages_are_acknowledged_after_their_batch_is_written_and_as_soon_as_due() -> None:
    """The mark is taken right before the batch, acknowledged after its write; ``acks_due``
    starts a turn at once (``flush_every_s`` here is far longer than the test may take)."""
    order: list[str] = []
    edge, intake = _OrderedEdge(order), _Intake(order)
    intake.acks_due.set()
    turns = iter([True, True, False])

    async def run() -> None:
        await asyncio.wait_for(housekeeping(
            edge, asyncio.Event(), flush_every_s=60.0, running=lambda: next(turns),  # type: ignore[arg-type]
            intake=intake), 10)  # type: ignore[arg-type]

    asyncio.run(run())
    assert order == ["mark 10", "take", "write", "ack 10", "mark 20", "take", "write", "ack 20"]
