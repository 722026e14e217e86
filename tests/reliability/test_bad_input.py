"""Bad input, client side: every mistake is a `PulseValidationError` (a ValueError) that
names the problem, raised before anything is sent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import pulseai_async as pa
from pulseai_async._uploads import prepare_upload
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio

Call = Callable[[pa.AsyncPulse], Any]

CHAT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "query not a string": ({"query": 42}, "query must be a string"),
    "query None": ({"query": None}, "query must be a string"),
    "query empty": ({"query": ""}, "query must not be empty"),
    "query blank": ({"query": " \n\t"}, "query must not be empty"),
    "user empty": ({"user": ""}, "user must not be empty"),
    "user not a string": ({"user": 7}, "user must be a string"),
    "conversation id not a UUID": ({"conversation_id": "conv-1"}, "conversation_id must be a UUID"),
    "conversation id almost a UUID": (
        {"conversation_id": str(uuid.uuid4())[:-1] + "z"},
        "conversation_id must be a UUID",
    ),
    "conversation id an int": ({"conversation_id": 12}, "conversation_id must be a string"),
    "inputs a list": ({"inputs": ["city"]}, "inputs must be a mapping"),
    "inputs not JSON": ({"inputs": {"when": object()}}, "not JSON"),
    "files a string": ({"files": "photo.png"}, "files must be a list"),
    "file type not in the enum": (
        {"files": [{"type": "pdf", "transfer_method": "local_file", "upload_file_id": "f"}]},
        r"files\[0\]\.type must be one of",
    ),
    "transfer method not in the enum": (
        {"files": [{"type": "image", "transfer_method": "ftp", "url": "ftp://x"}]},
        r"files\[0\]\.transfer_method",
    ),
    "remote file without an http url": (
        {"files": [{"type": "image", "transfer_method": "remote_url", "url": "file:///x"}]},
        r"files\[0\]\.url must be an http\(s\) URL",
    ),
    "local file without an id": (
        {"files": [{"type": "image", "transfer_method": "local_file", "upload_file_id": ""}]},
        r"files\[0\]\.upload_file_id must not be empty",
    ),
    "timeout negative": ({"timeout": -1}, "timeout must be a positive number"),
    "timeout a string": ({"timeout": "30"}, "timeout must be a positive number"),
    "max_retries negative": ({"max_retries": -1}, "max_retries must be an int >= 0"),
    "max_retries a string": ({"max_retries": "2"}, "max_retries must be an int >= 0"),
    "extra header not a string": ({"extra_headers": {"X-N": 1}}, "extra_headers must map"),
    "extra body not JSON": ({"extra_body": {"x": 1j}}, "not JSON"),
}


async def chat(pulse: pa.AsyncPulse, streaming: bool, kwargs: dict[str, Any]) -> None:
    if streaming:
        async with pulse.chat.stream(**kwargs) as stream:
            await stream.final_text()
    else:
        await pulse.chat.send(**kwargs)


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("case", list(CHAT_CASES))
async def test_chat_input_is_checked_before_sending(
    emulator: Emulator, case: str, streaming: bool
) -> None:
    overrides, message = CHAT_CASES[case]
    kwargs: dict[str, Any] = {"query": "hi", "user": "u", **overrides}
    with anyio.fail_after(5):
        async with emulator.client() as pulse:
            with pytest.raises(pa.PulseValidationError, match=message):
                await chat(pulse, streaming, kwargs)
    assert emulator.requests == []


@pytest.mark.parametrize("case", list(CHAT_CASES))
async def test_stream_checks_its_request_at_once(pulse: pa.AsyncPulse, case: str) -> None:
    overrides, message = CHAT_CASES[case]
    with pytest.raises(pa.PulseValidationError, match=message):
        pulse.chat.stream(**{"query": "hi", "user": "u", **overrides})  # not on first use


OTHER_CALLS: dict[str, tuple[Call, str]] = {
    "stop with a task id not a UUID": (
        lambda p: p.chat.stop("task-1", user="u"),
        "task_id must be a UUID",
    ),
    "stop without a user": (lambda p: p.chat.stop(str(uuid.uuid4()), user=""), "user"),
    "delete a conversation id not a UUID": (
        lambda p: p.conversations.delete("not-a-uuid", user="u"),
        "conversation_id must be a UUID",
    ),
    "delete an empty conversation id": (
        lambda p: p.conversations.delete("", user="u"),
        "conversation_id must not be empty",
    ),
    "delete without a user": (
        lambda p: p.conversations.delete(str(uuid.uuid4()), user="  "),
        "user must not be empty",
    ),
    "generic request with a relative path": (
        lambda p: p.request("GET", "info"),
        "path must start with '/'",
    ),
}


@pytest.mark.parametrize("case", list(OTHER_CALLS))
async def test_other_calls_are_checked_before_sending(emulator: Emulator, case: str) -> None:
    call, message = OTHER_CALLS[case]
    with anyio.fail_after(5):
        async with emulator.client() as pulse:
            with pytest.raises(pa.PulseValidationError, match=message):
                await call(pulse)
    assert emulator.requests == []


CLIENT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "empty key": ({"api_key": ""}, "API key must be a non-empty string"),
    "blank key": ({"api_key": "   "}, "API key must be a non-empty string"),
    "key not a string": ({"api_key": 1234}, "API key must be a non-empty string"),
    "ftp base url": ({"base_url": "ftp://files.example.com/v1"}, "base_url must be an http"),
    "file base url": ({"base_url": "file:///etc/passwd"}, "base_url must be an http"),
    "websocket base url": ({"base_url": "wss://api.example.com/v1"}, "base_url must be an http"),
    "base url without scheme": ({"base_url": "localhost:8080/v1"}, "base_url must be an http"),
    "base url without host": ({"base_url": "https:///v1"}, "base_url must be an http"),
    "empty base url": ({"base_url": ""}, "base_url must be an http"),
    "base url not a string": ({"base_url": 8080}, "base_url must be a string"),
    "negative timeout field": ({"timeout": lambda: pa.Timeout(read=-1)}, "Timeout.read must be"),
    "zero timeout": ({"timeout": 0}, "timeout must be a positive number"),
    "negative retries": ({"max_retries": -2}, "max_retries must be an int >= 0"),
    "retry policy with negative retries": (
        {"retry_policy": lambda: pa.RetryPolicy(max_retries=-1)},
        "max_retries must be an int >= 0",
    ),
    "zero max event size": ({"max_event_size": 0}, "max_event_size must be a positive int"),
    "zero max response size": ({"max_response_size": 0}, "max_response_size must be a positive"),
    "max text length a float": ({"max_text_length": 1e6}, "max_text_length must be a positive"),
    "negative pool size": ({"max_connections": -5}, "max_connections must be an int >= 0"),
    "pool size a string": ({"max_connections": "100"}, "max_connections must be an int >= 0"),
    "verify_ssl a number": ({"verify_ssl": 1}, "verify_ssl must be True, False, the path"),
    "default header not a string": ({"default_headers": {"X-N": 2}}, "default_headers must map"),
    "signer without sign()": ({"signer": lambda: object()}, "signer must have a sign"),
}


@pytest.mark.parametrize("case", list(CLIENT_CASES))
def test_client_settings_are_checked_when_constructed(case: str) -> None:
    overrides, message = CLIENT_CASES[case]
    kwargs: dict[str, Any] = {"api_key": "app-key", "base_url": "http://127.0.0.1:9/v1"}
    kwargs.update(overrides)
    with pytest.raises(pa.PulseValidationError, match=message) as caught:
        # Settings objects that check themselves are built inside the `raises` block.
        pa.AsyncPulse(**{k: v() if callable(v) else v for k, v in kwargs.items()})
    assert isinstance(caught.value, ValueError)


async def test_oversized_file_is_refused_before_reading_it_all(tmp_path) -> None:
    big = tmp_path / "report.pdf"
    big.write_bytes(b"%PDF" + b"0" * 4096)
    with anyio.fail_after(5):
        with pytest.raises(pa.PulseValidationError, match=r"'report.pdf' is 4100 bytes, over"):
            await prepare_upload(big, max_size=4096)
        with pytest.raises(pa.PulseValidationError, match="over the 10-byte limit"):
            await prepare_upload(("notes.txt", b"x" * 11), max_size=10)
        upload = await prepare_upload(("notes.txt", b"x" * 10), max_size=10)
    assert upload.size == 10


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("/no/such/file.png", "no such file"),
        (b"raw bytes", "raw bytes need a file name"),
        (("", b"data"), "must be a path, a file object"),
        (12345, "must be a path, bytes or a file object"),
    ],
)
async def test_unusable_file_inputs_are_named(file: Any, message: str) -> None:
    with anyio.fail_after(5), pytest.raises(pa.PulseValidationError, match=message):
        await prepare_upload(file)


# --- per-call options: a typo is a TypeError in every method, at run time ----------------

U = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
FILE = ("notes.txt", b"some text")

EVERY_METHOD: dict[str, Callable[..., Any]] = {
    "app.info": lambda p, **o: p.app.info(**o),
    "app.parameters": lambda p, **o: p.app.parameters(**o),
    "app.meta": lambda p, **o: p.app.meta(**o),
    "chat.send": lambda p, **o: p.chat.send("hi", user="u", **o),
    "chat.stream": lambda p, **o: p.chat.stream("hi", user="u", **o),
    "chat.stop": lambda p, **o: p.chat.stop(U, user="u", **o),
    "conversations.list": lambda p, **o: p.conversations.list(user="u", **o),
    "conversations.messages": lambda p, **o: p.conversations.messages(U, user="u", **o),
    "conversations.rename": lambda p, **o: p.conversations.rename(U, "n", user="u", **o),
    "conversations.delete": lambda p, **o: p.conversations.delete(U, user="u", **o),
    "messages.feedback": lambda p, **o: p.messages.feedback(U, "like", user="u", **o),
    "messages.suggested": lambda p, **o: p.messages.suggested(U, user="u", **o),
    "files.upload": lambda p, **o: p.files.upload(FILE, user="u", **o),
    "audio.speech_to_text": lambda p, **o: p.audio.speech_to_text(FILE, user="u", **o),
    "audio.text_to_audio": lambda p, **o: p.audio.text_to_audio("hi", user="u", **o),
    "audio.text_to_audio_v2": lambda p, **o: p.audio.text_to_audio_v2("hi", user="u", **o),
    "datasets.create": lambda p, **o: p.datasets.create("kb", **o),
    "datasets.list": lambda p, **o: p.datasets.list(**o),
    "datasets.delete": lambda p, **o: p.datasets.delete(U, **o),
    "datasets.retrieve": lambda p, **o: p.datasets.retrieve(U, "q", **o),
    "datasets.documents.create_from_text": lambda p, **o: p.datasets.documents.create_from_text(
        U, "doc", "text", **o
    ),
    "datasets.documents.create_from_file": lambda p, **o: p.datasets.documents.create_from_file(
        U, FILE, **o
    ),
    "datasets.documents.update_with_text": lambda p, **o: p.datasets.documents.update_with_text(
        U, U, name="n", text="t", **o
    ),
    "datasets.documents.update_with_file": lambda p, **o: p.datasets.documents.update_with_file(
        U, U, FILE, **o
    ),
    "datasets.documents.delete": lambda p, **o: p.datasets.documents.delete(U, U, **o),
    "datasets.documents.list": lambda p, **o: p.datasets.documents.list(U, **o),
    "datasets.documents.update_status": lambda p, **o: p.datasets.documents.update_status(
        U, "enable", [U], **o
    ),
    "datasets.documents.indexing_status": lambda p, **o: p.datasets.documents.indexing_status(
        U, "batch-1", **o
    ),
    "datasets.chunks.add": lambda p, **o: p.datasets.chunks.add(U, U, ["chunk"], **o),
    "datasets.chunks.list": lambda p, **o: p.datasets.chunks.list(U, U, **o),
    "datasets.chunks.update": lambda p, **o: p.datasets.chunks.update(U, U, U, content="c", **o),
    "datasets.chunks.delete": lambda p, **o: p.datasets.chunks.delete(U, U, U, **o),
    "request": lambda p, **o: p.request("GET", "/info", **o),
}


def methods_taking_options(obj: Any, prefix: str = "") -> list[str]:
    """Every public method of the client and its resources that takes `**options`."""
    import inspect

    from pulseai_async._resource import Resource

    names = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        attr = getattr(obj, name)
        if isinstance(attr, Resource):
            names += methods_taking_options(attr, f"{prefix}{name}.")
        elif callable(attr) and any(
            p.kind is inspect.Parameter.VAR_KEYWORD
            for p in inspect.signature(attr).parameters.values()
        ):
            names.append(prefix + name)
    return names


def test_the_typo_table_covers_every_method() -> None:
    pulse = pa.AsyncPulse(
        "app-key", knowledge_api_key="dataset-key", base_url="http://127.0.0.1:9/v1"
    )
    assert sorted(methods_taking_options(pulse)) == sorted(EVERY_METHOD)


async def run(result: Any) -> None:
    """Use what a method returned: await it, read a stream, fetch a page."""
    if hasattr(result, "__await__"):
        await result
    elif hasattr(result, "first_page"):
        await result.first_page()
    else:
        async with result:
            async for _ in result:
                pass


@pytest.mark.parametrize(
    ("typo", "hint"),
    [
        ({"timout": 1}, "'timout' (did you mean 'timeout'?)"),
        ({"max_retires": 0}, "'max_retires' (did you mean 'max_retries'?)"),
        ({"limt": 3}, "'limt'"),
        ({"extra_header": {"X-A": "b"}}, "(did you mean 'extra_headers'?)"),
    ],
)
@pytest.mark.parametrize("method", list(EVERY_METHOD))
async def test_an_option_typo_is_a_type_error_in_every_method(
    emulator: Emulator, method: str, typo: dict[str, Any], hint: str
) -> None:
    with anyio.fail_after(5):
        async with emulator.client() as pulse:
            with pytest.raises(TypeError, match="unexpected keyword argument") as caught:
                await run(EVERY_METHOD[method](pulse, **typo))
    assert hint in str(caught.value)
    assert not isinstance(caught.value, pa.PulseError)  # as Python raises for any function
    assert emulator.requests == []


async def test_streams_and_pagers_refuse_a_typo_when_created(emulator: Emulator) -> None:
    # `pulse.chat.stream(...)` and `pulse.conversations.list(...)` return at once and
    # send later: the typo is raised by the call itself, not on first use
    pulse = emulator.client()
    for method in ("chat.stream", "audio.text_to_audio", "conversations.list", "datasets.list"):
        with pytest.raises(TypeError, match="timout"):
            EVERY_METHOD[method](pulse, timout=1)
    await pulse.aclose()


# --- bad values that used to be sent ------------------------------------------------------

BAD_VALUES: dict[str, tuple[Call, str]] = {
    "enabled a string": (
        lambda p: p.datasets.chunks.update(U, U, U, enabled="false"),
        "enabled must be True or False, got 'false'",
    ),
    "regenerate_child_chunks an int": (
        lambda p: p.datasets.chunks.update(U, U, U, content="c", regenerate_child_chunks=1),
        "regenerate_child_chunks must be True or False",
    ),
    "auto_generate_name a string": (
        lambda p: p.chat.send("hi", user="u", auto_generate_name="no"),
        "auto_generate_name must be True or False",
    ),
    "streaming a string": (
        lambda p: run(p.audio.text_to_audio("hi", user="u", streaming="false")),
        "streaming must be True or False",
    ),
    "auto_generate a string": (
        lambda p: p.conversations.rename(U, user="u", auto_generate="false"),
        "auto_generate must be True or False",
    ),
    "include_all a string": (
        lambda p: run(p.datasets.list(include_all="false")),
        "include_all must be True or False",
    ),
    "reranking_enable a string": (
        lambda p: p.datasets.retrieve(U, "q", retrieval_model={"reranking_enable": "false"}),
        "retrieval_model.reranking_enable must be True or False",
    ),
    "user a lone surrogate in a query": (
        lambda p: run(p.conversations.list(user="\ud800")),
        r"user must be valid Unicode text, but holds the lone surrogate '\\ud800'",
    ),
    "user a lone surrogate in a body": (
        lambda p: p.chat.send("hi", user="u\ud800"),
        "user must be valid Unicode text",
    ),
    "query with a lone surrogate": (
        lambda p: p.chat.send("caf\udce9", user="u"),
        "query must be valid Unicode text",
    ),
    "feedback content with a lone surrogate": (
        lambda p: p.messages.feedback(U, "like", user="u", content="\udc80"),
        "content must be valid Unicode text",
    ),
    "keyword with a lone surrogate": (
        lambda p: run(p.datasets.list(keyword="\ud83d")),
        "keyword must be valid Unicode text",
    ),
    "inputs with a non-string key": (
        lambda p: p.chat.send("hi", user="u", inputs={1: "x"}),
        "inputs keys must be strings",
    ),
    "CRLF in an extra header": (
        lambda p: p.app.info(extra_headers={"X-A": "v\r\nX-Injected: 1"}),
        r"extra_headers\['X-A'\] must not contain CR, LF or NUL",
    ),
    "LF in an extra header": (
        lambda p: p.app.info(extra_headers={"X-A": "v\nw"}),
        r"extra_headers\['X-A'\] must not contain CR, LF or NUL",
    ),
    "a header name with a space": (
        lambda p: p.app.info(extra_headers={"X A": "v"}),
        "extra_headers: 'X A' is not a valid header name",
    ),
    "a header name with a colon": (
        lambda p: p.app.info(extra_headers={"X-A:": "v"}),
        "is not a valid header name",
    ),
    "extra_query a list": (
        lambda p: p.app.info(extra_query=[("a", "b")]),
        "extra_query must be a mapping, got list",
    ),
    "extra_query value a dict": (
        lambda p: p.app.info(extra_query={"filter": {"a": 1}}),
        "query parameter filter must be a string, number or bool, got dict",
    ),
    "extra_query value a lone surrogate": (
        lambda p: p.app.info(extra_query={"q": "\ud800"}),
        "q must be valid Unicode text",
    ),
    "extra_query with a non-string name": (
        lambda p: p.app.info(extra_query={1: "x"}),
        "query parameter names must be strings, got 1",
    ),
    "extra_query with a lone surrogate in a name": (
        lambda p: p.app.info(extra_query={"\ud800": "x"}),
        "a query parameter name must be valid Unicode text",
    ),
    "inputs with a lone surrogate": (
        lambda p: p.chat.send("hi", user="u", inputs={"city": "\ud800"}),
        "the request body's 'inputs' is not JSON",
    ),
    "keyword an int": (
        lambda p: run(p.datasets.documents.list(U, keyword=5)),
        "keyword must be a string, got int",
    ),
    "process_rule a list": (
        lambda p: p.datasets.documents.create_from_text(U, "n", "t", process_rule=["x"]),
        "process_rule must be a mapping, got list",
    ),
    "max_size a string": (
        lambda p: p.files.upload(FILE, user="u", max_size="10"),
        "max_size must be a positive int",
    ),
    "max_size True": (
        lambda p: p.files.upload(FILE, user="u", max_size=True),
        "max_size must be a positive int",
    ),
    "file name with CRLF": (
        lambda p: p.files.upload(("a\r\n.txt", b"x"), user="u"),
        "file name must not contain CR, LF or NUL",
    ),
    "file name with a lone surrogate": (
        lambda p: p.audio.speech_to_text(("a\udc80.wav", b"x"), user="u"),
        "audio file name must be valid Unicode text",
    ),
    "request with a method that is no token": (
        lambda p: p.request("GET\r\n", "/info"),
        "method must be an HTTP token",
    ),
    "request with CRLF in the path": (
        lambda p: p.request("GET", "/info\r\nX-Injected: 1"),
        "path must not contain spaces or control characters",
    ),
    "request with an unknown scope": (
        lambda p: p.request("GET", "/info", scope="admin"),
        "scope must be 'app' or 'knowledge', got 'admin'",
    ),
    "extra_body a list": (
        lambda p: p.chat.send("hi", user="u", extra_body=["x"]),
        "extra_body must be a mapping, got list",
    ),
}

UUID_FORMS = {
    "tab before": f"\t{U}",
    "CRLF after": f"{U}\r\n",
    "space after": f"{U} ",
    "braces": f"{{{U}}}",
    "urn prefix": f"urn:uuid:{U}",
    "no hyphens": U.replace("-", ""),
}
UUID_ARGUMENTS: dict[str, Callable[[pa.AsyncPulse, str], Any]] = {
    "conversation_id": lambda p, v: p.chat.send("hi", user="u", conversation_id=v),
    "task_id": lambda p, v: p.chat.stop(v, user="u"),
    "message_id": lambda p, v: p.messages.feedback(v, "like", user="u"),
    "dataset_id": lambda p, v: p.datasets.delete(v),
    "document_id": lambda p, v: p.datasets.documents.delete(U, v),
    "segment_id": lambda p, v: p.datasets.chunks.delete(U, U, v),
    "last_id": lambda p, v: run(p.conversations.list(user="u", last_id=v)),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
async def test_bad_values_are_refused_before_sending(emulator: Emulator, case: str) -> None:
    call, message = BAD_VALUES[case]
    with anyio.fail_after(5):
        async with emulator.client() as pulse:
            with pytest.raises(pa.PulseValidationError, match=message):
                await call(pulse)
    assert emulator.requests == []


@pytest.mark.parametrize("form", list(UUID_FORMS))
@pytest.mark.parametrize("argument", list(UUID_ARGUMENTS))
async def test_a_uuid_is_sent_as_given_or_refused(
    emulator: Emulator, argument: str, form: str
) -> None:
    with anyio.fail_after(5):
        async with emulator.client() as pulse:
            with pytest.raises(pa.PulseValidationError, match=f"{argument} must be a UUID") as e:
                await UUID_ARGUMENTS[argument](pulse, UUID_FORMS[form])
    assert repr(UUID_FORMS[form]) in str(e.value)  # shows exactly what was given
    assert emulator.requests == []


async def test_a_uuid_object_is_sent_in_its_canonical_form(emulator: Emulator) -> None:
    async with emulator.client() as pulse:
        reply = await pulse.chat.send("hi", user="u")
        await pulse.conversations.delete(uuid.UUID(reply.conversation_id.upper()), user="u")
    (delete,) = emulator.requests_to(f"/conversations/{reply.conversation_id}", "DELETE")
    assert delete.path.endswith(reply.conversation_id)


def test_default_headers_with_crlf_are_refused_when_constructed() -> None:
    with pytest.raises(pa.PulseValidationError, match=r"default_headers\['X-A'\] must not"):
        pa.AsyncPulse("app-key", base_url="http://127.0.0.1:9/v1", default_headers={"X-A": "\r\n"})
