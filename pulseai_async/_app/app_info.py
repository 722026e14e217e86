"""`pulse.app`: what the app is and how it is configured (information, parameters,
meta), for building a UI around it: its form fields, features and upload limits."""

from __future__ import annotations

from typing import Unpack

from .._options import RequestOptions
from .._resource import Resource
from .._validation import optional_text
from .models import AppInfo, AppMeta, AppParameters

__all__ = ["App"]


class App(Resource):
    """Get Application Information, Parameters and Meta Information."""

    async def info(self, **options: Unpack[RequestOptions]) -> AppInfo:
        """The app's name, description and tags (and, on newer servers, mode and author)."""
        return await self._client._call("GET", "/info", AppInfo, options=options)

    async def parameters(
        self, *, user: str | None = None, **options: Unpack[RequestOptions]
    ) -> AppParameters:
        """The opening statement, input form (`.form`), enabled features and upload
        limits; raises `AppUnavailableError` if the app's configuration is unusable.
        `user` is sent as a query parameter when given: the public OpenAPI description
        requires it (Dify 1.9.1 ignores it)."""
        params = {"user": optional_text("user", user)}
        return await self._client._call(
            "GET", "/parameters", AppParameters, params=params, options=options
        )

    async def meta(self, **options: Unpack[RequestOptions]) -> AppMeta:
        """The icons of the tools the app uses."""
        return await self._client._call("GET", "/meta", AppMeta, options=options)
