"""The contract suite: one set of tests, two targets.

Without configuration the tests run against the bundled emulator (the normal `pytest`
run and CI). Given a real server in the environment they run, unchanged, against it:

    PULSEAI_CONTRACT_BASE_URL=http://127.0.0.1:5001/v1
    PULSEAI_CONTRACT_APP_KEY=app-...          a chatflow or chat app that echoes the query
    PULSEAI_CONTRACT_KNOWLEDGE_KEY=dataset-...
    PULSEAI_CONTRACT_SLOW_APP_KEY=app-...     optional: answers after `query` seconds
    PULSEAI_CONTRACT_FAIL_APP_KEY=app-...     optional: its run fails mid-stream
    PULSEAI_CONTRACT_FEATURES=model_provider,plugin_daemon   optional: what the server has

(`nox -s live` reads them, or Dify-live's keys.json). A test marked `needs(feature)` that
the target lacks is reported as *not applicable*, by name and with the reason, in its own
outcome category; every test names the server behaviour it relies on
(`relies_on(...)`), and records what the server did where servers differ
(`observe(...)`). Both are printed in a summary at the end of the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from pulseai_async import AsyncPulse, RetryPolicy

from .emulator_target import start_emulator_apps

ENV_BASE_URL = "PULSEAI_CONTRACT_BASE_URL"
ENV_APP_KEY = "PULSEAI_CONTRACT_APP_KEY"
ENV_KNOWLEDGE_KEY = "PULSEAI_CONTRACT_KNOWLEDGE_KEY"
ENV_SLOW_APP_KEY = "PULSEAI_CONTRACT_SLOW_APP_KEY"
ENV_FAIL_APP_KEY = "PULSEAI_CONTRACT_FAIL_APP_KEY"
ENV_FEATURES = "PULSEAI_CONTRACT_FEATURES"

FEATURES = {
    "model_provider": "a model provider (an LLM, embeddings, speech models)",
    "plugin_daemon": "the plugin daemon (Dify asks it for the workspace's model providers)",
    "slow_app": f"an app whose answer takes `query` seconds ({ENV_SLOW_APP_KEY})",
    "fail_app": f"an app whose run fails mid-stream ({ENV_FAIL_APP_KEY})",
}
NOT_APPLICABLE = "not applicable:"
CONTRACT_DIR = os.path.dirname(__file__)
# Live servers are not ours to hammer: no retries hide a wrong answer, bar a blip.
RETRIES = RetryPolicy(max_retries=1, initial_delay=0.2, max_delay=1.0)


@dataclass
class Target:
    """Where the contract tests run, and what that server can do."""

    name: str  # "emulator" or "live"
    base_url: str
    app_key: str
    knowledge_key: str
    slow_app_key: str | None = None
    fail_app_key: str | None = None
    features: frozenset[str] = frozenset()
    version: str = "unknown"
    ping_interval: float = 10.0
    """Seconds between keep-alive pings while the server is idle."""
    slow_seconds: float = 15.0
    """How long the slow app is asked to take where a test needs it idle (> a ping)."""

    def client(self, role: str = "app", **options: Any) -> AsyncPulse:
        """A client for one of the apps ("app", "slow", "fail"), with the knowledge key."""
        key = {"app": self.app_key, "slow": self.slow_app_key, "fail": self.fail_app_key}[role]
        options.setdefault("base_url", self.base_url)
        options.setdefault("retry_policy", RETRIES)
        return AsyncPulse(api_key=key, knowledge_api_key=self.knowledge_key, **options)

    async def delete_conversation(
        self, conversation_id: str | None, user: str, role: str = "app"
    ) -> None:
        """Cleanup: delete a conversation a test started (with a client of its own)."""
        if conversation_id:
            async with self.client(role) as pulse:
                await pulse.conversations.delete(conversation_id, user=user)

    async def delete_conversations_of(self, user: str, role: str = "app") -> None:
        """Cleanup where the server started a conversation but did not say its id
        (a failed run)."""
        async with self.client(role) as pulse:
            for conversation in await pulse.conversations.list(user=user).collect():
                await pulse.conversations.delete(conversation.id, user=user)

    async def delete_knowledge_base(self, dataset_id: str) -> None:
        async with self.client() as pulse:
            await pulse.datasets.delete(dataset_id)


def live_target_from_env() -> Target | None:
    base_url = os.environ.get(ENV_BASE_URL)
    if not base_url:
        return None
    missing = [name for name in (ENV_APP_KEY, ENV_KNOWLEDGE_KEY) if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(f"{ENV_BASE_URL} is set, so set {' and '.join(missing)} too")
    features = {f.strip() for f in os.environ.get(ENV_FEATURES, "").split(",") if f.strip()}
    unknown = features - set(FEATURES)
    if unknown:
        raise pytest.UsageError(
            f"{ENV_FEATURES}: unknown {sorted(unknown)}; know {sorted(FEATURES)}"
        )
    slow, fail = os.environ.get(ENV_SLOW_APP_KEY), os.environ.get(ENV_FAIL_APP_KEY)
    features |= {name for name, key in (("slow_app", slow), ("fail_app", fail)) if key}
    return Target(
        name="live",
        base_url=base_url.rstrip("/"),
        app_key=os.environ[ENV_APP_KEY],
        knowledge_key=os.environ[ENV_KNOWLEDGE_KEY],
        slow_app_key=slow,
        fail_app_key=fail,
        features=frozenset(features),
    )


async def server_version(target: Target) -> str:
    """What the server says it is: Dify's `X-Version` header, else its `Server`."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{target.base_url}/info", headers={"Authorization": f"Bearer {target.app_key}"}
        ) as response,
    ):
        await response.read()
        version = response.headers.get("X-Version")
        return f"Dify {version}" if version else response.headers.get("Server", "unknown")


_LIVE = live_target_from_env()
_RESULTS: list[dict[str, Any]] = []
_TARGET_LINE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "relies_on(behaviour): the server behaviour a contract test relies on"
    )
    config.addinivalue_line(
        "markers",
        f"needs(*features): server features a contract test needs ({', '.join(FEATURES)})",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not str(item.path).startswith(CONTRACT_DIR):
            continue
        if item.get_closest_marker("relies_on") is None:
            raise pytest.UsageError(f"{item.nodeid}: a contract test says what it relies_on")
        for marker in item.iter_markers("needs"):
            unknown = set(marker.args) - set(FEATURES)
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown needs {sorted(unknown)}")


@pytest.fixture
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """The server under test: the live one from the environment, else a fresh emulator."""
    if _LIVE is not None:
        target = _LIVE
        if target.version == "unknown":
            target.version = await server_version(target)
        _record_target(target)
        _skip_unless_applicable(request, target)
        yield target
        return
    async with start_emulator_apps() as emulated:
        target = Target(name="emulator", features=frozenset(FEATURES), **emulated)
        _record_target(target)
        _skip_unless_applicable(request, target)
        yield target


def _record_target(target: Target) -> None:
    if not _TARGET_LINE:
        _TARGET_LINE.append(f"{target.name} {target.base_url} ({target.version})")


def _skip_unless_applicable(request: pytest.FixtureRequest, target: Target) -> None:
    needed = [f for marker in request.node.iter_markers("needs") for f in marker.args]
    lacking = [f for f in needed if f not in target.features]
    if lacking:
        reason = " and ".join(FEATURES[f] for f in lacking)
        pytest.skip(f"{NOT_APPLICABLE} needs {reason}, which this server does not have")


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record what the server did, where servers are known to differ."""

    def note(what: str) -> None:
        request.node.user_properties.append(("observed", what))

    return note


@pytest.fixture
async def cleanup() -> AsyncIterator[Callable[[Callable[[], Awaitable[Any]]], None]]:
    """Register an async undo (delete a conversation, a knowledge base); run at the end,
    last registered first, even when the test failed."""
    undo: list[Callable[[], Awaitable[Any]]] = []
    yield undo.append
    errors: list[BaseException] = []
    for action in reversed(undo):
        try:
            await action()
        except Exception as exc:  # keep cleaning; report every failure below
            errors.append(exc)
    if errors:
        raise ExceptionGroup("contract cleanup failed", errors)


@pytest.fixture
def user() -> str:
    """A user id of this test's own, so runs against a shared server do not collide."""
    return f"contract-{uuid.uuid4().hex[:12]}"


# --- reporting ----------------------------------------------------------------------------


def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if report.skipped and _not_applicable_reason(report) is not None:
        return "not applicable", "n", "NOT APPLICABLE"
    return None


def _not_applicable_reason(report: pytest.TestReport) -> str | None:
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        message = str(report.longrepr[2])
        if message.startswith(f"Skipped: {NOT_APPLICABLE}"):
            return message.removeprefix("Skipped: ")
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "contract/" not in report.nodeid.partition("::")[0]:
        return
    if report.when == "teardown":
        if report.failed and _RESULTS:  # the cleanup failed: the test did not pass
            _RESULTS[-1]["outcome"] = "failed"
            _RESULTS[-1]["reason"] = "its cleanup failed"
        return
    if report.when == "call" or not report.passed:
        reason = _not_applicable_reason(report)
        outcome = "not applicable" if reason else report.outcome
        _RESULTS.append(
            {
                "test": report.nodeid.rpartition("::")[2],
                "outcome": outcome,
                "relied_on": dict(report.user_properties).get("relies_on", ""),
                "observed": [v for k, v in report.user_properties if k == "observed"],
                "reason": reason or "",
            }
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("relies_on")
    if marker is not None and str(item.path).startswith(CONTRACT_DIR):
        item.user_properties.append(("relies_on", " ".join(marker.args)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"contract suite against {_TARGET_LINE[0]}")
    for row in _RESULTS:
        write(f"{row['outcome'].upper():<15} {row['test']}")
        write(f"{'':<15}   relies on: {row['relied_on']}")
        for seen in row["observed"]:
            write(f"{'':<15}   observed:  {seen}")
        if row["reason"]:
            write(f"{'':<15}   {row['reason']}")
    counts = {k: sum(r["outcome"] == k for r in _RESULTS) for k in ("passed", "failed")}
    not_applicable = [r["test"] for r in _RESULTS if r["outcome"] == "not applicable"]
    write(
        f"contract: {counts['passed']} passed, {len(not_applicable)} not applicable"
        f"{' (' + ', '.join(not_applicable) + ')' if not_applicable else ''}, "
        f"{counts['failed']} failed"
    )
