"""The emulator's command-line options, defined once.

`python -m pulseai_async.testing` and `pulseai emulator` both take exactly these, so a
new `Emulator` option added here reaches both commands with the same name and help.
"""

from __future__ import annotations

import argparse

import msgspec

from ._emulator import DEFAULT_APP_KEY, DEFAULT_KNOWLEDGE_KEY, Emulator
from ._faults import Fault

__all__ = ["add_options", "emulator_of"]

DEFAULT_PORT = 8080


def _fault(text: str) -> Fault:
    try:
        fields = msgspec.json.decode(text, type=dict[str, object])
        if isinstance(fields.get("body"), str):  # a body is given as text, not base64
            fields["body"] = str(fields["body"]).encode()
        return msgspec.convert(fields, Fault)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise argparse.ArgumentTypeError(f"not a fault plan: {exc}") from None


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add every emulator option, each with its help, to `parser`."""
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    add(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the port to listen on; 0 picks a free one (default {DEFAULT_PORT})",
    )
    add(
        "--api-key",
        default=DEFAULT_APP_KEY,
        help=f"the App API key it accepts (default {DEFAULT_APP_KEY})",
    )
    add(
        "--knowledge-api-key",
        default=DEFAULT_KNOWLEDGE_KEY,
        help=f"the Knowledge API key it accepts (default {DEFAULT_KNOWLEDGE_KEY})",
    )
    add(
        "--answer",
        default=None,
        help="the text every chat answers with (default: an answer that echoes the query)",
    )
    add(
        "--token-delay",
        type=float,
        default=0.0,
        help="seconds between streamed tokens, to watch a stream arrive (default 0)",
    )
    add(
        "--indexing-delay",
        type=float,
        default=0.02,
        help="seconds per knowledge-base indexing step; 0 indexes at once (default 0.02)",
    )
    add(
        "--json-style",
        choices=["compact", "ascii"],
        default="compact",
        help="compact UTF-8 JSON, or ASCII-escaped with spaces as old servers wrote it "
        "(default compact)",
    )
    add(
        "--no-ping-first",
        action="store_true",
        help="do not open each stream with an `event: ping` frame",
    )
    add(
        "--delete-style",
        type=int,
        choices=[200, 204],
        default=204,
        help='deletes answer 204 with no body, or 200 {"result": "success"} (default 204)',
    )
    add("--event-ids", action="store_true", help="send an `id:` line before each event")
    add(
        "--no-record",
        action="store_true",
        help="do not keep request bodies in memory (for long runs)",
    )
    add(
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
    return emulator
