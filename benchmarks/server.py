"""A minimal HTTP/1.1 server streaming Dify-shaped chat events, for the benchmarks.

It runs in its own process so the client's CPU is measured apart from the server's. It
is a raw asyncio protocol (no framework) that answers from pre-built bodies, so on a
2-core machine the server stays far from being the bottleneck: one core serves, the
other runs the client under test.

`POST /v1/chat-messages` with a JSON body whose `query` is `"n=<events> hold=<k>"`:
- `response_mode: "streaming"`: the answer as `n` message events framed like Dify's
  (`data: {...}\\n\\n`, Python `json.dumps` style, one HTTP chunk per event, a
  `event: ping` keep-alive, the chatflow's workflow/node events and a `message_end`).
  With `hold=k`, every stream stops after its first event until `k` streams are open
  (or 30 s pass), so a client holds `k` streams open at once. Options may follow:
  `coalesce=m` puts `m` events in each HTTP chunk (a server that batches its writes,
  or a client that fell behind); `pace=ms` writes the message events one at a time, one
  every `ms` milliseconds per stream (as a model produces tokens), each stamped in its
  `created_at` with the time of its write (`time.time_ns() // 1000`, microseconds, a
  clock every process on the machine shares), so a client can tell how long the event
  took from the server's write to its reader.
- `response_mode: "blocking"`: the same answer as one JSON object.

The answer text for `n` events is `expected_text(n)`: every client checks what it got.
Run `python benchmarks/server.py [--port 0]`; it prints `listening <port>` when ready.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import stat
import sys
import time

CONVERSATION_ID = "45701982-8118-4bc5-8e9b-64562b4555f2"
MESSAGE_ID = "9da23599-e713-473b-982c-4328d4f5c78a"
TASK_ID = "7a1d9b21-2f86-4d0a-9a51-3f5d6f1c2e11"
WORKFLOW_RUN_ID = "fb47b2e6-1e5a-4a8c-9f61-3a0d8a6b2c55"
CREATED_AT = 1705395332
WORDS = [" The", " answer", " is", " naïve", " but", " 世界", " says", " hello", " 👋", ","]
HOLD_TIMEOUT = 30.0

_query_re = re.compile(rb'"query"\s*:\s*"n=(\d+) hold=(\d+)((?: [a-z]+=\d+)*)"')
_option_re = re.compile(rb" ([a-z]+)=(\d+)")
PACE_SLOTS = 20  # paced streams are spread over this many phases of their period


def token(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]}{i}"


def expected_text(n: int) -> str:
    """The answer a client must reassemble from `n` events."""
    return "".join(token(i) for i in range(n))


def _envelope(event: str) -> dict[str, object]:
    return {
        "event": event,
        "conversation_id": CONVERSATION_ID,
        "message_id": MESSAGE_ID,
        "created_at": CREATED_AT,
        "task_id": TASK_ID,
    }


def _node(event: str, status: str | None) -> dict[str, object]:
    body = _envelope(event)
    body["workflow_run_id"] = WORKFLOW_RUN_ID
    data: dict[str, object] = {
        "id": "b1c5a1d0-0d5e-4b8a-9d7c-6c0b8f3f0e01",
        "node_id": "1718349102512",
        "node_type": "llm",
        "title": "LLM",
        "index": 2,
        "predecessor_node_id": "1718349092512",
        "inputs": None,
        "created_at": CREATED_AT,
    }
    if status is not None:
        data.update(status=status, elapsed_time=1.25, outputs={"text": "..."}, finished_at=0)
    body["data"] = data
    return body


def _usage(n: int) -> dict[str, object]:
    return {
        "prompt_tokens": 12,
        "prompt_unit_price": "0.001",
        "prompt_price_unit": "0.001",
        "prompt_price": "0.0000120",
        "completion_tokens": n,
        "completion_unit_price": "0.002",
        "completion_price_unit": "0.001",
        "completion_price": "0.0000400",
        "total_tokens": n + 12,
        "total_price": "0.0000520",
        "currency": "USD",
        "latency": 1.5,
    }


def message_event(i: int, created_at: int = CREATED_AT) -> bytes:
    event = _envelope("message")
    event["id"] = MESSAGE_ID
    event["answer"] = token(i)
    event["created_at"] = created_at
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def stream_events(n: int) -> list[bytes]:
    """The SSE blocks of one streamed answer, in order (Dify: `json.dumps`, ASCII)."""
    out = [b"data: " + json.dumps(_node("workflow_started", None)).encode() + b"\n\n"]
    out.append(b"data: " + json.dumps(_node("node_started", None)).encode() + b"\n\n")
    for i in range(n):
        out.append(message_event(i))
        if i == 0:
            out.append(b"event: ping\n\n")
    out.append(b"data: " + json.dumps(_node("node_finished", "succeeded")).encode() + b"\n\n")
    out.append(b"data: " + json.dumps(_node("workflow_finished", "succeeded")).encode() + b"\n\n")
    end = _envelope("message_end")
    end["id"] = MESSAGE_ID
    end["metadata"] = {"usage": _usage(n), "retriever_resources": []}
    end["files"] = None
    out.append(b"data: " + json.dumps(end).encode() + b"\n\n")
    return out


def chunked(blocks: list[bytes], per_chunk: int = 1) -> bytes:
    """Each SSE block as its own HTTP chunk, as Dify's WSGI server sends them (or
    `per_chunk` blocks to a chunk)."""
    if per_chunk > 1:
        blocks = [b"".join(blocks[i : i + per_chunk]) for i in range(0, len(blocks), per_chunk)]
    return b"".join(b"%x\r\n%s\r\n" % (len(block), block) for block in blocks)


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-cache\r\n"
    b"X-Request-Id: bench\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


class Bodies:
    """Pre-built responses, cached per event count (the server's work is a write)."""

    def __init__(self) -> None:
        self._streams: dict[tuple[int, int], tuple[bytes, bytes]] = {}
        self._blocking: dict[int, bytes] = {}
        self._paced: dict[int, tuple[bytes, list[bytes], bytes]] = {}

    def stream(self, n: int, per_chunk: int = 1) -> tuple[bytes, bytes]:
        """(head + first event, the rest), split so a stream can be held open."""
        if (n, per_chunk) not in self._streams:
            blocks = stream_events(n)
            first = STREAM_HEAD + chunked(blocks[:3])
            rest = chunked(blocks[3:], per_chunk) + b"0\r\n\r\n"
            self._streams[n, per_chunk] = (first, rest)
        return self._streams[n, per_chunk]

    def paced(self, n: int) -> tuple[bytes, list[bytes], bytes]:
        """(head + first events, the message events still to stamp and pace, the end)."""
        if n not in self._paced:
            blocks = stream_events(n)
            first, rest = STREAM_HEAD + chunked(blocks[:4]), blocks[4 : 4 + n - 1]
            self._paced[n] = (first, rest, chunked(blocks[4 + n - 1 :]) + b"0\r\n\r\n")
        return self._paced[n]

    def blocking(self, n: int) -> bytes:
        if n not in self._blocking:
            body = {
                "event": "message",
                "task_id": TASK_ID,
                "id": MESSAGE_ID,
                "message_id": MESSAGE_ID,
                "conversation_id": CONVERSATION_ID,
                "mode": "chat",
                "answer": expected_text(n),
                "metadata": {"usage": _usage(n), "retriever_resources": []},
                "created_at": CREATED_AT,
            }
            raw = json.dumps(body).encode()
            self._blocking[n] = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"X-Request-Id: bench\r\nContent-Length: %d\r\n\r\n%s" % (len(raw), raw)
            )
        return self._blocking[n]


class Holds:
    """Streams waiting until `k` of them are open at once."""

    def __init__(self) -> None:
        self.waiting: dict[int, list[asyncio.Future[None]]] = {}

    async def wait(self, k: int) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        group = self.waiting.setdefault(k, [])
        group.append(future)
        if len(group) >= k:
            del self.waiting[k]
            for f in group:
                if not f.done():
                    f.set_result(None)
        try:
            await asyncio.wait_for(future, HOLD_TIMEOUT)
        except TimeoutError:
            if self.waiting.get(k) is group:
                del self.waiting[k]


class Pacer:
    """Writes every paced stream's next event on time, from one ticker for all streams
    (a timer per stream would cost the server more than the client under test).

    Stream k gets phase k mod PACE_SLOTS of the period, so writes are spread evenly;
    each event is stamped just before its write, so the server running late does not
    count as the client's latency (it only lowers the rate).
    """

    def __init__(self, period_ms: int) -> None:
        self.period = period_ms / 1000
        self.slots: list[list[PacedStream]] = [[] for _ in range(PACE_SLOTS)]
        self.added = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, stream: PacedStream) -> None:
        self.slots[self.added % PACE_SLOTS].append(stream)
        self.added += 1
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        start, step, k = loop.time(), self.period / PACE_SLOTS, 0
        while any(self.slots):
            k += 1
            await asyncio.sleep(max(0.0, start + k * step - loop.time()))
            slot = self.slots[k % PACE_SLOTS]
            slot[:] = [stream for stream in slot if stream.write_next()]
        self.task = None
        self.added = 0


class PacedStream:
    def __init__(self, protocol: BenchProtocol, events: list[bytes], end: bytes) -> None:
        self.protocol = protocol
        self.events = events
        self.end = end
        self.next = 0
        self.done = protocol.loop.create_future()

    def write_next(self) -> bool:
        """Write the next event (stamped now); False once the stream is over."""
        transport = self.protocol.transport
        if transport is None or self.next == len(self.events):
            if transport is not None:
                transport.write(self.end)
            self.done.set_result(None)
            return False
        block = self.events[self.next]
        stamp = b"%d" % (time.time_ns() // 1000)
        block = block.replace(b'"created_at": %d' % CREATED_AT, b'"created_at": ' + stamp, 1)
        transport.write(b"%x\r\n%s\r\n" % (len(block), block))
        self.next += 1
        return True


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class BenchProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive: parse a request, write its pre-built answer."""

    def __init__(self, bodies: Bodies, holds: Holds, pacers: dict[int, Pacer]) -> None:
        self.bodies = bodies
        self.holds = holds
        self.pacers = pacers
        self.loop = asyncio.get_running_loop()
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.writable = asyncio.Event()
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end].lower()
        match = re.search(rb"content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        if len(self.buffer) < head_end + 4 + length:
            return
        body = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = self.buffer[head_end + 4 + length :]
        self.busy = True
        asyncio.get_running_loop().create_task(self._answer(head, body))

    async def _answer(self, head: bytes, body: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        query = _query_re.search(body)
        if not head.startswith(b"post ") or b"/chat-messages" not in head or query is None:
            transport.write(NOT_FOUND)
        else:
            n, hold = int(query.group(1)), int(query.group(2))
            options = {k.decode(): int(v) for k, v in _option_re.findall(query.group(3))}
            if b'"streaming"' in body and "pace" in options:
                first, events, end = self.bodies.paced(n)
                transport.write(first)
                if hold:
                    await self.holds.wait(hold)
                pacer = self.pacers.setdefault(options["pace"], Pacer(options["pace"]))
                paced = PacedStream(self, events, end)
                pacer.add(paced)
                await paced.done
                if self.transport is None:
                    return
            elif b'"streaming"' in body:
                first, rest = self.bodies.stream(n, options.get("coalesce", 1))
                transport.write(first)
                if hold:
                    await self.holds.wait(hold)
                if self.transport is None:
                    return
                transport.write(rest)
            else:
                transport.write(self.bodies.blocking(n))
        await self.writable.wait()
        self.busy = False
        if self.transport is not None and self.buffer:
            self._next()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    bodies, holds, pacers = Bodies(), Holds(), dict[int, Pacer]()
    server = await loop.create_server(
        lambda: BenchProtocol(bodies, holds, pacers),
        host,
        port,
        backlog=4096,
        reuse_address=True,
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"listening {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waits = [asyncio.ensure_future(stop.wait())]
    if stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        # The parent closing our stdin pipe also stops us (no orphan if the runner dies).
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        waits.append(asyncio.ensure_future(reader.read()))
    await asyncio.wait(waits, return_when="FIRST_COMPLETED")
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
