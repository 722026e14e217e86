"""`python -m pulseai_async.testing --port 8080`: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from ._emulator import DEFAULT_APP_KEY, DEFAULT_KNOWLEDGE_KEY, Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pulseai_async.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_APP_KEY)
    parser.add_argument("--knowledge-api-key", default=DEFAULT_KNOWLEDGE_KEY)
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between tokens")
    parser.add_argument(
        "--indexing-delay", type=float, default=0.02, help="seconds per knowledge indexing step"
    )
    parser.add_argument("--json-style", choices=["compact", "ascii"], default="compact")
    args = parser.parse_args(argv)

    async def serve() -> None:
        emulator = Emulator(
            api_key=args.api_key,
            knowledge_api_key=args.knowledge_api_key,
            token_delay=args.token_delay,
            indexing_delay=args.indexing_delay,
            json_style=args.json_style,
            host=args.host,
            port=args.port,
        )
        async with emulator:
            print(f"PulseAI emulator listening on {emulator.base_url}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
