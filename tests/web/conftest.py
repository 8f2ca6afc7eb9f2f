"""The web inbox shares the HTTP fixtures of ``tests/api`` (same app, clock, users); the
``store`` fixture comes from ``tests/conftest.py``."""

from api.conftest import (  # noqa: F401 - re-exported fixtures, found by pytest by name
    app,
    client,
    clock,
    logins,
    rec,
)
