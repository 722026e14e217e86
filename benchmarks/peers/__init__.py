"""One module per client under test. Each defines `NAME`, `SYNC` and a `Client` class.

`Client(base_url, api_key, concurrency)` opens and closes with `open()`/`close()`
(coroutines unless `SYNC`), and `stream(query, user)` / `send(query, user)` return the
answer text, which the runner checks. Sync clients get concurrency from a thread pool of
the same width, as their users would.
"""

PEERS = ["ours", "floor", "httpx_sse_json", "aiohttp_sse_client", "requests_sseclient", "dify"]


def chat_body(query: str, user: str, mode: str) -> dict[str, object]:
    return {
        "inputs": {},
        "query": query,
        "response_mode": mode,
        "user": user,
        "conversation_id": "",
    }
