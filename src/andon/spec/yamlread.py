"""Reading untrusted YAML without exhausting the stack: a nesting bound.

PyYAML composes a document recursively, so text such as ``[[[[...`` (4 KB of it) raises
``RecursionError`` deep inside the library. ``BoundedLoader`` is PyYAML's ``SafeLoader`` that
refuses, with a marked ``NestingError``, any value nested deeper than ``MAX_DEPTH`` levels,
before the recursion gets anywhere near Python's limit. A plant spec nests about ten levels
(``sites[0].areas[0].lines[0].assets[0].tags[0].range``), so the bound never refuses a plant.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "BoundedLoader", "NestingError", "nesting_reason"]

#: how deeply a YAML value may nest (lists and mappings inside each other)
MAX_DEPTH = 64


def nesting_reason(depth: int = MAX_DEPTH) -> str:
    """The one-line reason a value nested deeper than ``depth`` levels is refused with."""
    return (f"values are nested more than {depth} levels deep; a plant spec needs about ten "
            "(write the data flatter)")


class NestingError(yaml.composer.ComposerError):
    """A YAML value nested deeper than ``MAX_DEPTH`` levels; ``problem_mark`` is where."""


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing values nested deeper than ``MAX_DEPTH`` (``NestingError``)."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, counting how deep it sits."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise NestingError(None, None, nesting_reason(), mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
