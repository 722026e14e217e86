"""This SDK, used the way its docs show."""

import time

from pulseai_async import AsyncPulse, MessageEvent

NAME = "pulseai_async (ours)"
SYNC = False
STAMPED = 10**12  # a paced event's `created_at` is its write time in microseconds


class Client:
    def __init__(self, base_url: str, api_key: str, concurrency: int) -> None:
        self.pulse = AsyncPulse(
            api_key=api_key, base_url=base_url, max_connections=max(concurrency, 100)
        )

    async def open(self) -> None:
        await self.pulse.__aenter__()

    async def close(self) -> None:
        await self.pulse.aclose()

    async def stream(self, query: str, user: str) -> str:
        async with self.pulse.chat.stream(query, user=user) as stream:
            return await stream.final_text()

    async def paced(self, query: str, user: str, samples: list[tuple[int, int]]) -> str:
        """Each stamped event: (its write time, when the `async for` body sees it), in us."""
        now = time.time_ns
        async with self.pulse.chat.stream(query, user=user) as stream:
            async for event in stream:
                if type(event) is MessageEvent and event.created_at > STAMPED:  # type: ignore[operator]
                    samples.append((event.created_at, now() // 1000))  # type: ignore[operator]
            return stream.text

    async def send(self, query: str, user: str) -> str:
        return (await self.pulse.chat.send(query, user=user)).answer
