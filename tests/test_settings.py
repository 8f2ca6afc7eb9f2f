"""The settings table: defaults < environment < flags, checked, secrets never shown, documented."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

import pytest

from andon import settings
from andon.cli.reference import generate, setting_users
from andon.errors import SettingsError
from andon.settings import (
    BOOLEAN,
    DB,
    HEARTBEAT,
    INTEGER,
    LIST,
    NUMBER,
    PATH,
    SECRET_MASK,
    TABLE,
    TEXT,
    TOKEN,
    Setting,
    load,
    resolve,
)

ROOT = Path(__file__).resolve().parents[1]
IDS = [s.name for s in TABLE]

#: a text each kind cannot parse
UNPARSABLE = {INTEGER.name: "twelve", NUMBER.name: "fast", BOOLEAN.name: "maybe"}


def example(setting: Setting[Any], tmp_path: Path) -> tuple[str, Any]:
    """A valid value for ``setting`` that is not its default: (environment text, value)."""
    special = {
        "spec": str(tmp_path / "plant.yaml"), "token_file": str(tmp_path / "token"),
        "db": f"sqlite:///{tmp_path / 'other.db'}", "broker": "mqtt://broker.example:1884",
        "central": "http://central.example:8080", "scenario": "demo", "host": "0.0.0.0",  # noqa: S104
        "site": "porto", "token": "tok-123", "qos": "1", "ingest_worker": "2/3",
        "mqtt_ca": str(tmp_path / "token"), "mqtt_cert": str(tmp_path / "token"),
        "mqtt_key": str(tmp_path / "token"), "tls_cert": str(tmp_path / "token"),
        "tls_key": str(tmp_path / "token"), "trusted_proxies": "10.0.0.5",
        "broker_password_file": str(tmp_path / "token"),
        "broker_acl_file": str(tmp_path / "token"),
        "audit_key": str(tmp_path / "token"),
        "frame_ancestors": "https://hmi.plant.example:8088,http://10.0.0.7",
        "log_level": "debug", "log_format": "json",
    }
    for name in ("plant.yaml", "token"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    if setting.name in special:
        text = special[setting.name]
    elif setting.kind is BOOLEAN:
        text = "0" if setting.default else "1"
    else:
        text = {INTEGER.name: "4242", NUMBER.name: "2.5", LIST.name: "a,b",
                PATH.name: str(tmp_path / "elsewhere"), TEXT.name: "e-1"}[setting.kind.name]
    return text, setting.kind.parse(text)


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(settings, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_each_setting_is_declared_once_with_help_and_its_variable() -> None:
    assert len(set(IDS)) == len(IDS)
    for s in TABLE:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", s.name), s.name
        assert s.env == f"ANDON_{s.name.upper()}"
        assert s.cli_flag.startswith("--")
        assert s.help.strip().endswith("."), f"{s.name}: help text missing or unfinished"


def test_each_setting_is_used_by_a_command_and_in_the_reference() -> None:
    users = setting_users()
    reference = generate(ROOT)[ROOT / "docs" / "reference" / "settings.md"]
    for s in TABLE:
        assert users[s.name], f"no command has an option for setting {s.name}"
        row = next((line for line in reference.splitlines()
                    if line.startswith(f"| `{s.name}` |")), "")
        assert f"`{s.env}`" in row, s.name
        assert s.help.split(";")[0].split(" (")[0] in row, s.name


@pytest.mark.parametrize("setting", TABLE, ids=IDS)
def test_environment_overrides_the_default_and_a_flag_overrides_both(
    setting: Setting[Any], tmp_path: Path,
) -> None:
    text, value = example(setting, tmp_path)
    assert value != setting.default
    assert resolve(setting, environ={}) == setting.default
    assert resolve(setting, environ={setting.env: text}) == value
    assert resolve(setting, environ={setting.env: ""}) == setting.default  # empty = unset
    assert resolve(setting, given=setting.default, environ={setting.env: text}) == (
        setting.default)


@pytest.mark.parametrize("setting", [s for s in TABLE if s.kind.name in UNPARSABLE],
                         ids=lambda s: s.name)
def test_an_unparsable_variable_names_itself_the_value_and_the_setting(
    setting: Setting[Any],
) -> None:
    bad = UNPARSABLE[setting.kind.name]
    with pytest.raises(SettingsError) as caught:
        resolve(setting, environ={setting.env: bad})
    assert str(caught.value).startswith(f"{setting.env}={bad}: not ")
    assert f"(setting {setting.name}, flag {setting.cli_flag})" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_flag_value_names_the_flag_the_value_and_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^--heartbeat 0: must be greater than 0 "
                       r"\(setting heartbeat, env ANDON_HEARTBEAT\)$"):
        resolve(HEARTBEAT, given=0, environ={})


def test_a_bad_default_and_a_missing_value_say_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^default .*nope\.yaml: no such file \(setting "
                       r"spec: set --spec or ANDON_SPEC\)$"):
        resolve(settings.SPEC, default=tmp_path / "nope.yaml", environ={})
    with pytest.raises(SettingsError, match=r"^no value \(setting site: give --site or set "
                       r"ANDON_SITE\)$"):
        resolve(settings.SITE, environ={}, required=True)


def test_secrets_are_masked_in_repr_str_and_errors() -> None:
    loaded = load(["token", "db"], environ={"ANDON_TOKEN": "s3cret-token",
                                            "ANDON_DB": "postgresql://ana:pa55@db:5432/andon"})
    assert loaded["token"] == "s3cret-token"
    for shown in (repr(loaded), str(loaded), loaded.shown("token"), loaded.shown("db")):
        assert "s3cret" not in shown
        assert "pa55" not in shown
    assert repr(loaded) == ("Settings(token='***', db='postgresql://ana:***@db:5432/andon')")
    assert loaded.source("token") == "env"
    with pytest.raises(SettingsError) as caught:
        resolve(TOKEN, given="   ", environ={})
    assert str(caught.value) == (f"--token {SECRET_MASK}: must not be empty (setting token, "
                                 "env ANDON_TOKEN)")
    with pytest.raises(SettingsError) as caught:
        resolve(DB, environ={"ANDON_DB": "mysql://ana:pa55@db/andon"})
    assert "pa55" not in str(caught.value)


@pytest.mark.parametrize(("name", "text", "reason"), [
    ("broker", "http://localhost:1883", "expected mqtt://host:port"),
    ("broker", "mqtt://host:99999", "not a URL with a valid port"),
    ("broker", "mqtt://a:1883,mqtt://b:99999",
     "'mqtt://b:99999': not a URL with a valid port; expected mqtt://host:port"),
    ("broker", "mqtt://a:1883,,mqtt://b", "an empty entry in the list"),
    ("broker", "mqtts://a:1883,ws://b", "'ws://b': expected mqtt://host:port"),
    ("mqtt_ca", "/nonexistent/ca.pem", "no such file"),
    ("mqtt_password", " ", "must not be empty"),
    ("broker", " ", "no URL; expected mqtt://host:port"),
    ("central", "central:8080", "expected http://host:port"),
    ("db", "sqlite:///", "in-memory is not supported"),
    ("port", "0", "must be a TCP port"),
    ("outbox_capacity", "0", "must be greater than 0"),
    ("scoring_stall", "-1", "must be at least 0"),
    ("pull_every", "0.5", "must be at least 1"),
    ("edge_id", "line/1", "must not contain '/'"),
    ("groups", "g1,g+2", "must not contain '+'"),
    ("scenario", "/nonexistent.yaml", "expected demo, none or an existing YAML file"),
    ("heartbeat", "nan", "not a finite number"),
])
def test_checks_refuse_what_would_fail_later(name: str, text: str, reason: str) -> None:
    setting = settings.by_name(name)
    with pytest.raises(SettingsError, match=re.escape(reason)):
        resolve(setting, environ={setting.env: text})
