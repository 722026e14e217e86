"""The emulator's command-line options, defined once.

`python -m pulseai_async.testing` and `pulseai emulator` both take exactly these
(`add_options(parser)`, then `emulator_of(args)`), so a new `Emulator` option added here
reaches both commands with the same name and help.
"""

from __future__ import annotations

import argparse

import msgspec

from ._emulator import (
    DEFAULT_APP_KEY,
    DEFAULT_FAIL_APP_KEY,
    DEFAULT_KNOWLEDGE_KEY,
    DEFAULT_SLOW_APP_KEY,
    Emulator,
)
from ._faults import Fault

__all__ = ["add_options", "emulator_of"]


def _fault(text: str) -> Fault:
    try:
        fields = msgspec.json.decode(text, type=dict[str, object])
        if isinstance(fields.get("body"), str):  # a body is given as text, not base64
            fields["body"] = str(fields["body"]).encode()
        return msgspec.convert(fields, Fault)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise argparse.ArgumentTypeError(f"not a fault plan: {exc}") from None


def _interval(text: str) -> float | None:
    seconds = float(text)
    return seconds if seconds > 0 else None


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add every emulator option, each with its help, to `parser`."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="the port to listen on; 0 picks a free one (default 8080)",
    )
    parser.add_argument(
        "--api-key",
        default=DEFAULT_APP_KEY,
        help=f"the App API key it accepts (default {DEFAULT_APP_KEY})",
    )
    parser.add_argument(
        "--knowledge-api-key",
        default=DEFAULT_KNOWLEDGE_KEY,
        help=f"the Knowledge API key it accepts (default {DEFAULT_KNOWLEDGE_KEY})",
    )
    parser.add_argument(
        "--slow-app-key",
        default=DEFAULT_SLOW_APP_KEY,
        help="the key of a chatflow app whose HTTP node sleeps `query` seconds "
        f"(default {DEFAULT_SLOW_APP_KEY})",
    )
    parser.add_argument(
        "--fail-app-key",
        default=DEFAULT_FAIL_APP_KEY,
        help="the key of a chatflow app whose HTTP node fails the run "
        f"(default {DEFAULT_FAIL_APP_KEY})",
    )
    parser.add_argument(
        "--app-mode",
        choices=["advanced-chat", "chat"],
        default="advanced-chat",
        help="a chatflow (as Dify 1.9.1 streams it; the default) or a plain chat app",
    )
    parser.add_argument(
        "--answer",
        default=None,
        help="the text every chat answers with (default: an answer that echoes the query)",
    )
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.0,
        help="seconds between streamed tokens, to watch a stream arrive (default 0)",
    )
    parser.add_argument(
        "--indexing-delay",
        type=float,
        default=0.02,
        help="seconds per knowledge-base indexing step; 0 indexes at once (default 0.02)",
    )
    parser.add_argument(
        "--json-style",
        choices=["dify", "compact", "ascii"],
        default="dify",
        help="JSON as Dify writes it (the default), compact UTF-8, or ASCII-escaped with "
        "spaces as old servers wrote it",
    )
    parser.add_argument(
        "--ping-interval",
        type=_interval,
        default=10.0,
        help="seconds between pings in a stream (0: none; default 10, as Dify)",
    )
    parser.add_argument("--ping-first", action="store_true", help="open streams with a ping")
    parser.add_argument("--no-ping-first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--delete-style",
        type=lambda text: text if text == "dify" else int(text),
        choices=["dify", 200, 204],
        default="dify",
        help="what deletes answer: as Dify does (the default), 204 with no body, or 200 "
        '{"result": "success"}',
    )
    parser.add_argument(
        "--event-ids", action="store_true", help="send an `id:` line before each event"
    )
    parser.add_argument(
        "--request-ids", action="store_true", help="an X-Request-Id header on every answer"
    )
    parser.add_argument(
        "--server-version",
        default="1.9.1",
        help="the X-Version header ('' for none, and aiohttp's own Server header)",
    )
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="do not keep request bodies in memory (for long runs)",
    )
    parser.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="JSON",
        help='a fault plan with `Fault`\'s fields, e.g. \'{"path": "/chat-messages", '
        '"status": 503}\'; repeat for several',
    )


def emulator_of(args: argparse.Namespace) -> Emulator:
    """The `Emulator` (not yet started) that parsed options describe."""
    emulator = Emulator(
        api_key=args.api_key,
        knowledge_api_key=args.knowledge_api_key,
        slow_app_key=args.slow_app_key,
        fail_app_key=args.fail_app_key,
        app_mode=args.app_mode,
        answer=args.answer,
        token_delay=args.token_delay,
        indexing_delay=args.indexing_delay,
        json_style=args.json_style,
        ping_interval=args.ping_interval,
        ping_first=args.ping_first and not args.no_ping_first,
        delete_style=args.delete_style,
        event_ids=args.event_ids,
        request_ids=args.request_ids,
        server_version=args.server_version or None,
        host=args.host,
        port=args.port,
        record_bodies=not args.no_record,
    )
    for fault in args.fault:
        emulator.faults.add(fault)
    return emulator
