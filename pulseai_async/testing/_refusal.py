"""`Refusal`: how a handler refuses a request.

A handler refuses with `raise Refusal(status, code, message)`; the emulator's middleware
turns that into the documented error body in the emulator's `json_style`, so handlers
never thread the style (or an error response) through their return values.
"""

from __future__ import annotations

__all__ = ["Refusal"]


class Refusal(Exception):
    """A handler's early exit with the platform's error answer (see the module docstring)."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
