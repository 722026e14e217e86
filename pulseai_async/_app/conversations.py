"""`pulse.conversations`: a user's conversations and their message history.

Listings are `AsyncPager`s: `async for` fetches pages on demand, `pages()` yields whole
pages and `first_page()` fetches just one. Conversations page with the `last_id` cursor,
history with `first_id` (the oldest message already seen).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack, get_args

from .._errors import PulseValidationError
from .._options import RequestOptions, check_options
from .._pagination import AsyncPager, ListPage, Page
from .._resource import Resource
from .._validation import (
    check_bool,
    check_choice,
    check_int,
    check_text,
    check_uuid,
    optional_uuid,
)
from .models import Conversation, HistoryMessage

if TYPE_CHECKING:
    from .._pipeline import Pipeline

__all__ = ["Conversations", "HistoryOrder", "SortBy"]

SortBy = Literal["created_at", "-created_at", "updated_at", "-updated_at"]
HistoryOrder = Literal["newest_first", "oldest_first"]
SORT_BY = frozenset(get_args(SortBy))
HISTORY_ORDERS = frozenset(get_args(HistoryOrder))
MAX_LIMIT = 100
T = TypeVar("T")


def _cursor_fetch(
    client: Pipeline,
    path: str,
    listing: type[ListPage[T]],
    params: dict[str, Any],
    cursor_name: str,
    options: RequestOptions,
) -> Callable[[str | None], Awaitable[ListPage[T]]]:
    """Fetch one page of an id-cursor listing (`last_id` or `first_id`)."""
    check_options(options, f"GET {path}")  # now, not when the first page is fetched

    async def fetch(cursor: str | None) -> ListPage[T]:
        return await client._call(
            "GET", path, listing, params={**params, cursor_name: cursor}, options=options
        )

    return fetch


class _OldestFirstPager(AsyncPager[HistoryMessage]):
    """History from the first message on: the server only pages backwards, so this
    fetches every page first, then yields them oldest page first."""

    async def pages(self) -> AsyncGenerator[Page[HistoryMessage], None]:
        fetched = [page async for page in super().pages()]
        for index in range(len(fetched) - 1, -1, -1):
            page = fetched[index]
            yield Page(list(reversed(page.items)), None if index == 0 else True, page.raw)

    async def first_page(self) -> Page[HistoryMessage]:
        async with contextlib.aclosing(self.pages()) as pages:
            async for page in pages:
                return page
        raise AssertionError("unreachable: pages() yields at least one page")


class Conversations(Resource):
    """Get Conversations, Get Conversation History Messages, Delete Conversation,
    Conversation Rename."""

    def list(
        self,
        *,
        user: str,
        limit: int = 20,
        sort_by: SortBy = "-updated_at",
        last_id: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[Conversation]:
        """The user's conversations, `limit` per page (1-100), ordered by `sort_by`
        (default newest activity first). Nothing is sent until you iterate:
        `async for conversation in pulse.conversations.list(user=...)`. To resume, pass a
        page's `next_cursor` as `last_id`. An unknown `last_id` raises `NotFoundError`
        ("Last Conversation Not Exists.")."""
        params: dict[str, Any] = {
            "user": check_text("user", user),
            "limit": check_int("limit", limit, 1, MAX_LIMIT),
            "sort_by": check_choice("sort_by", sort_by, SORT_BY),
        }
        fetch_page = _cursor_fetch(
            self._client, "/conversations", ListPage[Conversation], params, "last_id", options
        )

        async def fetch(cursor: str | None) -> Page[Conversation]:
            answer = await fetch_page(cursor)
            more = answer.has_more and bool(answer.data)
            return Page(answer.data, answer.data[-1].id if more else None, answer)

        return AsyncPager(fetch, optional_uuid("last_id", last_id))

    def messages(
        self,
        conversation_id: str,
        *,
        user: str,
        limit: int = 20,
        order: HistoryOrder = "newest_first",
        first_id: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[HistoryMessage]:
        """A conversation's messages (Get Conversation History Messages), `limit` per
        page (1-100).

        `order="newest_first"` (default) yields the latest message first and goes back
        in time, fetching older pages on demand; each page's items are newest first too.
        `order="oldest_first"` yields the conversation from its first message on: it
        fetches every page before yielding anything. (On the wire the server sends the
        newest page first, oldest-first within the page; `page.raw` keeps that.) Pass a
        message id as `first_id` to start before (older than) that message.
        """
        params: dict[str, Any] = {
            "conversation_id": check_uuid("conversation_id", conversation_id),
            "user": check_text("user", user),
            "limit": check_int("limit", limit, 1, MAX_LIMIT),
        }
        check_choice("order", order, HISTORY_ORDERS)
        fetch_page = _cursor_fetch(
            self._client, "/messages", ListPage[HistoryMessage], params, "first_id", options
        )

        async def fetch(cursor: str | None) -> Page[HistoryMessage]:
            answer = await fetch_page(cursor)
            more = answer.has_more and bool(answer.data)
            newest_first = list(reversed(answer.data))
            return Page(newest_first, answer.data[0].id if more else None, answer)

        start = optional_uuid("first_id", first_id)
        if order == "oldest_first":
            return _OldestFirstPager(fetch, start)
        return AsyncPager(fetch, start)

    async def rename(
        self,
        conversation_id: str,
        name: str | None = None,
        *,
        user: str,
        auto_generate: bool = False,
        **options: Unpack[RequestOptions],
    ) -> Conversation:
        """Give a conversation a `name`, or let the app generate one from its content
        (`auto_generate=True`, no name). Returns the renamed conversation."""
        path = f"/conversations/{check_uuid('conversation_id', conversation_id)}/name"
        body: dict[str, Any] = {"user": check_text("user", user)}
        if check_bool("auto_generate", auto_generate):
            if name is not None:
                raise PulseValidationError("pass either a name or auto_generate=True, not both")
            body["auto_generate"] = True
        else:
            body["name"] = check_text("name", name)
            body["auto_generate"] = False
        return await self._client._call("POST", path, Conversation, json=body, options=options)

    async def delete(
        self, conversation_id: str, *, user: str, **options: Unpack[RequestOptions]
    ) -> None:
        """Delete a conversation. Accepts both the old `200 {"result": "success"}` and the
        newer `204 No Content` answers; a second delete raises `ConversationNotFoundError`."""
        path = f"/conversations/{check_uuid('conversation_id', conversation_id)}"
        await self._client._call(
            "DELETE", path, None, json={"user": check_text("user", user)}, options=options
        )
