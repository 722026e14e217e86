"""The package's public names: one table in `__init__.py`, from which `__all__`, the lazy
loading and what type checkers see all come (in the style of httpx's
`test_exported_members`)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

import pulseai_async
import pulseai_async.testing
from pulseai_async import _errors
from pulseai_async._resource import Resource

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_SUBPACKAGES = {"otel", "testing"}


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("package", [pulseai_async, pulseai_async.testing])
def test_all_is_sorted_without_duplicates(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert names == sorted(set(names))


@pytest.mark.parametrize("package", ["pulseai_async", "pulseai_async.testing"])
def test_every_name_in_all_is_importable_and_nothing_else_is_public(package: str) -> None:
    # In a fresh interpreter: pytest's assertion rewriting adds names to the package.
    _run(
        f"""
        import importlib
        package = importlib.import_module({package!r})
        for name in package.__all__:
            assert getattr(package, name) is not None, name
        public = {{n for n in vars(package) if not n.startswith("_")}} - {PUBLIC_SUBPACKAGES!r}
        assert public == set(package.__all__) - {{"__version__"}}, public ^ set(package.__all__)
        """
    )


def test_star_import_gives_exactly_all() -> None:
    out = _run(
        """
        import pulseai_async
        namespace = {}
        exec("from pulseai_async import *", namespace)
        names = sorted(n for n in namespace if n != "__builtins__")
        assert names == pulseai_async.__all__, set(names) ^ set(pulseai_async.__all__)
        print(len(names))
        """
    )
    assert int(out) == len(pulseai_async.__all__)


def test_every_type_a_user_receives_is_exported() -> None:
    """Complete: every error, response model, event and resource class of the package
    can be imported from `pulseai_async` by its name."""
    from pulseai_async._app import models as app_models
    from pulseai_async._knowledge import models as knowledge_models
    from pulseai_async._streaming import answer, events

    exported = set(pulseai_async.__all__)
    wanted = {
        name
        for name, obj in vars(_errors).items()
        if inspect.isclass(obj) and issubclass(obj, pulseai_async.PulseError)
    }
    for module in (app_models, knowledge_models, answer, events):
        wanted |= {
            name
            for name, obj in vars(module).items()
            if inspect.isclass(obj)
            and issubclass(obj, msgspec.Struct)
            and obj.__module__ == module.__name__
            and not name.startswith("_")
        }
    client = pulseai_async.AsyncPulse(api_key="app-k", knowledge_api_key="dataset-k")
    resources = [client.chat, client.conversations, client.messages, client.files]
    resources += [client.audio, client.app, client.datasets]
    resources += [client.datasets.documents, client.datasets.chunks]
    wanted |= {type(resource).__name__ for resource in resources}
    assert all(isinstance(resource, Resource) for resource in resources)
    assert wanted - exported == set()


@pytest.mark.single_interpreter
def test_type_checkers_see_every_public_name() -> None:
    """The table's imports are `from .module import Name as Name`, the form a type
    checker takes as a re-export; mypy --strict accepts importing each name."""
    tree = ast.parse((ROOT / "pulseai_async/__init__.py").read_text())
    guarded = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    assert len(guarded) == 1
    aliases = [alias for stmt in guarded[0].body for alias in stmt.names]  # type: ignore[attr-defined]
    assert all(alias.asname == alias.name for alias in aliases)
    assert sorted(alias.name for alias in aliases) == pulseai_async.__all__

    from mypy import api

    program = "".join(f"from pulseai_async import {name}\n" for name in pulseai_async.__all__)
    out, err, status = api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", "-c", program]
    )
    assert status == 0, out + err


def test_importing_the_package_loads_no_wing_until_a_name_is_used() -> None:
    _run(
        """
        import sys
        import pulseai_async as pa
        wings = ("pulseai_async._app", "pulseai_async._knowledge", "pulseai_async._streaming")
        assert not [m for m in sys.modules if m.startswith(wings)], sorted(sys.modules)
        assert pa.Documents.__name__ == "Documents"
        assert "pulseai_async._knowledge.documents" in sys.modules
        assert "pulseai_async._app.audio" not in sys.modules
        assert set(pa.__all__) <= set(dir(pa))
        """
    )


def test_a_name_that_is_not_public_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'AsyncPulsee'"):
        pulseai_async.AsyncPulsee  # type: ignore[attr-defined]  # noqa: B018
