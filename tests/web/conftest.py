"""The web inbox shares the HTTP fixtures of ``tests/api`` (same app, store, clock, users)."""

from api.conftest import (  # noqa: F401 - re-exported fixtures, found by pytest by name
    app,
    client,
    clock,
    logins,
    rec,
    store,
)
