"""Benchmarks: this SDK against the clients its users would otherwise pick, in one run.

    python benchmarks/run.py                 # everything (a few minutes)
    python benchmarks/run.py --quick         # smaller sizes (under a minute)
    python benchmarks/run.py --only c200,decoder --peers ours,floor
    nox -s bench -- --quick

A server process (`server.py`) streams Dify-shaped events over loopback; every
(peer, scenario) runs in a fresh worker process (`worker.py`) that reports its own CPU
time, so the client's cost is measured apart from the server's. Every answer is checked
against the text the server sent. Each figure is also given as `peer / ours`: for costs
and times (CPU per event, KiB, ms) above 1 means ours is cheaper; for rates (events/s,
sends/s, MB/s) above 1 means the peer is faster. A peer that cannot be imported or
fails is reported as an error, not a crash. Full runs repeat the network scenarios and
keep each peer's least disturbed round (lowest CPU); `--quick` runs one round, smaller
sizes, and only ours and the floor at 1,000 streams. Results go to
`benchmarks/results/latest.json` (or `--json PATH`).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import importlib.util
import ipaddress
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers import PEERS  # noqa: E402

ASYNC_PEERS = ["ours", "floor", "httpx_sse_json", "aiohttp_sse_client"]
LABELS = {
    "ours": "pulseai_async (ours)",
    "floor": "floor: raw aiohttp + msgspec",
    "httpx_sse_json": "httpx + httpx-sse + json",
    "aiohttp_sse_client": "aiohttp + aiohttp-sse-client2",
    "requests_sseclient": "requests + sseclient-py (threads)",
    "dify": "dify-client (threads)",
    "independent": "pulseai_async, gate off: each request retries alone (openai-python's rule)",
}
PACKAGES = {
    "ours": ["pulseai-async", "aiohttp", "msgspec"],
    "floor": ["aiohttp", "msgspec"],
    "httpx_sse_json": ["httpx", "httpx-sse"],
    "aiohttp_sse_client": ["aiohttp", "aiohttp-sse-client2"],
    "requests_sseclient": ["requests", "sseclient-py"],
    "dify": ["dify-client", "requests"],
}
IMPORTS = {
    "ours": "from pulseai_async import AsyncPulse, ChatStream",  # what a program does first
    "deps": "import aiohttp, msgspec, anyio, tenacity",
    "httpx_sse_json": "import httpx, httpx_sse, json",
    "aiohttp_sse_client": "import aiohttp_sse_client2.client",
    "requests_sseclient": "import requests, sseclient",
    "dify": "import dify_client",
}

BLOCKING: dict[str, Any] = {
    "kind": "blocking",
    "full": {"streams": 1500, "events": 50, "concurrency": 50},
    "quick": {"streams": 200, "events": 50, "concurrency": 50},
    "rounds": 2,
}

# name: (kind, full params, quick params, peers, what it measures)
SCENARIOS: dict[str, dict[str, Any]] = {
    "long": {
        "kind": "stream",
        "full": {"streams": 1, "events": 20000},
        "quick": {"streams": 1, "events": 5000},
        "rounds": 2,
        "peers": PEERS,
        "title": "one long stream",
    },
    "c200": {
        "kind": "stream",
        "full": {"streams": 200, "events": 500},
        "quick": {"streams": 200, "events": 100},
        "rounds": 3,
        "peers": PEERS,
        "title": "200 concurrent streams",
    },
    "c1000": {
        "kind": "rss",
        "full": {"streams": 1000, "events": 100, "hold": 1000},
        "quick": {"streams": 1000, "events": 20, "hold": 1000},
        "rounds": 3,
        "peers": ASYNC_PEERS,
        "quick_peers": ["ours", "floor"],
        "title": "1,000 concurrent streams, all held open at once",
    },
    "blocking": {
        **BLOCKING,
        "peers": PEERS,
        "title": "short blocking sends, 50 at a time",
    },
    "blocking_lan": {
        **BLOCKING,
        "peers": ["ours", "floor"],
        # the server on this machine's own non-loopback address: the SDK's defaults for a
        # real host apply (proxies from the environment), which loopback turns off
        "lan": True,
        "title": "short blocking sends, 50 at a time, to a non-loopback address",
    },
    "decoder": {
        "kind": "decoder",
        "full": {"events": 20000, "repeat": 7},
        "quick": {"events": 5000, "repeat": 3},
        "rounds": 3,
        "peers": ["ours", "floor"],
        "title": "pure decoding, in-memory, 4 KiB chunks",
    },
    "bigevent": {
        "kind": "bigevent",
        "full": {"sizes_mib": [8, 32, 64], "repeat": 5},
        "quick": {"sizes_mib": [8, 32, 64], "repeat": 1},
        "rounds": 1,
        "peers": ["ours", "floor"],
        "title": "one 32 MiB event (and 8, 64 MiB), in 4 KiB chunks",
    },
    "storm": {
        "kind": "storm",
        "full": {"chats": 1000, "rate": 50},
        "quick": {"chats": 100, "rate": 20},
        "rounds": 3,
        "peers": ["ours"],
        "title": "429 storm: concurrent chats against a token bucket of `rate` req/s",
    },
    "coalesced": {
        "kind": "stream",
        "full": {"streams": 1, "events": 20000, "coalesce": 64},
        "quick": {"streams": 1, "events": 5000, "coalesce": 64},
        "rounds": 3,
        "peers": ["ours", "floor"],
        "title": "one long stream, 64 events per server write",
    },
    "coalesced200": {
        "kind": "stream",
        "full": {"streams": 200, "events": 500, "coalesce": 64},
        "quick": {"streams": 200, "events": 100, "coalesce": 64},
        "rounds": 3,
        "peers": ["ours", "floor"],
        "title": "200 concurrent streams, 64 events per server write",
    },
    "paced": {
        "kind": "paced",
        "full": {"streams": 2000, "events": 150, "pace": 20, "hold": 2000},
        "quick": {"streams": 2000, "events": 50, "pace": 20, "hold": 2000},
        "rounds": 2,
        "peers": ["ours", "floor"],
        "title": "2,000 concurrent streams, one token every 20 ms each",
    },
    "paced500": {
        "kind": "paced",
        "full": {"streams": 500, "events": 150, "pace": 20, "hold": 500},
        "quick": {"streams": 500, "events": 50, "pace": 20, "hold": 500},
        "rounds": 2,
        "peers": ["ours", "floor"],
        "title": "500 concurrent streams, one token every 20 ms each (a quarter of the load)",
    },
    "paced200": {
        "kind": "paced",
        "full": {"streams": 200, "events": 150, "pace": 20, "hold": 200},
        "quick": {"streams": 200, "events": 50, "pace": 20, "hold": 200},
        "rounds": 2,
        "peers": ["ours", "floor"],
        "title": "200 concurrent streams, one token every 20 ms each (a load 2 cores carry)",
    },
    "import": {
        "kind": "import",
        "full": {"repeat": 15},
        "quick": {"repeat": 3},
        "peers": [
            "ours",
            "deps",
            "httpx_sse_json",
            "aiohttp_sse_client",
            "requests_sseclient",
            "dify",
        ],
        "title": "import time (fresh interpreter)",
    },
}


NETWORK_KINDS = ("stream", "rss", "blocking", "paced")

# --- running ---------------------------------------------------------------------------


def lan_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


class Server:
    """The SSE server in its own process (closing its stdin also stops it)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "--host", self.host, "--port", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if not line or line[0] != "listening":
            raise RuntimeError("the benchmark server did not start")
        self.base_url = f"http://{self.host}:{line[1]}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def prime(server: Server, events: int, mode: str, options: str = "") -> None:
    """Have the server build (and cache) the answer of this size before any client is
    timed, so the first peer does not wait for it."""
    query = f"n={events} hold=0{options}"
    body = json.dumps(
        {"inputs": {}, "query": query, "response_mode": mode, "user": "prime"}
    ).encode()
    request = urllib.request.Request(
        server.base_url + "/chat-messages",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer prime"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def run_worker(peer: str, kind: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / "worker.py"), peer, kind, json.dumps(params)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if not lines:
        return {"error": f"worker exited {done.returncode}: {done.stderr.strip()[-500:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def time_import(statement: str) -> float | str:
    """Seconds one fresh interpreter takes to run `statement`, or the error it gave."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1]
    return float(done.stdout)


def compile_like_pip(package: str) -> None:
    """Write `package`'s bytecode, as pip does when it installs one: an editable install
    run with `PYTHONDONTWRITEBYTECODE` has none, and every fresh interpreter would
    compile it from source (30 ms here) while the dependencies load theirs."""
    spec = importlib.util.find_spec(package)  # (finds it without importing it)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            compileall.compile_dir(location, quiet=1)


def import_times(peers: list[str], repeat: int) -> dict[str, Any]:
    """Interleaved (so load on the machine hits every import alike); the minimum is the
    least disturbed figure and the one compared, the median is shown beside it."""
    compile_like_pip("pulseai_async")
    times: dict[str, list[float]] = {peer: [] for peer in peers}
    errors: dict[str, str] = {}
    for _ in range(repeat):
        for peer in peers:
            if peer in errors:
                continue
            took = time_import(IMPORTS[peer])
            if isinstance(took, str):
                errors[peer] = took
            else:
                times[peer].append(took)
    results: dict[str, Any] = {}
    for peer in peers:
        if peer in errors:
            results[peer] = {"error": errors[peer]}
        else:
            results[peer] = {
                "ms": min(times[peer]) * 1000,
                "median_ms": statistics.median(times[peer]) * 1000,
            }
    return results


def better(kind: str, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Of two runs of the same thing, the less disturbed one (lower CPU per unit)."""
    if "error" in a:
        return b
    if "error" in b:
        return a
    key = {
        "stream": "cpu_us_per_event",
        "rss": "cpu_us_per_event",
        "blocking": "cpu_us_per_send",
        "decoder": "us_per_event",
        "bigevent": "ms_32mib",
        "storm": "refused_429",
        "paced": "latency_p99_ms",  # latency is what a busy machine disturbs most
    }[kind]
    return a if a.get(key, 0) <= b.get(key, 0) else b


def run_scenario(
    name: str, spec: dict[str, Any], quick: bool, peers: list[str], server: Server | None
) -> dict[str, Any]:
    params = dict(spec["quick" if quick else "full"])
    kind = spec["kind"]
    listed = spec.get("quick_peers", spec["peers"]) if quick else spec["peers"]
    chosen = [p for p in listed if p in peers or (p == "deps" and "ours" in peers)]
    results: dict[str, Any] = {}
    if kind == "import":
        return {"params": params, "results": import_times(chosen, params["repeat"])}
    if kind == "storm":
        return run_storm(params, 1 if quick else spec["rounds"])
    if spec.get("lan") and server is not None:
        host = lan_address()
        if host is None:
            return {"params": params, "results": {}, "skipped": "no non-loopback address"}
        with Server(host) as lan_server:
            return run_scenario(name, {**spec, "lan": False}, quick, peers, lan_server)
    if server is not None and kind in NETWORK_KINDS:
        params["base_url"] = server.base_url
        # a paced answer is not primed: its events are built once, at its first request
        options = "".join(f" {k}={params[k]}" for k in ("coalesce",) if k in params)
        prime(server, params["events"], "blocking" if kind == "blocking" else "streaming", options)
    rounds = 1 if quick else spec["rounds"]
    for _ in range(rounds):  # interleaved, so a noisy moment hits every peer alike
        for peer in chosen:
            result = run_worker(peer, kind, params, timeout=300)
            results[peer] = better(kind, results[peer], result) if peer in results else result
    params.pop("base_url", None)
    return {"params": params, "results": results}


def run_storm(params: dict[str, Any], rounds: int) -> dict[str, Any]:
    """The 429 storm (`storm.py`): the emulator enforcing the rate in its own process,
    each client in a fresh one, gated (ours, the default) and independent, interleaved.
    Each mode's figures are its median round (by total time); every round is kept."""
    storm = str(HERE / "storm.py")
    server = subprocess.Popen(
        [sys.executable, storm, "serve", "--rate", str(params["rate"])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "independent": []}
    try:
        base_url = f"http://127.0.0.1:{server.stdout.readline().split()[1]}/v1"
        for _ in range(rounds):
            for peer, mode in (("ours", "gated"), ("independent", "independent")):
                server.stdin.write("reset\n")
                server.stdin.flush()
                server.stdout.readline()
                command = [sys.executable, storm, "client", base_url, mode, str(params["chats"])]
                done = subprocess.run(command, capture_output=True, text=True, timeout=600)
                if done.returncode != 0:
                    runs[peer].append({"error": done.stderr.strip()[-300:]})
                    continue
                result = json.loads(done.stdout.strip().splitlines()[-1])
                server.stdin.write("stats\n")
                server.stdin.flush()
                stats = json.loads(server.stdout.readline())
                result.update(refused_429=stats["refused"], requests=stats["requests"])
                result["text_ok"] = result["completed"] == params["chats"]
                runs[peer].append(result)
    finally:
        server.stdin.close()
        server.wait(10)
    results: dict[str, Any] = {}
    for peer, rounds_run in runs.items():
        good = sorted((r for r in rounds_run if "error" not in r), key=lambda r: r["wall_s"])
        if not good:
            results[peer] = rounds_run[-1]
            continue
        results[peer] = dict(good[len(good) // 2])
        results[peer]["rounds"] = [
            {"refused_429": r["refused_429"], "wall_s": round(r["wall_s"], 2)} for r in good
        ]
    return {"params": params, "results": results}


def storm_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 14's storm targets: at least 10x fewer 429s at an equal or shorter time."""
    results = report["scenarios"].get("storm", {}).get("results", {})
    gated, alone = results.get("ours", {}), results.get("independent", {})
    if "refused_429" not in gated or "refused_429" not in alone:
        return [{"target": "429 storm", "value": None, "limit": "-", "status": "not run"}]
    fewer = alone["refused_429"] / max(1, gated["refused_429"])
    time_ratio = gated["wall_s"] / alone["wall_s"]
    complete = gated["text_ok"] and alone["text_ok"]
    return [
        {
            "target": "storm 429s sent: independent retries / gated",
            "value": round(fewer, 1),
            "limit": ">= 10",
            "unit": "x",
            "status": "pass" if fewer >= 10 else "MISS",
        },
        {
            "target": "storm total time: gated / independent retries",
            "value": round(time_ratio, 3),
            "limit": "<= 1.0",
            "unit": "x",
            "status": "pass" if time_ratio <= 1.0 else "MISS",
        },
        {
            "target": "storm: every chat completes, both ways",
            "value": gated.get("completed"),
            "limit": f"== {report['scenarios']['storm']['params']['chats']}",
            "status": "pass" if complete else "MISS",
        },
    ]


# --- reporting ---------------------------------------------------------------------------


def _ratio(peer: float | None, ours: float | None) -> float | None:
    if peer is None or ours is None or ours == 0:
        return None
    return peer / ours


COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # scenario kind: (result key, column title, format)
    "stream": [
        ("cpu_us_per_event", "client CPU us/event", "{:.2f}"),
        ("events_per_s", "events/s", "{:,.0f}"),
    ],
    "rss": [
        ("kib_per_stream", "peak RSS KiB/stream", "{:.1f}"),
        ("cpu_us_per_event", "client CPU us/event", "{:.2f}"),
        ("wall_s", "wall s", "{:.2f}"),
    ],
    "blocking": [
        ("cpu_us_per_send", "client CPU us/send", "{:.0f}"),
        ("sends_per_s", "sends/s", "{:,.0f}"),
    ],
    "decoder": [
        ("us_per_event", "us/event", "{:.2f}"),
        ("events_per_s", "events/s", "{:,.0f}"),
        ("mb_per_s", "MB/s", "{:.0f}"),
    ],
    "bigevent": [
        ("ms_8mib", "8 MiB ms", "{:.1f}"),
        ("ms_32mib", "32 MiB ms", "{:.1f}"),
        ("ms_64mib", "64 MiB ms", "{:.1f}"),
        ("growth", "per-MiB 64 vs 32", "{:.2f}"),
    ],
    "import": [("ms", "import ms (min)", "{:.1f}"), ("median_ms", "median", "{:.1f}")],
    "storm": [
        ("refused_429", "429s the server sent", "{:,}"),
        ("wall_s", "total s", "{:.1f}"),
        ("requests", "requests sent", "{:,}"),
        ("cpu_s", "client CPU s", "{:.2f}"),
    ],
    "paced": [
        ("cpu_us_per_event", "client CPU us/event", "{:.2f}"),
        ("latency_p50_ms", "added latency p50 ms", "{:.2f}"),
        ("latency_p99_ms", "p99 ms", "{:.2f}"),
        ("tokens_per_stream_s", "tokens/s/stream", "{:.1f}"),
    ],
}


def add_ratios(report: dict[str, Any]) -> None:
    """Each figure as `peer / ours` (for costs and times: above 1 means ours is cheaper;
    for rates, events/s and sends/s, above 1 means the peer is faster)."""
    for name, scenario in report["scenarios"].items():
        kind = SCENARIOS[name]["kind"]
        ours = scenario["results"].get("ours", {})
        for result in scenario["results"].values():
            ratios = {}
            for key, _title, _fmt in COLUMNS[kind]:
                ratio = _ratio(result.get(key), ours.get(key))
                if ratio is not None:
                    ratios[key] = ratio
            result["ratio_to_ours"] = ratios


def table(report: dict[str, Any]) -> str:
    lines = []
    for name, scenario in report["scenarios"].items():
        spec = SCENARIOS[name]
        kind = spec["kind"]
        shown = {k: v for k, v in scenario["params"].items() if k != "repeat"}
        lines.append(f"\n## {spec['title']} [{name}] {json.dumps(shown)}")
        header = ["client"] + [f"{title} (x ours)" for _k, title, _f in COLUMNS[kind]]
        header.append("text check")
        rows = [header]
        for peer, result in scenario["results"].items():
            label = LABELS.get(peer, "aiohttp+msgspec+anyio+tenacity (deps alone)")
            if "error" in result:
                rows.append([label, "error: " + result["error"][:80]])
                continue
            row = [label]
            for key, _title, fmt in COLUMNS[kind]:
                value = result.get(key)
                ratio = result["ratio_to_ours"].get(key)
                cell = "-" if value is None else fmt.format(value)
                if ratio is not None and peer != "ours":
                    cell += f" ({ratio:.2f}x)"
                row.append(cell)
            ok = result.get("text_ok")
            row.append("-" if ok is None else ("ok" if ok else "MISMATCH"))
            rows.append(row)
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(header))]
        for row in rows:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return "\n".join(lines)


def _get(report: dict[str, Any], scenario: str, peer: str, key: str) -> float | None:
    value = report["scenarios"].get(scenario, {}).get("results", {}).get(peer, {}).get(key)
    return None if value is None else float(value)


def judged(
    what: str, value: float | None, limit: float, at_most: bool, unit: str
) -> dict[str, Any]:
    """One target's verdict on this run's figure."""
    op = "<=" if at_most else ">="
    if value is None:
        return {"target": what, "value": None, "limit": f"{op} {limit}", "status": "not run"}
    ok = value <= limit if at_most else value >= limit
    return {
        "target": what,
        "value": round(value, 3),
        "limit": f"{op} {limit}",
        "unit": unit,
        "status": "pass" if ok else "MISS",
    }


def quotient(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of the performance issue, judged on this run's figures."""
    out: list[dict[str, Any]] = []

    def check(what: str, value: float | None, limit: float, at_most: bool, unit: str) -> None:
        out.append(judged(what, value, limit, at_most, unit))

    ratio = quotient

    cpu = "cpu_us_per_event"
    ours_c200 = _get(report, "c200", "ours", cpu)
    check(
        "c200 client CPU/event: ours / floor",
        ratio(ours_c200, _get(report, "c200", "floor", cpu)),
        1.3,
        True,
        "x",
    )
    check(
        "c200 client CPU/event: httpx+httpx-sse+json / ours",
        ratio(_get(report, "c200", "httpx_sse_json", cpu), ours_c200),
        3.0,
        False,
        "x",
    )
    check(
        "c200 client CPU/event: aiohttp-sse-client2 / ours",
        ratio(_get(report, "c200", "aiohttp_sse_client", cpu), ours_c200),
        1.5,
        False,
        "x",
    )
    check(
        "c200 throughput: ours / dify-client in a 200-thread pool",
        ratio(
            _get(report, "c200", "ours", "events_per_s"),
            _get(report, "c200", "dify", "events_per_s"),
        ),
        2.0,
        False,
        "x",
    )
    check(
        "decoder events/s: ours / hand-written splitter + msgspec",
        ratio(
            _get(report, "decoder", "ours", "events_per_s"),
            _get(report, "decoder", "floor", "events_per_s"),
        ),
        0.8,
        False,
        "x",
    )
    check("one 32 MiB event (ours)", _get(report, "bigevent", "ours", "ms_32mib"), 150, True, "ms")
    check(
        "big events are linear (per-MiB time, 64 MiB / 32 MiB)",
        _get(report, "bigevent", "ours", "growth"),
        1.5,
        True,
        "x",
    )
    c1000 = report["scenarios"].get("c1000", {}).get("results", {}).get("ours")
    if c1000 is not None:
        complete = "error" not in c1000 and c1000["completed"] == 1000 and c1000["text_ok"]
        out.append(
            {
                "target": "c1000: all 1,000 streams complete with the right text",
                "value": c1000.get("completed"),
                "limit": "== 1000",
                "status": "pass" if complete else "MISS",
            }
        )
    check(
        "c1000 peak RSS growth per open stream (ours)",
        _get(report, "c1000", "ours", "kib_per_stream"),
        100,
        True,
        "KiB",
    )
    check(
        "import of AsyncPulse and ChatStream / import of the 4 dependencies",
        ratio(_get(report, "import", "ours", "ms"), _get(report, "import", "deps", "ms")),
        1.2,
        True,
        "x",
    )
    return out + load_targets(report) + storm_targets(report)


def load_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of the under-load issue: the SDK's own cost per event and per open
    stream, as ratios to the floor in this run, and the latency it adds when paced."""

    def vs_floor(scenario: str, key: str, what: str, limit: float) -> dict[str, Any]:
        value = quotient(_get(report, scenario, "ours", key), _get(report, scenario, "floor", key))
        return judged(f"{scenario} {what}: ours / floor", value, limit, True, "x")

    latency = judged(
        "paced p99 latency added from the server's write to `async for` (ours)",
        _get(report, "paced", "ours", "latency_p99_ms"),
        5.0,
        True,
        "ms",
    )
    kept = _get(report, "paced", "ours", "tokens_per_stream_s")
    wanted = 1000 / SCENARIOS["paced"]["full"]["pace"]
    cpu, wall = _get(report, "paced", "ours", "cpu_s"), _get(report, "paced", "ours", "wall_s")
    if kept is not None and kept < 0.9 * wanted:
        latency["note"] = (
            f"the server kept {kept:.0f} of {wanted:.0f} tokens/s per stream: the machine "
            "was saturated, so this latency is queueing for a CPU (see the floor's)"
        )
    elif cpu is not None and wall and cpu > 0.9 * wall:
        # one event loop on one core: events queue up once it is always busy
        latency["note"] = (
            f"the client used {cpu:.1f} s of CPU in {wall:.1f} s: its one core was "
            "saturated, so this latency is queueing for it (see the floor's)"
        )
    # The same bound where the machine is not saturated: what the SDK itself adds.
    carried = judged(
        "paced200 p99 latency added (ours; 10,000 tokens/s, a load 2 cores carry)",
        _get(report, "paced200", "ours", "latency_p99_ms"),
        5.0,
        True,
        "ms",
    )
    return [
        vs_floor("coalesced", "cpu_us_per_event", "client CPU/event", 1.15),
        vs_floor("coalesced200", "cpu_us_per_event", "client CPU/event", 1.15),
        vs_floor("c1000", "kib_per_stream", "peak RSS per open stream", 1.15),
        vs_floor("c1000", "cpu_us_per_event", "client CPU/event", 1.1),
        vs_floor("blocking", "cpu_us_per_send", "client CPU/send", 1.1),
        vs_floor("blocking_lan", "cpu_us_per_send", "client CPU/send", 1.1),
        vs_floor("paced", "cpu_us_per_event", "client CPU/event", 1.15),
        latency,
        carried,
    ]


def print_targets(report: dict[str, Any]) -> None:
    print("\n## targets")
    for t in report["targets"]:
        unit = t.get("unit", "")
        print(f"  [{t['status']}] {t['target']}: {t['value']}{unit} (target {t['limit']}{unit})")
        if "note" in t:
            print(f"      {t['note']}")


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in sorted({d for ds in PACKAGES.values() for d in ds} | {"anyio", "tenacity"}):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pulseai_async benchmarks against its peers")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one round")
    parser.add_argument("--only", help=f"comma-separated scenarios: {','.join(SCENARIOS)}")
    parser.add_argument("--peers", help=f"comma-separated peers: {','.join(PEERS)}")
    parser.add_argument("--json", default=str(HERE / "results" / "latest.json"))
    parser.add_argument("--show", metavar="JSON", help="print the tables of a saved result")
    args = parser.parse_args(argv)
    if args.show:
        saved = json.loads(Path(args.show).read_text())
        print(table(saved))
        print_targets(saved)
        return 0
    names = args.only.split(",") if args.only else list(SCENARIOS)
    peers = args.peers.split(",") if args.peers else PEERS
    unknown = [n for n in names if n not in SCENARIOS] + [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown scenario or peer: {', '.join(unknown)}")
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        "machine": machine(),
        "command": "python benchmarks/run.py " + " ".join(argv or sys.argv[1:]),
        "scenarios": {},
    }
    started = time.perf_counter()
    needs_server = any(SCENARIOS[n]["kind"] in NETWORK_KINDS for n in names)
    server = Server() if needs_server else None
    try:
        if server is not None:
            server.__enter__()
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            report["scenarios"][name] = run_scenario(
                name, SCENARIOS[name], args.quick, peers, server
            )
    finally:
        if server is not None:
            server.__exit__()
    add_ratios(report)
    report["targets"] = targets(report)
    report["seconds"] = round(time.perf_counter() - started, 1)
    text = table(report)
    print(text)
    print_targets(report)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out} in {report['seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
