"""amqtt plug-ins of the embedded broker: logins from a password file, topics from an ACL.

``EmbeddedBroker`` names them in amqtt's configuration (``plugins``), with the password file
and ACL it has already read and checked (``broker_passwd``, ``broker_acl``), so a broken file
stops the broker before it listens. amqtt asks every auth plug-in at CONNECT (all must say
yes) and every topic plug-in at PUBLISH (a refused message is dropped), SUBSCRIBE (refused:
SUBACK 0x80) and before delivering a message to each subscriber (refused: not delivered).

Why not amqtt's own: its ``FileAuthPlugin`` reads argon2 and sha512-crypt lines but skips a
malformed line with a warning and cannot read Mosquitto's ``$7$`` hashes; its
``TopicAccessControlListPlugin`` takes per-user topic lists in the broker configuration, with
no ``%u``/``%c`` patterns (a panel's own feedback topic, a client's probe topic) and a
subscription check under which ``a/+`` lets a client subscribe to ``a/#``.

Nothing here logs a password: a refused login is logged with its user and client id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import structlog
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin

from andon.connectors.broker_acl import Acl
from andon.connectors.broker_passwd import PasswordFile

if TYPE_CHECKING:
    from amqtt.session import Session

__all__ = ["AclTopicPlugin", "PasswordFilePlugin"]

log = structlog.get_logger("andon.broker")
_LOGGED: Final = 1024  # refusals remembered so each is logged once; forgotten when full


class PasswordFilePlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt is untyped here
    """Let a client in only with a user name and password of the password file."""

    @dataclass
    class Config:
        """``logins``: the ``PasswordFile`` read by ``EmbeddedBroker``."""

        logins: Any = None

    async def authenticate(self, *, session: Session) -> bool:
        """True for a listed user with its password; False for anyone else."""
        logins = self.config.logins
        if not isinstance(logins, PasswordFile):
            return False
        username = session.username or ""
        if not username:
            log.warning("broker_login_refused", client=session.client_id, user=None,
                        reason="no user name")
            return False
        # argon2 takes ~30 ms of CPU: off the event loop, so other clients' traffic goes on
        ok = await asyncio.to_thread(logins.verify, username, session.password or "")
        if not ok:
            log.warning("broker_login_refused", client=session.client_id, user=username,
                        reason="unknown user or wrong password")
        return ok


class AclTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]  # amqtt is untyped here
    """Let a client publish, subscribe and receive only where the ACL grants it."""

    @dataclass
    class Config:
        """``acl``: the ``Acl`` read by ``EmbeddedBroker``."""

        acl: Any = None

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._logged: set[tuple[str | None, str, str, str]] = set()

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool:
        """True when the ACL grants ``action`` on ``topic`` to the session's client."""
        acl = self.config.acl
        if not isinstance(acl, Acl) or session is None or not topic or action is None:
            return False
        username = session.username or None
        client_id = session.client_id or ""
        if action == Action.RECEIVE:  # per message and subscriber: not logged
            return acl.may_read(username, client_id, topic)
        if action == Action.PUBLISH:
            allowed = acl.may_publish(username, client_id, topic)
        elif action == Action.SUBSCRIBE:
            allowed = acl.may_subscribe(username, client_id, topic)
        else:
            return False
        if not allowed:
            self._refused(username, client_id, str(action), topic)
        return allowed

    def _refused(self, username: str | None, client_id: str, action: str, topic: str) -> None:
        """Log a refusal once per client, action and topic (a client may repeat it often)."""
        key = (username, client_id, action, topic)
        if key in self._logged:
            return
        if len(self._logged) >= _LOGGED:
            self._logged.clear()
        self._logged.add(key)
        log.warning("broker_acl_refused", user=username, client=client_id, action=action,
                    topic=topic[:200])
