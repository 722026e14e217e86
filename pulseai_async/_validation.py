"""Client-side checks that turn input the API would reject into a clear error before
anything is sent. Each check names the parameter and what was wrong with it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ._errors import PulseValidationError

__all__ = [
    "check_choice",
    "check_count",
    "check_files",
    "check_int",
    "check_mapping",
    "check_size",
    "check_text",
    "check_uuid",
    "optional_text",
    "optional_uuid",
    "present",
]

FILE_TYPES = frozenset({"image", "document", "audio", "video", "custom"})
TRANSFER_METHODS = frozenset({"remote_url", "local_file"})


def check_text(name: str, value: object) -> str:
    """A required, non-blank string."""
    if not isinstance(value, str):
        raise PulseValidationError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise PulseValidationError(f"{name} must not be empty")
    return value


def check_uuid(name: str, value: object) -> str:
    """A required UUID string (conversation, message, task, file ids)."""
    text = check_text(name, value)
    try:
        uuid.UUID(text)
    except ValueError:
        raise PulseValidationError(f"{name} must be a UUID, got {text!r}") from None
    return text


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
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PulseValidationError(f"{name} must be a mapping, got {type(value).__name__}")
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
