"""The spec's ``sinks:`` section: defaults, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.errors import SpecErrors
from andon.spec.loader import load_spec_text


@pytest.fixture
def demo_text() -> str:
    return (Path(__file__).resolve().parents[2] / "examples" / "demo-plant.yaml").read_text(
        encoding="utf-8")


def test_default_is_the_uns_sink_only(demo_text: str) -> None:
    spec = load_spec_text(demo_text, "plant.yaml")
    assert spec.sinks.names() == ["uns"]
    assert spec.sinks.uns.retain


def test_full_section_is_read(demo_text: str) -> None:
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
    assert spec.sinks.webhooks[0].timeout == 5.0
    assert spec.sinks.cmms[0].poll == 120.0


@pytest.mark.parametrize(("section", "message"), [
    ("  webhooks:\n    - {id: a, url: 'https://h/x', secret_env: 'my secret'}\n",
     ("sinks.webhooks[0].secret_env: 'my secret' is not an environment variable name "
      "(e.g. ANDON_WEBHOOK_SECRET); the spec names the variable, never the secret")),
    ("  webhooks:\n    - {id: a, url: 'https://user:pw@h/x', secret_env: K}\n",
     "sinks.webhooks[0].url: put credentials in an environment variable, not in the URL"),
    ("  cmms:\n    - {id: a, url: 'http://h', use_cases: [nope]}\n",
     "sinks.cmms[0].use_cases[0]: unknown use case 'nope'"),
    ("  cmms:\n    - {id: a, url: 'http://h'}\n    - {id: a, url: 'http://i'}\n",
     "sinks.cmms[1].id: duplicate cmms id 'a'"),
    ("  webhooks:\n    - {id: a, url: 'https://h/x', secret_env: K, priorities: [urgent]}\n",
     "sinks.webhooks[0].priorities[0]: Input should be 'critical', 'high', 'medium' or 'low'"),
])
def test_bad_section_gives_one_line_naming_the_key(demo_text: str, section: str,
                                                    message: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        load_spec_text(demo_text + "\nsinks:\n" + section, "plant.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 1
    assert message in lines[0]
