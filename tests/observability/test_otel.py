"""`pulseai_async.otel`: spans and metrics per the OpenTelemetry GenAI conventions,
checked with the OpenTelemetry SDK's in-memory span exporter and metric reader."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import pulseai_async as pa
from pulseai_async.otel import OpenTelemetryHook
from pulseai_async.testing import Emulator, Fault

from ..conftest import FAST_RETRIES

# Dify 1.9.1 sends no request id; PulseAI-style servers (and the emulator so set) do
pytestmark = [pytest.mark.anyio, pytest.mark.pulseai_emulator(request_ids=True)]


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def hook(self, **kwargs: Any) -> OpenTelemetryHook:
        return OpenTelemetryHook(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **kwargs
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def call_spans(self) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.parent is None]

    def attempts_of(self, call: ReadableSpan) -> list[ReadableSpan]:
        return [
            span
            for span in self.spans()
            if span.parent is not None and span.parent.span_id == call.context.span_id
        ]

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    collected = Telemetry()
    yield collected
    collected.tracer_provider.shutdown()
    collected.meter_provider.shutdown()


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_a_blocking_chat_call_is_one_genai_span_with_usage_and_metrics(
    emulator: Emulator, telemetry: Telemetry
) -> None:
    async with emulator.client(hooks=[telemetry.hook()]) as pulse:
        reply = await pulse.chat.send("What are the specs?", user="u-1")
    (span,) = telemetry.call_spans()
    attrs = attributes(span)
    usage = reply.metadata.usage
    assert span.name == "chat" and span.kind is SpanKind.CLIENT
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "pulseai"
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == emulator.port
    assert attrs["gen_ai.conversation.id"] == reply.conversation_id
    assert attrs["gen_ai.response.id"] == reply.message_id
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert "error.type" not in attrs and span.status.status_code is StatusCode.UNSET
    assert "gen_ai.input.messages" not in attrs and "gen_ai.output.messages" not in attrs
    (attempt,) = telemetry.attempts_of(span)
    assert attempt.name == "POST" and attributes(attempt)["http.response.status_code"] == 200
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and 0 < duration.sum < 10
    assert dict(duration.attributes)["gen_ai.operation.name"] == "chat"
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in telemetry.points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": usage.prompt_tokens, "output": usage.completion_tokens}
    assert telemetry.points("gen_ai.client.operation.time_to_first_chunk") == []  # streams only
    dumped = json.dumps([attributes(s) for s in telemetry.spans()])
    assert emulator.api_key not in dumped and reply.answer not in dumped


async def test_a_stream_read_to_its_end(emulator: Emulator, telemetry: Telemetry) -> None:
    async with (
        emulator.client(hooks=[telemetry.hook()]) as pulse,
        pulse.chat.stream("Tell me more", user="u-2") as stream,
    ):
        await stream.until_done()
    (span,) = telemetry.call_spans()
    attrs = attributes(span)
    assert attrs["gen_ai.conversation.id"] == stream.conversation_id
    assert attrs["gen_ai.response.id"] == stream.message_id
    assert attrs["gen_ai.usage.output_tokens"] == stream.usage.completion_tokens  # type: ignore[union-attr]
    assert "error.type" not in attrs
    (first,) = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1 and 0 < first.sum <= (span.end_time - span.start_time) / 1e9
    (per_token,) = telemetry.points("gen_ai.server.time_per_output_token")
    assert per_token.count == 1 and per_token.sum > 0


async def test_a_cancelled_stream_ends_its_span_as_cancelled(
    emulator: Emulator, telemetry: Telemetry
) -> None:
    async with (
        emulator.client(hooks=[telemetry.hook()]) as pulse,
        pulse.chat.stream("Tell me a long story", user="u-3") as stream,
    ):
        async for _ in stream:
            await stream.cancel()
    # two calls, each on its own reading of the wall clock: their order is not asserted
    stop, span = sorted(telemetry.call_spans(), key=lambda s: s.name)  # "POST" < "chat"
    assert stop.name == "POST /chat-messages/{id}/stop"  # Stop Generate, sent by cancel()
    assert span.name == "chat" and attributes(span)["error.type"] == "cancelled"
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes)["error.type"] == "cancelled"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.drop_after(2), "StreamInterruptedError"),
        (Fault.error_after(2, "internal_server_error"), "InternalServerError"),
    ],
    ids=["dropped", "error-event"],
)
async def test_a_stream_that_fails_midway(
    emulator: Emulator, telemetry: Telemetry, fault: Fault, error: str
) -> None:
    emulator.faults.add(fault)
    async with emulator.client(hooks=[telemetry.hook()], max_retries=0) as pulse:
        with pytest.raises(pa.PulseError) as caught:
            async with pulse.chat.stream("hi", user="u-4") as stream:
                await stream.until_done()
    assert type(caught.value).__name__ == error
    (span,) = telemetry.call_spans()
    assert attributes(span)["error.type"] == error
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["gen_ai.conversation.id"] == stream.conversation_id  # learned early


async def test_a_retried_call_is_one_span_with_a_child_per_attempt(
    emulator: Emulator, telemetry: Telemetry
) -> None:
    emulator.faults.add(Fault.http_error(503).on("/chat-messages").repeated(2))
    async with emulator.client(hooks=[telemetry.hook()], retry_policy=FAST_RETRIES) as pulse:
        await pulse.chat.send("hi", user="u-5")
    (span,) = telemetry.call_spans()
    assert "error.type" not in attributes(span)
    attempts = sorted(telemetry.attempts_of(span), key=lambda s: s.start_time or 0)
    assert [attributes(a)["http.response.status_code"] for a in attempts] == [503, 503, 200]
    assert [attributes(a).get("http.request.resend_count") for a in attempts] == [None, 1, 2]
    assert [attributes(a).get("error.type") for a in attempts] == [
        "ServiceUnavailableError",
        "ServiceUnavailableError",
        None,
    ]
    assert span.start_time <= attempts[0].start_time and attempts[-1].end_time <= span.end_time
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 1  # one operation, however many attempts


async def test_a_call_that_fails_after_its_retries_records_the_error(
    emulator: Emulator, telemetry: Telemetry
) -> None:
    emulator.faults.add(Fault.http_error(429, retry_after=0).on("/chat-messages").always())
    async with emulator.client(hooks=[telemetry.hook()], retry_policy=FAST_RETRIES) as pulse:
        with pytest.raises(pa.RateLimitError):
            await pulse.chat.send("hi", user="u-6")
    (span,) = telemetry.call_spans()
    assert attributes(span)["error.type"] == "RateLimitError"
    assert len(telemetry.attempts_of(span)) == 3


async def test_content_is_recorded_only_when_switched_on(
    emulator: Emulator, telemetry: Telemetry
) -> None:
    async with emulator.client(hooks=[telemetry.hook(capture_content=True)]) as pulse:
        reply = await pulse.chat.send("What is new?", user="u-7")
    attrs = attributes(telemetry.call_spans()[0])
    (sent,) = json.loads(attrs["gen_ai.input.messages"])
    (answer,) = json.loads(attrs["gen_ai.output.messages"])
    assert sent == {"role": "user", "parts": [{"type": "text", "content": "What is new?"}]}
    assert answer["role"] == "assistant" and answer["parts"][0]["content"] == reply.answer


async def test_other_calls_get_an_http_span_and_no_genai_metrics(
    emulator: Emulator, telemetry: Telemetry
) -> None:
    async with emulator.client(hooks=[telemetry.hook()]) as pulse:
        reply = await pulse.chat.send("hi", user="u-8")
        telemetry.exporter.clear()
        await pulse.conversations.rename(reply.conversation_id, "x", user="u-8")
    (span,) = telemetry.call_spans()
    assert span.name == "POST /conversations/{id}/name"
    assert "gen_ai.operation.name" not in attributes(span)
    assert len(telemetry.points("gen_ai.client.operation.duration")) == 1  # the chat only


def test_runtime_dependencies_are_unchanged_without_the_extra() -> None:
    code = (
        "import sys\n"
        "import pulseai_async\n"
        "pulseai_async.AsyncPulse('app-key')\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "sys.modules['opentelemetry'] = None  # as if the extra were not installed\n"
        "try:\n"
        "    import pulseai_async.otel\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'pulseai-async[otel]'" in result.stdout
