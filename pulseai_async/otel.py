"""OpenTelemetry spans and metrics for every call, following the GenAI conventions.

`pip install 'pulseai-async[otel]'`, then
`AsyncPulse(hooks=[OpenTelemetryHook()])`. A hook like any other (see `Hook`), so it
sees no key and no bodies; message content is recorded only with `capture_content=True`.

- One span per call and per stream (kind CLIENT), covering all of its retries, as the
  GenAI conventions ask. Chat and completion calls are GenAI spans (`chat`,
  `text_completion`; knowledge retrieval is `retrieval`) with `gen_ai.operation.name`,
  `gen_ai.provider.name` (and the older `gen_ai.system`), `server.address`,
  `server.port`, `gen_ai.conversation.id`, `gen_ai.response.id`,
  `gen_ai.usage.input_tokens` / `output_tokens` and `error.type`. Other calls get a
  span named `{METHOD} {path template}` with the HTTP attributes.
- One child span per attempt (`POST`, ...), as the HTTP conventions ask of a resent
  request: `http.request.method`, `http.response.status_code`, `error.type`, and
  `http.request.resend_count` on retries.
- Metrics for GenAI calls: `gen_ai.client.operation.duration`,
  `gen_ai.client.token.usage` (`gen_ai.token.type` input / output), and for streams
  `gen_ai.client.operation.time_to_first_chunk` and `gen_ai.server.time_per_output_token`
  (measured at the client from the stream's own timing and its `usage`).
"""

from __future__ import annotations

import functools
import os
import re
import time
import weakref
from typing import Any
from urllib.parse import urlsplit

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "pulseai_async.otel needs the OpenTelemetry API: pip install 'pulseai-async[otel]'"
    ) from None

import msgspec

from ._hooks import CallInfo, Hook, RequestInfo, ResponseInfo
from ._version import __version__

__all__ = ["OpenTelemetryHook"]

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_OPERATIONS = (
    ("POST", re.compile(r"/chat-messages\Z"), "chat"),
    ("POST", re.compile(r"/completion-messages\Z"), "text_completion"),
    ("POST", re.compile(r"/datasets/[^/]+/retrieve\Z"), "retrieval"),
)
_ID = re.compile(r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# the conventions' advised bucket boundaries
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
_FIRST_CHUNK_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_PER_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)


def operation_of(method: str, path: str) -> str | None:
    """The GenAI operation a request performs (None: an API call of another kind)."""
    for op_method, pattern, name in _OPERATIONS:
        if method == op_method and pattern.search(path):
            return name
    return None


def path_template(path: str) -> str:
    """The path with its ids replaced by `{id}` (span names must not carry ids)."""
    return _ID.sub("/{id}", path)


@functools.lru_cache(maxsize=32)
def _server(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


class OpenTelemetryHook(Hook):
    """Spans and metrics for every call of the clients it is given to.

    `tracer_provider` / `meter_provider` default to the global ones. Message content
    (the query and the answer, as `gen_ai.input.messages` / `gen_ai.output.messages`)
    is off unless `capture_content=True` or
    `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        capture_content: bool | None = None,
        provider_name: str = "pulseai",
    ) -> None:
        if capture_content is None:
            capture_content = os.environ.get(CAPTURE_ENV, "").lower() in ("1", "true")
        self.capture_content = capture_content
        self._provider_name = provider_name
        self._tracer = trace.get_tracer("pulseai_async", __version__, tracer_provider)
        meter = metrics.get_meter("pulseai_async", __version__, meter_provider)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time from sending the request to the first event of the stream",
            explicit_bucket_boundaries_advisory=_FIRST_CHUNK_BUCKETS,
        )
        self._per_token = meter.create_histogram(
            "gen_ai.server.time_per_output_token",
            unit="s",
            description="Time per output token after the first, measured at the client",
            explicit_bucket_boundaries_advisory=_PER_TOKEN_BUCKETS,
        )
        self._calls: weakref.WeakKeyDictionary[CallInfo, _CallSpans] = weakref.WeakKeyDictionary()

    # --- hooks --------------------------------------------------------------------------

    def on_request(self, info: RequestInfo) -> None:
        call = info.call
        spans = self._calls.get(call)
        if spans is None:
            spans = self._calls[call] = self._start_call(call)
        host, port = _server(call.url)
        attributes: dict[str, Any] = {
            "http.request.method": call.method,
            "server.address": host,
            "server.port": port,
            "url.template": path_template(call.path),
        }
        if info.attempt > 1:
            attributes["http.request.resend_count"] = info.attempt - 1
        spans.attempt = self._tracer.start_span(
            call.method,
            context=trace.set_span_in_context(spans.call),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=spans.now(call),
        )

    def on_response(self, info: ResponseInfo) -> None:
        spans = self._calls.get(info.call)
        if spans is None or spans.attempt is None:
            return
        span, spans.attempt = spans.attempt, None
        if info.status is not None:
            span.set_attribute("http.response.status_code", info.status)
        if info.error_type is not None:
            span.set_attribute("error.type", info.error_type)
            span.set_status(Status(StatusCode.ERROR))
        span.end(spans.now(info.call))

    def on_call_end(self, call: CallInfo) -> None:
        spans = self._calls.pop(call, None)
        if spans is None:
            return
        span = spans.call
        if spans.attempt is not None:  # not expected: every attempt reports its end
            spans.attempt.end(spans.now(call))
        attributes: dict[str, Any] = {}
        if call.status is not None:
            attributes["http.response.status_code"] = call.status
        if spans.operation is not None:
            for name, value in (
                ("gen_ai.conversation.id", call.conversation_id),
                ("gen_ai.response.id", call.response_id),
                ("gen_ai.usage.input_tokens", call.input_tokens),
                ("gen_ai.usage.output_tokens", call.output_tokens),
            ):
                if value is not None:
                    attributes[name] = value
            if self.capture_content:
                attributes.update(_content(call))
        if call.error_type is not None:
            attributes["error.type"] = call.error_type
            span.set_status(Status(StatusCode.ERROR))
        span.set_attributes(attributes)
        span.end(spans.start + int((call.elapsed or 0.0) * 1e9))
        if spans.operation is not None:
            self._record(call, spans.metric_attributes)

    # --- helpers ------------------------------------------------------------------------

    def _start_call(self, call: CallInfo) -> _CallSpans:
        operation = operation_of(call.method, call.path)
        host, port = _server(call.url)
        attributes: dict[str, Any] = {"server.address": host, "server.port": port}
        if operation is not None:
            attributes.update(
                {
                    "gen_ai.operation.name": operation,
                    "gen_ai.provider.name": self._provider_name,
                    "gen_ai.system": self._provider_name,
                }
            )
            name = operation
        else:
            attributes["http.request.method"] = call.method
            attributes["url.template"] = path_template(call.path)
            name = f"{call.method} {path_template(call.path)}"
        # the call's clock is perf_counter, read against the wall clock once: the span covers
        # exactly `call.elapsed`, the duration the metrics record, and its attempts' spans,
        # on the same clock, stay inside it even when the wall clock is stepped meanwhile
        start = time.time_ns() - int((time.perf_counter() - call.started) * 1e9)
        span = self._tracer.start_span(
            name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start
        )
        return _CallSpans(span, operation, attributes, start)

    def _record(self, call: CallInfo, base: dict[str, Any]) -> None:
        attributes = {
            key: base[key]
            for key in (
                "gen_ai.operation.name",
                "gen_ai.provider.name",
                "server.address",
                "server.port",
            )
        }
        if call.error_type is not None:
            attributes["error.type"] = call.error_type
        if call.elapsed is not None:
            self._duration.record(call.elapsed, attributes)
        for kind, count in (("input", call.input_tokens), ("output", call.output_tokens)):
            if count is not None:
                self._tokens.record(count, {**attributes, "gen_ai.token.type": kind})
        first = call.time_to_first_event
        if call.stream and first is not None:
            self._first_chunk.record(first, attributes)
            tokens = call.output_tokens
            if call.error_type is None and call.elapsed is not None and tokens and tokens > 1:
                self._per_token.record((call.elapsed - first) / (tokens - 1), attributes)


class _CallSpans:
    __slots__ = ("attempt", "call", "metric_attributes", "operation", "start")

    def __init__(
        self, call: trace.Span, operation: str | None, attributes: dict[str, Any], start: int
    ) -> None:
        self.call = call
        self.start = start
        self.operation = operation
        self.metric_attributes = attributes
        self.attempt: trace.Span | None = None

    def now(self, call: CallInfo) -> int:
        """The wall-clock time (ns) of this moment, on the call's clock."""
        return self.start + int((time.perf_counter() - call.started) * 1e9)


def _content(call: CallInfo) -> dict[str, str]:
    """The query and the answer in the conventions' message shape (JSON strings)."""
    content: dict[str, str] = {}
    if call.input_text is not None:
        content["gen_ai.input.messages"] = _messages("user", call.input_text)
    if call.output_text is not None:
        content["gen_ai.output.messages"] = _messages("assistant", call.output_text)
    return content


def _messages(role: str, text: str) -> str:
    message: dict[str, Any] = {"role": role, "parts": [{"type": "text", "content": text}]}
    if role == "assistant":
        message["finish_reason"] = "stop"
    return msgspec.json.encode([message]).decode()
