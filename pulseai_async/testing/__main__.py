"""Run the PulseAI emulator in the foreground, for tools and other languages.

`python -m pulseai_async.testing --port 8080` serves until interrupted (Ctrl-C or
SIGTERM). Once listening it prints its address and keys as `NAME=value` lines, the
environment an SDK needs (`--port 0` picks a free port; read it from these lines):

    PULSEAI_BASE_URL=http://127.0.0.1:8080/v1
    PULSEAI_API_KEY=app-emulator-key
    PULSEAI_KNOWLEDGE_API_KEY=dataset-emulator-key
    PULSEAI_SLOW_APP_KEY=app-emulator-slow
    PULSEAI_FAIL_APP_KEY=app-emulator-fail

The last two are the keys of two more chatflow apps: one whose HTTP node sleeps `query`
seconds, one whose HTTP node fails the run (see docs/emulator.md).

Fault plans are JSON objects with `Fault`'s fields, one per `--fault`:
`--fault '{"path": "/chat-messages", "status": 503, "retry_after": 1}'`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ._cli_options import add_options, emulator_of


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pulseai_async.testing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_options(parser)
    return parser


async def _serve(args: argparse.Namespace) -> None:
    emulator = emulator_of(args)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(signum, stopped.set)
    async with emulator:
        print(f"PulseAI emulator listening on {emulator.base_url}", file=sys.stderr, flush=True)
        print(
            f"PULSEAI_BASE_URL={emulator.base_url}\n"
            f"PULSEAI_API_KEY={emulator.api_key}\n"
            f"PULSEAI_KNOWLEDGE_API_KEY={emulator.knowledge_api_key}\n"
            f"PULSEAI_SLOW_APP_KEY={args.slow_app_key}\n"
            f"PULSEAI_FAIL_APP_KEY={args.fail_app_key}",
            flush=True,
        )
        await stopped.wait()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
