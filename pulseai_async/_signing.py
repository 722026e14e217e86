"""Request signing: the `X-Timestamp` / `X-Signature` pair every PulseAI request carries.

PulseAI has not published its signing algorithm. Its documentation shows the signature
equal to the timestamp, which is what `TimestampSigner` (the default) sends. Users who
hold a signing secret use `HmacSigner`, or pass any object with a matching `sign` method.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol, runtime_checkable

__all__ = ["HmacSigner", "Signer", "TimestampSigner"]


@runtime_checkable
class Signer(Protocol):
    """Computes `X-Signature` for one request attempt (called again on every retry)."""

    def sign(self, *, method: str, path: str, timestamp: int, body: bytes) -> str: ...


class TimestampSigner:
    """The documented default: the signature is the Unix timestamp itself."""

    def sign(self, *, method: str, path: str, timestamp: int, body: bytes) -> str:
        return str(timestamp)

    def __repr__(self) -> str:
        return "TimestampSigner()"


class HmacSigner:
    """Hex HMAC-SHA256, keyed by your secret, over a canonical string.

    The string is `"{timestamp}\\n{METHOD}\\n{path}\\n{sha256(body) hex}"`, where `path`
    starts after the base URL's `/v1` (for example `/chat-messages`) and `body` is the
    JSON body as sent (empty for GET and for multipart uploads).
    """

    def __init__(self, secret: str | bytes) -> None:
        if not secret:
            raise ValueError("HmacSigner needs a non-empty secret")
        self._secret = secret.encode() if isinstance(secret, str) else bytes(secret)

    def sign(self, *, method: str, path: str, timestamp: int, body: bytes) -> str:
        digest = hashlib.sha256(body).hexdigest()
        message = f"{timestamp}\n{method.upper()}\n{path}\n{digest}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(secret=***)"
