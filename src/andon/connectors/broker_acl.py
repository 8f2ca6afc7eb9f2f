"""The embedded broker's topic ACL: which topics each login may read and write.

The file is Mosquitto's ``acl_file`` syntax (the same file serves a Mosquitto and the embedded
broker), without ``deny``::

    # every client: its own probe topic (MqttClient.subscribed's barrier)
    pattern readwrite andon/_probe/%c
    # a panel login writes its own feedback topic only, reads its own answers
    pattern write andon/v1/acme/_andon/feedback/%u
    pattern read  andon/v1/acme/_andon/feedback-result/%u

    user edge-1
    topic read  andon/v1/acme/ghent/#
    topic readwrite andon/v1/acme/_andon/#

- ``user NAME`` starts the rules of login ``NAME``; ``topic [read|write|readwrite] FILTER``
  (no access word: ``readwrite``) gives it access to the topics ``FILTER`` matches (MQTT
  wildcards: ``+`` one level, ``#`` the rest, ``a/#`` matching ``a`` too). ``topic`` lines
  before the first ``user`` are for clients without a user name.
- ``pattern [read|write|readwrite] FILTER`` is for every client, with ``%u`` replaced by its
  user name and ``%c`` by its client id; a pattern does not apply to a client whose user name
  or client id it needs and which has none, or has ``/``, ``+`` or ``#`` in it.
- Blank lines and lines starting with ``#`` are ignored; anything else is an error naming the
  file and line (``ConnectorError``, ``FILE:LINE: reason``).

What is not granted is refused: a publish is dropped (delivered to nobody), a subscription is
refused unless one read rule covers every topic its filter can match (``a/+`` does not cover
``a/#``), and a message is delivered only to subscribers that may read its topic.

>>> acl = Acl.parse(chr(10).join(["pattern readwrite home/%u/#", "user ana", "topic read plant/#"]))
>>> acl.may_publish("ana", "c1", "home/ana/x"), acl.may_publish("bob", "c2", "home/ana/x")
(True, False)
>>> acl.may_subscribe("ana", "c1", "plant/+/temp"), acl.may_publish("ana", "c1", "plant/a")
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from andon.errors import ConnectorError

__all__ = ["Acl", "AclRule", "covers", "matches"]

#: access word -> (read, write)
_ACCESS: Final = {"read": (True, False), "write": (False, True), "readwrite": (True, True)}
#: a user name or client id that cannot stand in a pattern (it would change its levels)
_UNSAFE: Final = re.compile(r"[/+#]")
_CACHED: Final = 4096  # (user, client) rule lists kept; cleared when full


def _levels(text: str) -> tuple[str, ...]:
    return tuple(text.split("/"))


def _filter_problem(text: str) -> str | None:
    """Why ``text`` is not an MQTT topic filter (None: it is one)."""
    if not text:
        return "an empty topic filter"
    levels = text.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return f"{text!r}: '#' must be a whole level, the last one"
        if "+" in level and level != "+":
            return f"{text!r}: '+' must be a whole level"
    return None


def matches(pattern: tuple[str, ...], topic: tuple[str, ...]) -> bool:
    """True when the topic filter ``pattern`` matches the topic ``topic`` (both as levels).

    A wildcard in the first level does not match a topic starting with ``$`` (MQTT 4.7.2).

    >>> matches(_levels("a/#"), _levels("a")), matches(_levels("a/+"), _levels("a/b/c"))
    (True, False)
    """
    if topic and topic[0].startswith("$") and pattern and pattern[0] in {"+", "#"}:
        return False
    for i, level in enumerate(pattern):
        if level == "#":
            return True
        if i >= len(topic) or (level not in {"+", topic[i]}):
            return False
    return len(pattern) == len(topic)


def covers(pattern: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """True when every topic the filter ``wanted`` matches is matched by ``pattern``.

    >>> covers(_levels("a/#"), _levels("a/+/b")), covers(_levels("a/+"), _levels("a/#"))
    (True, False)
    """
    if wanted and wanted[0].startswith("$") != (bool(pattern) and pattern[0].startswith("$")):
        return False  # wildcards never reach $ topics; a $ filter needs a $ rule
    for i, level in enumerate(pattern):
        if level == "#":
            return True
        if i >= len(wanted):
            return False  # ``wanted`` may end here, ``pattern`` needs more levels
        asked = wanted[i]
        if asked == "#" or (asked == "+" and level != "+") or level not in {"+", asked}:
            return False
    return len(pattern) == len(wanted)


@dataclass(frozen=True, slots=True)
class AclRule:
    """One ``topic`` or ``pattern`` line: the filter, what it grants, where it was written."""

    filter: str
    read: bool
    write: bool
    line: int
    pattern: bool = False  # a ``pattern`` line: %u and %c are replaced per client

    def bound(self, username: str | None, client_id: str) -> tuple[str, ...] | None:
        """The rule's levels for this client (None: the rule does not apply to it)."""
        text = self.filter
        if self.pattern:
            for token, value in (("%u", username), ("%c", client_id)):
                if token in text:
                    if not value or _UNSAFE.search(value):
                        return None
                    text = text.replace(token, value)
        return _levels(text)


@dataclass
class Acl:
    """The rules of an ACL file; ``may_publish``, ``may_subscribe`` and ``may_read`` ask it."""

    source: str = "<acl>"
    anonymous: list[AclRule] = field(default_factory=list)
    users: dict[str, list[AclRule]] = field(default_factory=dict)
    patterns: list[AclRule] = field(default_factory=list)
    _cache: dict[tuple[str | None, str], list[tuple[tuple[str, ...], AclRule]]] = field(
        default_factory=dict, repr=False)

    @classmethod
    def read(cls, path: Path) -> Acl:
        """Read and check an ACL file; ``ConnectorError`` naming the file and line if bad."""
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{path}: ACL file is not UTF-8 text ({exc.reason})") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<acl>") -> Acl:
        """The ACL written in ``text``; ``ConnectorError`` (``source:line: reason``) if bad."""
        acl = cls(source)
        rules = acl.anonymous
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            rest = rest.strip()
            if keyword == "user":
                if not rest:
                    raise acl.error(number, "'user' needs a user name")
                rules = acl.users.setdefault(rest, [])
            elif keyword in {"topic", "pattern"}:
                rule = acl._rule(number, keyword, rest)
                (acl.patterns if rule.pattern else rules).append(rule)
            else:
                raise acl.error(number, f"unknown directive {keyword[:40]!r} (expected user, "
                                "topic or pattern)")
        return acl

    def error(self, line: int, reason: str) -> ConnectorError:
        """The one-line error for ``line`` of this file."""
        return ConnectorError(f"{self.source}:{line}: {reason}")

    def _rule(self, number: int, keyword: str, rest: str) -> AclRule:
        access, _, topic = rest.partition(" ")
        if access == "deny":
            raise self.error(number, "'deny' is not supported by the embedded broker (grant "
                             "only what is allowed: the rest is refused)")
        if access in _ACCESS:
            topic = topic.strip()
        else:  # ``topic FILTER``: read and write
            access, topic = "readwrite", rest
        if not topic:
            raise self.error(number, f"'{keyword}' needs a topic filter (e.g. {keyword} "
                             "read plant/#)")
        problem = _filter_problem(topic)
        if problem is not None:
            raise self.error(number, problem)
        if keyword == "topic" and ("%u" in topic or "%c" in topic):
            raise self.error(number, "%u and %c are replaced in 'pattern' lines only")
        read, write = _ACCESS[access]
        return AclRule(topic, read, write, number, pattern=keyword == "pattern")

    def rules_for(self, username: str | None,
                  client_id: str) -> list[tuple[tuple[str, ...], AclRule]]:
        """The rules that apply to a client, each with its filter's levels for it."""
        key = (username, client_id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        own = self.anonymous if username is None else self.users.get(username, [])
        found = [(levels, rule) for rule in (*own, *self.patterns)
                 if (levels := rule.bound(username, client_id)) is not None]
        if len(self._cache) >= _CACHED:
            self._cache.clear()
        self._cache[key] = found
        return found

    def may_publish(self, username: str | None, client_id: str, topic: str) -> bool:
        """Whether this client may publish on ``topic``."""
        levels = _levels(topic)
        return any(rule.write and matches(pattern, levels)
                   for pattern, rule in self.rules_for(username, client_id))

    def may_read(self, username: str | None, client_id: str, topic: str) -> bool:
        """Whether this client may receive a message published on ``topic``."""
        levels = _levels(topic)
        return any(rule.read and matches(pattern, levels)
                   for pattern, rule in self.rules_for(username, client_id))

    def may_subscribe(self, username: str | None, client_id: str, topic_filter: str) -> bool:
        """Whether this client may subscribe to ``topic_filter`` (a read rule covers it all)."""
        wanted = _levels(topic_filter)
        return any(rule.read and covers(pattern, wanted)
                   for pattern, rule in self.rules_for(username, client_id))
