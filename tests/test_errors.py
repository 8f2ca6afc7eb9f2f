"""One exception tree: every error class lives in ``andon.errors``, drawn in its docstring with
its one HTTP status and its one exit code, and the API and the CLI read them from there."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import andon
from andon import errors
from andon.api.errors import status_for
from andon.cli.errors import exit_code_of
from andon.errors import AndonError, ExitCode


def _tree() -> list[type[AndonError]]:
    found: list[type[AndonError]] = []

    def walk(cls: type[AndonError]) -> None:
        found.append(cls)
        for sub in cls.__subclasses__():
            walk(sub)

    walk(AndonError)
    return found


def test_every_andon_error_class_is_declared_in_andon_errors() -> None:
    for module in pkgutil.walk_packages(andon.__path__, "andon."):
        if module.name.startswith("andon.testing") or module.name.endswith(
                ("__main__", ".migrations.env")):  # the CLI; Alembic's environment script
            continue
        importlib.import_module(module.name)
    outside = [f"{c.__module__}.{c.__qualname__}" for c in _tree()
               if c.__module__ != errors.__name__ and not c.__module__.startswith("test")]
    assert outside == [], "move these into andon/errors.py (and its docstring)"


def test_each_class_declares_its_own_http_status_and_exit_code() -> None:
    for cls in _tree():
        if cls.__module__ != errors.__name__:
            continue
        assert "http_status" in vars(cls), cls.__name__
        assert "exit_code" in vars(cls), cls.__name__
        assert isinstance(cls.exit_code, ExitCode)
        assert cls.exit_code != ExitCode.OK
        assert 400 <= cls.http_status < 600


def test_the_docstring_draws_the_tree_with_each_status_and_exit_code() -> None:
    doc = errors.__doc__ or ""
    rows = re.findall(r"^    [│├└─ ]*(\w+)\s+(\d{3})\s+(\d)\s+\S", doc, flags=re.MULTILINE)
    drawn = [(name, int(status), int(code)) for name, status, code in rows]
    declared = [(c.__name__, c.http_status, int(c.exit_code)) for c in _tree()
                if c.__module__ == errors.__name__]
    assert drawn == declared


def test_every_error_class_is_exported() -> None:
    names = {c.__name__ for c in _tree() if c.__module__ == errors.__name__}
    assert names | {"ExitCode"} == set(errors.__all__)


@pytest.mark.parametrize("cls", [c for c in _tree() if c.__module__ == "andon.errors"],
                         ids=lambda c: c.__name__)
def test_the_api_and_the_cli_read_the_one_declaration(cls: type[AndonError]) -> None:
    exc = cls.__new__(cls)  # no constructor arguments needed to read the class's codes
    assert status_for(exc) == cls.http_status
    assert exit_code_of(exc) == cls.exit_code


def test_an_os_error_ends_a_command_as_unavailable() -> None:
    assert exit_code_of(FileNotFoundError(2, "No such file or directory", "x")) == 7
