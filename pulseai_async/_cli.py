"""The `pulseai` command: stream a chat answer to the terminal.

With no `PULSEAI_API_KEY` set (or with `--emulator`) it starts the bundled emulator on a
free loopback port and talks to that, so it works on a machine with no network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator

from ._client import AsyncPulse
from ._config import API_KEY_ENV
from ._errors import APIStatusError, PulseError

__all__ = ["main"]


@contextlib.asynccontextmanager
async def _client(use_emulator: bool) -> AsyncIterator[AsyncPulse]:
    if use_emulator or not os.environ.get(API_KEY_ENV):
        from .testing import Emulator

        async with Emulator(token_delay=0.02) as emulator:
            print(
                f"(no {API_KEY_ENV} set: using the bundled emulator at {emulator.base_url})",
                file=sys.stderr,
            )
            async with emulator.client() as client:
                yield client
    else:
        async with AsyncPulse() as client:
            yield client


async def _chat(args: argparse.Namespace) -> int:
    async with _client(args.emulator) as pulse:
        stream = pulse.chat.stream(args.query, user=args.user, conversation_id=args.conversation)
        async with stream:
            async for delta in stream.text_deltas():
                print(delta, end="", flush=True)
        print()
        usage = stream.usage
        tokens = f", {usage.total_tokens} tokens" if usage else ""
        print(f"(conversation {stream.conversation_id}{tokens})", file=sys.stderr)
    return 0


def _describe(error: PulseError) -> str:
    if isinstance(error, APIStatusError):
        return f"error: {error}"
    return f"error: {type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulseai", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    chat = commands.add_parser("chat", help="stream an answer to the terminal")
    chat.add_argument("query")
    chat.add_argument("--user", default="pulseai-cli")
    chat.add_argument("--conversation", default=None, help="continue this conversation id")
    chat.add_argument("--emulator", action="store_true", help="use the bundled emulator")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_chat(args))
    except PulseError as error:
        print(_describe(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
