"""The base of every resource: a named group of endpoints bound to one client."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import AsyncPulse

__all__ = ["Resource"]


class Resource:
    def __init__(self, client: AsyncPulse) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"
