"""Unique ids and topic prefixes: valid where they go, never the same twice."""

from __future__ import annotations

import re

import pytest

from andon.testing import topic_prefix, unique_id

SPEC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # andon.spec.model's id pattern


def test_unique_ids_are_spec_ids_and_differ() -> None:
    got = {unique_id() for _ in range(200)}
    assert len(got) == 200
    assert all(SPEC_ID.match(i) and i.startswith("t") for i in got)
    assert re.fullmatch(r"fz[0-9a-f]{8}", unique_id("fz"))


def test_topic_prefixes_live_under_one_root_without_wildcards() -> None:
    prefix = topic_prefix("batch")
    assert re.fullmatch(r"andon-test/batch/[0-9a-f]{8}", prefix)
    assert prefix != topic_prefix("batch")


@pytest.mark.parametrize("stem", ["", "T", "a/b", "a+", "#", "9x", "x" * 40])
def test_a_stem_that_would_make_a_bad_id_is_refused(stem: str) -> None:
    with pytest.raises(ValueError, match="lowercase"):
        unique_id(stem)
    with pytest.raises(ValueError, match="lowercase"):
        topic_prefix(stem)
