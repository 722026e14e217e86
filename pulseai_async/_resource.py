"""The base of every resource: a named group of endpoints bound to one client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from ._options import RequestOptions

if TYPE_CHECKING:
    from ._pipeline import Pipeline, Scope
    from ._uploads import FileInput

__all__ = ["Resource"]

T = TypeVar("T")


class Resource:
    def __init__(self, client: Pipeline) -> None:
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
        scope: Scope = "app",
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
