"""The ``andon`` command line: thin commands over services, with clear one-line errors."""

from andon.cli.app import app, main

__all__ = ["app", "main"]
