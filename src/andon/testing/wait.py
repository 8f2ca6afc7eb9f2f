"""Bounded waits for conditions a test can only observe: ``eventually`` and ``await until``.

Prefer an event where the code offers one (``await asyncio.wait_for(ready.wait(), 30)``).
When the thing to wait for can only be looked at (a counter, a row in a database, a server's
``started`` flag), poll it with these: the condition is checked at once, then again after a
short bounded pause, until it holds or the deadline passes. On timeout they raise
``WaitTimeout`` (an ``AssertionError``, so a test fails rather than errors) naming ``what`` was
awaited and, when ``state`` is given, what was last seen::

    row = eventually(lambda: store.get_user("ana"), "ana's account", timeout_s=5,
                     state=lambda: store.events(limit=3))
    await until(lambda: sink.samples, "a first sample", wake=sink.arrived)

The condition's first truthy value is returned. An exception raised by the condition ends the
wait at once (e.g. ``assert thread.is_alive()`` to stop waiting for a server that died). With
``wake`` (an ``asyncio.Event`` for ``until``, a ``threading.Event`` for ``eventually``) the wait
between two checks ends as soon as the event is set, so an event that announces changes makes
the wait prompt while ``every_s`` stays a safety net for changes it does not announce. The
event is cleared before each check; give each waiter its own event.

No pytest here: plug-in authors use these outside pytest too.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

__all__ = ["DEFAULT_EVERY_S", "DEFAULT_TIMEOUT_S", "WaitTimeout", "eventually", "until"]

T = TypeVar("T")

#: how long a wait lasts unless told otherwise: generous, since a loaded 2-core CI machine is
#: slow and a wait that holds returns as soon as it holds
DEFAULT_TIMEOUT_S = 30.0
#: the pause between two checks when nothing announces a change
DEFAULT_EVERY_S = 0.05
#: the longest pause between two checks when a ``wake`` event announces changes
WAKE_EVERY_S = 0.5


class WaitTimeout(AssertionError):
    """A condition did not hold in time; ``str`` names what was awaited and what was seen."""

    def __init__(self, what: str, timeout_s: float, seen: str | None = None) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.seen = seen
        message = f"timed out after {timeout_s:g} s waiting for {what}"
        super().__init__(message if seen is None else f"{message}; last seen: {seen}")


def eventually(condition: Callable[[], T], what: str, timeout_s: float = DEFAULT_TIMEOUT_S, *,
               every_s: float | None = None, state: Callable[[], object] | None = None,
               wake: threading.Event | None = None) -> T:
    """Block until ``condition()`` is truthy and return that value (``WaitTimeout`` if not).

    ``every_s``: the longest pause between two checks (0.05 s; 0.5 s with ``wake``).
    ``state``: called on timeout to describe what was last seen (its ``str`` goes in the
    message). ``wake``: a ``threading.Event`` set when something changed.
    """
    pause = _pause(every_s, wake is not None)
    deadline = time.monotonic() + timeout_s
    while True:
        if wake is not None:
            wake.clear()
        value = condition()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timeout(what, timeout_s, state)
        if wake is not None:
            wake.wait(min(left, pause))
        else:
            time.sleep(min(left, pause))  # polling an observable condition under a deadline


async def until(condition: Callable[[], T | Awaitable[T]], what: str,
                timeout_s: float = DEFAULT_TIMEOUT_S, *, every_s: float | None = None,
                state: Callable[[], object] | None = None,
                wake: asyncio.Event | None = None) -> T:
    """Wait, without blocking the event loop, until ``condition()`` is truthy; return it.

    Like ``eventually``; ``condition`` may also be a coroutine function (it is awaited), and
    ``wake`` is an ``asyncio.Event``.
    """
    pause = _pause(every_s, wake is not None)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        if wake is not None:
            wake.clear()
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return cast("T", value)
        left = deadline - loop.time()
        if left <= 0:
            raise _timeout(what, timeout_s, state)
        if wake is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(left, pause))
        else:
            await asyncio.sleep(min(left, pause))  # polling an observable condition


def _pause(every_s: float | None, woken: bool) -> float:
    if every_s is None:
        return WAKE_EVERY_S if woken else DEFAULT_EVERY_S
    if every_s <= 0:
        raise ValueError(f"every_s must be positive, got {every_s!r}")
    return every_s


def _timeout(what: str, timeout_s: float, state: Callable[[], object] | None) -> WaitTimeout:
    if state is None:
        return WaitTimeout(what, timeout_s)
    try:
        seen = str(state())
    except Exception as exc:  # noqa: BLE001 - the timeout matters more than the description
        seen = f"(describing the state failed: {exc!r})"
    return WaitTimeout(what, timeout_s, seen)
