"""The pre-0.2 names keep working for one release, and say they are deprecated.

``/api/recommendations/...`` is served by ``/api/interventions/...`` (same permission, same
answer) with ``Deprecation: true`` and a ``Link`` to the successor; ``/api/labels?recommendation=``
reads as ``?intervention=``; ``andon recommendations`` is ``andon interventions``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typer.testing import CliRunner

from andon.cli.app import app as cli
from andon.interventions.record import Intervention
from andon.testing.factories import make_intervention

if TYPE_CHECKING:
    from andon.store import SqlStore
    from api.conftest import Login, TestClient


def test_the_old_paths_answer_as_the_new_ones_with_a_deprecation_header(
        client: TestClient, store: SqlStore, logins: dict[str, Login]) -> None:
    store.save_intervention(make_intervention("rec-1"))
    headers = logins["viewer"].headers
    new = client.get("/api/interventions", headers=headers)
    old = client.get("/api/recommendations", headers=headers)
    assert old.status_code == 200
    assert old.json() == new.json()
    assert old.headers["deprecation"] == "true"
    assert old.headers["link"] == '</api/interventions>; rel="successor-version"'
    assert "deprecation" not in new.headers
    one = client.get("/api/recommendations/rec-1", headers=headers)
    assert one.json()["id"] == "rec-1"
    assert one.headers["link"] == '</api/interventions/rec-1>; rel="successor-version"'


def test_an_old_path_still_checks_who_is_calling_and_what_they_may_do(
        client: TestClient, store: SqlStore, logins: dict[str, Login]) -> None:
    store.save_intervention(make_intervention("rec-1"))
    move = {"to": "acknowledged"}
    assert client.post("/api/recommendations/rec-1/transition", json=move).status_code == 401
    assert client.post("/api/recommendations/rec-1/transition", json=move,
                       headers=logins["viewer"].headers).status_code == 403
    done = client.post("/api/recommendations/rec-1/transition", json=move,
                       headers=logins["operator"].headers)
    assert done.status_code == 200
    assert done.json()["intervention"]["lifecycle"]["state"] == "acknowledged"
    assert store.get_intervention("rec-1").state.value == "acknowledged"


def test_the_old_labels_query_parameter_still_filters(
        client: TestClient, store: SqlStore, logins: dict[str, Login]) -> None:
    for iid in ("rec-1", "rec-2"):
        store.save_intervention(make_intervention(iid, asset=iid))
        client.post(f"/api/interventions/{iid}/feedback", headers=logins["operator"].headers,
                    json={"kind": "acted"})
    old = client.get("/api/labels", params={"recommendation": "rec-2"},
                     headers=logins["viewer"].headers)
    assert [lb["intervention_id"] for lb in old.json()] == ["rec-2"]
    assert old.headers["deprecation"] == "true"


def test_the_old_cli_group_lists_the_same_interventions(store: SqlStore, sqlite_url: str) -> None:
    iv: Intervention = make_intervention("rec-1")
    store.save_intervention(iv)
    runner = CliRunner()
    new = runner.invoke(cli, ["interventions", "list", "--db", sqlite_url])
    old = runner.invoke(cli, ["recommendations", "list", "--db", sqlite_url])
    assert new.exit_code == 0, new.output
    assert old.exit_code == 0, old.output
    assert "P-101" in old.stdout  # the asset column (folded to the terminal width)
    assert old.stdout == new.stdout
    assert "deprecated" in old.output.lower()
