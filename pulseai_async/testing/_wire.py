"""How the emulator puts bytes on the wire, in the platform's old and new styles.

Dify 1.9.1 (the calibration server, see docs/emulator.md) writes three encodings: its
JSON answers through flask-restx (compact, ASCII-escaped, `/` escaped, a newline at the
end), the blocking chat answer with plain `json.dumps` (`", "` separators, ASCII), and
stream events with orjson (compact UTF-8). That mix is the "dify" style; "compact"
(UTF-8 everywhere) and "ascii" (`json.dumps` everywhere) are the older variants.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec
from aiohttp import web

__all__ = ["Encoding", "JsonStyle", "dumps", "error_response", "json_response", "sse_data"]

JsonStyle = Literal["dify", "compact", "ascii"]

# Messages the platform sends for its documented error codes.
ERROR_MESSAGES: dict[str, str] = {
    "invalid_param": "Invalid parameter.",
    "app_unavailable": "App unavailable, please check your app configurations.",
    "not_chat_app": "Please check if your app mode matches the right API route.",
    "conversation_completed": "The conversation has ended. Please start a new conversation.",
    "provider_not_initialize": (
        "No valid model provider credentials found. Please go to Settings -> Model Provider "
        "to complete your provider credentials."
    ),
    "provider_quota_exceeded": (
        "Your quota for Dify Hosted OpenAI has been exhausted. Please go to Settings -> "
        "Model Provider to complete your own provider credentials."
    ),
    "model_currently_not_support": (
        "Dify Hosted OpenAI trial currently not support the GPT-4 model."
    ),
    "completion_request_error": "Completion request failed.",
    "not_found": "Not Found.",
    "unauthorized": "Access token is invalid",
    "forbidden": "Forbidden.",
    "method_not_allowed": "The method is not allowed for the requested URL.",
    "unsupported_media_type": "Unsupported Media Type",
    "too_many_requests": "Too many requests. Please try again later.",
    "internal_server_error": "Internal Server Error, please contact support.",
    "bad_gateway": "Bad Gateway",
    "service_unavailable": "Service Unavailable",
    "gateway_timeout": "Gateway Timeout",
    # Knowledge API
    "high_quality_dataset_only": "Current operation only supports 'high-quality' datasets.",
    "dataset_not_initialized": (
        "The dataset is still being initialized or indexing. Please wait a moment."
    ),
    "archived_document_immutable": "The archived document is not editable.",
    "dataset_name_duplicate": "The dataset name already exists. Please modify your dataset name.",
    "dataset_in_use": (
        "The dataset is being used by some apps. Please remove the dataset from the apps "
        "before deleting it."
    ),
    "invalid_action": "Invalid action.",
    "document_indexing": "The document is being processed and cannot be edited.",
}

DEFAULT_CODES: dict[int, str] = {
    400: "invalid_param",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "file_too_large",
    415: "unsupported_file_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


Encoding = Literal["body", "blocking", "stream"]
"""What is being written: a JSON answer, the blocking chat answer, or a stream event."""


def dumps(obj: Any, style: JsonStyle, encoding: Encoding = "body") -> bytes:
    """`obj` as the `style` of server writes it for this `encoding` (module docstring)."""
    if style == "compact" or (style == "dify" and encoding == "stream"):
        return msgspec.json.encode(obj)
    if style == "ascii" or encoding == "blocking":
        return json.dumps(obj).encode()
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/").encode() + b"\n"


def json_response(
    obj: Any, style: JsonStyle, status: int = 200, encoding: Encoding = "body"
) -> web.Response:
    body = dumps(obj, style, encoding)
    return web.Response(body=body, status=status, content_type="application/json")


def error_response(
    status: int,
    code: str | None = None,
    message: str | None = None,
    *,
    style: JsonStyle,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The documented envelope `{"code", "message", "status"}`."""
    code = code or DEFAULT_CODES.get(status, "unknown")
    body = {"code": code, "message": message or ERROR_MESSAGES.get(code, code), "status": status}
    response = json_response(body, style, status)
    if headers:
        response.headers.update(headers)
    return response


def sse_data(obj: Any, style: JsonStyle) -> bytes:
    return b"data: " + dumps(obj, style, "stream") + b"\n\n"


PING = b"event: ping\n\n"
