"""How the client reaches the server: which certificates it trusts and which proxy it uses.

aiohttp does the work (its `ssl=` connector setting, its `proxy=` session setting, its
reading of the proxy variables); this module turns the client's arguments into those
settings and refuses bad ones before anything is sent.

The environment's proxy is read once, when the client is made (as httpx does), never
per request: aiohttp's `trust_env` reads the variables and `~/.netrc` again for every
request, in two worker threads, which cost more CPU than the rest of a call (benchmark
`blocking_lan`: 1.23 to 1.30 ms of client CPU a send before, 0.35 ms now), and its
`~/.netrc` credentials for the API host clash with the API key's `Authorization`
(aiohttp raised `ValueError` on every call).
"""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from ._config import is_loopback
from ._errors import PulseValidationError
from ._secrets import register

__all__ = ["SSLSetting", "proxy_for", "ssl_setting"]

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


def proxy_for(proxy: object, trust_env: object, base_url: str) -> str | None:
    """The proxy URL the client uses: `proxy` if given, else with `trust_env` the one
    `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` give for `base_url` (aiohttp's reading of them,
    with the proxy's own `~/.netrc` credentials), read now; else None.

    Never an environment proxy for a loopback base URL: a proxy elsewhere cannot reach
    this machine's `127.0.0.1`, so a local emulator or test server keeps working for
    users whose environment sets a corporate proxy (and whose `NO_PROXY` lacks it).
    """
    explicit = check_proxy(proxy)
    if not isinstance(trust_env, bool):
        raise PulseValidationError(f"trust_env must be True or False, got {trust_env!r}")
    target = URL(base_url)
    if explicit is not None or not trust_env or is_loopback(target.host or ""):
        return explicit
    try:
        url, auth = get_env_proxy_for_url(target)
    except LookupError:  # none set, or NO_PROXY names the host
        return None
    if url.scheme != "http" or not url.host:  # (aiohttp drops https:// ones, warning)
        name = f"{target.scheme.upper()}_PROXY"
        raise PulseValidationError(  # not the value: it may hold a password
            f"{name} from the environment is not an http://host:port URL (aiohttp would "
            "send every request to it as one): correct it, or pass trust_env=False"
        )
    if auth is not None:  # back into the URL, where aiohttp takes them from
        register(auth.password)
        url = url.with_user(auth.login).with_password(auth.password)
    return str(url)
