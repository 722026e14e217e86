"""One measurement in a fresh process: `python benchmarks/worker.py PEER SCENARIO PARAMS`.

The runner starts one of these per (peer, scenario) so imports, pools and memory never
leak from one client into another. It prints one JSON object: wall time, this process's
CPU time (user + system, all threads) over the measured part only, peak RSS, and
whether every answer matched the text the server sent.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import resource
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from server import expected_text, stream_events  # noqa: E402

API_KEY = "app-bench-key"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kib(field: str = "VmRSS") -> int:
    """This process's resident memory (or, with VmHWM, its peak) in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Make VmHWM start again from the current RSS (Linux `clear_refs` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


class Meter:
    def __enter__(self) -> Meter:
        self.wall0, self.cpu0 = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = cpu_seconds() - self.cpu0


# --- network scenarios ------------------------------------------------------------------


async def run_network(peer_name: str, scenario: str, p: dict[str, Any]) -> dict[str, Any]:
    peer = importlib.import_module(f"peers.{peer_name}")
    base_url = p["base_url"]
    streams, events, hold = p.get("streams", 1), p.get("events", 1), p.get("hold", 0)
    concurrency = p.get("concurrency", streams)
    client = peer.Client(base_url, API_KEY, concurrency)
    pool = ThreadPoolExecutor(max_workers=concurrency) if peer.SYNC else None
    loop = asyncio.get_running_loop()

    samples: list[tuple[int, int]] = []  # paced: (server's write, reader's receipt), us
    options = "".join(f" {name}={p[name]}" for name in ("coalesce", "pace") if name in p)

    async def call(method: str, query: str, user: str) -> str:
        if pool is not None:
            return await loop.run_in_executor(pool, getattr(client, method), query, user)
        if method == "paced":
            return await client.paced(query, user, samples)  # type: ignore[no-any-return]
        return await getattr(client, method)(query, user)  # type: ignore[no-any-return]

    async def many(method: str, count: int, n: int, hold_k: int, width: int) -> list[str]:
        query = f"n={n} hold={hold_k}{options}"
        gate = asyncio.Semaphore(width)

        async def one(i: int) -> str:
            async with gate:
                return await call(method, query, f"user-{i}")

        return await asyncio.gather(*(one(i) for i in range(count)))

    if pool is not None:
        client.open()
    else:
        await client.open()
    method = {"blocking": "send", "paced": "paced"}.get(scenario, "stream")
    try:
        # Warm up (first-use imports, the pool's connections) outside the measurement;
        # the memory scenario warms one connection only, so each stream's costs count.
        warm = 1 if scenario == "rss" else min(concurrency, 200)
        await many(method, warm, 3, 0, warm)
        samples.clear()
        rss_before = rss_kib()
        peak_reset = reset_peak_rss()
        with Meter() as meter:
            texts = await many(method, streams, events, hold, concurrency)
        peak = rss_kib("VmHWM")
    finally:
        if pool is not None:
            client.close()
            pool.shutdown()
        else:
            await client.close()
    want = expected_text(events)
    bad = sum(text != want for text in texts)
    data_events = events + 5  # workflow/node start and finish, message_end
    result: dict[str, Any] = {
        "wall_s": meter.wall,
        "cpu_s": meter.cpu,
        "completed": len(texts),
        "text_ok": bad == 0,
        "mismatches": bad,
    }
    if method != "send":
        total = streams * data_events
        result.update(
            events=total,
            cpu_us_per_event=meter.cpu / total * 1e6,
            events_per_s=total / meter.wall,
        )
    else:
        result.update(
            sends=streams,
            cpu_us_per_send=meter.cpu / streams * 1e6,
            sends_per_s=streams / meter.wall,
        )
    if scenario == "paced" and samples:
        latencies = sorted(received - sent for sent, received in samples)
        count = len(latencies)
        span = max(sent for sent, _ in samples) - min(sent for sent, _ in samples)
        result.update(
            stamped=count,
            latency_p50_ms=latencies[count // 2] / 1000,
            latency_p99_ms=latencies[count * 99 // 100] / 1000,
            latency_max_ms=latencies[-1] / 1000,
            # the pace the server kept: a saturated machine writes (and reads) late
            tokens_per_stream_s=count / streams / (span / 1e6) if span else None,
        )
    if scenario == "rss":
        result.update(
            rss_before_kib=rss_before,
            peak_rss_kib=peak,
            peak_reset=peak_reset,
            kib_per_stream=(peak - rss_before) / streams,
        )
    return result


# --- in-memory scenarios ----------------------------------------------------------------


def chunks_of(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def decode_with(peer_name: str, max_size: int) -> Any:
    """A function `chunks -> answer text` for an in-memory decoding loop."""
    if peer_name == "ours":
        import msgspec

        from pulseai_async._streaming.events import MessageEvent, decode_event, known_event_decoder
        from pulseai_async._streaming.sse import SSEDecoder

        # What `ChatStream` does per chunk: frame, then decode each event into the
        # typed union (known events in one msgspec call; anything else through
        # `decode_event`, which also gives unknown events and typed errors).
        def ours(chunks: list[bytes]) -> str:
            feed = SSEDecoder(max_size).feed_data
            decode = known_event_decoder().decode
            parts = []
            for chunk in chunks:
                for item in feed(chunk):
                    if type(item) is bytes:
                        try:
                            event = decode(item)
                        except (msgspec.DecodeError, RecursionError):
                            event = decode_event(item)
                    elif item.event == "ping":
                        continue
                    else:
                        event = decode_event(item.data, item.event)
                    if type(event) is MessageEvent:
                        parts.append(event.answer)
            return "".join(parts)

        return ours
    if peer_name == "floor":
        import msgspec

        from pulseai_async._streaming.events import KnownEvent, MessageEvent

        # The same typed target as ours, with a hand-written splitter: LF only, no
        # comments, ids, limits or error handling (the least a parser can do).
        decode = msgspec.json.Decoder(KnownEvent, strict=False).decode

        def floor(chunks: list[bytes]) -> str:
            parts = []
            rest: list[bytes] = []  # an unfinished block, joined once it ends (linear)
            for chunk in chunks:
                if rest:
                    if b"\n" not in chunk:
                        rest.append(chunk)
                        continue
                    rest.append(chunk)
                    chunk = b"".join(rest)
                    rest = []
                blocks = chunk.split(b"\n\n")
                tail = blocks.pop()
                if tail:
                    rest.append(tail)
                for block in blocks:
                    if block[:6] == b"data: ":
                        event = decode(block[6:])
                        if type(event) is MessageEvent:
                            parts.append(event.answer)
            return "".join(parts)

        return floor
    raise SystemExit(f"no in-memory decoder for {peer_name}")


def best_of(repeat: int, fn: Any, *args: Any) -> tuple[float, float, Any]:
    """(best wall, best CPU, result) over `repeat` runs."""
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(repeat):
        with Meter() as meter:
            out = fn(*args)
        best_wall, best_cpu = min(best_wall, meter.wall), min(best_cpu, meter.cpu)
    return best_wall, best_cpu, out


def run_decoder(peer_name: str, p: dict[str, Any]) -> dict[str, Any]:
    events, chunk = p["events"], p.get("chunk", 4096)
    body = b"".join(stream_events(events))
    chunks = chunks_of(body, chunk)
    fn = decode_with(peer_name, 16 * 1024 * 1024)
    fn(chunks[:50])  # warm up
    wall, cpu, text = best_of(p.get("repeat", 5), fn, chunks)
    total = events + 5
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "events": total,
        "bytes": len(body),
        "events_per_s": total / wall,
        "mb_per_s": len(body) / wall / 1e6,
        "us_per_event": wall / total * 1e6,
        "text_ok": text == expected_text(events),
    }


def run_bigevent(peer_name: str, p: dict[str, Any]) -> dict[str, Any]:
    """One huge message event (its `answer` is the whole text), in 4 KiB chunks.

    Linear time shows as a flat cost per MiB. It is compared between 32 and 64 MiB:
    glibc serves both from fresh `mmap`s (first-touch page faults included), while a
    smaller buffer is recycled from the heap and looks cheaper per MiB than it is.
    """
    out: dict[str, Any] = {"text_ok": True}
    sizes = p.get("sizes_mib", [8, 32, 64])
    fn = decode_with(peer_name, (max(sizes) + 1) * 1024 * 1024)
    for mib in sizes:
        answer = "x" * (mib * 1024 * 1024 - 300)
        body = b'data: {"event": "message", "answer": "' + answer.encode() + b'"}\n\n'
        chunks = chunks_of(body, p.get("chunk", 4096))
        wall, _cpu, text = best_of(p.get("repeat", 3), fn, chunks)
        out[f"ms_{mib}mib"] = wall * 1000
        out["text_ok"] = out["text_ok"] and text == answer
        del body, chunks, text, answer
    small, large = sizes[-2], sizes[-1]
    out["growth"] = (out[f"ms_{large}mib"] / large) / (out[f"ms_{small}mib"] / small)
    return out


def main() -> None:
    peer_name, scenario, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    params = json.loads(raw)
    try:
        if scenario == "decoder":
            result = run_decoder(peer_name, params)
        elif scenario == "bigevent":
            result = run_bigevent(peer_name, params)
        else:
            result = asyncio.run(run_network(peer_name, scenario, params))
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
    result["pid"] = os.getpid()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
