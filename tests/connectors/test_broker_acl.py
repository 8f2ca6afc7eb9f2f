"""The embedded broker's ACL rules and password file, without a broker.

Topic matching follows MQTT 3.1.1 (4.7): a property test checks that a subscription the ACL
allows can only bring topics the ACL lets the client read, whatever the filters; the rest
pins the Mosquitto semantics Andon relies on (``%u``, ``%c``, anonymous rules, read vs write).
"""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given

from andon.connectors.broker_acl import Acl, covers, matches
from andon.connectors.broker_passwd import PasswordFile, set_password

LEVEL = st.sampled_from(["a", "b", "", "$s"])
TOPIC = st.lists(LEVEL, min_size=1, max_size=4).map(tuple)


@st.composite
def filters(draw: st.DrawFn) -> tuple[str, ...]:
    levels = draw(st.lists(st.sampled_from(["a", "b", "", "+", "$s"]), min_size=1, max_size=4))
    if draw(st.booleans()):
        levels.append("#")
    return tuple(levels)


@given(filters(), filters(), TOPIC)
def test_a_covered_filter_never_brings_a_topic_the_rule_does_not_match(
        rule: tuple[str, ...], wanted: tuple[str, ...], topic: tuple[str, ...]) -> None:
    if covers(rule, wanted) and matches(wanted, topic):
        assert matches(rule, topic)


@given(filters())
def test_a_filter_covers_itself(rule: tuple[str, ...]) -> None:
    assert covers(rule, rule)


@pytest.mark.parametrize(("rule", "topic", "expected"), [
    ("a/#", "a", True), ("a/#", "a/b/c", True), ("a/+", "a/b", True), ("a/+", "a/b/c", False),
    ("+/b", "a/b", True), ("#", "$SYS/x", False), ("+/x", "$SYS/x", False),
    ("$SYS/#", "$SYS/x", True), ("a/+", "a/", True), ("a", "a/b", False),
])
def test_topics_match_rules_as_mqtt_says(rule: str, topic: str, expected: bool) -> None:
    assert matches(tuple(rule.split("/")), tuple(topic.split("/"))) is expected


ACL = """\
# comment
topic read public/#
pattern readwrite andon/_probe/%c
pattern write fb/%u
user ana
topic read plant/#
topic write plant/ana/cmd
topic readwrite ana/#
user bob
topic bob/#
"""


def test_read_and_write_are_granted_apart() -> None:
    acl = Acl.parse(ACL)
    assert acl.may_read("ana", "c", "plant/x/y")
    assert not acl.may_publish("ana", "c", "plant/x/y")
    assert acl.may_publish("ana", "c", "plant/ana/cmd")
    assert not acl.may_read("ana", "c", "plant-other/x")
    assert acl.may_publish("bob", "c", "bob/x")
    assert acl.may_read("bob", "c", "bob/x")


def test_subscriptions_must_be_covered_by_one_read_rule() -> None:
    acl = Acl.parse(ACL)
    assert acl.may_subscribe("ana", "c", "plant/+/temp")
    assert acl.may_subscribe("ana", "c", "plant/#")
    assert not acl.may_subscribe("ana", "c", "#")
    assert not acl.may_subscribe("ana", "c", "+/x")
    assert not acl.may_subscribe("ana", "c", "fb/ana")  # written, never read


def test_patterns_take_the_clients_own_name_and_id_and_nothing_else() -> None:
    acl = Acl.parse(ACL)
    assert acl.may_publish("ana", "panel-7", "fb/ana")
    assert not acl.may_publish("ana", "panel-7", "fb/bob")
    assert acl.may_publish("bob", "c-1", "andon/_probe/c-1")
    assert not acl.may_publish("bob", "c-1", "andon/_probe/c-2")
    # a name or id with a wildcard or a level separator would widen the pattern: not applied
    assert not acl.may_publish("+", "c", "fb/x")
    assert not acl.may_publish("a/b", "c", "fb/a/b")
    assert not acl.may_publish("ana", "#", "andon/_probe/x")
    assert not acl.may_publish(None, "c", "fb/")


def test_topic_lines_before_any_user_are_for_anonymous_clients_only() -> None:
    acl = Acl.parse(ACL)
    assert acl.may_read(None, "c", "public/x")
    assert not acl.may_read("ana", "c", "public/x")
    assert not acl.may_read("mallory", "c", "plant/x")  # a user without rules: patterns only


def test_the_password_file_checks_argon2id_and_keeps_other_lines(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text("# logins of the line-1 broker\n\n", encoding="utf-8")
    assert set_password(path, "ana", "ana-pw-long-1x2y")
    assert set_password(path, "bob", "bob-pw-long-3z4w")
    assert not set_password(path, "ana", "ana-pw-new-5v6u")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["# logins of the line-1 broker", ""]
    assert [x.split(":")[0] for x in lines[2:]] == ["ana", "bob"]
    logins = PasswordFile.read(path)
    assert logins.verify("ana", "ana-pw-new-5v6u")
    assert not logins.verify("ana", "ana-pw-long-1x2y")
    assert not logins.verify("mallory", "ana-pw-new-5v6u")
    assert "argon2" not in repr(logins)  # hashes stay out of reprs
