"""Integers out of the store's range are refused as input, never a 500.

A 64-bit column holds 0..2**63 - 1 for our ids and versions; 2**63 once reached the database
driver and overflowed (a 500 on six operations). Every integer in a path or query of the JSON
API (found from the app's own OpenAPI document, so a new route is covered when it is added)
and every integer id in a body gets 2**63, 2**64 and -1, signed in as an administrator with
an otherwise valid request: the answer is 404 or 422 with the one-line error body.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from andon.api import create_app
from andon.api.schemas import MAX_STORED_INT
from andon.spec import load_spec

from .conftest import TestClient

if TYPE_CHECKING:
    from andon.store import SqlStore

    from .conftest import Login

OUT_OF_RANGE = [2**63, 2**64, -1]
#: a valid body for each operation that takes one (so only the integer is wrong)
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/triage/{item_id}/label"): {"verdict": "normal", "note": ""},
    ("POST", "/api/models/{name}/{version}/promote"): {"reason": "bounds"},
    ("POST", "/api/models/{name}/{version}/archive"): {"reason": "bounds"},
}
#: integers inside bodies: (method, path with its other parameters filled), body builder
BODY_INTEGERS = [
    ("POST", "/api/rollouts/pump-bearing/start",
     lambda n: {"version": n, "pilot": "cooling-water", "reason": "bounds"}),
]


def _integer_inputs() -> list[tuple[str, str, str, str]]:
    """(method, path template, where, name) of every integer path or query parameter."""
    from pathlib import Path  # noqa: PLC0415
    from tempfile import TemporaryDirectory  # noqa: PLC0415

    from andon.store import open_store  # noqa: PLC0415

    demo = Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml"
    with TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'doc.db'}")
        try:
            doc = create_app(store, load_spec(demo)).openapi()
        finally:
            store.close()
    return [(method.upper(), path, param["in"], param["name"])
            for path, operations in doc["paths"].items()
            for method, op in operations.items()
            for param in op.get("parameters", [])
            if param["schema"].get("type") == "integer"]


INTEGER_INPUTS = _integer_inputs()


def test_the_six_id_operations_are_among_those_checked() -> None:
    paths = {(m, p) for m, p, where, _ in INTEGER_INPUTS if where == "path"}
    assert paths == {
        ("GET", "/api/triage/{item_id}"), ("POST", "/api/triage/{item_id}/label"),
        ("GET", "/api/quarantine/{item_id}"),
        ("POST", "/api/models/{name}/{version}/promote"),
        ("POST", "/api/models/{name}/{version}/archive"),
        ("GET", "/api/models/{name}/{version}/artifact"),
    }


def _url(path: str, where: str, name: str, value: int) -> tuple[str, dict[str, str]]:
    if where == "path":
        filled = path.replace(f"{{{name}}}", str(value))
        return re.sub(r"\{[^}]+\}", "pump-bearing", filled), {}
    return re.sub(r"\{[^}]+\}", "1", path), {name: str(value)}


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=["2^63", "2^64", "-1"])
@pytest.mark.parametrize(("method", "path", "where", "name"), INTEGER_INPUTS,
                         ids=[f"{m} {p} {n}" for m, p, _, n in INTEGER_INPUTS])
def test_an_out_of_range_integer_is_404_or_422(client: TestClient, logins: dict[str, Login], *,
                                               method: str, path: str, where: str, name: str,
                                               value: int) -> None:
    url, query = _url(path, where, name, value)
    response = client.request(method, url, params=query, json=BODIES.get((method, path)),
                              headers=logins["admin"].headers)
    assert response.status_code in {404, 422}, response.text
    error = response.json()["error"]
    assert "\n" not in error
    if value > MAX_STORED_INT and where == "path":
        assert error == f"path.{name}: Input should be less than or equal to {MAX_STORED_INT}"


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=["2^63", "2^64", "-1"])
@pytest.mark.parametrize(("method", "url", "body"), BODY_INTEGERS,
                         ids=[f"{m} {u}" for m, u, _ in BODY_INTEGERS])
def test_an_out_of_range_integer_in_a_body_is_422(client: TestClient, logins: dict[str, Login], *,
                                                  method: str, url: str, body: Any,
                                                  value: int) -> None:
    response = client.request(method, url, json=body(value), headers=logins["admin"].headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith("body.version: Input should be")


def test_the_largest_stored_id_is_an_ordinary_unknown_record(
    client: TestClient, logins: dict[str, Login], store: SqlStore,
) -> None:
    """2**63 - 1 is a valid id that no record has: 404 naming it, the store asked."""
    del store
    response = client.get(f"/api/quarantine/{MAX_STORED_INT}", headers=logins["admin"].headers)
    assert response.status_code == 404
    assert response.json() == {"error": f"quarantined message {MAX_STORED_INT} not found"}
