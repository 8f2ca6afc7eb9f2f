"""How an ``andon`` process logs: one line per event on standard error, for people or machines.

The root command calls ``configure_logging(level, fmt)`` before any command runs
(``andon --log-level debug --log-format json edge ...``, or ``ANDON_LOG_LEVEL`` /
``ANDON_LOG_FORMAT``), so every process Andon starts logs the same way:

- ``console``: ``2026-03-02T07:00:00.123Z [warning] central ingest rejected a message
  [andon.services.central] topic=... reason=...``, for a terminal or ``journalctl``;
- ``json``: one JSON object per line, ``{"event": ..., "level": ..., "logger": ...,
  "timestamp": ..., <fields>}``, for a log collector (Loki, Elasticsearch, journald's
  ``MESSAGE``).

Andon's own loggers (structlog) and the libraries' (uvicorn, alembic, asyncua, gmqtt, amqtt:
the standard library's ``logging``) go through the same processors. ``level`` is the lowest
level of Andon's lines; the libraries write from ``warning`` up, or everything with ``debug``
(their ``info`` lines are chatter: amqtt logs every connection).

Secrets never reach a line: a field whose name says it holds one (``password``, ``token``,
``secret``, ``authorization``, ``cookie``, ``credentials``, ``api_key``) is written ``***``,
and every URL in a field or message has its password masked (``andon.text.redact_url``).
Lines go to the ``sys.stderr`` of the moment they are written, so standard output stays the
command's own (``andon replay --json``, a token printed by ``andon users token``).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from andon.settings import LOG_FORMATS, LOG_LEVELS
from andon.text import redact_url

__all__ = ["configure_logging", "redact_secrets"]

#: field names whose value is a secret, whatever it holds
_SECRET_FIELD = re.compile(r"pass(word|wd)?$|token|secret|authori[sz]ation|cookie|credential|"
                           r"api_?key|private_?key", re.IGNORECASE)
_MASK = "***"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
#: marks the handler this module puts on the root logger (replaced, never stacked)
_OURS = "_andon_handler"
_LOCK = threading.Lock()


def configure_logging(level: str = "info", fmt: str = "console") -> None:
    """Make every logger of this process write ``fmt`` lines from ``level`` up to stderr.

    ``level``: debug, info, warning or error; ``fmt``: console or json (the settings
    ``log_level`` and ``log_format`` have checked them). Calling it again replaces the
    previous configuration.
    """
    if level not in LOG_LEVELS or fmt not in LOG_FORMATS:
        raise ValueError(f"log level {level!r} / format {fmt!r}: expected one of "
                         f"{', '.join(LOG_LEVELS)} / {', '.join(LOG_FORMATS)}")
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    if fmt == "json":
        renderer: Processor = structlog.processors.JSONRenderer(sort_keys=True)
        ending: list[Processor] = [structlog.processors.format_exc_info, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        ending = [renderer]
    threshold = _LEVELS[level]
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), *ending],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_LineFactory(),
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *ending],
    ))
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold if threshold != logging.INFO else logging.WARNING)


def redact_secrets(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Mask secret fields and the passwords of URLs (see module doc).

    >>> redact_secrets(None, "info", {"event": "connecting to mqtt://ana:pw@b:1883",
    ...                               "password": "hunter2", "n": 3})
    {'event': 'connecting to mqtt://ana:***@b:1883', 'password': '***', 'n': 3}
    """
    del logger, method
    for key, value in list(event.items()):
        if key != "event" and _SECRET_FIELD.search(key) and value not in (None, ""):
            event[key] = _MASK
        elif isinstance(value, str) and "://" in value:
            event[key] = " ".join(redact_url(word) if "://" in word else word
                                  for word in value.split(" "))
    return event


def _logger_name(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Add ``logger``: the name given to ``get_logger`` (or the standard library's record)."""
    del method
    record = event.get("_record")
    name = record.name if isinstance(record, logging.LogRecord) else getattr(
        logger, "name", None)
    if name:
        event.setdefault("logger", name)
    return event


class _Line:
    """What structlog writes to: a rendered line to the ``sys.stderr`` of the moment."""

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        """Write one line (whole: one lock for every thread)."""
        with _LOCK:
            print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = msg
    error = err = critical = fatal = exception = failure = msg


class _LineFactory:
    """structlog's logger factory: ``get_logger("andon.edge")`` remembers its name."""

    def __call__(self, *args: Any) -> _Line:
        return _Line(str(args[0]) if args else "")


class _StderrHandler(logging.Handler):
    """The standard library's records, formatted by structlog, to the ``sys.stderr`` of now."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record as one line."""
        try:
            line = self.format(record)
            with _LOCK:
                print(line, file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - logging must never break the program
            self.handleError(record)
