"""Security: the key never shows up in DEBUG logs, reprs, exceptions or the emulator's
recordings; TLS is verified unless the user explicitly opts out; plain http to another
host warns."""

from __future__ import annotations

import logging
import ssl
import traceback
import warnings

import aiohttp
import anyio
import pytest
import trustme
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

from ..conftest import FAST_RETRIES, Serve

pytestmark = pytest.mark.anyio

KEY = "app-Sup3rSecretKey-0123456789"
WRONG_KEY = "app-An0therSecret-9876543210"


def exception_texts(exc: BaseException) -> list[str]:
    """Everything an exception shows: str, repr, args, attributes, traceback, causes."""
    texts = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        texts.append("".join(traceback.format_exception(seen)))
        seen = seen.__cause__ or seen.__context__
    return texts


async def test_key_is_in_no_log_repr_exception_or_recording(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.api_key = KEY
    texts: list[str] = []
    errors: list[BaseException] = []

    async def expect_error(call) -> None:
        try:
            await call()
        except pa.PulseError as exc:
            errors.append(exc)
        else:
            raise AssertionError("the call should have failed")

    caplog.set_level(logging.DEBUG)  # the root logger: the SDK, aiohttp, asyncio
    with anyio.fail_after(20):
        async with pa.AsyncPulse(
            KEY, base_url=emulator.base_url, retry_policy=FAST_RETRIES
        ) as pulse:
            await pulse.chat.send("hello", user="u", extra_headers={"X-Echo": KEY})
            async with pulse.chat.stream("hello", user="u") as stream:
                await stream.final_text()
            texts += [repr(pulse), str(pulse), repr(pulse.chat), repr(stream)]
            texts += [repr(pulse.with_options(timeout=5)), repr(pulse.retry_policy)]

            emulator.faults.add(Fault.http_error(503).repeated(2))  # retried, logged
            await pulse.chat.send("hello", user="u")
            emulator.faults.add(
                Fault.http_error(500, message=f"upstream said: Bearer {KEY}").always()
            )
            await expect_error(lambda: pulse.chat.send("hello", user="u"))
            emulator.faults.clear()
            for fault in (
                Fault.error_after(2, "completion_request_error", message=f"echo {KEY}"),
                Fault.drop_after(2),
                Fault.malformed_after(2),
            ):
                emulator.faults.add(fault)
                await expect_error(lambda: pulse.chat.stream("hello", user="u").final_text())
            emulator.faults.add(Fault.slow(1))
            await expect_error(
                lambda: pulse.chat.send("hello", user="u", timeout=pa.Timeout(read=0.1))
            )
        async with pa.AsyncPulse(WRONG_KEY, base_url=emulator.base_url) as wrong:
            await expect_error(lambda: wrong.chat.send("hello", user="u"))
        async with pa.AsyncPulse(KEY, base_url="http://127.0.0.1:9/v1", max_retries=0) as dead:
            await expect_error(lambda: dead.chat.send("hello", user="u"))

    assert [type(e) for e in errors] == [
        pa.InternalServerError,
        pa.CompletionRequestError,
        pa.StreamInterruptedError,
        pa.ResponseDecodeError,
        pa.APITimeoutError,
        pa.AuthenticationError,
        pa.APIConnectionError,
    ]
    for exc in errors:
        texts += exception_texts(exc)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s")
    texts += [formatter.format(record) for record in caplog.records]
    texts += [repr(record.__dict__) for record in caplog.records]
    texts += [repr(emulator), repr(emulator.requests)]
    texts += [r.body.decode() for r in emulator.requests]
    assert not [text for text in texts if KEY in text or WRONG_KEY in text]
    # ... while what the server said is still there, with the key masked.
    assert any("upstream said: Bearer ***" in text for text in texts)
    assert any("retrying POST /chat-messages" in r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert any(r.header("X-Echo") == "***" for r in emulator.requests)


# --- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def https_emulator(authority: trustme.CA, serve: Serve) -> tuple[Emulator, str]:
    """The emulator's app behind TLS with a certificate no public CA signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    emulator = Emulator(api_key=KEY)
    return emulator, await serve(emulator.make_app(), ssl_context=context)


async def test_self_signed_server_is_refused_by_default(
    https_emulator: tuple[Emulator, str], caplog: pytest.LogCaptureFixture
) -> None:
    emulator, url = https_emulator
    caplog.set_level(logging.INFO, logger="pulseai_async")
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url, retry_policy=FAST_RETRIES) as pulse:
            with pytest.raises(pa.APIConnectionError, match="certificate verify failed"):
                await pulse.chat.send("hello", user="u")
            with pytest.raises(pa.APIConnectionError, match="certificate verify failed"):
                await pulse.chat.stream("hello", user="u").final_text()
    assert emulator.requests == []  # the key was never sent to the unverified server
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]  # no point


async def test_verification_off_only_when_asked(https_emulator: tuple[Emulator, str]) -> None:
    emulator, url = https_emulator
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url, verify_ssl=False) as pulse:
            reply = await pulse.chat.send("hello", user="u")
    assert reply.answer.startswith("You asked: hello")
    assert emulator.hits("/chat-messages") == 1


async def test_a_private_ca_is_trusted_through_your_own_session(
    https_emulator: tuple[Emulator, str], authority: trustme.CA
) -> None:
    emulator, url = https_emulator
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with anyio.fail_after(10):
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
            pa.AsyncPulse(KEY, base_url=url, session=session) as pulse,
        ):
            text = await pulse.chat.stream("hello", user="u").final_text()
    assert text.startswith("You asked: hello")
    assert emulator.hits("/chat-messages") == 1


# --- plain http -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com/v1",
        "http://10.0.0.8:5001/v1",
        "http://[2001:db8::1]/v1",
        "http://admin:hunter2@dify.internal/v1",
    ],
)
def test_plain_http_to_another_host_logs_a_warning_not_a_python_warning(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A self-hoster on an internal host runs tests with `filterwarnings = error`: the
    client must construct (no RuntimeWarning), and still say the key is unencrypted."""
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, "pulseai_async"):
        warnings.simplefilter("error")
        pa.AsyncPulse(KEY, base_url=url)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "plain http to a non-loopback host" in message and "unencrypted" in message
    assert url.split("//")[1].split("/")[0].rpartition("@")[2] in message
    assert KEY not in message and "hunter2" not in message


def test_plain_http_from_the_environment_logs_too(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PULSEAI_BASE_URL", "http://pulse.internal/v1")
    with caplog.at_level(logging.WARNING, "pulseai_async"):
        pa.AsyncPulse(KEY)
    assert "unencrypted" in caplog.text and "pulse.internal" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v1",
        "http://localhost/v1",
        "http://[::1]:5001/v1",
        "https://api.example.com/v1",
    ],
)
def test_loopback_and_https_do_not_warn(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pa.AsyncPulse(KEY, base_url=url).base_url == url


async def test_key_echoed_in_an_undecodable_body_is_masked(serve: Serve) -> None:
    # A debugging proxy or echo service answers 200 with the request headers: the body
    # does not decode as the documented shape, and the error must not carry the key.
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=f"<pre>{request.headers['Authorization']}</pre>")

    app = web.Application()
    app.router.add_get("/v1/info", echo)
    async with pa.AsyncPulse(KEY, base_url=await serve(app)) as pulse:
        with pytest.raises(pa.ResponseDecodeError) as caught:
            await pulse.app.info()
        with pytest.raises(pa.ResponseDecodeError) as raw:
            await pulse.request("GET", "/info")
    for exc in (caught.value, raw.value):
        assert exc.body == b"<pre>Bearer ***</pre>"
        assert not [text for text in exception_texts(exc) if KEY in text]
