"""The base of every typed answer of the API (a msgspec Struct).

Unknown fields are ignored and every field the server may omit has a default, so old
and new server versions decode to the same types.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["Model"]


class Model(msgspec.Struct, kw_only=True, repr_omit_defaults=True, gc=False):
    """Base of every response type: keyword construction, compact repr."""

    def to_dict(self) -> dict[str, Any]:
        """The object as plain JSON-compatible builtins (prices become strings)."""
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result
