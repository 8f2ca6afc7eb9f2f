"""The server-rendered inbox: what an operator sees, and what the buttons do."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from andon.feedback import FeedbackKind
from andon.interventions.record import Intervention, InterventionState
from andon.testing.factories import make_intervention
from api.conftest import PASSWORD, Login, TestClient

if TYPE_CHECKING:
    from andon.store import SqlStore


def sign_in(client: TestClient, username: str) -> str:
    """Log in through the form; return the page's CSRF token."""
    assert client.post("/login", data={"username": username,
                                       "password": PASSWORD}).status_code == 303
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/inbox").text)
    assert match is not None
    return match.group(1)


def card(html: str, intervention_id: str) -> str:
    """The HTML of one intervention card."""
    match = re.search(
        rf'<article [^>]*data-intervention-id="{re.escape(intervention_id)}".*?</article>', html,
        re.DOTALL)
    assert match is not None, f"no card for {intervention_id}"
    return match.group(0)


def test_inbox_card_shows_asset_action_deadline_owner_score_and_why(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    sign_in(client, "operator")
    html = client.get("/inbox").text
    c = card(html, iv.id)
    assert "Pump P-101" in c
    assert '<span class="asset-id">p-101</span>' in c
    assert iv.action in c
    # 04:30 UTC on 3 March is 05:30 in Ghent (CET), the early-shift changeover stop
    assert '<time datetime="2026-03-03T04:30:00+00:00">Tue 03 Mar 05:30 CET</time>' in c
    assert "Early-shift changeover stop" in c
    assert "in 21 h 30 min" in c
    assert "<dd>Maintenance planner</dd>" in c
    assert "<dd>4</dd>" in c
    assert "<strong>7.91</strong>" in c
    assert "vs threshold 4</span>" in c
    assert ">2\N{MULTIPLICATION SIGN}</span>" in c
    # each reason names the standard deviations behind its share (andon.scoring.contribution)
    assert "vibration 7.9 mm/s, 19 σ above healthy (2.1 ± 0.3 mm/s): 61 % of the score" in c
    assert ("bearing_temp slope 0.8 °C/h, 19 σ above healthy (0.05 ± 0.04 °C/h): 22 % of the "
            "score") in c
    # the predicted failure is on the card (the factory's: three days after it was made)
    assert "Predicted failure" in c
    assert "by Thu 05 Mar 08:00 CET" in c
    # a new intervention: only the legal moves are offered
    for label in ("Acknowledge", "Dismiss", "Shelve"):
        assert f">{label}</button>" in c
    for label in ("Start", "Done", "Defer"):
        assert f">{label}</button>" not in c
    assert 'data-priority="high"' in c
    assert 'data-state="new"' in c
    arrow = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"
    assert f"Ghent water treatment {arrow} Cooling water loop" in c


def test_header_shows_who_is_signed_in_and_a_logout_button(
    client: TestClient, logins: dict[str, Login],
) -> None:
    sign_in(client, "operator")
    html = client.get("/inbox").text
    assert 'Signed in as <strong data-username="operator">Operator</strong>' in html
    assert "Control-room operator · operator" in html
    assert re.search(r'<form method="post" action="/logout"', html)


def test_now_deadlines_are_highlighted(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    urgent = make_intervention("rec-now", deadline_label="now")
    store.save_intervention(replace(urgent, deadline=urgent.detected_at))
    sign_in(client, "operator")
    c = card(client.get("/inbox").text, "rec-now")
    assert 'class="iv urgency-now"' in c
    assert "Act now" in c
    assert "no planned stop before the predicted failure" in c
    assert "<strong>1</strong> due now" in client.get("/inbox").text


def test_empty_inbox_says_so_plainly(client: TestClient, logins: dict[str, Login]) -> None:
    sign_in(client, "operator")
    html = client.get("/inbox").text
    assert "No open interventions — the edge is watching 7 assets." in html
    assert "data-intervention-id" not in html


def test_acted_closes_the_intervention_and_confirms(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    response = client.post(f"/inbox/{iv.id}/feedback",
                           data={"kind": "acted", "reason": "", "csrf": csrf})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Recorded “acted” for Pump P-101 (p-101)." in page.text
    assert f'id="iv-{iv.id}"' not in page.text  # no longer among the open ones
    assert f'id="closed-{iv.id}"' in page.text  # but waiting for its outcome
    [fb] = store.feedback_for(iv.id)
    assert (fb.kind, fb.by) == (FeedbackKind.ACTED, "operator")


def test_deferred_stays_in_the_inbox_marked_deferred(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    client.post(f"/inbox/{iv.id}/feedback",
                data={"kind": "deferred", "reason": "spares Monday", "csrf": csrf})
    c = card(client.get("/inbox").text, iv.id)
    assert 'data-status="deferred"' in c
    assert "state-deferred" in c
    assert store.get_intervention(iv.id).state is InterventionState.DEFERRED


def test_feedback_the_lifecycle_refuses_is_shown_on_the_inbox(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    form = {"kind": "deferred", "reason": "spares Monday", "csrf": csrf}
    assert client.post(f"/inbox/{iv.id}/feedback", data=form).status_code == 303
    again = client.post(f"/inbox/{iv.id}/feedback", data=form)  # deferred -> deferred
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/html")
    assert "deferred" in card(again.text, iv.id)
    assert 'class="notice notice-error inline-error"' in card(again.text, iv.id)
    assert len(store.feedback_for(iv.id)) == 1


def test_dismissal_without_reason_is_refused_with_a_visible_message(
    client: TestClient, store: SqlStore, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    response = client.post(f"/inbox/{iv.id}/feedback",
                           data={"kind": "dismissed", "reason": "  ", "csrf": csrf})
    assert response.status_code == 422
    message = f"Dismissing intervention {iv.id} needs a reason."
    assert f'<p class="notice notice-error" role="alert" id="error">{message}</p>' in response.text
    assert message in card(response.text, iv.id)
    assert store.feedback_for(iv.id) == []
    accepted = client.post(f"/inbox/{iv.id}/feedback",
                           data={"kind": "dismissed", "reason": "sensor fault", "csrf": csrf})
    assert accepted.status_code == 303
    assert store.feedback_for(iv.id)[0].reason == "sensor fault"


def test_unknown_kind_and_unknown_intervention_are_shown_not_crashed(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "operator")
    odd = client.post(f"/inbox/{iv.id}/feedback", data={"kind": "fixed", "csrf": csrf})
    assert odd.status_code == 422
    assert "Choose Acted, Deferred or Dismissed." in odd.text
    gone = client.post("/inbox/nope/feedback", data={"kind": "acted", "csrf": csrf})
    assert gone.status_code == 404
    assert "That intervention no longer exists" in gone.text


def test_viewers_see_no_buttons_and_may_not_post(
    client: TestClient, iv: Intervention, logins: dict[str, Login],
) -> None:
    csrf = sign_in(client, "viewer")
    c = card(client.get("/inbox").text, iv.id)
    assert "<button" not in c
    assert "Read-only" in c
    response = client.post(f"/inbox/{iv.id}/feedback", data={"kind": "acted", "csrf": csrf})
    assert response.status_code == 403
    assert "viewer (role plant_manager) may not give feedback on interventions" in response.text


def test_home_redirects_to_inbox_and_anonymous_pages_show_the_login_form(
    client: TestClient, logins: dict[str, Login],
) -> None:
    anonymous = client.get("/")
    assert anonymous.status_code == 401
    assert '<form method="post" action="/login"' in anonymous.text
    sign_in(client, "viewer")
    home = client.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/inbox")


def test_text_from_the_store_is_escaped(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    store.save_intervention(make_intervention("rec-x", asset_name="<script>alert(1)</script>"))
    sign_in(client, "viewer")
    html = client.get("/inbox").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
