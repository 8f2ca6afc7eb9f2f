"""The e-mail sink against a real SMTP server on loopback (aiosmtpd): what the mail says, who
gets it when nobody acknowledges, logins over STARTTLS and TLS, refusals and a server that is
down (retried, counted, never a crash), and the password never shown."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from dataclasses import replace
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest
import structlog

from andon.errors import SinkError, SpecErrors
from andon.interventions.lifecycle import (
    InterventionState,
    Priority,
    TransitionRecord,
    transition,
)
from andon.interventions.wire import intervention_document
from andon.services.delivery import DeliveryService, build_routes, recorder
from andon.services.escalation import EscalationService
from andon.sinks import Dispatcher, EmailSink, Outgoing, Route
from andon.sinks.mail import EmailConfig, notice_of, told_level
from andon.sinks.webhook import Backoff
from andon.spec import load_spec_text
from andon.testing import free_port
from andon.testing.conformance.sinks import check_sink
from andon.testing.factories import T0, make_intervention
from andon.testing.tls import Pki, make_pki
from sinks.smtp_server import SmtpServer

if TYPE_CHECKING:
    from andon.clock import ManualClock
    from andon.interventions.record import Intervention
    from andon.store import SqlStore

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "examples" / "demo-plant.yaml").read_text(encoding="utf-8")
PASSWORD = "S3cret-smtp-pass!"
ADDRESSES = {"maintenance_planner": ["chris@plant.example"],
             "reliability_engineer": ["dana@plant.example", "dana.backup@plant.example"]}


class Sleeps:
    """Records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("smtp-pki"), name="smtp")


def config(server: SmtpServer | None = None, **extra: Any) -> EmailConfig:
    data: dict[str, Any] = {"host": "127.0.0.1",
                            "port": server.port if server else free_port(),
                            "security": "none", "from": "Andon <andon@plant.example>",
                            "to": ADDRESSES, "timeout": "5s", **extra}
    return EmailConfig.model_validate(data)


def raised_iv(owner: str = "maintenance_planner") -> Intervention:
    first = TransitionRecord(None, InterventionState.NEW, "andon", T0, "raised")
    return replace(make_intervention(), owner_role=owner, priority=Priority.HIGH,
                   history=(first,))


def deliver(sink: EmailSink, item: Outgoing) -> Any:
    return asyncio.run(asyncio.wait_for(sink.deliver(item), 30))


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_raised_intervention_is_mailed_to_its_owner_with_what_where_when_who_why(
    security: Literal["starttls", "tls"], pki: Pki, clock: ManualClock,
) -> None:
    iv = raised_iv()
    doc = intervention_document(iv)
    with SmtpServer(users={"andon": PASSWORD}, security=security, pki=pki) as server:
        sink = EmailSink("email:ops", config(server, security=security, username="andon",
                                             password_env="SMTP_PW", ca_file=str(pki.ca)),
                         PASSWORD, clock=clock)
        result = deliver(sink, Outgoing.of(doc))
    assert result.ok, result.attempts
    assert server.logins == [("andon", True)]
    [got] = server.received
    assert (got.mail_from, got.rcpt_tos) == ("andon@plant.example", ["chris@plant.example"])
    mail = got.message
    assert mail["From"] == "Andon <andon@plant.example>"
    assert mail["To"] == "chris@plant.example"
    assert mail["Subject"] == f"[Andon] HIGH: {iv.asset_name}: {iv.action}"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Andon-Intervention"] == iv.id
    assert re.fullmatch(r"<andon\.[0-9a-f]{24}\.0@plant\.example>", mail["Message-ID"])
    assert result.external_id == mail["Message-ID"]
    assert parsedate_to_datetime(mail["Date"]) == clock.now()
    body = mail.get_body(preferencelist=("plain",)).get_content()
    deadline = iv.deadline.strftime("%a %Y-%m-%d %H:%M UTC")
    for line in (f"What:      {iv.action}",
                 (f"Where:     {iv.asset_name} ({iv.asset}), acme / ghent / utilities / "
                 "cooling-water"),
                 f"By when:   {deadline} ({iv.deadline_label})",
                 "Owner:     maintenance_planner (priority high)",
                 *(f"  - {c.describe()}" for c in iv.why),
                 f"Intervention {iv.id}: acknowledge it in Andon"):
        assert line in body, f"{line!r} not in:\n{body}"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/json"
    assert json.loads(attachment.get_content()) == doc  # the wire form, whole


def test_nobody_acknowledges_so_the_next_role_is_mailed_on_the_manual_clock(
    store: SqlStore, clock: ManualClock,
) -> None:
    """Through the spec, the store's change feed, the delivery service and the escalation
    service: raised -> the planner is mailed; 2 min (the demo's high limit) unacknowledged ->
    escalated to the reliability engineer, who is mailed in the same thread; then nothing
    more is mailed for the same notices, nor for the acknowledgement."""
    with SmtpServer() as server:
        spec = load_spec_text(DEMO_TEXT + f"""
sinks:
  - type: email
    id: maintenance
    host: 127.0.0.1
    port: {server.port}
    security: none
    from: Andon <andon@plant.example>
    to:
      maintenance_planner: [chris@plant.example]
      reliability_engineer: [dana@plant.example]
""", "plant.yaml")
        routes, _ = build_routes(spec.sinks, env={}, clock=clock)
        assert [r.sink.name for r in routes] == ["email:maintenance"]
        delivery = DeliveryService(store, routes, clock=clock)
        escalation = EscalationService.for_spec(store, spec, clock)
        store.save_intervention(raised_iv())

        asyncio.run(delivery.dispatch_once())
        assert [r.rcpt_tos for r in server.received] == [["chris@plant.example"]]
        first = server.received[0].message

        clock.advance(seconds=119)
        assert escalation.tick().escalations == ()
        assert asyncio.run(delivery.dispatch_once()) == []  # nothing changed, nothing sent
        clock.advance(seconds=1)
        [escalated] = escalation.tick().escalations
        assert escalated.endswith("escalated from maintenance_planner to reliability_engineer")
        asyncio.run(delivery.dispatch_once())
        assert [r.rcpt_tos for r in server.received] == [["chris@plant.example"],
                                                          ["dana@plant.example"]]
        second = server.received[1].message
        assert second["Subject"].startswith("[Andon] Escalated to reliability_engineer (high): ")
        assert second["In-Reply-To"] == first["Message-ID"]
        assert second["Message-ID"] != first["Message-ID"]
        body = second.get_body(preferencelist=("plain",)).get_content()
        assert ("Escalated: not acknowledged within 2 min; escalated from maintenance_planner "
                "to reliability_engineer") in body
        assert "Owner:     reliability_engineer (priority high)" in body

        store.transition_intervention(raised_iv().id, InterventionState.ACKNOWLEDGED,
                                      by="dana", at=clock.now())
        rows = asyncio.run(delivery.dispatch_once())
        assert [(r.ok, r.error) for r in rows] == [(True, "")]  # handled: nothing to tell
        assert len(server.received) == 2
    assert [(r.attempt, r.ok) for r in reversed(store.deliveries(sink="email:maintenance"))] \
        == [(1, True), (1, True), (1, True)]


def test_a_refused_login_is_recorded_and_retried_by_later_passes_without_showing_the_password(
    store: SqlStore, clock: ManualClock, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    iv = raised_iv()
    store.save_intervention(iv)
    sleeps = Sleeps()
    with SmtpServer(users={"andon": "the-right-one"}) as server:
        sink = EmailSink("email:ops", config(server, username="andon", password_env="SMTP_PW"),
                         PASSWORD, clock=clock, sleep=sleeps)
        dispatcher = Dispatcher([Route(sink)], store, recorder(store), clock=clock)
        with structlog.testing.capture_logs() as logs, caplog.at_level(logging.DEBUG):
            first = asyncio.run(dispatcher.dispatch([intervention_document(iv)]))
            clock.advance(seconds=5)  # the dispatcher's first retry is due 5 s later
            second = asyncio.run(dispatcher.dispatch([intervention_document(iv)]))
    assert [(r.attempt, r.ok) for r in first + second] == [(1, False), (2, False)]
    assert sleeps.delays == []  # a refused login is not retried at once: the next pass does
    error = first[0].error
    assert error.startswith(f"SMTP server 127.0.0.1:{server.port} refused the login of andon: "
                            "535 ")
    assert "\n" not in error
    assert server.logins == [("andon", False), ("andon", False)]
    assert server.received == []
    rows = store.deliveries(sink="email:ops")
    assert [r.attempt for r in reversed(rows)] == [1, 2]
    assert any(e["event"] == "delivery_failed" for e in logs)
    shown = " ".join([repr(sink), *map(str, logs), caplog.text, *capsys.readouterr(),
                      *(r.error for r in rows)])
    assert PASSWORD not in shown
    assert "S3cret" not in shown


def test_a_server_that_is_down_is_retried_with_backoff_then_reported_in_one_line(
    clock: ManualClock,
) -> None:
    sleeps = Sleeps()
    sink = EmailSink("email:ops", config(max_attempts=3), clock=clock, sleep=sleeps,
                     backoff=Backoff(base_s=0.5, rng=random.Random(2)))
    result = deliver(sink, Outgoing.of(intervention_document(raised_iv())))
    assert not result.ok
    assert len(result.attempts) == 3
    for attempt in result.attempts:
        assert attempt.error == (f"cannot reach SMTP server 127.0.0.1:{sink.port}: "
                                 "Connection refused")
    assert len(sleeps.delays) == 2
    assert 0.25 <= sleeps.delays[0] < 0.5 <= sleeps.delays[1] < 1.0


def test_a_temporary_refusal_is_retried_with_the_same_message_id(clock: ManualClock) -> None:
    sleeps = Sleeps()
    with SmtpServer(data_answers=["451 4.3.0 mailbox busy, try again later"]) as server:
        sink = EmailSink("email:ops", config(server), clock=clock, sleep=sleeps)
        result = deliver(sink, Outgoing.of(intervention_document(raised_iv())))
    assert [a.ok for a in result.attempts] == [False, True]
    assert result.attempts[0].error == (f"SMTP server 127.0.0.1:{server.port} answered 451 "
                                        "4.3.0 mailbox busy, try again later")
    assert len(server.received) == 1
    assert len(set(server.data_ids)) == 1  # a receiver can drop the duplicate
    assert len(sleeps.delays) == 1


def test_a_permanent_refusal_and_a_missing_starttls_are_not_retried_at_once(
    clock: ManualClock, pki: Pki,
) -> None:
    sleeps = Sleeps()
    with SmtpServer(data_answers=["554 5.6.0 message refused"]) as server:
        refused = deliver(EmailSink("email:ops", config(server), clock=clock, sleep=sleeps),
                          Outgoing.of(intervention_document(raised_iv())))
        plain = deliver(EmailSink("email:ops", config(server, security="starttls"),
                                  clock=clock, sleep=sleeps),
                        Outgoing.of(intervention_document(raised_iv())))
    assert [a.error for a in refused.attempts] == [
        f"SMTP server 127.0.0.1:{server.port} answered 554 5.6.0 message refused"]
    assert [a.error for a in plain.attempts] == [
        f"SMTP server 127.0.0.1:{server.port}: STARTTLS extension not supported by server."]
    assert sleeps.delays == []


def test_the_servers_certificate_is_verified(clock: ManualClock, pki: Pki) -> None:
    """Without the test CA (the system's store only), TLS fails: one line, no retry."""
    with SmtpServer(security="tls", pki=pki) as server:
        result = deliver(EmailSink("email:ops", config(server, security="tls"), clock=clock,
                                   sleep=Sleeps()),
                         Outgoing.of(intervention_document(raised_iv())))
    [attempt] = result.attempts
    assert attempt.error.startswith(f"TLS with SMTP server 127.0.0.1:{server.port} failed: ")
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.error
    assert server.received == []


def test_only_waiting_interventions_are_mailed_and_each_notice_once(clock: ManualClock) -> None:
    iv = raised_iv()
    with SmtpServer() as server:
        sink = EmailSink("email:ops", config(server), clock=clock)
        sent = deliver(sink, Outgoing.of(intervention_document(iv)))
        again = deliver(sink, Outgoing.of(intervention_document(iv), version=2,
                                          external_id=sent.external_id))
        lifecycle, _ = transition(iv.lifecycle, InterventionState.ACKNOWLEDGED, by="chris",
                                  at=T0 + timedelta(minutes=1))
        acked = deliver(sink, Outgoing.of(intervention_document(iv.with_lifecycle(lifecycle)),
                                          version=3, external_id=sent.external_id))
        unowned = deliver(sink, Outgoing.of(intervention_document(raised_iv("shift_lead"))))
    assert again.ok
    assert again.external_id == sent.external_id  # what was told is kept
    assert acked.ok
    assert acked.external_id == sent.external_id
    assert unowned.ok  # no address for the shift lead: nothing to send, nothing to retry
    assert [a.error for r in (again, acked, unowned) for a in r.attempts] == ["", "", ""]
    assert len(server.received) == 1
    assert told_level(sent.external_id) == 0
    assert notice_of(intervention_document(iv.with_lifecycle(lifecycle))) is None


def test_the_email_sink_conforms() -> None:
    def live(clock: ManualClock) -> Any:
        import contextlib  # noqa: PLC0415

        @contextlib.asynccontextmanager
        async def running() -> Any:
            with SmtpServer() as server:
                yield EmailSink("email:c", config(server, to=["ops@plant.example"]),
                                clock=clock)

        return running()

    check_sink(live=live, dead=lambda clock: EmailSink(
        "email:c", config(max_attempts=2, to=["ops@plant.example"]), clock=clock,
        sleep=lambda _s: asyncio.sleep(0)), external_id=True)


# -- the spec's keys ------------------------------------------------------------------------

@pytest.mark.parametrize(("entry", "message"), [
    (("{type: email, host: smtp.plant.example, security: none, username: a, password_env: P, "
      "from: a@plant.example, to: [b@plant.example]}"),
     "sinks[0]: a password is never sent in clear text: use security: starttls or tls"),
    ("{type: email, host: smtp.plant.example, from: a@plant.example, to: [not-an-address]}",
     "sinks[0].to"),
    (("{type: email, host: smtp.plant.example, username: a, from: a@plant.example, "
      "to: [b@plant.example]}"),
     ("sinks[0]: username a needs password_env or password_file (the spec names where the "
      "password is, never the password)")),
    (("{type: email, host: smtp.plant.example, username: a, password: hunter2, "
      "from: a@plant.example, to: [b@plant.example]}"),
     ("sinks[0].password: unknown field 'password' for 'email' (allowed: type, id, enabled, "
      "use_cases, priorities, host, port, security, username, password_env, password_file, "
      "from, to, ca_file, timeout, max_attempts)")),
    (("{type: email, host: 'smtp://smtp.plant.example', from: a@plant.example, "
      "to: [b@plant.example]}"),
     "sinks[0].host: 'smtp://smtp.plant.example' is not a host name"),
    ("{type: email, host: smtp.plant.example, to: [b@plant.example]}",
     "sinks[0].from: required field is missing"),
    (("{type: email, host: smtp.plant.example, from: a@plant.example, password_file: secret, "
      "username: a, to: [b@plant.example]}"),
     "sinks[0].password_file: 'secret' is not an absolute path"),
])
def test_bad_email_settings_give_one_line_naming_the_key(entry: str, message: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(DEMO_TEXT + f"\nsinks:\n  - {entry}\n", "plant.yaml")
    [line] = str(caught.value).splitlines()
    assert line.startswith("plant.yaml:")
    assert message in line, line
    assert "hunter2" not in line  # a password written in the spec by mistake is not echoed


def test_a_role_of_to_that_the_spec_does_not_define_is_refused_at_its_key() -> None:
    text = DEMO_TEXT + """
sinks:
  - type: email
    host: smtp.plant.example
    from: andon@plant.example
    to:
      maintenance_planner: [chris@plant.example]
      reliability_engineeer: [dana@plant.example]
"""
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(text, "plant.yaml")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "reliability_engineeer" in t)
    assert str(caught.value) == (
        f"plant.yaml:{line} sinks[0].to.reliability_engineeer: unknown role "
        "'reliability_engineeer' (known: admin, data_scientist, maintenance_planner, operator, "
        "plant_manager, reliability_engineer, shift_lead)")


def test_the_password_comes_from_the_environment_or_a_file_never_the_spec(
    tmp_path: Path,
) -> None:
    spec = load_spec_text(DEMO_TEXT + """
sinks:
  - {type: email, id: env, host: smtp.plant.example, username: andon, password_env: SMTP_PW,
     from: andon@plant.example, to: [ops@plant.example]}
""", "plant.yaml")
    with pytest.raises(SinkError) as missing:
        build_routes(spec.sinks, env={})
    assert str(missing.value) == ("sink email:env: environment variable SMTP_PW is not set (it "
                                  "holds the SMTP password)")
    [route], _ = build_routes(spec.sinks, env={"SMTP_PW": PASSWORD})
    assert PASSWORD not in repr(route.sink)
    secret = tmp_path / "smtp.pw"
    filed = load_spec_text(DEMO_TEXT + f"""
sinks:
  - {{type: email, id: file, host: smtp.plant.example, username: andon,
     password_file: {secret}, from: andon@plant.example, to: [ops@plant.example]}}
""", "plant.yaml")
    with pytest.raises(SinkError, match=rf"^sink email:file: password file {secret} cannot be "
                                        r"read \(No such file or directory\)$"):
        build_routes(filed.sinks, env={})
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    [route], _ = build_routes(filed.sinks, env={})
    assert isinstance(route.sink, EmailSink)
    assert route.sink._password == PASSWORD  # the newline a text editor adds is not part of it

