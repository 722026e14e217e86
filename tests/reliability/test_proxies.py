"""Proxies and private CAs, against a real forwarding proxy on loopback.

The proxy forwards plain http requests (absolute-form request targets) and tunnels
https through `CONNECT`. It resolves every host name to 127.0.0.1, so a base URL on the
unresolvable `pulse.test` only works if the request really went through it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
import trustme

import pulseai_async as pa
from pulseai_async.testing import Emulator

from ..conftest import Serve

pytestmark = pytest.mark.anyio

KEY = "app-Pr0xiedKey-0123456789"
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class ForwardingProxy:
    """A small HTTP proxy: `CONNECT host:port` opens a tunnel; any other request is
    forwarded as sent to its target. Each request head it receives is kept in `seen`."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> ForwardingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(h.split(": ", 1) for h in header_lines if ": " in h)
        self.seen.append((line, headers))
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT":
            port = int(target.rsplit(":", 1)[1])
        else:  # http://host:port/path: forward the head as it came (absolute-form)
            port = int(target.split("/", 3)[2].rsplit(":", 1)[1])
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            upstream_writer.write(head)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    def targets(self) -> list[str]:
        return [line.split(" ")[1] for line, _ in self.seen]


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardingProxy]:
    running = await ForwardingProxy().start()
    yield running
    await running.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables from the machine running the tests."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_bundle(authority: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def https_emulator(authority: trustme.CA, serve: Serve) -> tuple[Emulator, int]:
    """The emulator behind TLS, with a certificate for `pulse.test` from a private CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("pulse.test", "127.0.0.1").configure_cert(context)
    emulator = Emulator(api_key=KEY)
    url = await serve(emulator.make_app(), ssl_context=context)
    return emulator, int(url.rsplit(":", 1)[1].split("/")[0])


# --- explicit proxy ---------------------------------------------------------------------------


async def test_an_explicit_proxy_forwards_plain_http(
    emulator: Emulator, proxy: ForwardingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    emulator.api_key = KEY
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=emulator.base_url, proxy=proxy.url) as pulse:
            reply = await pulse.chat.send("hello", user="u")
            text = await pulse.chat.stream("again", user="u").final_text()
    assert reply.answer.startswith("You asked: hello") and text.startswith("You asked: again")
    assert proxy.targets()[0] == f"{emulator.base_url}/chat-messages"  # absolute-form
    assert emulator.hits("/chat-messages") == 2


async def test_proxy_credentials_in_the_url_are_sent_to_the_proxy(
    emulator: Emulator, proxy: ForwardingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    emulator.api_key = KEY
    user_url = proxy.url.replace("http://", "http://alice:s3cret-proxy-pass@")
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=emulator.base_url, proxy=user_url) as pulse:
            await pulse.app.info()
    expected = "Basic " + base64.b64encode(b"alice:s3cret-proxy-pass").decode()
    assert proxy.seen[0][1]["Proxy-Authorization"] == expected
    assert emulator.hits("/info") == 1


async def test_https_through_a_connect_tunnel_with_a_ca_bundle_path(
    https_emulator: tuple[Emulator, int],
    proxy: ForwardingProxy,
    ca_bundle: Path,
    clean_env: pytest.MonkeyPatch,
) -> None:
    emulator, port = https_emulator
    url = f"https://pulse.test:{port}/v1"
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url, proxy=proxy.url, verify_ssl=ca_bundle) as pulse:
            reply = await pulse.chat.send("hello", user="u")
            text = await pulse.chat.stream("again", user="u").final_text()
    assert reply.answer.startswith("You asked: hello") and text.startswith("You asked: again")
    assert proxy.targets()[0] == f"pulse.test:{port}"  # CONNECT: the proxy sees no request
    assert emulator.hits("/chat-messages") == 2


# --- proxies from the environment -------------------------------------------------------------


async def test_https_proxy_from_the_environment_is_used_by_default(
    https_emulator: tuple[Emulator, int],
    proxy: ForwardingProxy,
    authority: trustme.CA,
    clean_env: pytest.MonkeyPatch,
) -> None:
    emulator, port = https_emulator
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with anyio.fail_after(10):
        async with pa.AsyncPulse(
            KEY, base_url=f"https://pulse.test:{port}/v1", verify_ssl=context
        ) as pulse:
            info = await pulse.app.info()
    assert info.name
    assert proxy.targets() == [f"pulse.test:{port}"]
    assert emulator.hits("/info") == 1


async def test_http_proxy_from_the_environment_forwards_plain_http_and_is_read_once(
    emulator: Emulator, proxy: ForwardingProxy, clean_env: pytest.MonkeyPatch
) -> None:
    emulator.api_key = KEY
    clean_env.setenv("http_proxy", proxy.url.replace("http://", "http://carol:pa55word-env@"))
    url = emulator.base_url.replace("127.0.0.1", "pulse.test")
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url) as pulse:
            # read when the client was made (aiohttp's own trust_env read it again, in a
            # thread, for every request): changing it now does not move this client
            clean_env.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
            await pulse.app.info()
            await pulse.chat.send("hello", user="u")
    assert proxy.targets() == [f"{url}/info"]  # one connection, through the first proxy
    assert (
        proxy.seen[0][1]["Proxy-Authorization"]
        == "Basic " + base64.b64encode(b"carol:pa55word-env").decode()
    )
    assert emulator.hits("/info") == emulator.hits("/chat-messages") == 1
    # the environment's proxy password is masked like the key
    assert "pa55word-env" not in str(pa.APIConnectionError("proxy said pa55word-env"))


async def test_a_netrc_default_entry_does_not_break_calls(
    emulator: Emulator, proxy: ForwardingProxy, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A `default` line in ~/.netrc (for git or ftp) matches every host. aiohttp's
    # trust_env took it as credentials for the API's host too, and then refused every
    # call with a ValueError (they clash with the key's Authorization header).
    emulator.api_key = KEY
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password netrc-pa55word\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    clean_env.setenv("HTTP_PROXY", proxy.url)
    url = emulator.base_url.replace("127.0.0.1", "pulse.test")
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url, max_retries=0) as pulse:
            reply = await pulse.chat.send("hello", user="u")
    assert reply.answer.startswith("You asked: hello")  # the key reached the server
    assert emulator.hits("/chat-messages") == 1


@pytest.mark.parametrize("how", ["trust_env=False", "NO_PROXY", "no_proxy suffix", "NO_PROXY=*"])
async def test_environment_proxies_can_be_turned_off(
    https_emulator: tuple[Emulator, int],
    proxy: ForwardingProxy,
    ca_bundle: Path,
    clean_env: pytest.MonkeyPatch,
    how: str,
) -> None:
    # Without the proxy the client itself must resolve pulse.test, which fails: a
    # connection error, and the proxy saw nothing.
    emulator, port = https_emulator
    clean_env.setenv("HTTPS_PROXY", proxy.url)
    trust_env = how != "trust_env=False"
    if how == "NO_PROXY":
        clean_env.setenv("NO_PROXY", "example.com,pulse.test")
    elif how == "no_proxy suffix":
        clean_env.setenv("no_proxy", ".test")
    elif how == "NO_PROXY=*":
        clean_env.setenv("NO_PROXY", "*")
    with anyio.fail_after(10):
        async with pa.AsyncPulse(
            KEY,
            base_url=f"https://pulse.test:{port}/v1",
            verify_ssl=ca_bundle,
            trust_env=trust_env,
            max_retries=0,
        ) as pulse:
            with pytest.raises(pa.APIConnectionError, match=r"pulse\.test"):
                await pulse.app.info()
    assert proxy.seen == []
    assert emulator.requests == []


async def test_a_loopback_base_url_ignores_environment_proxies(
    emulator: Emulator, clean_env: pytest.MonkeyPatch
) -> None:
    # A developer behind a corporate proxy runs the emulator or a test server locally:
    # the proxy (here one that is not even running) is not asked to reach 127.0.0.1.
    emulator.api_key = KEY
    clean_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    clean_env.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    for url in (emulator.base_url, emulator.base_url.replace("127.0.0.1", "localhost")):
        with anyio.fail_after(10):
            async with pa.AsyncPulse(KEY, base_url=url, max_retries=0) as pulse:
                await pulse.app.info()
    assert emulator.hits("/info") == 2


# --- certificates -----------------------------------------------------------------------------


async def test_an_ssl_context_of_your_own_is_used(
    https_emulator: tuple[Emulator, int], authority: trustme.CA, clean_env: pytest.MonkeyPatch
) -> None:
    emulator, port = https_emulator
    context = ssl.create_default_context()
    authority.configure_trust(context)
    url = f"https://127.0.0.1:{port}/v1"
    with anyio.fail_after(10):
        async with pa.AsyncPulse(KEY, base_url=url, verify_ssl=context) as pulse:
            await pulse.app.info()
        async with pa.AsyncPulse(KEY, base_url=url, max_retries=0) as untrusting:
            with pytest.raises(pa.APIConnectionError, match="certificate verify failed"):
                await untrusting.app.info()
    assert emulator.hits("/info") == 1


async def test_a_ca_bundle_from_ssl_cert_file_is_trusted(
    https_emulator: tuple[Emulator, int], ca_bundle: Path, clean_env: pytest.MonkeyPatch
) -> None:
    # aiohttp reads the variable into its default context at import: a new process
    emulator, port = https_emulator
    program = (
        "import asyncio, pulseai_async as pa\n"
        "async def main():\n"
        f"    async with pa.AsyncPulse({KEY!r}, base_url='https://127.0.0.1:{port}/v1') as p:\n"
        "        print((await p.app.info()).name)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "SSL_CERT_FILE": str(ca_bundle)}
    with anyio.fail_after(30):
        done = await anyio.run_process([sys.executable, "-c", program], env=env, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert emulator.hits("/info") == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"verify_ssl": "/no/such/ca.pem"}, "verify_ssl: cannot load the CA bundle '/no/such"),
        ({"verify_ssl": 1}, "verify_ssl must be True, False, the path of a CA bundle"),
        ({"verify_ssl": "no"}, "cannot load the CA bundle 'no'"),
        ({"proxy": "socks5://127.0.0.1:1080"}, "got scheme 'socks5'"),
        ({"proxy": "127.0.0.1:3128"}, "proxy must be an http:// or https:// URL"),
        ({"proxy": 3128}, "proxy must be a URL string"),
        ({"trust_env": "false"}, "trust_env must be True or False"),
        (
            {"proxy": "http://127.0.0.1:3128", "session": "a session"},
            "set them on the aiohttp session you pass",
        ),
    ],
)
async def test_bad_network_settings_are_refused_when_constructed(
    kwargs: dict[str, object], message: str
) -> None:
    if kwargs.get("session") == "a session":
        import aiohttp

        kwargs["session"] = session = aiohttp.ClientSession()
    with warnings.catch_warnings(), pytest.raises(pa.PulseValidationError, match=message):
        pa.AsyncPulse(KEY, base_url="http://127.0.0.1:9/v1", **kwargs)  # type: ignore[arg-type]
    if "session" in kwargs:
        await session.close()


@pytest.mark.parametrize("value", ["proxy.corp:3128", "socks5://proxy.corp:1080", "::"])
def test_a_bad_proxy_in_the_environment_is_refused_when_constructed(
    clean_env: pytest.MonkeyPatch, value: str
) -> None:
    clean_env.setenv("HTTPS_PROXY", value)
    with pytest.raises(pa.PulseValidationError, match="HTTPS_PROXY from the environment"):
        pa.AsyncPulse(KEY, base_url="https://pulse.test/v1")
    pa.AsyncPulse(KEY, base_url="https://pulse.test/v1", trust_env=False)
    pa.AsyncPulse(KEY, base_url="http://127.0.0.1:9/v1")  # loopback: never a proxy


def test_a_proxy_password_is_masked_like_a_key() -> None:
    pa.AsyncPulse(KEY, base_url="http://127.0.0.1:9/v1", proxy="http://bob:hunter2-hunter2@p:3128")
    assert "hunter2-hunter2" not in str(pa.APIConnectionError("proxy said hunter2-hunter2"))
