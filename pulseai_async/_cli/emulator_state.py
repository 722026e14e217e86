"""Where `pulseai emulator` says it is running, so other `pulseai` commands use it.

Without a key each command would start an empty emulator of its own, and `kb create`
then `kb list` would never see each other's data. A running `pulseai emulator` writes
its address and keys to a small file (readable by this user only); commands with no
key configured use that emulator while its process lives, and it removes the file when
it stops.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

__all__ = ["RunningEmulator", "advertise", "find_running"]


class RunningEmulator(msgspec.Struct, frozen=True):
    """A `pulseai emulator` process and what a client needs to reach it."""

    pid: int
    base_url: str
    api_key: str
    knowledge_api_key: str

    def __repr__(self) -> str:  # keys stay out of reprs, even the emulator's
        return f"RunningEmulator(pid={self.pid}, base_url={self.base_url!r})"


def state_file() -> Path:
    """`$XDG_RUNTIME_DIR/pulseai/emulator.json`, else `~/.cache/pulseai/emulator.json`."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path.home() / ".cache"
    return base / "pulseai" / "emulator.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process took the pid: not ours
        return False
    return True


def find_running() -> RunningEmulator | None:
    """The emulator a live `pulseai emulator` advertises, if any."""
    try:
        running = msgspec.json.decode(state_file().read_bytes(), type=RunningEmulator)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return running if _alive(running.pid) else None


@contextlib.contextmanager
def advertise(running: RunningEmulator) -> Iterator[Path]:
    """Write the file while the block runs; remove it after, unless another took over."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(f".{running.pid}.tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(msgspec.json.encode(running))
    temporary.replace(path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError, msgspec.DecodeError, msgspec.ValidationError):
            current = msgspec.json.decode(path.read_bytes(), type=RunningEmulator)
            if current.pid == running.pid:
                path.unlink()
