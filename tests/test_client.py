"""The core client against the emulator: happy path, typed errors, retries, timeouts."""

import hashlib
import hmac
import logging
import time
import uuid
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

import pulseai_async as pa
from pulseai_async.testing import Emulator, Fault

from .conftest import FAST_RETRIES, Serve

pytestmark = pytest.mark.anyio


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
async def test_send_then_delete_happy_path(emulator: Emulator) -> None:
    emulator.answer = "Paris is the capital of France."
    async with emulator.client() as pulse:
        message = await pulse.chat.send("Capital of France?", user="alice")
        assert message.answer == "Paris is the capital of France."
        uuid.UUID(message.conversation_id)
        uuid.UUID(message.message_id)
        usage = message.metadata.usage
        assert usage is not None
        assert isinstance(usage.total_price, Decimal)
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

        follow_up = await pulse.chat.send(
            "And of Italy?", user="alice", conversation_id=message.conversation_id
        )
        assert follow_up.conversation_id == message.conversation_id

        await pulse.conversations.delete(message.conversation_id, user="alice")
        with pytest.raises(pa.ConversationNotFoundError) as caught:
            await pulse.chat.send(
                "Still there?", user="alice", conversation_id=message.conversation_id
            )
    assert caught.value.status == 404
    assert caught.value.request_id


@pytest.mark.parametrize("style", [200, 204])
async def test_delete_accepts_both_server_styles(emulator: Emulator, style: int) -> None:
    emulator.delete_style = style
    async with emulator.client() as pulse:
        message = await pulse.chat.send("hi", user="u")
        assert await pulse.conversations.delete(message.conversation_id, user="u") is None


async def test_delete_of_an_unknown_conversation_succeeds(pulse: pa.AsyncPulse) -> None:
    # Dify 1.9.1 answers 204 for any id, known or not (PulseAI documents a 404)
    assert await pulse.conversations.delete(str(uuid.uuid4()), user="u") is None


async def test_delete_of_a_conversation_a_server_does_not_know_is_typed(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    conversation_id = str(uuid.uuid4())
    not_found = Fault.http_error(404, "not_found", message="Conversation Not Exists.")
    emulator.faults.add(not_found.on(f"/conversations/{conversation_id}", "DELETE"))
    with pytest.raises(pa.ConversationNotFoundError):
        await pulse.conversations.delete(conversation_id, user="u")


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("invalid_param", pa.InvalidParamError),
        ("app_unavailable", pa.AppUnavailableError),
        ("not_chat_app", pa.NotChatAppError),
        ("provider_not_initialize", pa.ProviderNotInitializeError),
        ("provider_quota_exceeded", pa.ProviderQuotaExceededError),
        ("model_currently_not_support", pa.ModelCurrentlyNotSupportError),
        ("completion_request_error", pa.CompletionRequestError),
    ],
)
async def test_each_documented_400_code_has_its_class(
    emulator: Emulator, code: str, cls: type[pa.BadRequestError]
) -> None:
    emulator.faults.add(path="/chat-messages", status=400, code=code)
    async with emulator.client() as pulse:
        with pytest.raises(cls) as caught:
            await pulse.chat.send("hi", user="u")
    error = caught.value
    assert isinstance(error, pa.BadRequestError)
    assert (error.status, error.code) == (400, code)
    assert error.message and error.request_id
    assert code in str(error) and error.request_id in str(error)
    assert emulator.hits("/chat-messages") == 1  # a 400 is never retried


async def test_400_is_never_retried(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", status=400, code="invalid_param", times=5)
    async with emulator.client(max_retries=5, retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(pa.InvalidParamError):
            await pulse.chat.send("hi", user="u")
    assert emulator.hits("/chat-messages") == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, pa.AuthenticationError),
        (403, pa.PermissionDeniedError),
        (404, pa.NotFoundError),
        (413, pa.PayloadTooLargeError),
        (415, pa.UnsupportedMediaTypeError),
        (422, pa.UnprocessableEntityError),
    ],
)
async def test_client_errors_have_their_class_and_are_not_retried(
    emulator: Emulator, status: int, cls: type[pa.APIStatusError]
) -> None:
    emulator.faults.add(path="/chat-messages", status=status, times=5)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(cls) as caught:
            await pulse.chat.send("hi", user="u")
    assert caught.value.status == status
    assert emulator.hits("/chat-messages") == 1


async def test_wrong_key_is_401(emulator: Emulator) -> None:
    async with pa.AsyncPulse("app-wrong-key", base_url=emulator.base_url) as pulse:
        with pytest.raises(pa.AuthenticationError) as caught:
            await pulse.chat.send("hi", user="u")
    assert caught.value.status == 401
    assert caught.value.code == "unauthorized"


async def test_429_waits_for_retry_after_then_succeeds(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", status=429, retry_after="1")
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        message = await pulse.chat.send("hi", user="u")
    assert message.answer
    first, second = [r for r in emulator.requests if r.path == "/chat-messages"]
    assert second.time - first.time >= 0.95  # Retry-After: 1, not the 10 ms backoff


async def test_429_retry_after_as_http_date(emulator: Emulator) -> None:
    from email.utils import formatdate

    emulator.faults.add(
        path="/chat-messages", status=429, retry_after=formatdate(time.time() + 2, usegmt=True)
    )
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        await pulse.chat.send("hi", user="u")
    first, second = [r for r in emulator.requests if r.path == "/chat-messages"]
    assert second.time - first.time >= 0.5


async def test_429_retry_after_is_capped(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", status=429, retry_after="3600")
    policy = pa.RetryPolicy(max_retries=1, initial_delay=0.01, jitter=0.0, max_retry_after=0.2)
    async with emulator.client(retry_policy=policy) as pulse:
        await pulse.chat.send("hi", user="u")
    first, second = [r for r in emulator.requests if r.path == "/chat-messages"]
    assert 0.15 <= second.time - first.time < 5


async def test_rate_limit_error_carries_retry_after_when_retries_run_out(
    emulator: Emulator,
) -> None:
    emulator.faults.add(path="/chat-messages", status=429, retry_after="7")
    async with emulator.client(max_retries=0) as pulse:
        with pytest.raises(pa.RateLimitError) as caught:
            await pulse.chat.send("hi", user="u")
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_retried_up_to_the_limit_then_raised(emulator: Emulator, status: int) -> None:
    emulator.faults.add(path="/chat-messages", status=status, times=10)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(pa.ServerError) as caught:
            await pulse.chat.send("hi", user="u")
    assert caught.value.status == status
    assert emulator.hits("/chat-messages") == 3  # 1 + max_retries=2


async def test_max_retries_per_call_overrides_the_client(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", status=500, times=10)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(pa.InternalServerError):
            await pulse.chat.send("hi", user="u", max_retries=0)
        assert emulator.hits("/chat-messages") == 1
        with pytest.raises(pa.InternalServerError):
            await pulse.with_options(max_retries=4).chat.send("hi", user="u")
    assert emulator.hits("/chat-messages") == 1 + 5


async def test_500_then_success(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", status=500, times=2)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        message = await pulse.chat.send("hi", user="u")
    assert message.answer
    assert emulator.hits("/chat-messages") == 3


async def test_retries_are_logged_at_info_with_attempt_and_reason(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.add(path="/chat-messages", status=503)
    with caplog.at_level(logging.INFO, logger="pulseai_async"):
        async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
            await pulse.chat.send("hi", user="u")
    retries = [
        r for r in caplog.records if r.levelno == logging.INFO and "retry" in r.getMessage().lower()
    ]
    assert len(retries) == 1
    assert "1" in retries[0].getMessage() and "503" in retries[0].getMessage()


@pytest.mark.parametrize(
    ("body", "cls", "message"),
    [
        (b'{"code": "invalid_param", "message": "bad"}', pa.InvalidParamError, "bad"),
        (b'{"error": "quota gone"}', pa.BadRequestError, "quota gone"),
        (
            b'{"code": "invalid_param", "message": "x", "status": 400, "params": "query"}',
            pa.InvalidParamError,
            "x",
        ),
        (b"<html><body>502 Bad Gateway</body></html>", pa.BadRequestError, "400"),
    ],
)
async def test_deviating_error_bodies_still_give_the_right_class(
    emulator: Emulator, body: bytes, cls: type[pa.APIStatusError], message: str
) -> None:
    emulator.faults.add(path="/chat-messages", status=400, body=body)
    async with emulator.client() as pulse:
        with pytest.raises(cls) as caught:
            await pulse.chat.send("hi", user="u")
    assert message in caught.value.message


async def test_html_from_a_proxy_on_502_is_a_bad_gateway_error(emulator: Emulator) -> None:
    emulator.faults.add(
        path="/chat-messages",
        status=502,
        times=5,
        body=b"<html><head><title>502 Bad Gateway</title></head></html>",
    )
    async with emulator.client(max_retries=0) as pulse:
        with pytest.raises(pa.BadGatewayError) as caught:
            await pulse.chat.send("hi", user="u")
    assert "<html" not in str(caught.value)


async def test_slow_server_raises_api_timeout_error(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", delay=2.0, times=5)
    async with emulator.client(timeout=pa.Timeout(connect=1, read=0.2, total=10)) as pulse:
        with pytest.raises(pa.APITimeoutError) as caught:  # the answer would come at 2 s
            await pulse.chat.send("hi", user="u")
    assert caught.value.phase == "read"
    assert emulator.hits("/chat-messages") == 1  # a read timeout may have acted: no retry


async def test_per_call_timeout(emulator: Emulator) -> None:
    emulator.faults.add(path="/chat-messages", delay=2.0)
    async with emulator.client() as pulse:
        with pytest.raises(pa.APITimeoutError):
            await pulse.chat.send("hi", user="u", timeout=0.2)


async def test_connection_refused_is_a_typed_connection_error() -> None:
    async with Emulator() as emulator:
        url = emulator.base_url
    async with pa.AsyncPulse("k", base_url=url, retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(pa.APIConnectionError) as caught:
            await pulse.chat.send("hi", user="u")
    assert not isinstance(caught.value, pa.APIStatusError)


async def test_headers_signing_and_extras_reach_the_server(emulator: Emulator) -> None:
    async with emulator.client() as pulse:
        await pulse.chat.send(
            "hi",
            user="u",
            extra_headers={"X-Trace": "t-1"},
            extra_query={"debug": "1"},
            extra_body={"trace": True},
        )
    request = emulator.requests[-1]
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["user-agent"].startswith("pulseai-async/")
    assert abs(int(headers["x-timestamp"]) - time.time()) < 5
    assert headers["x-trace"] == "t-1"
    assert request.query == {"debug": "1"}
    assert request.json()["trace"] is True
    assert "authorization" not in headers and "x-signature" not in headers  # never recorded


@pytest.mark.parametrize("own_session", [False, True], ids=["sdk_pool", "passed_in_session"])
async def test_every_request_names_the_sdk_and_the_media_type_it_accepts(
    emulator: Emulator, own_session: bool
) -> None:
    # With the SDK's own pool these are the session's defaults; a session passed in
    # has its own, so each request carries them.
    session = aiohttp.ClientSession() if own_session else None
    try:
        async with emulator.client(session=session) as pulse:
            await pulse.chat.send("hi", user="u")
            async with pulse.chat.stream("hi", user="u") as stream:
                await stream.final_text()
    finally:
        if session is not None:
            await session.close()
    accepts = ["application/json", "text/event-stream"]
    for request, accept in zip(emulator.requests[-2:], accepts, strict=True):
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["user-agent"].startswith("pulseai-async/")
        assert headers["accept"] == accept
        assert headers["x-timestamp"].isdigit()


async def test_a_user_agent_of_ones_own_replaces_the_sdks(emulator: Emulator) -> None:
    async with emulator.client(default_headers={"User-Agent": "my-bot/2.0"}) as pulse:
        await pulse.chat.send("hi", user="u")
        await pulse.with_options(default_headers={"User-Agent": "my-bot/3.0"}).chat.send(
            "hi", user="u"
        )
    sent = [
        [v for k, v in request.headers.items() if k.lower() == "user-agent"]
        for request in emulator.requests[-2:]
    ]
    assert sent == [["my-bot/2.0"], ["my-bot/3.0"]]


async def test_hmac_signer_signature_verifies_on_the_server(serve: Serve) -> None:
    """A server holding the secret recomputes the documented HMAC over what it received."""
    secret = "s3cret"
    verified: list[bool] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.read()
        canonical = "\n".join(
            [
                request.headers["X-Timestamp"],
                request.method,
                request.path.removeprefix("/v1"),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        expected = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
        verified.append(hmac.compare_digest(request.headers["X-Signature"], expected))
        return web.json_response({"answer": "signed", "conversation_id": str(uuid.uuid4())})

    app = web.Application()
    app.router.add_post("/v1/chat-messages", chat)
    url = await serve(app)
    async with pa.AsyncPulse("k", base_url=url, signer=pa.HmacSigner(secret)) as pulse:
        reply = await pulse.chat.send("hi", user="u", extra_body={"trace": "t-1"})
    assert reply.answer == "signed"
    assert verified == [True]


def test_no_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSEAI_API_KEY", raising=False)
    monkeypatch.delenv("PULSEAI_KNOWLEDGE_API_KEY", raising=False)
    with pytest.raises(pa.PulseValidationError, match="PULSEAI_API_KEY"):
        pa.AsyncPulse()


def test_environment_configures_key_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSEAI_API_KEY", "app-from-env")
    monkeypatch.setenv("PULSEAI_BASE_URL", "http://127.0.0.1:9/v1/")
    pulse = pa.AsyncPulse()
    assert pulse.base_url == "http://127.0.0.1:9/v1"
    monkeypatch.delenv("PULSEAI_BASE_URL")
    assert pa.AsyncPulse().base_url == "https://api-platform.digitpulse.ai/v1"


def test_base_url_must_be_http() -> None:
    with pytest.raises(pa.PulseValidationError, match="base_url"):
        pa.AsyncPulse("k", base_url="ftp://example.com/v1")


async def test_with_options_shares_the_pool(emulator: Emulator) -> None:
    async with emulator.client() as pulse:
        await pulse.chat.send("hi", user="u")
        patient = pulse.with_options(timeout=900, max_retries=5)
        await patient.chat.send("hi", user="u")
        assert patient.connector is pulse.connector
        assert patient.timeout.read == 900 and patient.retry_policy.max_retries == 5
        await patient.aclose()  # a copy does not close the shared pool
        await pulse.chat.send("again", user="u")
        assert not pulse.connector.closed


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_event_size": 0}, "max_event_size"),
        ({"default_headers": {"X-Count": 3}}, "default_headers"),
    ],
)
async def test_with_options_checks_like_the_constructor(
    pulse: pa.AsyncPulse, kwargs: dict, name: str
) -> None:
    with pytest.raises(pa.PulseValidationError, match=name):
        pulse.with_options(**kwargs)


async def test_key_never_in_repr_logs_or_exceptions(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    key = "app-very-secret-key-123"
    emulator.api_key = key
    emulator.faults.add(
        path="/chat-messages", status=503, message=f"upstream echoed Bearer {key}", times=10
    )
    caught: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        async with pa.AsyncPulse(
            key, base_url=emulator.base_url, retry_policy=FAST_RETRIES
        ) as pulse:
            texts = [repr(pulse), str(pulse), repr(pulse.chat), repr(pulse.with_options(timeout=3))]
            try:
                await pulse.chat.send("hi", user="u")
            except pa.PulseError as exc:
                caught.append(exc)
        async with pa.AsyncPulse(key, base_url="http://127.0.0.1:9/v1", max_retries=0) as dead:
            try:
                await dead.chat.send("hi", user="u")
            except pa.PulseError as exc:
                caught.append(exc)
    assert len(caught) == 2
    texts += (
        [repr(e) for e in caught]
        + [str(e) for e in caught]
        + [repr(getattr(e, "body", "")) for e in caught]
    )
    texts += [r.getMessage() for r in caplog.records] + [str(r.__dict__) for r in caplog.records]
    texts += [repr(r) for r in emulator.requests]
    assert all(key not in text for text in texts)
    assert any("upstream echoed" in text for text in texts)


async def test_with_options_copies_use_their_own_options_on_every_resource(
    emulator: Emulator,
) -> None:
    emulator.faults.add(path="/chat-messages", status=500, times=10)
    async with emulator.client(retry_policy=FAST_RETRIES) as pulse:
        assert pulse.chat is pulse.chat  # one resource per client, created on first use
        no_retries = pulse.with_options(max_retries=0)
        assert no_retries.chat is not pulse.chat
        with pytest.raises(pa.InternalServerError):
            await no_retries.chat.send("hi", user="u")
    assert emulator.hits("/chat-messages") == 1
