"""The package's public names, read from the one table in its `__init__.py`.

That table is the `if TYPE_CHECKING:` block of `from .module import Name as Name`
imports: type checkers and the reference docs read it as imports, and at run time this
module reads the same block as data, so `__all__`, `dir()` and the lazy loading all come
from it (the way scientific-python's `lazy_loader` reads a stub). A name's module is
imported when the name is first used, so `import pulseai_async` costs little more than
its dependencies.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["lazy_exports"]


def read_table(package: str) -> dict[str, str]:
    """`{public name: module}` from the `if TYPE_CHECKING:` imports of `package`."""
    package_module = sys.modules[package]
    try:
        source: str | None = Path(package_module.__file__ or "").read_text(encoding="utf-8")
    except OSError:  # in a zip, say: ask the loader
        get_source = getattr(package_module.__loader__, "get_source", None)
        source = get_source(package) if get_source is not None else None
    if source is None:  # a bundler that kept only bytecode
        raise ImportError(
            f"{package} reads its public names from the source of its __init__.py; "
            "bundle the package with its .py files"
        )
    table: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    module = "." * statement.level + (statement.module or "")
                    table.update((alias.asname or alias.name, module) for alias in statement.names)
    return table


def lazy_exports(
    package: str,
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """`__all__`, `__getattr__` and `__dir__` for `package`, all from its table."""
    table = read_table(package)
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return sorted(table), __getattr__, __dir__
