"""How the client reaches the server: which certificates it trusts and which proxy it uses.

aiohttp does the work (its `ssl=` connector setting, its `proxy=` and `trust_env`
session settings); this module turns the client's arguments into those settings and
refuses bad ones before anything is sent.
"""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from ._config import is_loopback
from ._errors import PulseValidationError
from ._secrets import register

__all__ = ["SSLSetting", "check_proxy", "ssl_setting", "uses_env_proxies"]

SSLSetting = bool | str | os.PathLike[str] | ssl.SSLContext
"""`verify_ssl`: True (the system's CAs), False (no verification), the path of a PEM CA
bundle to trust instead, or an `ssl.SSLContext` of your own."""


def ssl_setting(verify: object) -> bool | ssl.SSLContext:
    """aiohttp's `ssl=` value for `verify_ssl`; a CA bundle is loaded now, so a missing
    or unreadable file fails at construction, not at the first request."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if isinstance(verify, str | os.PathLike):
        path = os.fspath(verify)
        try:
            if os.path.isdir(path):
                return ssl.create_default_context(capath=path)
            return ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise PulseValidationError(
                f"verify_ssl: cannot load the CA bundle {path!r}: {exc}"
            ) from None
    raise PulseValidationError(
        "verify_ssl must be True, False, the path of a CA bundle or an ssl.SSLContext, "
        f"got {verify!r}"
    )


def check_proxy(proxy: object) -> str | None:
    """An explicit proxy URL (`http://[user:password@]host:port`). Its password is
    masked like an API key wherever the SDK could show it."""
    if proxy is None:
        return None
    if not isinstance(proxy, str):
        raise PulseValidationError(f"proxy must be a URL string, got {type(proxy).__name__}")
    parts = urlsplit(proxy)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PulseValidationError(  # not the URL itself: it may hold a password
            f"proxy must be an http:// or https:// URL with a host (got scheme {parts.scheme!r})"
        )
    if parts.password:
        register(parts.password)
    return proxy


def uses_env_proxies(trust_env: object, base_url: str) -> bool:
    """Whether `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` apply (aiohttp's `trust_env`).

    Never for a loopback base URL: a proxy elsewhere cannot reach this machine's
    `127.0.0.1`, so a local emulator or test server keeps working for users whose
    environment sets a corporate proxy (and whose `NO_PROXY` lacks `127.0.0.1`).
    """
    if not isinstance(trust_env, bool):
        raise PulseValidationError(f"trust_env must be True or False, got {trust_env!r}")
    return trust_env and not is_loopback(urlsplit(base_url).hostname or "")
