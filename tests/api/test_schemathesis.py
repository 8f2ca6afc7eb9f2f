"""Every JSON API operation, fuzzed from its own OpenAPI document: no 5xx, answers as described.

Schemathesis turns the document the app serves (``GET /api/openapi.json``) into one test per
operation. Each runs the schema's boundary cases (the coverage phase: a value just past each
bound, a missing field, a wrong type) and ``max_examples`` generated requests that fit or break
the document, in process over ASGI (no socket), signed in as an administrator with a bearer
token. Every answer must not be a server error and must match the document: its status
documented, its content type and its body those of that status (``ErrorOut`` for every
error). Bounded for CI: 15 examples per operation, derandomized (the same requests on every
run), no example database; about 30 s for every operation on two cores.

Schemathesis 4's ``from_fixture`` (a schema loaded per test) does not run under pytest 9, so
the document is read once at import from an app over a throwaway store; each test then calls
the app of its own fixtures (a fresh store, users, one stored intervention).
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from andon.api import create_app, route_table
from andon.api.errors import is_api_path
from andon.spec import load_spec
from andon.store import open_store
from andon.testing.factories import add_token

if TYPE_CHECKING:
    from fastapi import FastAPI

    from andon.clock import ManualClock
    from andon.interventions.record import Intervention
    from andon.store import SqlStore

    from .conftest import Login

DEMO_SPEC = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: the operation that revokes the token it is called with gets a fresh token per request
REVOKES_ITSELF = ("DELETE", "/api/tokens/current")


def _document() -> dict[str, Any]:
    """The OpenAPI document as the app serves it (the store is never read for it)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'openapi.db'}")
        try:
            return create_app(store, load_spec(DEMO_SPEC)).openapi()
        finally:
            store.close()


schema = schemathesis.openapi.from_dict(_document())


@schema.parametrize()
@settings(max_examples=15, derandomize=True, database=None, deadline=None, print_blob=False,
          suppress_health_check=list(HealthCheck))
def test_operation_answers_no_5xx_and_as_documented(
    case: Any, app: FastAPI, logins: dict[str, Login], *, store: SqlStore, clock: ManualClock,
    iv: Intervention,
) -> None:
    del iv  # one stored intervention, so generated ids can meet a record
    admin = logins["admin"]
    headers = admin.headers
    if (case.operation.method.upper(), case.operation.path) == REVOKES_ITSELF:
        token = add_token(store, admin.user.username, clock.now() + timedelta(days=1))
        headers = {"Authorization": f"Bearer {token}"}
    case.call_and_validate(headers=headers, checks=CHECKS, app=app)


def test_every_json_route_is_in_the_document_so_it_is_fuzzed(app: FastAPI) -> None:
    """A route left out of the document would escape the fuzzing; only the document is."""
    fuzzed = {(r.ok().method.upper(), r.ok().path) for r in schema.get_all_operations()}
    routes = {(method, path) for method, path, _ in route_table(app)  # the API page is HTML
              if path.startswith("/api/") and is_api_path(path) and path != "/api/openapi.json"}
    assert routes == fuzzed
