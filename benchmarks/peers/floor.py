"""The floor: a hand-written raw aiohttp loop decoding with msgspec.

The least work a correct client can do: split the body on blank lines, drop everything
but `data: ` blocks, decode each into a small typed Struct with the fields a client must
look at (the text, the ids to continue or stop, an error's message).
"""

import time

import aiohttp
import msgspec

from . import chat_body

NAME = "floor: raw aiohttp + msgspec"
SYNC = False
STAMPED = 10**12  # a paced event's `created_at` is its write time in microseconds


class Ev(msgspec.Struct):
    event: str
    answer: str = ""
    conversation_id: str | None = None
    message_id: str | None = None
    task_id: str | None = None
    message: str | None = None


class StampedEv(Ev):
    created_at: int = 0


class Reply(msgspec.Struct):
    answer: str


_decode = msgspec.json.Decoder(Ev).decode
_decode_stamped = msgspec.json.Decoder(StampedEv).decode
_decode_reply = msgspec.json.Decoder(Reply).decode
_encode = msgspec.json.encode


class Client:
    def __init__(self, base_url: str, api_key: str, concurrency: int) -> None:
        self.url = base_url + "/chat-messages"
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.concurrency = concurrency

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=max(self.concurrency, 100))
        self.session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        await self.session.close()

    async def stream(self, query: str, user: str) -> str:
        body = _encode(chat_body(query, user, "streaming"))
        parts: list[str] = []
        async with self.session.post(self.url, data=body, headers=self.headers) as response:
            response.raise_for_status()
            rest = b""
            async for chunk in response.content.iter_any():
                if rest:
                    chunk = rest + chunk
                blocks = chunk.split(b"\n\n")
                rest = blocks.pop()
                for block in blocks:
                    if block[:6] == b"data: ":
                        event = _decode(block[6:])
                        if event.event == "message":
                            parts.append(event.answer)
                        elif event.event == "error":
                            raise RuntimeError(event.message)
        return "".join(parts)

    async def paced(self, query: str, user: str, samples: list[tuple[int, int]]) -> str:
        """`stream`, noting each stamped event's write time and when it is decoded (us)."""
        now = time.time_ns
        body = _encode(chat_body(query, user, "streaming"))
        parts: list[str] = []
        async with self.session.post(self.url, data=body, headers=self.headers) as response:
            response.raise_for_status()
            rest = b""
            async for chunk in response.content.iter_any():
                if rest:
                    chunk = rest + chunk
                blocks = chunk.split(b"\n\n")
                rest = blocks.pop()
                for block in blocks:
                    if block[:6] == b"data: ":
                        event = _decode_stamped(block[6:])
                        if event.event == "message":
                            if event.created_at > STAMPED:
                                samples.append((event.created_at, now() // 1000))
                            parts.append(event.answer)
                        elif event.event == "error":
                            raise RuntimeError(event.message)
        return "".join(parts)

    async def send(self, query: str, user: str) -> str:
        body = _encode(chat_body(query, user, "blocking"))
        async with self.session.post(self.url, data=body, headers=self.headers) as response:
            response.raise_for_status()
            return _decode_reply(await response.read()).answer
