"""aiohttp + aiohttp-sse-client2 + json."""

import json

import aiohttp
from aiohttp_sse_client2 import client as sse_client

from . import chat_body

NAME = "aiohttp + aiohttp-sse-client2"
SYNC = False


class Client:
    def __init__(self, base_url: str, api_key: str, concurrency: int) -> None:
        self.url = base_url + "/chat-messages"
        self.api_key = api_key
        self.concurrency = max(concurrency, 100)

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        self.session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        await self.session.close()

    async def stream(self, query: str, user: str) -> str:
        parts: list[str] = []
        async with sse_client.EventSource(
            self.url,
            option={"method": "POST"},
            session=self.session,
            json=chat_body(query, user, "streaming"),
            headers={"Authorization": f"Bearer {self.api_key}"},
        ) as source:
            async for sse in source:
                if sse.type not in (None, "message"):  # data-only events have no type
                    continue
                event = json.loads(sse.data)
                if event["event"] == "message":
                    parts.append(event["answer"])
                elif event["event"] == "message_end":
                    break  # the library reconnects at end of body otherwise
                elif event["event"] == "error":
                    raise RuntimeError(event["message"])
        return "".join(parts)

    async def send(self, query: str, user: str) -> str:
        async with self.session.post(
            self.url,
            json=chat_body(query, user, "blocking"),
            headers={"Authorization": f"Bearer {self.api_key}"},
        ) as response:
            response.raise_for_status()
            return str((await response.json())["answer"])
