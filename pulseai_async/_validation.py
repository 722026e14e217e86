"""Client-side checks that turn input the API would reject into a clear error before
anything is sent. Each check names the parameter and what was wrong with it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import msgspec

from ._errors import PulseValidationError

__all__ = [
    "check_bool",
    "check_choice",
    "check_count",
    "check_files",
    "check_header_text",
    "check_headers",
    "check_int",
    "check_mapping",
    "check_query_value",
    "check_size",
    "check_text",
    "check_token",
    "check_unicode",
    "check_uuid",
    "json_body",
    "optional_bool",
    "optional_str",
    "optional_text",
    "optional_uuid",
    "present",
]

FILE_TYPES = frozenset({"image", "document", "audio", "video", "custom"})
TRANSFER_METHODS = frozenset({"remote_url", "local_file"})


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
_HEADER_FORBIDDEN = ("\r", "\n", "\0")


def check_unicode(name: str, value: str) -> str:
    """Text that can be sent: a lone surrogate (`"\\ud800"`, from a bad decode) cannot
    be encoded as UTF-8, and a query string would silently drop it."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PulseValidationError(
                f"{name} must be valid Unicode text, but holds the lone surrogate "
                f"{value[exc.start]!r} at index {exc.start}"
            ) from None
    return value


def check_text(name: str, value: object) -> str:
    """A required, non-blank string."""
    if not isinstance(value, str):
        raise PulseValidationError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise PulseValidationError(f"{name} must not be empty")
    return check_unicode(name, value)


def check_uuid(name: str, value: object) -> str:
    """A required UUID (conversation, message, task, file ids), as a `uuid.UUID` or a
    string in the 36-character form the API uses. Other spellings Python's `uuid.UUID`
    accepts (braces, `urn:uuid:`, no hyphens, spaces around) are refused rather than sent
    as written, where the server would not find them."""
    if isinstance(value, uuid.UUID):
        return str(value)
    text = check_text(name, value)
    if _UUID.fullmatch(text) is None:
        raise PulseValidationError(f"{name} must be a UUID in its 36-character form, got {text!r}")
    return text


def check_bool(name: str, value: object) -> bool:
    """True or False, not a truthy stand-in (`"false"` would be sent as true)."""
    if not isinstance(value, bool):
        raise PulseValidationError(f"{name} must be True or False, got {value!r}")
    return value


def optional_bool(name: str, value: object) -> bool | None:
    return None if value is None else check_bool(name, value)


def json_body(fields: Mapping[str, Any]) -> bytes:
    """The JSON body; a field that cannot be encoded (an object, a lone surrogate) is
    named in the error."""
    try:
        return msgspec.json.encode(fields)
    except (TypeError, ValueError) as exc:
        culprit = next((key for key, value in fields.items() if not _encodes(value)), None)
        where = "the request body" if culprit is None else f"the request body's {culprit!r}"
        raise PulseValidationError(f"{where} is not JSON: {exc}") from None


def _encodes(value: object) -> bool:
    try:
        msgspec.json.encode(value)
    except (TypeError, ValueError):
        return False
    return True


def check_query_value(name: object, value: object) -> str:
    """One query parameter as sent: a string, a number, or a bool (`true`/`false`)."""
    if not isinstance(name, str):
        raise PulseValidationError(f"query parameter names must be strings, got {name!r}")
    check_unicode("a query parameter name", name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return check_unicode(name, value)
    if isinstance(value, int | float | uuid.UUID):
        return str(value)
    raise PulseValidationError(
        f"query parameter {name} must be a string, number or bool, got {type(value).__name__}"
    )


def check_headers(name: str, value: object) -> dict[str, str]:
    """Header names and str values that go on the wire as given: a CR or LF would split
    the header (header injection), so it is refused here rather than by aiohttp."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PulseValidationError(f"{name} must map header names to str values, got {value!r}")
    for header, text in value.items():
        if _HEADER_NAME.fullmatch(header) is None:
            raise PulseValidationError(f"{name}: {header!r} is not a valid header name")
        check_header_text(f"{name}[{header!r}]", text)
    return dict(value)


def check_header_text(name: str, value: str) -> str:
    """Text that goes into a header (a header value, an upload's file name)."""
    if any(char in value for char in _HEADER_FORBIDDEN):
        raise PulseValidationError(f"{name} must not contain CR, LF or NUL, got {value!r}")
    return check_unicode(name, value)


def check_token(name: str, value: object) -> str:
    """An HTTP token: a method name, a header name."""
    if not isinstance(value, str) or _HEADER_NAME.fullmatch(value) is None:
        raise PulseValidationError(f"{name} must be an HTTP token such as 'GET', got {value!r}")
    return value


def optional_str(name: str, value: object) -> str | None:
    """An optional string that may be empty (a search keyword)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PulseValidationError(f"{name} must be a string, got {type(value).__name__}")
    return check_unicode(name, value)


def check_choice(name: str, value: object, choices: Collection[str]) -> str:
    """One of a fixed set of strings (an enum the API defines)."""
    if value not in choices:
        raise PulseValidationError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return str(value)


def check_count(name: str, value: object) -> int:
    """A non-negative int (a pool size, a retry count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PulseValidationError(f"{name} must be an int >= 0, got {value!r}")
    return value


def check_size(name: str, value: object) -> int:
    """A positive int (a size bound: `max_event_size`, `max_response_size`, ...)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise PulseValidationError(f"{name} must be a positive int, got {value!r}")
    return value


def check_int(name: str, value: object, low: int, high: int) -> int:
    """An int (not a bool) from `low` to `high`: page sizes, `top_k`, chunk sizes."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PulseValidationError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def optional_text(name: str, value: object) -> str | None:
    return None if value is None else check_text(name, value)


def present(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that were given: optional parameters left as None are not sent."""
    return {key: value for key, value in fields.items() if value is not None}


def optional_uuid(name: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    return check_uuid(name, value)


def check_mapping(name: str, value: object) -> dict[str, Any]:
    """A mapping with string keys (a JSON object); None gives an empty one."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PulseValidationError(f"{name} must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise PulseValidationError(f"{name} keys must be strings, got {key!r}")
    return dict(value)


def check_files(files: object) -> list[dict[str, Any]] | None:
    """`files` items: `type`, `transfer_method`, and `url` or `upload_file_id` to match."""
    if files is None:
        return None
    if isinstance(files, str | bytes) or not isinstance(files, Sequence):
        raise PulseValidationError(
            f"files must be a list of file objects, got {type(files).__name__}"
        )
    checked = []
    for index, item in enumerate(files):
        where = f"files[{index}]"
        if hasattr(item, "as_chat_file"):
            item = item.as_chat_file()
        if not isinstance(item, Mapping):
            raise PulseValidationError(f"{where} must be a mapping, got {type(item).__name__}")
        kind = item.get("type")
        if kind not in FILE_TYPES:
            raise PulseValidationError(
                f"{where}.type must be one of {sorted(FILE_TYPES)}, got {kind!r}"
            )
        method = item.get("transfer_method")
        if method not in TRANSFER_METHODS:
            raise PulseValidationError(
                f"{where}.transfer_method must be 'remote_url' or 'local_file', got {method!r}"
            )
        if method == "remote_url":
            url = item.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise PulseValidationError(f"{where}.url must be an http(s) URL for remote_url")
        else:
            check_text(f"{where}.upload_file_id", item.get("upload_file_id"))
        checked.append(dict(item))
    return checked
