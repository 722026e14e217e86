"""The `pulseai` command: chat from the terminal, run the emulator, look at your data.

With nothing configured (no `PULSEAI_*` key or URL) or with `--emulator` it talks to the
emulator a running `pulseai emulator` advertises, or else starts the bundled emulator on
a free loopback port, so it works on a machine with no network. Answers
go to stdout as they arrive; notes (the emulator's address, the conversation id, usage)
go to stderr, so `pulseai chat "..." > answer.txt` keeps only the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

import anyio
import msgspec

from .._app.models import Conversation, UploadedFile
from .._client import AsyncPulse
from .._config import API_KEY_ENV, BASE_URL_ENV, KNOWLEDGE_API_KEY_ENV
from .._errors import APIStatusError, IndexingFailedError, IndexingTimeoutError, PulseError
from .._knowledge.models import IndexingProgress, RetrieveResult
from .._pagination import AsyncPager
from .._streaming.answer import Usage
from .._streaming.chat_stream import ChatStream
from .._uploads import prepare_upload
from .._version import __version__
from .emulator_state import RunningEmulator, advertise, find_running

__all__ = ["main"]

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130  # what shells report for a process ended by SIGINT
_STOP_TIMEOUT = 5.0
_CLIP = 100  # characters of a retrieved chunk shown on its line
_HISTORY_LENGTH = 1000  # lines of `pulseai chat` input kept across sessions
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


class CommandError(Exception):
    """A problem the command reports as one `error:` line (exit status 1)."""


def _missing_key(key_env: str) -> CommandError | None:
    """Some of the environment is set but not the key this command needs: say so, rather
    than quietly talking to an emulator the user did not ask for."""
    configured = [
        name
        for name in (API_KEY_ENV, KNOWLEDGE_API_KEY_ENV, BASE_URL_ENV)
        if name != key_env and os.environ.get(name)
    ]
    if not configured:
        return None
    scope = "the Knowledge API" if key_env == KNOWLEDGE_API_KEY_ENV else "the App API"
    return CommandError(
        f"{key_env} is not set: {scope} needs its own key ({' and '.join(configured)} "
        f"{'is' if len(configured) == 1 else 'are'} set, but not {key_env}). Set it, or "
        "pass --emulator to use the bundled emulator."
    )


async def _open_client(
    stack: contextlib.AsyncExitStack, use_emulator: bool, token_delay: float, key_env: str
) -> tuple[AsyncPulse, bool]:
    """The client, and whether it talks to an emulator that ends with this command."""
    if not use_emulator:
        if os.environ.get(key_env):
            return await stack.enter_async_context(AsyncPulse()), False
        if (problem := _missing_key(key_env)) is not None:
            raise problem
    why = "--emulator" if use_emulator else f"no {key_env} set"
    running = find_running()
    if running is not None:
        _note(f"({why}: using the emulator `pulseai emulator` runs at {running.base_url})")
        client = AsyncPulse(
            api_key=running.api_key,
            knowledge_api_key=running.knowledge_api_key,
            base_url=running.base_url,
        )
        return await stack.enter_async_context(client), False
    from ..testing import Emulator

    emulator = await stack.enter_async_context(Emulator(token_delay=token_delay))
    _note(f"({why}: using the bundled emulator at {emulator.base_url})")
    return await stack.enter_async_context(emulator.client()), True


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
        self.ephemeral = False
        """Whether the server is an emulator this command started (gone when it ends)."""

    def __enter__(self) -> _Session:
        self._runner.__enter__()
        try:
            self.pulse, self.ephemeral = self._runner.run(
                _open_client(
                    self._stack,
                    self._args.emulator,
                    getattr(self._args, "token_delay", 0.0),
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


def _history_file() -> Path:
    """`$XDG_STATE_HOME/pulseai/chat_history`, else `~/.local/state/pulseai/chat_history`."""
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "pulseai" / "chat_history"


@contextlib.contextmanager
def _line_editing(enabled: bool) -> Iterator[None]:
    """readline at the `you>` prompt: arrow keys, Ctrl-R, and the lines of earlier
    sessions (kept in `_history_file()`)."""
    if not enabled:
        yield
        return
    try:
        import readline
    except ImportError:  # no readline (Windows): plain input()
        yield
        return
    path = _history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(_HISTORY_LENGTH)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            readline.write_history_file(path)
            path.chmod(0o600)  # what you typed is yours alone


def _chat_command(args: argparse.Namespace) -> int:
    chat = _Chat(args, sys.stdout)
    interactive = args.interactive or not args.query
    status = 0
    with _Session(args) as session, _line_editing(interactive and sys.stdin.isatty()):
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


class _LeftBehind:
    """What `kb create` has made on the server so far, to report if it is interrupted."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.dataset: tuple[str, str] | None = None  # (id, name)
        self.added: list[str] = []
        self.indexed: list[str] = []

    def report(self, ephemeral: bool) -> str:
        if self.dataset is None:
            return "(interrupted: nothing was created)"
        dataset_id, name = self.dataset
        if ephemeral:
            return (
                f"(interrupted: knowledge base {name!r} ({dataset_id}) was in the emulator "
                "this command started, which is gone now: nothing stays)"
            )
        waiting = [file for file in self.added if file not in self.indexed]
        missing = [os.path.basename(path) for path in self.files[len(self.added) :]]
        lines = [f"(interrupted: knowledge base {name!r} ({dataset_id}) stays on the server"]
        if self.indexed:
            lines.append(f"  indexed: {', '.join(self.indexed)}")
        if waiting:
            lines.append(f"  added, still indexing on the server: {', '.join(waiting)}")
        if missing:
            lines.append(f"  not added: {', '.join(missing)}")
        lines.append(f"  remove it with: pulseai kb delete {dataset_id})")
        return "\n".join(lines)


def _kb_create_command(args: argparse.Namespace) -> int:
    left = _LeftBehind(args.files)

    async def create(pulse: AsyncPulse) -> int:
        for path in args.files:  # a missing file fails before the knowledge base exists
            await prepare_upload(path)
        technique = args.indexing_technique
        dataset = await pulse.datasets.create(args.name, indexing_technique=technique)
        left.dataset = (dataset.id, dataset.name)
        print(dataset.id, flush=True)
        _note(f"created knowledge base {dataset.name!r}")
        documents = pulse.datasets.documents
        # Add every document first so the server indexes them side by side, then follow each.
        batches = []
        for path in args.files:
            created = await documents.create_from_file(
                dataset.id, path, indexing_technique=technique
            )
            batches.append((os.path.basename(path), created))
            left.added.append(os.path.basename(path))
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
                left.indexed.append(name)
                continue
            finally:
                progress.end()
            _note(f"{name}: {problem}")
            failed += 1
        return EXIT_ERROR if failed else 0

    with _Session(args) as session:
        try:
            status: int = session.run(create)
        except KeyboardInterrupt:
            _note(left.report(session.ephemeral))
            return EXIT_INTERRUPTED
    return status


def _kb_delete_command(args: argparse.Namespace) -> int:
    async def delete(pulse: AsyncPulse) -> None:
        await pulse.datasets.delete(args.dataset_id)

    with _Session(args) as session:
        session.run(delete)
    _note(f"deleted knowledge base {args.dataset_id}")
    return 0


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
    from ..testing._cli_options import emulator_of

    async def serve() -> None:
        stopped = asyncio.Event()
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C only
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        async with emulator_of(args) as emulator:
            running = RunningEmulator(
                os.getpid(), emulator.base_url, emulator.api_key, emulator.knowledge_api_key
            )
            with advertise(running):
                print(f"PulseAI emulator listening on {emulator.base_url}", flush=True)
                _note(
                    f"  export {API_KEY_ENV}={emulator.api_key} "
                    f"{KNOWLEDGE_API_KEY_ENV}={emulator.knowledge_api_key} "
                    f"{BASE_URL_ENV}={emulator.base_url}\n"
                    "  (pulseai commands with no key set use it too; Ctrl-C stops it)"
                )
                await stopped.wait()

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


def _parents() -> dict[str, argparse.ArgumentParser]:
    """The option groups; each command takes only those that change what it does."""
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument(
        "--emulator",
        action="store_true",
        help="use the bundled emulator (the one `pulseai emulator` runs, or a new one) "
        "even if a key is set",
    )
    user = argparse.ArgumentParser(add_help=False)
    user.add_argument("--user", default="pulseai-cli", help="end-user id (default pulseai-cli)")
    json = argparse.ArgumentParser(add_help=False)
    json.add_argument("--json", action="store_true", help="print JSON, one object per line")
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument(
        "--limit", type=int, default=20, help="how many per page (1-100, default 20)"
    )
    listing.add_argument("--all", action="store_true", help="follow every page")
    return {"server": server, "user": user, "json": json, "listing": listing}


def build_parser() -> argparse.ArgumentParser:
    from ..testing._cli_options import add_options

    parser = argparse.ArgumentParser(
        prog="pulseai",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pulseai {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    group = _parents()
    server, user, json, listing = group["server"], group["user"], group["json"], group["listing"]

    chat = commands.add_parser(
        "chat",
        parents=[server, user, json],
        help="stream an answer to the terminal",
        description="Stream an answer. Without QUERY (or with -i) keep a conversation going, "
        "one message per line of input (with line editing and history on a terminal).",
    )
    chat.add_argument("query", nargs="?", help="the message (omit it to chat interactively)")
    chat.add_argument("--conversation", default=None, help="continue this conversation id")
    chat.add_argument("-i", "--interactive", action="store_true", help="keep chatting after QUERY")
    chat.add_argument(
        "--inputs", type=_inputs, default=None, help="the app's input variables, as JSON"
    )
    chat.add_argument(
        "--token-delay",
        type=float,
        default=0.02,
        help="seconds between the tokens of an emulator this command starts (default 0.02)",
    )
    chat.set_defaults(run=_chat_command)

    conversations = commands.add_parser(
        "conversations",
        parents=[server, user, json, listing],
        help="list a user's conversations, newest first",
    )
    conversations.set_defaults(run=_conversations_command)

    upload = commands.add_parser(
        "upload", parents=[server, user, json], help="upload a file to attach to messages"
    )
    upload.add_argument("path", help="the file to upload")
    upload.set_defaults(run=_upload_command)

    kb = commands.add_parser("kb", help="knowledge bases (uses PULSEAI_KNOWLEDGE_API_KEY)")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True, metavar="COMMAND")
    kb_create = kb_commands.add_parser(
        "create",
        parents=[server],
        help="create a knowledge base from files and follow their indexing",
    )
    kb_create.add_argument("name", help="the knowledge base's name")
    kb_create.add_argument("files", nargs="*", help="documents to add")
    kb_create.add_argument(
        "--indexing-technique",
        choices=["high_quality", "economy"],
        default="high_quality",
        help="the index to build (default high_quality)",
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
    kb_list = kb_commands.add_parser(
        "list", parents=[server, json, listing], help="list knowledge bases"
    )
    kb_list.set_defaults(run=_kb_list_command, key_env=KNOWLEDGE_API_KEY_ENV)
    kb_retrieve = kb_commands.add_parser(
        "retrieve",
        parents=[server, json],
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
    kb_delete = kb_commands.add_parser(
        "delete", parents=[server], help="delete a knowledge base and its documents"
    )
    kb_delete.add_argument("dataset_id", metavar="KB_ID", help="the knowledge base's id")
    kb_delete.set_defaults(run=_kb_delete_command, key_env=KNOWLEDGE_API_KEY_ENV)

    emulator = commands.add_parser(
        "emulator",
        help="run the bundled emulator in the foreground",
        description="Run the bundled emulator until Ctrl-C (or SIGTERM) and print the "
        "environment that points the SDK at it. While it runs, pulseai commands with no "
        "key set use it. The options are those of `python -m pulseai_async.testing`.",
    )
    add_options(emulator)
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
    except CommandError as error:
        _note(f"error: {error}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _note("(interrupted)")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `pulseai chat ... | head`: the reader left; exit quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    return status
