"""The spec's ``sinks:`` section: defaults, both forms, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.errors import SpecErrors
from andon.services.delivery import build_routes
from andon.sinks.cmms import CmmsConfig
from andon.sinks.plugin import sink_plugins
from andon.sinks.webhook import WebhookConfig
from andon.spec.loader import load_spec_text


@pytest.fixture
def demo_text() -> str:
    return (Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml").read_text(
        encoding="utf-8")


def test_default_is_the_uns_sink_only(demo_text: str) -> None:
    spec = load_spec_text(demo_text, "plant.yaml")
    assert spec.sinks.names() == ["uns"]
    assert [e.type for e in spec.sinks.entries] == ["uns"]


def test_the_built_in_sink_types_are_found_through_their_entry_points() -> None:
    plugins = sink_plugins()
    assert {"uns", "webhook", "cmms"} <= set(plugins.names())
    assert plugins.origins["webhook"].value == "andon.sinks.webhook:PLUGIN"
    assert plugins.origins["webhook"].distribution.startswith("andon ")
    assert plugins.get("cmms").config is CmmsConfig


def test_the_0_2_mapping_form_is_still_read(demo_text: str) -> None:
    spec = load_spec_text(demo_text + """
sinks:
  uns: {enabled: false}
  webhooks:
    - {id: chat, url: "https://chat.example.com/hook", secret_env: ANDON_CHAT_KEY,
       priorities: [critical, high], timeout: 5s}
  cmms:
    - {id: atlas, url: "http://cmms.example.com/api", token_env: ANDON_CMMS_TOKEN,
       use_cases: [pump-bearing], poll: 2min}
""", "plant.yaml")
    assert spec.sinks.names() == ["webhook:chat", "cmms:atlas"]
    webhook, = spec.sinks.of_type("webhook")
    assert WebhookConfig.model_validate(webhook.settings).timeout == 5.0
    cmms, = spec.sinks.of_type("cmms")
    assert CmmsConfig.model_validate(cmms.settings).poll == 120.0
    assert cmms.use_cases == ["pump-bearing"]
    assert webhook.priorities == ["critical", "high"]


def test_the_list_form_is_exactly_the_sinks_listed(demo_text: str) -> None:
    spec = load_spec_text(demo_text + """
sinks:
  - type: webhook
    id: chat
    url: https://chat.example.com/hook
    secret_env: ANDON_CHAT_KEY
  - {type: webhook, id: ops, url: "https://ops.example.com/hook", secret_env: K, enabled: false}
  - {type: uns, retain: false}
""", "plant.yaml")
    assert spec.sinks.names() == ["webhook:chat", "uns"]
    assert [e.name for e in spec.sinks.entries] == ["webhook:chat", "webhook:ops", "uns"]
    routes, pollers = build_routes(spec.sinks, env={"ANDON_CHAT_KEY": "k"})
    assert [r.sink.name for r in routes] == ["webhook:chat"]  # no broker: no UNS sink
    assert pollers == []


def test_without_a_uns_entry_the_list_form_has_no_uns_sink(demo_text: str) -> None:
    spec = load_spec_text(demo_text + "\nsinks: []\n", "plant.yaml")
    assert spec.sinks.names() == []


@pytest.mark.parametrize(("section", "message"), [
    ("  webhooks:\n    - {id: a, url: 'https://h/x', secret_env: 'my secret'}\n",
     ("sinks.webhooks[0].secret_env: 'my secret' is not an environment variable name "
      "(e.g. ANDON_WEBHOOK_SECRET); the spec names the variable, never the secret")),
    ("  webhooks:\n    - {id: a, url: 'https://user:pw@h/x', secret_env: K}\n",
     "sinks.webhooks[0].url: put credentials in an environment variable, not in the URL"),
    ("  cmms:\n    - {id: a, url: 'http://h', use_cases: [nope]}\n",
     "sinks.cmms[0].use_cases[0]: unknown use case 'nope'"),
    ("  cmms:\n    - {id: a, url: 'http://h'}\n    - {id: a, url: 'http://i'}\n",
     "sinks.cmms[1].id: duplicate sink name 'cmms:a' (give each sink of a type its own id)"),
    ("  webhooks:\n    - {id: a, url: 'https://h/x', secret_env: K, priorities: [urgent]}\n",
     "sinks.webhooks[0].priorities[0]: Input should be 'critical', 'high', 'medium' or 'low'"),
    ("  chat: {url: 'https://h/x'}\n",
     "sinks.chat: unknown field 'chat' (write sinks: as a list of entries, each with its type"),
    ("  - {type: pager, id: a}\n",
     "sinks[0].type: unknown sink type 'pager' (installed: "),
    ("  - {type: webhook, url: 'https://h/x', secret_env: K, retries: 3}\n",
     ("sinks[0].retries: unknown field 'retries' for 'webhook' (allowed: type, id, enabled, "
      "use_cases, priorities, url, secret_env, timeout, max_attempts)")),
    ("  - {type: cmms, url: 'http://h', poll: -1}\n",
     "sinks[0].poll: -1 must be a positive duration"),
    ("  - {type: uns}\n  - {type: uns, retain: false}\n",
     "sinks[1].id: duplicate sink name 'uns'"),
    ("  - {type: webhook, secret_env: K}\n", "sinks[0].url: required field is missing"),
])
def test_bad_section_gives_one_line_naming_the_key(demo_text: str, section: str,
                                                    message: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(demo_text + "\nsinks:\n" + section, "plant.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert lines[0].startswith("plant.yaml:")
