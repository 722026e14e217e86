"""Run the PulseAI emulator in the foreground, for tools and other languages.

`python -m pulseai_async.testing --port 8080` serves until interrupted (Ctrl-C or
SIGTERM). Once listening it prints its address and keys as `NAME=value` lines, the
environment an SDK needs (`--port 0` picks a free port; read it from these lines):

    PULSEAI_BASE_URL=http://127.0.0.1:8080/v1
    PULSEAI_API_KEY=app-emulator-key
    PULSEAI_KNOWLEDGE_API_KEY=dataset-emulator-key

Fault plans are JSON objects with `Fault`'s fields, one per `--fault`:
`--fault '{"path": "/chat-messages", "status": 503, "retry_after": 1}'`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

import msgspec

from ._emulator import DEFAULT_APP_KEY, DEFAULT_KNOWLEDGE_KEY, Emulator
from ._faults import Fault


def _fault(text: str) -> Fault:
    try:
        fields = msgspec.json.decode(text, type=dict[str, object])
        if isinstance(fields.get("body"), str):  # a body is given as text, not base64
            fields["body"] = str(fields["body"]).encode()
        return msgspec.convert(fields, Fault)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise argparse.ArgumentTypeError(f"not a fault plan: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pulseai_async.testing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api-key", default=DEFAULT_APP_KEY)
    parser.add_argument("--knowledge-api-key", default=DEFAULT_KNOWLEDGE_KEY)
    parser.add_argument("--answer", default=None, help="the text every chat answers with")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between tokens")
    parser.add_argument(
        "--indexing-delay", type=float, default=0.02, help="seconds per knowledge indexing step"
    )
    parser.add_argument("--json-style", choices=["compact", "ascii"], default="compact")
    parser.add_argument(
        "--no-ping-first", action="store_true", help="do not open streams with a ping"
    )
    parser.add_argument("--delete-style", type=int, choices=[200, 204], default=204)
    parser.add_argument("--event-ids", action="store_true", help="an id: line per event")
    parser.add_argument(
        "--no-record", action="store_true", help="do not keep request bodies (long runs)"
    )
    parser.add_argument(
        "--fault", type=_fault, action="append", default=[], help="a fault plan as JSON"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        api_key=args.api_key,
        knowledge_api_key=args.knowledge_api_key,
        answer=args.answer,
        token_delay=args.token_delay,
        indexing_delay=args.indexing_delay,
        json_style=args.json_style,
        ping_first=not args.no_ping_first,
        delete_style=args.delete_style,
        event_ids=args.event_ids,
        host=args.host,
        port=args.port,
        record_bodies=not args.no_record,
    )
    for fault in args.fault:
        emulator.faults.add(fault)
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
            f"PULSEAI_KNOWLEDGE_API_KEY={emulator.knowledge_api_key}",
            flush=True,
        )
        await stopped.wait()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
