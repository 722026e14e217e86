"""The `pulseai` command: chat from the terminal, run the emulator, look at your data.

With no `PULSEAI_API_KEY` set (or with `--emulator`) it starts the bundled emulator on a
free loopback port and talks to that, so it works on a machine with no network. Answers
go to stdout as they arrive; notes (the emulator's address, the conversation id, usage)
go to stderr, so `pulseai chat "..." > answer.txt` keeps only the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

import anyio
import msgspec

from ._app_models import Conversation, UploadedFile
from ._client import AsyncPulse
from ._config import API_KEY_ENV, BASE_URL_ENV, KNOWLEDGE_API_KEY_ENV
from ._errors import APIStatusError, IndexingFailedError, IndexingTimeoutError, PulseError
from ._knowledge_models import IndexingProgress, RetrieveResult
from ._models import Usage
from ._pagination import AsyncPager
from ._stream import ChatStream
from ._uploads import prepare_upload
from ._version import __version__

__all__ = ["main"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130  # what shells report for a process ended by SIGINT
_STOP_TIMEOUT = 5.0
_CLIP = 100  # characters of a retrieved chunk shown on its line
_encode = msgspec.json.Encoder().encode
T = TypeVar("T")


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def describe_error(error: BaseException) -> str:
    """One line: status, code, message and request id for API errors."""
    if isinstance(error, APIStatusError):
        text = f"error: {error}"
    else:
        text = f"error: {type(error).__name__}: {error}"
    return " ".join(text.split())


# --- the client: a real key, or the bundled emulator ---------------------------------------


async def _open_client(
    stack: contextlib.AsyncExitStack, use_emulator: bool, token_delay: float, key_env: str
) -> AsyncPulse:
    if not use_emulator and os.environ.get(key_env):
        return await stack.enter_async_context(AsyncPulse())
    from .testing import Emulator

    emulator = await stack.enter_async_context(Emulator(token_delay=token_delay))
    why = "--emulator" if use_emulator else f"no {key_env} set"
    _note(f"({why}: using the bundled emulator at {emulator.base_url})")
    return await stack.enter_async_context(emulator.client())


class _Session:
    """One event loop and one client for every turn of a command.

    `asyncio.Runner` keeps the loop between turns (so the emulator and the connection
    pool survive while the terminal waits for input) and turns Ctrl-C into the
    cancellation of the running turn.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self._runner = asyncio.Runner()
        self._stack = contextlib.AsyncExitStack()
        self.pulse: AsyncPulse | None = None

    def __enter__(self) -> _Session:
        self._runner.__enter__()
        try:
            self.pulse = self._runner.run(
                _open_client(
                    self._stack,
                    self._args.emulator,
                    self._args.token_delay,
                    getattr(self._args, "key_env", API_KEY_ENV),
                )
            )
        except BaseException:
            with contextlib.suppress(BaseException):
                self._runner.run(self._stack.aclose())
            self._runner.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            with contextlib.suppress(KeyboardInterrupt):
                self._runner.run(self._stack.aclose())
        finally:
            self._runner.close()

    def run(self, make: Callable[[AsyncPulse], Any]) -> Any:
        assert self.pulse is not None
        return self._runner.run(make(self.pulse))


# --- pulseai chat --------------------------------------------------------------------------


class _Chat:
    """The state that carries over between turns: the conversation."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.conversation_id: str | None = args.conversation
        self.stopped = False
        """Whether the last interrupted turn reached the server's Stop Generate."""

    async def turn(self, pulse: AsyncPulse, query: str) -> None:
        """Stream one answer; on cancellation (Ctrl-C) stop the generation, then re-raise."""
        args = self.args
        self.stopped = False
        stream = pulse.chat.stream(
            query, user=args.user, conversation_id=self.conversation_id, inputs=args.inputs
        )
        async with stream:
            try:
                if args.json:
                    await self._print_events(stream)
                else:
                    await self._print_text(stream)
            except asyncio.CancelledError:
                with anyio.CancelScope(shield=True), anyio.move_on_after(_STOP_TIMEOUT):
                    try:
                        self.stopped = await stream.cancel()
                    except PulseError as error:
                        _note(f"(could not stop the generation: {describe_error(error)})")
                raise
            finally:
                self.conversation_id = stream.conversation_id or self.conversation_id
        if not args.json:
            _note(f"conversation: {stream.conversation_id}")
            _note(f"usage: {_usage_line(stream.usage)}")

    async def _print_text(self, stream: ChatStream) -> None:
        out = self.out
        try:
            async for delta in stream.text_deltas():
                out.write(delta)
                out.flush()
        finally:
            out.write("\n")
            out.flush()

    async def _print_events(self, stream: ChatStream) -> None:
        out = self.out
        async for event in stream:
            out.write(_encode(event).decode())
            out.write("\n")
            out.flush()


def _usage_line(usage: Usage | None) -> str:
    if usage is None:
        return "not reported"
    line = (
        f"{usage.total_tokens} tokens ({usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion)"
    )
    if usage.total_price is not None:
        line += f", {usage.total_price} {usage.currency or ''}".rstrip()
    if usage.latency is not None:
        line += f", {usage.latency:.2f} s"
    return line


def _queries(args: argparse.Namespace) -> Iterator[str]:
    """The first query, then (interactive) one per line of input until EOF or `/exit`."""
    if args.query:
        yield args.query
    if args.query and not args.interactive:
        return
    prompt = "you> " if sys.stdin.isatty() else ""
    if prompt:
        _note("(interactive: one message per line; Ctrl-D or /exit to leave)")
    while True:
        try:
            line = input(prompt)
        except EOFError:
            return
        line = line.strip()
        if line in ("/exit", "/quit"):
            return
        if line:
            yield line


def _chat_command(args: argparse.Namespace) -> int:
    chat = _Chat(args, sys.stdout)
    interactive = args.interactive or not args.query
    status = 0
    with _Session(args) as session:
        for query in _queries(args):
            try:
                session.run(functools.partial(chat.turn, query=query))
            except KeyboardInterrupt:
                if chat.stopped:
                    _note("(interrupted: the generation was stopped)")
                else:
                    _note("(interrupted before the answer started)")
                if not interactive:
                    return EXIT_INTERRUPTED
            except PulseError as error:
                _note(describe_error(error))
                status = EXIT_ERROR
                if not interactive:
                    return status
    return status


# --- listings: conversations, knowledge bases ------------------------------------------------


def _print_listing(
    args: argparse.Namespace,
    pager_of: Callable[[AsyncPulse], AsyncPager[T]],
    line: Callable[[T], str],
    nothing: str,
) -> int:
    """One line per item (one JSON object with `--json`): the first page, or with
    `--all` every page, printed as it arrives; notes on stderr."""

    def emit(row: T) -> None:
        print(_encode(row).decode() if args.json else line(row), flush=True)

    async def fetch(pulse: AsyncPulse) -> tuple[int, bool]:
        pager = pager_of(pulse)
        if not args.all:
            page = await pager.first_page()
            for row in page.items:
                emit(row)
            return len(page), page.has_more
        count = 0
        async for row in pager:
            emit(row)
            count += 1
        return count, False

    with _Session(args) as session:
        count, more = session.run(fetch)
    if not count:
        _note(nothing)
    if more:
        _note(f"(more than {count}: use --all or a larger --limit)")
    return 0


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def _conversations_command(args: argparse.Namespace) -> int:
    def line(conversation: Conversation) -> str:
        when = _when(conversation.updated_at or conversation.created_at)
        return f"{conversation.id}  {when}  {conversation.name}"

    return _print_listing(
        args,
        lambda pulse: pulse.conversations.list(user=args.user, limit=args.limit),
        line,
        f"(no conversations for user {args.user!r})",
    )


def _kb_list_command(args: argparse.Namespace) -> int:
    return _print_listing(
        args,
        lambda pulse: pulse.datasets.list(limit=args.limit),
        lambda ds: f"{ds.id}  {ds.document_count:>4} docs  {ds.name}",
        "(no knowledge bases)",
    )


# --- pulseai upload -----------------------------------------------------------------------


def _upload_command(args: argparse.Namespace) -> int:
    async def upload(pulse: AsyncPulse) -> UploadedFile:
        return await pulse.files.upload(args.path, user=args.user)

    with _Session(args) as session:
        info: UploadedFile = session.run(upload)
    if args.json:
        print(_encode(info).decode())
        return 0
    print(info.id)
    _note(
        f"uploaded {info.name} ({info.size} bytes, {info.mime_type}); attach it to a "
        f"message with files=[{_encode(info.as_chat_file()).decode()}]"
    )
    return 0


# --- pulseai kb create -----------------------------------------------------------------------


class _Progress:
    """One document's indexing on stderr: a redrawn bar on a terminal, changed lines
    otherwise. `show` is the `on_progress` callback of `wait_until_indexed`."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self._name = name
        self._tty = stream.isatty()
        self._last = ""

    def show(self, progress: IndexingProgress) -> None:
        done, total, status = progress.completed_segments, progress.total_segments, progress.status
        if self._tty:
            width = 30
            filled = round(width * progress.fraction)
            bar = "#" * filled + "." * (width - filled)
            line = f"\r{self._name}: [{bar}] {done}/{total} chunks ({status})"
            self._stream.write(line.ljust(len(self._last)))
        else:
            line = f"{self._name}: {status} {done}/{total} chunks"
            if line != self._last:
                self._stream.write(line + "\n")
        self._last = line
        self._stream.flush()

    def end(self) -> None:
        if self._tty and self._last:
            self._stream.write("\n")
            self._stream.flush()
        self._last = ""


def _kb_create_command(args: argparse.Namespace) -> int:
    async def create(pulse: AsyncPulse) -> int:
        for path in args.files:  # a missing file fails before the knowledge base exists
            await prepare_upload(path)
        technique = args.indexing_technique
        dataset = await pulse.datasets.create(args.name, indexing_technique=technique)
        print(dataset.id, flush=True)
        _note(f"created knowledge base {dataset.name!r}")
        documents = pulse.datasets.documents
        # Add every document first so the server indexes them side by side, then follow each.
        batches = [
            (
                os.path.basename(path),
                await documents.create_from_file(dataset.id, path, indexing_technique=technique),
            )
            for path in args.files
        ]
        failed = 0
        for name, created in batches:
            progress = _Progress(sys.stderr, name)
            try:
                await documents.wait_until_indexed(
                    dataset.id,
                    created.batch,
                    timeout=args.timeout,
                    on_progress=progress.show,
                    poll_interval=args.poll,
                    max_interval=max(args.poll, 2.0),
                )
            except IndexingFailedError as error:
                problem = f"indexing failed: {error.error or 'no reason given'}"
            except IndexingTimeoutError as error:
                problem = str(error)
            else:
                continue
            finally:
                progress.end()
            _note(f"{name}: {problem}")
            failed += 1
        return EXIT_ERROR if failed else 0

    with _Session(args) as session:
        status: int = session.run(create)
    return status


# --- pulseai kb retrieve ---------------------------------------------------------------------


def _kb_retrieve_command(args: argparse.Namespace) -> int:
    async def retrieve(pulse: AsyncPulse) -> RetrieveResult:
        return await pulse.datasets.retrieve(
            args.dataset_id, args.query, search_method=args.search_method, top_k=args.top_k
        )

    with _Session(args) as session:
        result: RetrieveResult = session.run(retrieve)
    for record in result.records:
        if args.json:
            print(_encode(record).decode())
            continue
        segment = record.segment
        score = "-" if record.score is None else f"{record.score:.3f}"
        source = segment.document.name if segment.document else segment.document_id
        text = " ".join(segment.content.split())
        text = text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."
        print(f"{score:>5}  {source}  {text}")
    if not result.records:
        _note("(no matching chunks)")
    return 0


# --- pulseai emulator ---------------------------------------------------------------------


def _emulator_command(args: argparse.Namespace) -> int:
    from .testing._cli_options import emulator_of

    async def serve() -> None:
        emulator = emulator_of(args)
        async with emulator:
            print(f"PulseAI emulator listening on {emulator.base_url}", flush=True)
            _note(
                f"  export {API_KEY_ENV}={emulator.api_key} "
                f"{KNOWLEDGE_API_KEY_ENV}={emulator.knowledge_api_key} "
                f"{BASE_URL_ENV}={emulator.base_url}\n  (Ctrl-C stops it)"
            )
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    _note("(emulator stopped)")
    return 0


# --- the parser ---------------------------------------------------------------------------


def _inputs(text: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulseai",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pulseai {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    client = argparse.ArgumentParser(add_help=False)
    client.add_argument(
        "--emulator",
        action="store_true",
        help=f"use the bundled emulator even if {API_KEY_ENV} is set",
    )
    client.add_argument(
        "--token-delay",
        type=float,
        default=0.02,
        help="seconds between the bundled emulator's tokens (default 0.02)",
    )
    client.add_argument("--user", default="pulseai-cli", help="end-user id (default pulseai-cli)")
    client.add_argument("--json", action="store_true", help="print JSON, one object per line")

    chat = commands.add_parser(
        "chat",
        parents=[client],
        help="stream an answer to the terminal",
        description="Stream an answer. Without QUERY (or with -i) keep a conversation going, "
        "one message per line of input.",
    )
    chat.add_argument("query", nargs="?", help="the message (omit it to chat interactively)")
    chat.add_argument("--conversation", default=None, help="continue this conversation id")
    chat.add_argument("-i", "--interactive", action="store_true", help="keep chatting after QUERY")
    chat.add_argument(
        "--inputs", type=_inputs, default=None, help="the app's input variables, as JSON"
    )
    chat.set_defaults(run=_chat_command)

    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument(
        "--limit", type=int, default=20, help="how many per page (1-100, default 20)"
    )
    listing.add_argument("--all", action="store_true", help="follow every page")

    conversations = commands.add_parser(
        "conversations",
        parents=[client, listing],
        help="list a user's conversations, newest first",
    )
    conversations.set_defaults(run=_conversations_command)

    upload = commands.add_parser(
        "upload", parents=[client], help="upload a file to attach to messages"
    )
    upload.add_argument("path", help="the file to upload")
    upload.set_defaults(run=_upload_command)

    kb = commands.add_parser("kb", help="knowledge bases (uses PULSEAI_KNOWLEDGE_API_KEY)")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True, metavar="COMMAND")
    kb_create = kb_commands.add_parser(
        "create",
        parents=[client],
        help="create a knowledge base from files and follow their indexing",
    )
    kb_create.add_argument("name", help="the knowledge base's name")
    kb_create.add_argument("files", nargs="*", help="documents to add")
    kb_create.add_argument(
        "--indexing-technique", choices=["high_quality", "economy"], default="high_quality"
    )
    kb_create.add_argument(
        "--poll",
        type=float,
        default=0.5,
        help="seconds before the first progress check, backing off to 2 (default 0.5)",
    )
    kb_create.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait per document (default 600)"
    )
    kb_create.set_defaults(run=_kb_create_command, key_env=KNOWLEDGE_API_KEY_ENV)
    kb_list = kb_commands.add_parser("list", parents=[client, listing], help="list knowledge bases")
    kb_list.set_defaults(run=_kb_list_command, key_env=KNOWLEDGE_API_KEY_ENV)
    kb_retrieve = kb_commands.add_parser(
        "retrieve",
        parents=[client],
        help="the chunks most relevant to a query, best first, with scores",
    )
    kb_retrieve.add_argument("dataset_id", metavar="KB_ID", help="the knowledge base's id")
    kb_retrieve.add_argument("query", help="what to look for")
    kb_retrieve.add_argument(
        "--top-k", type=int, default=None, help="how many chunks (default: the base's setting)"
    )
    kb_retrieve.add_argument(
        "--search-method",
        choices=["keyword_search", "semantic_search", "full_text_search", "hybrid_search"],
        default=None,
        help="default: the base's setting (keyword_search when --top-k is given)",
    )
    kb_retrieve.set_defaults(run=_kb_retrieve_command, key_env=KNOWLEDGE_API_KEY_ENV)

    emulator = commands.add_parser("emulator", help="run the bundled emulator in the foreground")
    from .testing._cli_options import add_options

    add_options(emulator)  # the options of `python -m pulseai_async.testing`
    emulator.set_defaults(run=_emulator_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0, 1 on an error, 130 on Ctrl-C)."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except PulseError as error:
        _note(describe_error(error))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _note("(interrupted)")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `pulseai chat ... | head`: the reader left; exit quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    return status
