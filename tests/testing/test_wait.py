"""``eventually`` and ``until``: return the first truthy value, wake on an event, give up at the
deadline with a message naming what was awaited and what was last seen."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from andon.testing import WaitTimeout, eventually, until


def test_eventually_returns_the_first_truthy_value() -> None:
    calls = iter([0, None, "", "ready", "later"])
    assert eventually(lambda: next(calls), "a value", timeout_s=5, every_s=0.001) == "ready"


def test_eventually_names_what_and_the_last_state_on_timeout() -> None:
    seen = {"n": 0}

    def never() -> bool:
        seen["n"] += 1
        return False

    with pytest.raises(WaitTimeout, match=r"timed out after 0.05 s waiting for the moon; "
                                          r"last seen: \d+ checks") as info:
        eventually(never, "the moon", timeout_s=0.05, every_s=0.01,
                   state=lambda: f"{seen['n']} checks")
    assert isinstance(info.value, AssertionError), "a failed wait fails the test"
    assert info.value.what == "the moon"
    assert seen["n"] >= 2, "checked again before giving up"


def test_a_state_that_fails_to_describe_itself_does_not_hide_the_timeout() -> None:
    with pytest.raises(WaitTimeout, match="describing the state failed: ZeroDivisionError"):
        eventually(lambda: False, "x", timeout_s=0.01, state=lambda: 1 / 0)


def test_an_exception_in_the_condition_ends_the_wait_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="server died"):
        eventually(lambda: (_ for _ in ()).throw(RuntimeError("server died")), "x",
                   timeout_s=30)
    assert time.monotonic() - started < 5


def test_eventually_wakes_on_its_event_before_the_pause_is_over() -> None:
    wake = threading.Event()
    box: list[int] = []

    def later() -> None:
        time.sleep(0.05)
        box.append(1)
        wake.set()

    threading.Thread(target=later).start()
    started = time.monotonic()
    assert eventually(lambda: box, "the box filled", timeout_s=10, every_s=5, wake=wake) == [1]
    assert time.monotonic() - started < 4, "woken by the event, not by the 5 s pause"


def test_every_s_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every_s must be positive"):
        eventually(lambda: True, "x", every_s=0)


def test_until_awaits_a_coroutine_condition_and_wakes_on_an_asyncio_event() -> None:
    async def story() -> None:
        wake = asyncio.Event()
        box: list[str] = []

        async def fill() -> None:
            await asyncio.sleep(0.05)
            box.append("x")
            wake.set()

        async def filled() -> list[str]:
            return box

        task = asyncio.ensure_future(fill())
        started = asyncio.get_running_loop().time()
        assert await until(filled, "the box filled", 10, every_s=5, wake=wake) == ["x"]
        assert asyncio.get_running_loop().time() - started < 4
        await task
        with pytest.raises(WaitTimeout, match="waiting for nothing; last seen: \\['x'\\]"):
            await until(lambda: False, "nothing", 0.05, state=lambda: box)

    asyncio.run(story())
