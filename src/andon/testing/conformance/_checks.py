"""What the conformance checks share: ``raises`` (pytest's, without pytest) and ``close``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Raised", "close", "raises"]


@dataclass
class Raised:
    """The exception ``raises`` caught (``value``, once the block is left), for more checks."""

    caught: BaseException | None = None

    @property
    def value(self) -> BaseException:
        """The exception the block raised."""
        if self.caught is None:
            raise AssertionError("nothing was raised (yet)")
        return self.caught


@contextmanager
def raises(expected: type[BaseException], match: str | None = None) -> Iterator[Raised]:
    """Fail unless the block raises ``expected`` whose ``str`` matches ``match`` (a regex)."""
    raised = Raised()
    try:
        yield raised
    except expected as exc:
        raised.caught = exc
        if match is not None and not re.search(match, str(exc)):
            raise AssertionError(f"{type(exc).__name__} raised, but {str(exc)!r} does not "
                                 f"match {match!r}") from exc
    else:
        raise AssertionError(f"{expected.__name__} not raised")


def close(got: Sequence[float], want: Sequence[float], rel: float = 1e-6) -> bool:
    """Whether two sequences of numbers are equal up to a relative tolerance (``approx``)."""
    return len(got) == len(want) and all(
        math.isclose(g, w, rel_tol=rel, abs_tol=1e-12) for g, w in zip(got, want, strict=True))
