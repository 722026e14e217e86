"""The base of every resource: a named group of endpoints bound to one client."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from ._options import RequestOptions

if TYPE_CHECKING:
    from ._client import AsyncPulse
    from ._uploads import FileInput

__all__ = ["Resource", "lazy_resource"]

T = TypeVar("T")
R = TypeVar("R", bound="Resource")


class Resource:
    def __init__(self, client: AsyncPulse) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

    async def _upload(
        self,
        path: str,
        cast_to: type[T],
        file: FileInput,
        fields: Mapping[str, str],
        *,
        what: str = "file",
        max_size: int | None = None,
        scope: Literal["app", "knowledge"] = "app",
        options: RequestOptions,
    ) -> T:
        """POST `fields` and then `file` as the multipart part `file`. The file is checked
        before anything is sent, and read afresh for each retry."""
        from ._uploads import prepare_upload

        upload = await prepare_upload(file, what=what, max_size=max_size)
        return await self._client._call(
            "POST",
            path,
            cast_to,
            form=upload.body("file", fields),
            scope=scope,
            options=options,
        )


class lazy_resource(Generic[R]):
    """A client attribute whose resource module is imported on first use.

    Keeps `import pulseai_async` close to the cost of its dependencies: a chat bot never
    loads the Knowledge API's modules. The resource is created once per client and cached
    in the instance's `__dict__` (`with_options` copies drop it, see `RESOURCE_NAMES`).
    """

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name
        self._attr = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self._attr = attr

    @overload
    def __get__(self, obj: None, owner: type) -> lazy_resource[R]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> R: ...
    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        cls = getattr(importlib.import_module(self._module, __package__), self._name)
        resource = cls(obj)
        obj.__dict__[self._attr] = resource
        return resource
