"""httpx + httpx-sse + json: what an async user would assemble from popular parts."""

import json

import httpx
from httpx_sse import aconnect_sse

from . import chat_body

NAME = "httpx + httpx-sse + json"
SYNC = False


class Client:
    def __init__(self, base_url: str, api_key: str, concurrency: int) -> None:
        self.url = base_url + "/chat-messages"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.concurrency = max(concurrency, 100)

    async def open(self) -> None:
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        self.client = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(300.0))

    async def close(self) -> None:
        await self.client.aclose()

    async def stream(self, query: str, user: str) -> str:
        parts: list[str] = []
        body = chat_body(query, user, "streaming")
        async with aconnect_sse(
            self.client, "POST", self.url, json=body, headers=self.headers
        ) as source:
            source.response.raise_for_status()
            async for sse in source.aiter_sse():
                if not sse.data:
                    continue
                event = json.loads(sse.data)
                if event["event"] == "message":
                    parts.append(event["answer"])
                elif event["event"] == "error":
                    raise RuntimeError(event["message"])
        return "".join(parts)

    async def send(self, query: str, user: str) -> str:
        body = chat_body(query, user, "blocking")
        response = await self.client.post(self.url, json=body, headers=self.headers)
        response.raise_for_status()
        return str(response.json()["answer"])
