"""Paged listings as async iterators that fetch pages on demand.

`AsyncPager` wraps a `fetch(cursor) -> (items, next_cursor)` coroutine: iterating it
yields items across pages, fetching the next page only when the current one is used up;
`pages()` yields whole pages for callers who want them. `next_cursor` is None on the
last page. Cursor kinds differ by endpoint (`last_id`, `first_id`, page numbers); the
resource module that builds the pager decides what a cursor is. A server whose paging
does not advance (a cursor already used, or the same page again, while it says more
follow) raises `PaginationStalledError` instead of being paged forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import msgspec

from ._errors import PaginationStalledError
from ._models import Model

__all__ = ["AsyncPager", "ListPage", "Page"]

T = TypeVar("T")


class ListPage(Model, Generic[T]):
    """The wire shape listings share: `data` plus the paging fields the server sends
    (cursor listings send `has_more` and `limit`; page-number ones add `total`, `page`)."""

    data: list[T] = msgspec.field(default_factory=list)
    has_more: bool | None = None
    limit: int | None = None
    total: int | None = None
    page: int | None = None


class Page(Generic[T]):
    """One fetched page: its `items` and whether another follows (`has_more`)."""

    __slots__ = ("items", "next_cursor", "raw")

    def __init__(self, items: Sequence[T], next_cursor: Any, raw: Any = None) -> None:
        self.items = list(items)
        self.next_cursor = next_cursor
        self.raw = raw

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Page({len(self.items)} items, has_more={self.has_more})"


Fetch = Callable[[Any], Awaitable[Page[T]]]


class AsyncPager(Generic[T]):
    """`async for item in pager` (every item, fetched lazily) or
    `async for page in pager.pages()`; `await pager.first_page()` for just one."""

    def __init__(self, fetch: Fetch[T], first_cursor: Any = None) -> None:
        self._fetch = fetch
        self._first_cursor = first_cursor

    async def first_page(self) -> Page[T]:
        return await self._fetch(self._first_cursor)

    async def pages(self) -> AsyncIterator[Page[T]]:
        cursor = self._first_cursor
        used = {cursor}
        previous: list[T] | None = None
        while True:
            page = await self._fetch(cursor)
            if page.items == previous:
                raise self._stalled(cursor, len(used) - 1, "the same page again")
            yield page
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor
            if cursor in used:
                raise self._stalled(cursor, len(used), "a cursor already used")
            used.add(cursor)
            previous = page.items

    @staticmethod
    def _stalled(cursor: Any, pages: int, what: str) -> PaginationStalledError:
        return PaginationStalledError(
            f"paging does not advance: after {pages} pages the server sent {what} "
            f"({cursor!r}) while saying more pages follow",
            cursor=cursor,
            pages=pages,
        )

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def collect(self) -> list[T]:
        """Every item, all pages fetched, in a list."""
        return [item async for item in self]

    def __repr__(self) -> str:
        return f"<AsyncPager cursor={self._first_cursor!r}>"
