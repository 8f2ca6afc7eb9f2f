"""The operator console on /inbox: scope, filters, sort, history and search, comments, bulk
moves and the live endpoint, each route with its role check (anonymous, viewer, operator)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from andon.audit import EventKind
from andon.feedback.comments import Comment
from andon.interventions.lifecycle import InterventionState, Priority
from andon.testing.factories import T0, add_user, closed, make_intervention
from api.conftest import PASSWORD, Login, TestClient
from web.test_inbox import card, sign_in

if TYPE_CHECKING:
    from andon.store import SqlStore

S = InterventionState


@pytest.fixture
def people(store: SqlStore) -> None:
    """Logins of demo-spec people: chris (planner, Ghent), eli (planner, Porto), dana."""
    add_user(store, "chris", access="operator", role="maintenance_planner", password=PASSWORD)
    add_user(store, "eli", access="operator", role="maintenance_planner", password=PASSWORD)
    add_user(store, "dana", access="engineer", role="reliability_engineer", password=PASSWORD)


@pytest.fixture
def items(store: SqlStore) -> None:
    """Four open in Ghent (one the operator's), one in Porto, three closed in Ghent."""
    rows = [
        make_intervention("g-high", asset="p-101", created_at=T0 - timedelta(hours=3)),
        replace(make_intervention("g-crit", asset="p-102", created_at=T0 - timedelta(hours=2)),
                priority=Priority.CRITICAL),
        replace(make_intervention("g-low", asset="m-103", created_at=T0 - timedelta(days=2)),
                priority=Priority.LOW, state=S.ESCALATED),
        replace(make_intervention("g-op", asset="m-103", created_at=T0 - timedelta(hours=1)),
                owner_role="operator", use_case="fan-motor"),
        replace(make_intervention("porto-1", asset="p-301", created_at=T0), site="porto",
                line="boiler-feed"),
        *[replace(closed(make_intervention(f"old-{n}", asset="p-101",
                                           created_at=T0 - timedelta(days=3, hours=n))),
                  outcome_detail="outer race spalled" if n == 7 else "")
          for n in range(30)],
    ]
    for iv in rows:
        store.save_intervention(iv)


def ids_on(html: str) -> list[str]:
    """The ids of the open cards, in page order."""
    return re.findall(r'<article class="iv [^"]*" id="iv-([^"]+)"', html)


def history_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="closed-([^"]+)"', html)


# -- who may call what ------------------------------------------------------------------------
def test_anonymous_callers_get_the_login_page_for_every_console_route(client: TestClient,
                                                                      items: None) -> None:
    for method, path in [("GET", "/inbox?view=history&q=x"), ("GET", "/inbox/live"),
                         ("POST", "/inbox/bulk"), ("POST", "/inbox/g-high/comment")]:
        response = client.request(method, path)
        assert response.status_code == 401, path
        assert 'action="/login"' in response.text


def test_a_viewer_sees_the_console_but_cannot_comment_or_act_in_bulk(
        client: TestClient, store: SqlStore, items: None, logins: dict[str, Login]) -> None:
    csrf = sign_in(client, "viewer")
    page = client.get("/inbox").text
    assert 'id="bulk"' not in page
    assert 'action="/inbox/g-high/comment"' not in page
    comment = client.post("/inbox/g-high/comment", data={"csrf": csrf, "body": "hi"})
    assert comment.status_code == 403
    assert "viewer (role plant_manager) may not give feedback" in comment.text
    bulk = client.post("/inbox/bulk", data={"csrf": csrf, "to": "acknowledged",
                                            "ids": ["g-high"]})
    assert bulk.status_code == 403
    assert store.get_intervention("g-high").state is S.NEW
    assert store.comments(["g-high"]) == {}
    assert client.get("/inbox/live").status_code == 200


def test_console_posts_need_the_csrf_token(client: TestClient, store: SqlStore, items: None,
                                           logins: dict[str, Login]) -> None:
    sign_in(client, "operator")
    assert client.post("/inbox/bulk", data={"to": "acknowledged",
                                            "ids": ["g-high"]}).status_code == 403
    assert client.post("/inbox/g-high/comment", data={"body": "x"}).status_code == 403
    assert store.get_intervention("g-high").state is S.NEW


# -- scope ------------------------------------------------------------------------------------
def test_a_person_sees_their_scope_and_only_engineers_may_show_all(
        client: TestClient, items: None, people: None, logins: dict[str, Login]) -> None:
    sign_in(client, "chris")
    page = client.get("/inbox").text
    assert set(ids_on(page)) == {"g-high", "g-crit", "g-low"}
    assert "Ghent water treatment · owned by Maintenance planner" in page
    assert 'id="scope-all"' not in page
    refused = client.get("/inbox?scope=all")
    assert refused.status_code == 403
    assert "may not see every site" in refused.text
    client.post("/logout", data={"csrf": sign_in(client, "chris")})

    sign_in(client, "dana")
    mine = client.get("/inbox").text
    assert ids_on(mine) == []  # nothing is the reliability engineer's
    assert 'id="scope-all"' in mine
    everything = client.get("/inbox?scope=all").text
    assert set(ids_on(everything)) == {"g-high", "g-crit", "g-low", "g-op", "porto-1"}
    assert "every site, line and role" in everything


# -- sort, filters, paging, history, search -----------------------------------------------------
def test_sort_and_filters_come_from_the_query_string(client: TestClient, items: None,
                                                     logins: dict[str, Login]) -> None:
    sign_in(client, "operator")  # no person of the spec: sees everything
    assert ids_on(client.get("/inbox").text)[:1] == ["g-crit"]  # priority first
    by_age = ids_on(client.get("/inbox?sort=age").text)
    assert by_age[0] == "g-low"
    assert ids_on(client.get("/inbox?sort=age&dir=desc").text)[0] == "porto-1"
    assert set(ids_on(client.get("/inbox?priority=critical&priority=low").text)) == {
        "g-crit", "g-low"}
    assert ids_on(client.get("/inbox?state=escalated").text) == ["g-low"]
    assert set(ids_on(client.get("/inbox?asset=m-103").text)) == {"g-low", "g-op"}
    assert ids_on(client.get("/inbox?line=boiler-feed").text) == ["porto-1"]
    assert "g-low" not in ids_on(client.get("/inbox?age=24h").text)
    assert ids_on(client.get("/inbox?age=older1d").text) == ["g-low"]
    # an empty select ("any") filters nothing
    assert len(ids_on(client.get("/inbox?priority=&state=&asset=&age=").text)) == 5
    filtered = client.get("/inbox?priority=critical").text
    assert 'data-open-count="1"' in filtered
    assert '<option value="critical" selected>' in filtered


def test_a_bad_filter_is_a_one_line_422_naming_it(client: TestClient, items: None,
                                                  logins: dict[str, Login]) -> None:
    sign_in(client, "operator")
    for query, named in [("sort=bogus", "query.sort: 'bogus' is not one of priority"),
                         ("priority=urgent", "query.priority: 'urgent' is not one of critical"),
                         ("state=done", "query.state: 'done' is not one of escalated"),
                         ("view=list", "query.view: 'list' is not one of open, history")]:
        response = client.get(f"/inbox?{query}")
        assert response.status_code == 422, query
        assert named in html.unescape(response.text)


def test_the_history_lists_closed_items_newest_first_in_pages_with_search(
        client: TestClient, store: SqlStore, items: None, logins: dict[str, Login]) -> None:
    sign_in(client, "operator")
    first = client.get("/inbox?view=history").text
    assert history_ids(first)[:3] == ["old-0", "old-1", "old-2"]
    assert len(history_ids(first)) == 25
    assert 'data-closed-count="30"' in first
    assert "1\N{EN DASH}25 of 30 · page 1 of 2" in first
    second = client.get("/inbox?view=history&page=2").text
    assert history_ids(second) == [f"old-{n}" for n in range(25, 30)]
    assert 'rel="prev"' in second
    assert history_ids(client.get("/inbox?view=history&q=SPALLED").text) == ["old-7"]
    assert history_ids(client.get("/inbox?view=history&q=old-12").text) == ["old-12"]
    store.add_comment(Comment("old-20", "coupling misaligned", "ana", T0, "web"))
    found = client.get("/inbox?view=history&q=misaligned").text
    assert history_ids(found) == ["old-20"]
    assert "coupling misaligned" in found
    assert "No closed intervention matches" in client.get("/inbox?view=history&q=zzz").text


# -- comments ---------------------------------------------------------------------------------
def test_an_operator_comments_and_the_card_shows_it(client: TestClient, store: SqlStore,
                                                    items: None,
                                                    logins: dict[str, Login]) -> None:
    csrf = sign_in(client, "operator")
    response = client.post("/inbox/g-high/comment",
                           data={"csrf": csrf, "body": "spare bearing on the shelf"})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "Recorded “comment” for Pump P-101 (p-101)." in page
    c = card(page, "g-high")
    assert "Comments (1)" in c
    assert ("Mon 02 Mar 08:00 CET</time> · operator:</span> spare bearing on the shelf"
            in c)
    [event] = store.events(kind=EventKind.COMMENT.value)
    assert (event.subject, event.by) == ("g-high", "operator")
    empty = client.post("/inbox/g-high/comment", data={"csrf": csrf, "body": "  "})
    assert empty.status_code == 422
    assert "A comment on g-high needs some text." in empty.text
    gone = client.post("/inbox/nope/comment", data={"csrf": csrf, "body": "x"})
    assert gone.status_code == 404


# -- bulk -------------------------------------------------------------------------------------
def test_bulk_acknowledge_reports_each_item(client: TestClient, store: SqlStore, items: None,
                                            logins: dict[str, Login]) -> None:
    csrf = sign_in(client, "operator")
    page = client.get("/inbox").text
    assert "each needs its own judgement (ISA-18.2)" in page
    response = client.post("/inbox/bulk", data={
        "csrf": csrf, "to": "acknowledged", "ids": ["g-high", "g-crit", "old-1"]})
    assert response.status_code == 200
    assert "Acknowledged 2 of 3; 1 refused." in response.text
    assert re.search(r'data-result-for="old-1" data-ok="false">.*cannot move intervention '
                     r"from done to acknowledged", response.text)
    assert store.get_intervention("g-high").assignee == "operator"
    assert store.get_intervention("g-crit").state is S.ACKNOWLEDGED


def test_bulk_shelve_needs_hours_and_bulk_done_is_refused(
        client: TestClient, store: SqlStore, items: None, logins: dict[str, Login]) -> None:
    csrf = sign_in(client, "operator")
    bad_hours = client.post("/inbox/bulk", data={"csrf": csrf, "to": "shelved",
                                                 "ids": ["g-high"], "reason": "isolated",
                                                 "shelve_hours": "48"})
    assert bad_hours.status_code == 422
    assert "Shelve for more than 0 and at most 24 hours." in bad_hours.text
    shelved = client.post("/inbox/bulk", data={"csrf": csrf, "to": "shelved",
                                               "ids": ["g-high", "g-op"], "reason": "isolated",
                                               "shelve_hours": "2"})
    assert "Shelved 2 of 2." in shelved.text
    assert store.get_intervention("g-op").shelved_until == T0 + timedelta(hours=2)
    done = client.post("/inbox/bulk", data={"csrf": csrf, "to": "done", "ids": ["g-crit"]})
    assert done.status_code == 422
    assert "Done needs a judgement per intervention" in done.text
    assert store.get_intervention("g-crit").state is S.NEW


# -- live -------------------------------------------------------------------------------------
def test_live_answers_the_marks_and_what_changed_in_scope(
        client: TestClient, store: SqlStore, items: None, people: None,
        logins: dict[str, Login]) -> None:
    sign_in(client, "eli")
    page = client.get("/inbox").text
    seq = int(re.search(r'data-live-seq="(\d+)"', page).group(1))  # type: ignore[union-attr]
    quiet = client.get(f"/inbox/live?after={seq}")
    assert quiet.json() == {"seq": seq, "comment": 0, "changed": []}
    assert quiet.headers["cache-control"] == "no-store"
    store.save_intervention(make_intervention("ghent-new", asset="p-102"))  # not Eli's site
    store.save_intervention(replace(make_intervention("porto-new", asset="p-302"),
                                    site="porto", line="boiler-feed"))
    moved = client.get(f"/inbox/live?after={seq}").json()
    assert (moved["seq"], moved["changed"]) == (seq + 2, ["porto-new"])
    assert client.get("/inbox/live?scope=all").status_code == 403
    assert client.get("/inbox/live?scope=everything").status_code == 422


# -- the JSON API list ------------------------------------------------------------------------
def test_the_api_list_takes_the_same_scope_filters_and_search(
        client: TestClient, store: SqlStore, items: None, people: None,
        logins: dict[str, Login]) -> None:
    headers = logins["operator"].headers  # no person: everything
    every = client.get("/api/interventions", headers=headers)
    assert every.headers["x-total-count"] == "5"
    assert [r["id"] for r in every.json()][:1] == ["porto-1"]  # newest first
    crit = client.get("/api/interventions?priority=critical&sort=priority", headers=headers)
    assert [r["id"] for r in crit.json()] == ["g-crit"]
    history = client.get("/api/interventions?closed=true&q=spalled", headers=headers).json()
    assert [r["id"] for r in history] == ["old-7"]
    both = client.get("/api/interventions?all=true&limit=3&offset=3", headers=headers)
    assert both.headers["x-total-count"] == "35"
    assert len(both.json()) == 3
    assert client.get("/api/interventions?scope=all", headers=headers).status_code == 403
    assert client.get("/api/interventions?sort=bogus", headers=headers).status_code == 422
    posted = client.post("/api/interventions/g-high/comments", headers=headers,
                         json={"body": "checked the coupling"})
    assert posted.status_code == 201
    assert posted.json()["by"] == "operator"
    listed = client.get("/api/interventions/g-high/comments", headers=logins["viewer"].headers)
    assert [c["body"] for c in listed.json()] == ["checked the coupling"]
    assert client.post("/api/interventions/g-high/comments", headers=logins["viewer"].headers,
                       json={"body": "x"}).status_code == 403
    assert client.get("/api/interventions/nope/comments", headers=headers).status_code == 404
