"""The exception tree, and the one place that maps a status and code to a class.

```
PulseError
├── PulseValidationError (also ValueError)  bad input, raised before anything is sent
├── ClientClosedError                        the client was closed before or during the call
├── StreamClosedError                        a stream used after it was closed
├── EventLoopMismatchError                   a client used from another event loop
├── APIConnectionError                       the server could not be reached or went away;
│   │                                        `stage` says how far the request got
│   ├── APITimeoutError                      `phase`: pool, connect, read or total
│   └── StreamInterruptedError               a stream ended before its terminal event
│       └── StreamTimeoutError               ... because a stream's timeout ran out (also
│                                            APITimeoutError; `phase`: read, stream or
│                                            between_events)
├── ResponseDecodeError                      a 2xx body that is not what the API documents
│   └── UnexpectedContentTypeError           a stream answered with another media type
├── ResponseTooLargeError                    a body above `max_response_size`
│   ├── EventTooLargeError                   one SSE event above `max_event_size`
│   └── StreamTextTooLargeError              a stream's text above `max_text_length`
├── PaginationStalledError                   a listing whose cursor does not advance
├── IndexingFailedError                      a document's indexing ended in `error`
├── IndexingTimeoutError (also TimeoutError) indexing did not finish in time
└── APIStatusError                           the server answered with an error
    ├── RedirectError (3xx)                  `location` says where to (never followed)
    ├── BadRequestError (400)                InvalidParamError, AppUnavailableError,
    │                                        NotChatAppError, ProviderNotInitializeError,
    │                                        ProviderQuotaExceededError,
    │                                        ModelCurrentlyNotSupportError,
    │                                        CompletionRequestError, NoFileUploadedError,
    │                                        TooManyFilesError, FilenameNotExistsError,
    │                                        FeedbackRatingRequiredError,
    │                                        ProviderNotSupportSpeechToTextError,
    │                                        HighQualityDatasetOnlyError,
    │                                        DatasetNotInitializedError, InvalidActionError,
    │                                        DocumentAlreadyFinishedError,
    │                                        DocumentIndexingError, InvalidMetadataError
    ├── AuthenticationError (401)
    ├── PermissionDeniedError (403)          ArchivedDocumentImmutableError
    ├── NotFoundError (404)                  ConversationNotFoundError
    ├── ConflictError (409)                  DatasetNameDuplicateError, DatasetInUseError
    ├── PayloadTooLargeError (413)           FileTooLargeError
    ├── UnsupportedMediaTypeError (415)      UnsupportedFileTypeError
    ├── UnprocessableEntityError (422)
    ├── RateLimitError (429)
    ├── SuggestedQuestionsDisabledError      400 or 403, by server version
    └── ServerError (5xx)                    InternalServerError (500), BadGatewayError (502),
                                             ServiceUnavailableError (503),
                                             GatewayTimeoutError (504)
```

An in-stream `error` event goes through `make_status_error` as well, so it raises
the same class the HTTP status and code would have. Every exception pickles (Celery,
multiprocessing): `PulseError.__reduce__` rebuilds it from its `args` and attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from math import isfinite
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import msgspec
from multidict import CIMultiDict

from ._secrets import scrub

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AppUnavailableError",
    "ArchivedDocumentImmutableError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ClientClosedError",
    "CompletionRequestError",
    "ConflictError",
    "ConversationNotFoundError",
    "DatasetInUseError",
    "DatasetNameDuplicateError",
    "DatasetNotInitializedError",
    "DocumentAlreadyFinishedError",
    "DocumentIndexingError",
    "EventLoopMismatchError",
    "EventTooLargeError",
    "FeedbackRatingRequiredError",
    "FileTooLargeError",
    "FilenameNotExistsError",
    "GatewayTimeoutError",
    "HighQualityDatasetOnlyError",
    "IndexingFailedError",
    "IndexingTimeoutError",
    "InternalServerError",
    "InvalidActionError",
    "InvalidMetadataError",
    "InvalidParamError",
    "ModelCurrentlyNotSupportError",
    "NoFileUploadedError",
    "NotChatAppError",
    "NotFoundError",
    "PaginationStalledError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProviderNotInitializeError",
    "ProviderNotSupportSpeechToTextError",
    "ProviderQuotaExceededError",
    "PulseError",
    "PulseValidationError",
    "RateLimitError",
    "RedirectError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "ServiceUnavailableError",
    "StreamClosedError",
    "StreamInterruptedError",
    "StreamTextTooLargeError",
    "StreamTimeoutError",
    "SuggestedQuestionsDisabledError",
    "TooManyFilesError",
    "UnexpectedContentTypeError",
    "UnprocessableEntityError",
    "UnsupportedFileTypeError",
    "UnsupportedMediaTypeError",
]


class PulseError(Exception):
    """Base of every exception this SDK raises.

    Its arguments and every attribute set on it pass through the key scrubber, so an
    API key a server echoed back is masked in `str`, `repr`, `args`, attributes and
    pickles, whichever subclass or raise site built the exception.
    """

    partial_text: str | None = None
    """Raised while reading a stream: the answer text that had arrived (else None)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*scrub(args))

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, scrub(value))

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickling must not call `__init__`: its signature differs from class to class
        # (keyword-only fields, a message built from `limit`). Rebuild from `args` and
        # restore the attributes as they were.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[PulseError], args: tuple[Any, ...]) -> PulseError:
    exc = cls.__new__(cls, *args)
    exc.args = args  # (an OSError subclass such as TimeoutError leaves them to __init__)
    return exc


class PulseValidationError(PulseError, ValueError):
    """Input the API would reject, caught before any request is sent."""


class ClientClosedError(PulseError):
    """The client was closed (`aclose()`, or the end of its `async with`) before or while
    this call or stream ran. Never retried; `partial_text` holds what a stream had."""

    def __init__(self, what: str, *, partial_text: str | None = None) -> None:
        super().__init__(
            f"{what}: this AsyncPulse client is closed; create a new client, or close "
            "this one only after its calls and streams have finished"
        )
        self.partial_text = partial_text


class StreamClosedError(PulseError, RuntimeError):
    """A stream was used after it was closed (`aclose()`, `cancel()`, the end of its
    `async with`): a stream is read once; start a new one."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"this {what} is closed: a stream is read once, inside its `async with` "
            "(or until `aclose()`); start a new one to send the request again"
        )


class EventLoopMismatchError(PulseError, RuntimeError):
    """A client was used from another event loop than the one its connection pool was
    made in (a second `asyncio.run()`, a thread with its own loop)."""

    def __init__(self) -> None:
        super().__init__(
            "this AsyncPulse client's connection pool belongs to another event loop "
            "(one asyncio.run() ended, another started, or another thread's loop): "
            "create the client inside the event loop that uses it, for example in the "
            "coroutine you pass to asyncio.run(), and close it there"
        )


class APIConnectionError(PulseError):
    """The request did not get an answer: connection refused, reset, or DNS failure.

    `stage` says how far it got, which decides whether it may be retried:
    `"connect"` (nothing was sent), `"stale"` (a reused keep-alive connection the server
    had closed, before any response), `"sent"` (the request went out, no response came)
    or `"answered"` (the server's response was malformed or cut short).
    """

    def __init__(self, message: str, *, stage: str = "sent") -> None:
        super().__init__(message)
        self.stage = stage


class APITimeoutError(APIConnectionError):
    """A timeout ran out; `phase` says which: `pool`, `connect`, `read` or `total` (and,
    for a stream's body, `stream` or `between_events`)."""

    def __init__(self, message: str, *, phase: str = "total", stage: str = "sent") -> None:
        super().__init__(message, stage=stage)
        self.phase = phase


class StreamInterruptedError(APIConnectionError):
    """A stream stopped before its terminal event; `partial_text` holds what arrived."""

    def __init__(self, message: str, *, partial_text: str = "", events_received: int = 0) -> None:
        super().__init__(message, stage="answered")
        self.partial_text = partial_text
        self.events_received = events_received


class StreamTimeoutError(StreamInterruptedError, APITimeoutError):
    """A stream's body ran out of time: no data within `read` (`phase` "read"), no
    content event within `between_events`, or longer than `stream`. Both a timeout and
    an interruption (`partial_text` holds what arrived)."""

    def __init__(
        self,
        message: str,
        *,
        partial_text: str = "",
        events_received: int = 0,
        phase: str = "read",
    ) -> None:
        super().__init__(message, partial_text=partial_text, events_received=events_received)
        self.phase = phase


class ResponseDecodeError(PulseError):
    """A success response whose body does not decode to the documented shape."""

    def __init__(self, message: str, *, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class UnexpectedContentTypeError(ResponseDecodeError):
    """A stream answered 2xx with another media type than it asked for (a captive portal
    or a proxy's error page): `content_type` says what came, `body` holds its start."""

    def __init__(self, message: str, *, status: int, content_type: str, body: bytes = b"") -> None:
        super().__init__(message, status=status, body=body)
        self.content_type = content_type


class ResponseTooLargeError(PulseError):
    """The server sent more than a bound allows: `limit` is that bound (bytes after
    decompression; characters for a stream's text). The connection is closed, nothing
    more is read."""

    def __init__(self, message: str, *, limit: int, status: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.status = status


class EventTooLargeError(ResponseTooLargeError):
    """One server-sent event grew past `max_event_size` bytes; the stream is closed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a server-sent event exceeded the limit of {limit} bytes", limit=limit)


class StreamTextTooLargeError(ResponseTooLargeError):
    """A chat stream's accumulated text (`ChatStream.text`) grew past `max_text_length`
    characters; the stream is closed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the streamed answer exceeded {limit} characters", limit=limit)


class PaginationStalledError(PulseError):
    """A listing's server sent a cursor already used (or the same page again) while it
    said more pages follow: paging stops instead of fetching forever."""

    def __init__(self, message: str, *, cursor: Any, pages: int) -> None:
        super().__init__(message)
        self.cursor = cursor
        self.pages = pages


class APIStatusError(PulseError):
    """The server answered with an error status (or an in-stream `error` event).

    `status` (also `status_code`, the name openai-python uses) is this answer's status;
    `headers` are the response's headers (for an in-stream error, the stream's), and
    `method` and `path` say which request it answered (no query string, no key).
    """

    _default_status: ClassVar[int | None] = None
    """The status a class stands for (`make_status_error` picks classes by it)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after
        self.headers: CIMultiDict[str] = CIMultiDict(headers or {})
        self.method = method
        self.path = path

    @property
    def status_code(self) -> int:
        """The same as `status`."""
        return self.status

    def __str__(self) -> str:
        parts = [f"{self.status}"]
        if self.code:
            parts.append(self.code)
        text = f"[{' '.join(parts)}] {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class RedirectError(APIStatusError):
    """A 3xx answer. The SDK never follows redirects (the key must not travel to another
    host): `location` is the target without its query string; fix `base_url`."""

    def __init__(self, message: str, *, location: str | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.location = location


class BadRequestError(APIStatusError):
    _default_status = 400


class InvalidParamError(BadRequestError):
    """400 `invalid_param`: a parameter the server rejected."""


class AppUnavailableError(BadRequestError):
    """400 `app_unavailable`: the app's configuration is unusable."""


class NotChatAppError(BadRequestError):
    """400 `not_chat_app`: the key belongs to an app of another mode."""


class ProviderNotInitializeError(BadRequestError):
    """400 `provider_not_initialize`: no model credentials configured."""


class ProviderQuotaExceededError(BadRequestError):
    """400 `provider_quota_exceeded`: the model provider's quota is used up."""


class ModelCurrentlyNotSupportError(BadRequestError):
    """400 `model_currently_not_support`: the configured model is unavailable."""


class CompletionRequestError(BadRequestError):
    """400 `completion_request_error`: text generation failed at the provider."""


class AuthenticationError(APIStatusError):
    _default_status = 401


class PermissionDeniedError(APIStatusError):
    _default_status = 403


class NotFoundError(APIStatusError):
    _default_status = 404


class ConversationNotFoundError(NotFoundError):
    """404 "Conversation Not Exists.": deleted, never created, or another user's."""


class ConflictError(APIStatusError):
    _default_status = 409


class PayloadTooLargeError(APIStatusError):
    _default_status = 413


class UnsupportedMediaTypeError(APIStatusError):
    _default_status = 415


# --- file uploads (File Upload, Speech to Text, Knowledge documents) --------------------


class NoFileUploadedError(BadRequestError):
    """400 `no_file_uploaded` (or `no_audio_uploaded`): the request carried no file part."""


class TooManyFilesError(BadRequestError):
    """400 `too_many_files`: only one file per request."""


class FilenameNotExistsError(BadRequestError):
    """400 `filename_not_exists_error`: the file part has no file name."""


class FileTooLargeError(PayloadTooLargeError):
    """413 `file_too_large` (or `audio_too_large`): over the platform's size limit."""


class UnsupportedFileTypeError(UnsupportedMediaTypeError):
    """415 `unsupported_file_type` (or `unsupported_audio_type`)."""


class UnprocessableEntityError(APIStatusError):
    _default_status = 422


class RateLimitError(APIStatusError):
    _default_status = 429


class ServerError(APIStatusError):
    """Any 5xx answer."""


class InternalServerError(ServerError):
    _default_status = 500


class BadGatewayError(ServerError):
    _default_status = 502


class ServiceUnavailableError(ServerError):
    _default_status = 503


class GatewayTimeoutError(ServerError):
    _default_status = 504


# --- App API codes ----------------------------------------------------------------------


class FeedbackRatingRequiredError(BadRequestError):
    """400 `message_feedback_rating_required`: revoking feedback (`rating=None`) on a
    message that has none (newest servers)."""


class ProviderNotSupportSpeechToTextError(BadRequestError):
    """400 `provider_not_support_speech_to_text`: the app's model cannot transcribe."""


class SuggestedQuestionsDisabledError(APIStatusError):
    """The app has "suggested questions after answer" turned off. Older servers (and
    PulseAI) answer 400 `bad_request` "Suggested Questions Is Disabled.", the newest 403
    `app_suggested_questions_after_answer_disabled`: `pulse.messages.suggested` raises
    this class for both (check `status` for which)."""

    @classmethod
    def matches(cls, exc: APIStatusError) -> bool:
        if exc.status == 403 and exc.code == "app_suggested_questions_after_answer_disabled":
            return True
        return exc.status == 400 and "suggested questions is disabled" in exc.message.lower()

    @classmethod
    def from_error(cls, exc: APIStatusError) -> SuggestedQuestionsDisabledError:
        return cls(
            exc.message,
            status=exc.status,
            code=exc.code,
            request_id=exc.request_id,
            body=exc.body,
            retry_after=exc.retry_after,
            headers=exc.headers,
            method=exc.method,
            path=exc.path,
        )


# --- Knowledge API codes ------------------------------------------------------------------


class HighQualityDatasetOnlyError(BadRequestError):
    """400 `high_quality_dataset_only`: the operation needs a `high_quality` knowledge base
    (for example semantic or hybrid retrieval on an `economy` one)."""


class DatasetNotInitializedError(BadRequestError):
    """400 `dataset_not_initialized`: the knowledge base has no indexing set up yet."""


class InvalidActionError(BadRequestError):
    """400 `invalid_action`: an unknown document status action."""


class DocumentAlreadyFinishedError(BadRequestError):
    """400 `document_already_finished`: the document is already processed."""


class DocumentIndexingError(BadRequestError):
    """400 `document_indexing`: the document is being indexed; wait, then try again."""


class InvalidMetadataError(BadRequestError):
    """400 `invalid_metadata`: document metadata the server rejected."""


class ArchivedDocumentImmutableError(PermissionDeniedError):
    """403 `archived_document_immutable`: an archived document cannot be changed."""


class DatasetNameDuplicateError(ConflictError):
    """409 `dataset_name_duplicate`: another knowledge base already has this name."""


class DatasetInUseError(ConflictError):
    """409 `dataset_in_use`: apps still use the knowledge base; detach it first."""


class IndexingFailedError(PulseError):
    """A document's indexing ended in the `error` status (raised by `wait_until_indexed`)."""

    def __init__(self, message: str, *, document_id: str, error: str | None) -> None:
        super().__init__(message)
        self.document_id = document_id
        self.error = error


class IndexingTimeoutError(PulseError, TimeoutError):
    """Indexing did not finish in time; `last` holds the last progress seen (or None)."""

    def __init__(self, message: str, *, last: Any = None) -> None:
        super().__init__(message)
        self.last = last


_BY_STATUS: dict[int, type[APIStatusError]] = {
    cls._default_status: cls
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
        BadGatewayError,
        ServiceUnavailableError,
        GatewayTimeoutError,
    )
    if cls._default_status is not None
}

# A code only selects its class when it arrives with that class's status.
_BY_CODE: dict[str, type[APIStatusError]] = {
    "invalid_param": InvalidParamError,
    "app_unavailable": AppUnavailableError,
    "not_chat_app": NotChatAppError,
    "provider_not_initialize": ProviderNotInitializeError,
    "provider_quota_exceeded": ProviderQuotaExceededError,
    "model_currently_not_support": ModelCurrentlyNotSupportError,
    "completion_request_error": CompletionRequestError,
    "no_file_uploaded": NoFileUploadedError,
    "no_audio_uploaded": NoFileUploadedError,
    "too_many_files": TooManyFilesError,
    "filename_not_exists_error": FilenameNotExistsError,
    "file_too_large": FileTooLargeError,
    "audio_too_large": FileTooLargeError,
    "unsupported_file_type": UnsupportedFileTypeError,
    "unsupported_audio_type": UnsupportedFileTypeError,
    "message_feedback_rating_required": FeedbackRatingRequiredError,
    "provider_not_support_speech_to_text": ProviderNotSupportSpeechToTextError,
    "high_quality_dataset_only": HighQualityDatasetOnlyError,
    "dataset_not_initialized": DatasetNotInitializedError,
    "invalid_action": InvalidActionError,
    "document_already_finished": DocumentAlreadyFinishedError,
    "document_indexing": DocumentIndexingError,
    "invalid_metadata": InvalidMetadataError,
    "archived_document_immutable": ArchivedDocumentImmutableError,
    "dataset_name_duplicate": DatasetNameDuplicateError,
    "dataset_in_use": DatasetInUseError,
}


def register_error_code(code: str, cls: type[APIStatusError]) -> None:
    """Map a server error code to a class (used by resource modules with their own codes)."""
    _BY_CODE[code] = cls


def error_class_for(status: int, code: str | None, message: str) -> type[APIStatusError]:
    by_code = _BY_CODE.get(code or "")
    if by_code is not None and by_code._default_status == status:
        return by_code
    if status == 404 and "conversation" in message.lower():
        return ConversationNotFoundError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 300 <= status < 400:
        return RedirectError
    return ServerError if status >= 500 else APIStatusError


def _parse_body(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):  # RecursionError: deep nesting
        return raw.decode("utf-8", "replace")


def _code_and_message(body: Any, status: int, reason: str) -> tuple[str | None, str]:
    """Read the documented `{code, message, status}` envelope and its known deviations."""
    if isinstance(body, Mapping):
        code = body.get("code")
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, Mapping):  # old reqparse: {"message": {"param": "error"}}
            message = "; ".join(f"{k}: {v}" for k, v in message.items())
        if message is None and isinstance(body.get("params"), str):
            message = f"invalid parameter {body['params']}"
        return (str(code) if code is not None else None), str(message or reason)
    text = str(body or "").strip()
    if text.lstrip().startswith("<"):  # an HTML page from a proxy or load balancer
        return None, f"{status} {reason}".strip()
    return None, (text[:500] or f"{status} {reason}".strip())


_NO_SUCH_ENDPOINT = (
    "the server has no such endpoint (it answered a generic 404 page, not an API error): "
    "check base_url, which usually ends in '/v1' (for a self-hosted Dify: "
    "'http://your-host/v1')"
)


def _no_such_route(body: Any, message: str) -> bool:
    """A 404 from the web server's router (an HTML page, or Werkzeug's wording), not the
    API's "... Not Exists." for a resource."""
    return not isinstance(body, Mapping) or message.startswith("The requested URL was not found")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError, IndexError):  # a date out of range
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not isfinite(seconds):  # "nan", "inf", "1e999"
        return None
    return max(0.0, seconds)


def redirect_target(url: str, location: str | None) -> str | None:
    """Where a 3xx points, resolved against the request's URL, without its query string
    or credentials (either may carry secrets)."""
    if not location:
        return None
    try:
        parts = urlsplit(urljoin(url, location))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # an unparsable Location (a bad port, a broken IPv6 literal)
        return location.split("?", 1)[0].split("#", 1)[0][:200]
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else parts.path


def make_status_error(
    status: int,
    raw_body: bytes,
    *,
    reason: str = "",
    request_id: str | None = None,
    retry_after: str | None = None,
    location: str | None = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    path: str | None = None,
) -> APIStatusError:
    """Build the typed error for an HTTP error response (or a 3xx, whose `location` is
    the target from `redirect_target`), for the request `method path`."""
    body = _parse_body(raw_body)
    code, message = _code_and_message(body, status, reason)
    if status == 404 and _no_such_route(body, message):
        message = f"{message}: {_NO_SUCH_ENDPOINT}"
    cls = error_class_for(status, code, message)
    fields: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": request_id,
        "body": body,
        "retry_after": parse_retry_after(retry_after),
        "headers": headers,
        "method": method,
        "path": path,
    }
    if cls is RedirectError:
        where = location or "no Location header"
        message = f"redirected to {where}; the SDK does not follow redirects (check base_url)"
        return RedirectError(message, location=location, **fields)
    return cls(message, **fields)


def make_stream_error(
    payload: Mapping[str, Any],
    request_id: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    path: str | None = None,
) -> APIStatusError:
    """Build the typed error for an in-stream `error` event (HTTP 200, status in the
    body); `headers` are the stream's response headers."""
    raw_status = payload.get("status")
    status = raw_status if isinstance(raw_status, int) else 500
    code, message = _code_and_message(payload, status, "")
    cls = error_class_for(status, code, message)
    return cls(
        message,
        status=status,
        code=code,
        request_id=request_id,
        body=dict(payload),
        headers=headers,
        method=method,
        path=path,
    )
