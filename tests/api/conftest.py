"""HTTP fixtures: a real SQLite store, a manual clock, one user per access level."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

with warnings.catch_warnings():
    # Starlette 1.x asks for the `httpx2` package; the dev extra pins `httpx`, which still
    # works. Only this import-time notice is silenced; every other warning stays an error.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from andon.api import create_app
from andon.clock import ManualClock
from andon.store import SqlStore
from andon.testing.factories import add_token, add_user

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI

    from andon.auth.access import User
    from andon.spec import PlantSpec

PASSWORD = "correct horse battery staple"
DEMO_SPEC_TEXT = (Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml").read_text(
    encoding="utf-8",
)
SESSION_TTL_S = 8 * 3600.0


@dataclass(frozen=True)
class Login:
    """A user with a live bearer token."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def logins(store: SqlStore, clock: ManualClock) -> dict[str, Login]:
    """access level -> a user of that level (password PASSWORD) and a token valid for a day."""
    out = {}
    for access in ("viewer", "operator", "engineer", "admin"):
        user = add_user(store, access, access=access, password=PASSWORD)
        out[access] = Login(user, add_token(store, user.username, clock.now() + timedelta(days=1)))
    return out


@pytest.fixture
def app(store: SqlStore, demo_spec: PlantSpec, clock: ManualClock) -> FastAPI:
    return create_app(store, demo_spec, clock=clock, session_ttl_s=SESSION_TTL_S)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that does not follow redirects (so tests see 303s and cookies)."""
    with TestClient(app, follow_redirects=False) as c:
        yield c
