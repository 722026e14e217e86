"""Every public exception survives pickling (Celery and multiprocessing send them between
processes), and the exception tree is the same, and complete, wherever it is shown."""

from __future__ import annotations

import inspect
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

import pulseai_async as pa
from pulseai_async import _errors

from ..conftest import Serve

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS = sorted(
    (getattr(pa, name) for name in pa.__all__ if name in vars(_errors)),
    key=lambda cls: cls.__name__,
)
SAMPLES: dict[str, Any] = {
    "message": "it broke: [details]",
    "status": 503,
    "code": "unavailable",
    "request_id": "req-42",
    "body": {"code": "unavailable", "message": "it broke"},
    "retry_after": 1.5,
    "phase": "connect",
    "partial_text": "so far",
    "events_received": 7,
    "limit": 1024,
    "document_id": "doc-1",
    "error": "the parser failed",
    "last": {"indexing_status": "splitting"},
    "location": "https://elsewhere.example/v1",
    "content_type": "text/html",
    "cursor": "cursor-9",
    "pages": 3,
    "headers": {"X-Request-Id": "req-42", "Retry-After": "1.5"},
    "method": "POST",
    "path": "/chat-messages",
    "stage": "sent",
    "what": "POST /chat-messages",
}


def build(cls: type[BaseException]) -> BaseException:
    """An instance with every constructor argument set to a sample value."""
    kwargs: dict[str, Any] = {}
    args: list[Any] = []
    try:
        parameters = inspect.signature(cls).parameters
    except ValueError:  # no __init__ of its own: Exception's
        return cls(SAMPLES["message"])
    for name, parameter in parameters.items():
        if parameter.kind is parameter.VAR_POSITIONAL:
            args.append(SAMPLES["message"])
        elif parameter.kind is parameter.VAR_KEYWORD:
            if issubclass(cls, pa.APIStatusError):
                kwargs.update(status=SAMPLES["status"], code=SAMPLES["code"])
        else:
            kwargs[name] = SAMPLES[name]  # a new parameter needs a sample here
    return cls(*args, **kwargs)


def test_the_list_covers_the_whole_tree() -> None:
    assert len(EXCEPTIONS) >= 55 and pa.PulseError in EXCEPTIONS
    assert all(issubclass(cls, pa.PulseError) for cls in EXCEPTIONS)
    defined = {
        value
        for value in vars(_errors).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert defined - {Exception, TimeoutError, ValueError} == set(EXCEPTIONS)  # all public


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: cls.__name__)
def test_every_exception_round_trips_through_pickle(cls: type[BaseException]) -> None:
    original = build(cls)
    original.partial_text = "text that had arrived"  # type: ignore[attr-defined]
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is cls
    assert str(copy) == str(original) and repr(copy) == repr(original)
    assert copy.args == original.args
    assert vars(copy) == vars(original)
    assert str(pickle.loads(pickle.dumps(copy))) == str(original)  # stable, not doubled


async def test_an_error_raised_by_a_real_call_round_trips(serve: Serve) -> None:
    from aiohttp import web

    async def busy(request: web.Request) -> web.Response:
        return web.json_response(
            {"code": "unavailable", "message": "busy", "status": 503},
            status=503,
            headers={"Retry-After": "2", "X-Request-Id": "req-7"},
        )

    app = web.Application()
    app.router.add_post("/v1/chat-messages", busy)
    async with pa.AsyncPulse("app-key", base_url=await serve(app), max_retries=0) as pulse:
        with pytest.raises(pa.ServiceUnavailableError) as caught:
            await pulse.chat.send("hi", user="u")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.status, copy.code, copy.request_id, copy.retry_after, copy.body) == (
        503,
        "unavailable",
        "req-7",
        2.0,
        {"code": "unavailable", "message": "busy", "status": 503},
    )
    assert str(copy) == "[503 unavailable] busy (request id req-7)"
    assert (copy.status_code, copy.method, copy.path) == (503, "POST", "/chat-messages")
    assert copy.headers["retry-after"] == "2" and copy.headers["x-request-id"] == "req-7"


# --- one tree, everywhere -------------------------------------------------------------------


def tree_in(text: str) -> str:
    """The first ```text ... ``` (or bare ```) block that starts with `PulseError`."""
    match = re.search(r"```(?:text)?\n(PulseError\n.*?)```", text, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_tree_is_the_same_in_the_module_and_the_guide() -> None:
    # docs/reference/errors.md renders the module docstring, so it shows this tree too
    assert "::: pulseai_async._errors" in (ROOT / "docs/reference/errors.md").read_text()
    assert tree_in(_errors.__doc__ or "") == tree_in((ROOT / "docs/errors.md").read_text())


def test_the_tree_names_every_exception() -> None:
    named = set(re.findall(r"\b[A-Z]\w+Error\b", tree_in(_errors.__doc__ or "")))
    assert named - {"ValueError", "TimeoutError"} == {cls.__name__ for cls in EXCEPTIONS}
