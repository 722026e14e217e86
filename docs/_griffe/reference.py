"""A griffe extension that makes the reference pages document what users read.

- The package's public names are its run-time `__all__` (built from its one table).
- A msgspec Struct (every response model and event) gets a "Fields" table: each field
  with its type, its default (or "required") and its attribute docstring, inherited
  fields included, in the order msgspec decodes them. Events also say which `event`
  tag they decode from.
- A TypedDict (`RequestOptions`) gets a "Keys" table.
- A property docstring that starts with its type for `help()` (`"Chat: send ..."`)
  loses that prefix here, where the type is shown already.
- A signature default written as a name (`DEFAULT_TIMEOUT`, `DEFAULT_MAX_CONNECTIONS`,
  a sentinel) shows the value it stands for, as `help()` does.

Loaded by mkdocstrings (see `mkdocs.yml`); it imports the package to read the fields
msgspec actually uses, so the tables cannot drift from the code.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import griffe
import msgspec

_NAME_EXPRESSIONS = (griffe.ExprName, griffe.ExprAttribute)


class ReferenceTables(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        # The package's `__all__` is built at run time from its one table of public
        # names (the `TYPE_CHECKING` imports): give griffe the same list, so every public
        # name has its `pulseai_async.Name` path in cross-references.
        for module in (pkg, *(m for m in pkg.modules.values() if not m.is_alias)):
            if module.exports is None and isinstance(
                names := getattr(_runtime(module.path), "__all__", None), list
            ):
                module.exports = list(names)
        for cls in _classes(pkg):
            runtime = _runtime(cls.path)
            if isinstance(runtime, type) and issubclass(runtime, msgspec.Struct):
                _add_fields(cls, runtime)
            elif typing.is_typeddict(runtime):
                _add_keys(cls, runtime)
        for function in _functions(pkg):
            _show_default_values(function)
        for obj in _walk(pkg):
            if "property" in obj.labels:
                _drop_type_prefix(obj)


def _walk(obj: griffe.Object) -> typing.Iterator[griffe.Object]:
    for member in obj.members.values():
        if member.is_alias:
            continue
        yield member  # type: ignore[misc]
        if member.is_module or member.is_class:
            yield from _walk(member)  # type: ignore[arg-type]


def _classes(pkg: griffe.Module) -> list[griffe.Class]:
    return [obj for obj in _walk(pkg) if isinstance(obj, griffe.Class)]


def _functions(pkg: griffe.Module) -> list[griffe.Function]:
    return [obj for obj in _walk(pkg) if isinstance(obj, griffe.Function)]


def _runtime(path: str) -> Any:
    try:
        return griffe.dynamic_import(path)
    except ImportError:
        return None


def _sections(cls: griffe.Class) -> list[griffe.DocstringSection]:
    if cls.docstring is None:
        cls.docstring = griffe.Docstring("", parent=cls, parser="google")
    return cls.docstring.parsed


def _member_doc(cls: griffe.Class, name: str) -> tuple[Any, str]:
    """The field's static annotation (for cross-references) and its attribute docstring."""
    member = cls.all_members.get(name)
    if member is None:
        return None, ""
    annotation = getattr(member, "annotation", None)
    docstring = member.docstring.value if member.docstring else ""
    return annotation, docstring


def _default(field: msgspec.structs.FieldInfo) -> str | None:
    if field.default is not msgspec.NODEFAULT:
        return repr(field.default)
    factory = field.default_factory
    if factory is msgspec.NODEFAULT:
        return None  # required: the template says so
    try:
        return repr(factory())
    except Exception:
        return f"{getattr(factory, '__name__', 'factory')}()"


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or repr(kind).replace("typing.", "")


def _add_fields(cls: griffe.Class, runtime: type[msgspec.Struct]) -> None:
    rows = []
    for field in msgspec.structs.fields(runtime):
        annotation, docstring = _member_doc(cls, field.name)
        rows.append(
            griffe.DocstringParameter(
                field.name,
                description=docstring,
                annotation=annotation or _type_name(field.type),
                value=_default(field),
            )
        )
        own = cls.members.get(field.name)
        if own is not None and not own.is_alias and own.is_attribute:
            cls.del_member(field.name)  # the table documents it; no second entry
    sections = _sections(cls)
    config = runtime.__struct_config__
    if config.tag_field and isinstance(config.tag, str) and "tag" in _own_options(runtime):
        sections.append(
            griffe.DocstringSectionText(
                f'Decoded from `"{config.tag_field}": "{config.tag}"` events.'
            )
        )
    if rows:
        sections.append(griffe.DocstringSectionParameters(rows, title="Fields:"))


def _own_options(runtime: type) -> set[str]:
    """The Struct options a class sets itself (`class X(Event, tag="x")`)."""
    source = inspect.getsource(runtime).split(":", 1)[0] if _has_source(runtime) else ""
    return {"tag"} if "tag=" in source else set()


def _has_source(runtime: type) -> bool:
    try:
        inspect.getsourcefile(runtime)
    except TypeError:
        return False
    return True


def _add_keys(cls: griffe.Class, runtime: type) -> None:
    rows = []
    for name, kind in typing.get_type_hints(runtime).items():
        annotation, docstring = _member_doc(cls, name)
        rows.append(
            griffe.DocstringAttribute(
                name, description=docstring, annotation=annotation or _type_name(kind)
            )
        )
        if name in cls.members:
            cls.del_member(name)
    if rows:
        _sections(cls).append(griffe.DocstringSectionAttributes(rows, title="Keys:"))


def _show_default_values(function: griffe.Function) -> None:
    named = [p for p in function.parameters if isinstance(p.default, _NAME_EXPRESSIONS)]
    if not named:
        return
    runtime = _runtime(function.path)
    try:
        signature = inspect.signature(runtime)
    except (TypeError, ValueError):
        return
    for parameter in named:
        value = signature.parameters.get(parameter.name)
        if value is not None and value.default is not inspect.Parameter.empty:
            parameter.default = repr(value.default)


def _drop_type_prefix(prop: griffe.Object) -> None:
    kind = getattr(prop, "annotation", None) or getattr(prop, "returns", None)
    if prop.docstring is None or kind is None:
        return
    prefix, _, rest = prop.docstring.value.partition(": ")
    if rest and prefix.replace("aiohttp.", "") == str(kind).replace("aiohttp.", ""):
        prop.docstring.value = rest[0].upper() + rest[1:]
