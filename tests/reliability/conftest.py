"""The reliability suite's shared pieces: an emulator in its own process, and fd counts."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import pytest


class EmulatorProcess:
    """`python -m pulseai_async.testing --port 0`, as another language would run it."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulseai_async.testing", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.env: dict[str, str] = {}
        assert self.process.stdout is not None
        while len(self.env) < 5:  # the NAME=value lines it prints once listening
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the emulator exited with {self.process.wait()}")
            name, _, value = line.strip().partition("=")
            self.env[name] = value

    @property
    def base_url(self) -> str:
        return self.env["PULSEAI_BASE_URL"]

    @property
    def api_key(self) -> str:
        return self.env["PULSEAI_API_KEY"]

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def emulator_process_fixture(*args: str) -> Any:
    """A module-scoped `emulator_process` fixture: the emulator in its own process, with
    these command-line options (and `--no-record`, for long runs)."""

    @pytest.fixture(scope="module")
    def emulator_process() -> Iterator[EmulatorProcess]:
        process = EmulatorProcess("--no-record", *args)
        try:
            yield process
        finally:
            process.stop()

    return emulator_process


def open_fds() -> int:
    """Open file descriptors of this process (Linux)."""
    return len(os.listdir("/proc/self/fd"))


def ensure_fd_limit(needed: int) -> None:
    """Raise the soft limit on open files if a test needs more than it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


async def wait_for_fds(at_most: int) -> int:
    """Closed sockets leave the fd table within a few loop turns: wait for that."""
    while (count := open_fds()) > at_most:  # noqa: ASYNC110 - polling the OS, no event
        await anyio.sleep(0.01)
    return count
