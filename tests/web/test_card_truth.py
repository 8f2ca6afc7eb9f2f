"""What the card and the sinks say of the predicted failure, a stop, and time.

The card (``andon.web.views``): the failure band, "due" and "overdue" against the plant's
clock (the newest sample of the asset when it runs ahead of the server's clock), a
corrective action, numbers in engineering format. The mail and the CMMS work order say the
same band or the stop.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from andon.interventions.record import Intervention
from andon.interventions.wire import intervention_document
from andon.sinks.cmms import work_order_fields
from andon.sinks.mail import Notice, compose
from andon.spec.model import PlantSpec
from andon.testing.factories import T0, make_intervention
from andon.web.views import iv_view, plant_time
from web.test_inbox import card, sign_in

if TYPE_CHECKING:
    from andon.store import SqlStore
    from api.conftest import Login, TestClient


def _band() -> Intervention:
    """A factory intervention with a 3 h to 24 h failure band and a large score."""
    iv = make_intervention()
    return replace(iv, failure_earliest=iv.detected_at + timedelta(hours=3),
                   predicted_failure=iv.detected_at + timedelta(hours=24),
                   score=5440.0, threshold=2.6)


def test_the_card_says_the_band_and_counts_from_the_plants_clock(demo_spec: PlantSpec) -> None:
    iv = _band()
    wall = T0  # the server's clock: the deadline (T0 + 21 h 30 min) is far away
    view = iv_view(iv, demo_spec, wall)
    assert view.due == "in 21 h 30 min"
    assert view.urgency == "later"
    assert view.failure == ("between Mon 02 Mar 10:55 CET and Tue 03 Mar 07:55 CET (3 h to 24 h "
                            "after detection), in 2 h 55 min")
    # the plant's data runs a day ahead (a replay, the demo's simulation): past the deadline
    ahead = int((T0 + timedelta(hours=23)).timestamp() * 1000)
    view = iv_view(iv, demo_spec, wall, plant={iv.asset: ahead})
    assert (view.due, view.urgency) == ("overdue by 1 h 30 min", "overdue")
    assert view.failure.endswith(", the earliest has passed: it may fail any time now")
    # another asset's data does not move this card's clock
    assert iv_view(iv, demo_spec, wall, plant={"p-102": ahead}).due == "in 21 h 30 min"
    # a plant clock behind the server's (a stale feed) never turns time back
    assert plant_time(wall, {iv.asset: 0}, iv.asset) == wall


def test_the_card_writes_numbers_for_people(demo_spec: PlantSpec) -> None:
    view = iv_view(_band(), demo_spec, T0)
    assert (view.score, view.threshold, view.ratio) == ("5,440", "2.6", "> 1,000")


def test_a_corrective_card(demo_spec: PlantSpec) -> None:
    iv = _band()
    stop = iv.detected_at + timedelta(hours=5)
    iv = replace(iv, action="Corrective action: Pump P-101 stopped ...", stopped_at=stop,
                 deadline=stop, deadline_label="now")
    view = iv_view(iv, demo_spec, T0 + timedelta(hours=6))
    assert view.corrective
    assert view.stopped_local == "Mon 02 Mar 12:55 CET"
    assert view.failure.endswith(", the asset stopped by Mon 02 Mar 12:55 CET")
    assert view.urgency == "now"
    assert view.action.startswith("Corrective action:")


def test_the_mail_and_the_work_order_say_the_band_or_the_stop() -> None:
    iv = _band()
    doc = intervention_document(iv)
    body = compose(doc, Notice(0, iv.owner_role, ""), sender="andon@plant.example",
                   recipients=["chris@plant.example"], now=T0).get_body(
                       preferencelist=("plain",)).get_content()
    assert ("Failure:   between Mon 2026-03-02 09:55 UTC and Tue 2026-03-03 06:55 UTC"
            in body), body
    assert "score 5,440 against threshold 2.6" in body
    assert "e+0" not in body
    fields = work_order_fields(doc)
    assert "Failure: between 2026-03-02T09:55:00Z and 2026-03-03T06:55:00Z" in fields["description"]
    assert "score 5,440 (threshold 2.6)" in fields["description"]
    stop = iv.detected_at + timedelta(hours=5)
    doc = intervention_document(replace(iv, stopped_at=stop, deadline=stop, deadline_label="now"))
    assert "Failure: stopped at 2026-03-02T11:55:00Z (corrective action)" in work_order_fields(
        doc)["description"]


def test_the_inbox_page_shows_the_failure_and_the_corrective_state(
    client: TestClient, store: SqlStore, logins: dict[str, Login],
) -> None:
    iv = _band()
    stop = iv.detected_at + timedelta(hours=5)
    store.save_intervention(replace(iv, action="Corrective action: Pump P-101 stopped by ...",
                                    stopped_at=stop, deadline=stop, deadline_label="now"))
    assert logins["operator"]
    sign_in(client, "operator")
    c = card(client.get("/inbox").text, iv.id)
    assert "<dt>Predicted failure</dt>" in c
    assert "between Mon 02 Mar 10:55 CET and Tue 03 Mar 07:55 CET" in c
    assert "data-corrective>Corrective</span>" in c
    assert "stopped by Mon 02 Mar 12:55 CET, outside any planned stop" in c
    assert "(the windows that raised it, before the stop)" in c
    assert ">5,440</strong>" in c
    assert "&gt; 1,000\N{MULTIPLICATION SIGN}</span>" in c
