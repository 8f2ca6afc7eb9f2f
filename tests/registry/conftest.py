"""A small real model version on disk and a plant key pair, for the registry's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from andon.clock import ManualClock
from andon.registry import Registry, generate_keypair
from andon.scoring import PcaSpeModel
from andon.store import SqlStore, open_store
from andon.testing.factories import T0
from andon.testing.factories import small_model as fit_small_model


@pytest.fixture(scope="session")
def small_model() -> PcaSpeModel:
    return fit_small_model()


@dataclass
class Keys:
    private: Path
    public: Path
    key_id: str
    trusted: Path  # directory holding only this key's public half


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    private, public, key_id = generate_keypair(tmp_path / "keys", "plant")
    trusted = tmp_path / "keys" / "trusted"
    trusted.mkdir()
    (trusted / public.name).write_bytes(public.read_bytes())
    return Keys(private, public, key_id, trusted)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(f"sqlite:///{tmp_path / 'andon.db'}")
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def registry(store: SqlStore, clock: ManualClock, tmp_path: Path, keys: Keys) -> Registry:
    return Registry(store, clock, tmp_path / "models", trusted_keys=keys.trusted)
