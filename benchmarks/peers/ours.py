"""This SDK, used the way its docs show."""

from pulseai_async import AsyncPulse

NAME = "pulseai_async (ours)"
SYNC = False


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

    async def send(self, query: str, user: str) -> str:
        return (await self.pulse.chat.send(query, user=user)).answer
