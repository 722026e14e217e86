"""Developer sessions: `nox -s tests lint typecheck docs bench live`."""

import json
import os

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "pulseai_async")


@nox.session
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".", "-r", "benchmarks/requirements.txt")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def live(session: nox.Session) -> None:
    """The contract suite against a real server: `PULSEAI_CONTRACT_*` from the
    environment, else the keys Dify-live's up.sh wrote (`DIFY_LIVE_KEYS`, default
    /tmp/dify-live/keys.json). See docs/self-hosted-dify.md."""
    env = {}
    if not os.environ.get("PULSEAI_CONTRACT_BASE_URL"):
        path = os.environ.get("DIFY_LIVE_KEYS", "/tmp/dify-live/keys.json")
        if not os.path.exists(path):
            session.error(f"set PULSEAI_CONTRACT_BASE_URL and the keys, or bring up {path}")
        with open(path, encoding="utf-8") as file:
            keys = json.load(file)
        env = {
            "PULSEAI_CONTRACT_BASE_URL": keys["base_url"],
            "PULSEAI_CONTRACT_APP_KEY": keys["app_key"],
            "PULSEAI_CONTRACT_KNOWLEDGE_KEY": keys["dataset_key"],
            "PULSEAI_CONTRACT_SLOW_APP_KEY": keys["slow_app_key"],
            "PULSEAI_CONTRACT_FAIL_APP_KEY": keys["fail_app_key"],
        }
    session.install("-e", ".[dev]")
    session.run("pytest", "tests/contract", "-p", "no:randomly", *session.posargs, env=env)
