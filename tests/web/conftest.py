"""The web inbox shares the HTTP fixtures of ``tests/api`` (same app, users); ``store``,
``clock`` and ``iv`` come from ``tests/conftest.py``."""

from api.conftest import (  # noqa: F401 - re-exported fixtures, found by pytest by name
    app,
    client,
    logins,
)
