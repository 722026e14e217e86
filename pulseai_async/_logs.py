"""`PULSEAI_LOG=info|debug`: switch the SDK's logging on without writing any code.

Like `OPENAI_LOG` in openai-python: when the variable is set, the `pulseai_async`
logger gets a stderr handler with a timestamped format and the chosen level. Runs at
import; a second call (another import path, a reload) adds nothing.
"""

from __future__ import annotations

import logging
import os

__all__ = ["LOG_ENV", "setup_logging"]

LOG_ENV = "PULSEAI_LOG"
LOG_FORMAT = "[%(asctime)s - %(name)s - %(levelname)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_LEVELS = {"info": logging.INFO, "debug": logging.DEBUG}

logger = logging.getLogger("pulseai_async")
_applied: list[str] = []  # the values already applied, so a second call changes nothing


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `PULSEAI_LOG` installs; its type marks it as already installed."""


def setup_logging() -> None:
    """Apply `PULSEAI_LOG` to the `pulseai_async` logger, at most once."""
    value = os.environ.get(LOG_ENV, "").strip().lower()
    if value in _applied:
        return
    _applied.append(value)
    level = _LEVELS.get(value)
    if level is None:
        if value:
            logger.warning("ignoring %s=%r: use %s", LOG_ENV, value, " or ".join(sorted(_LEVELS)))
        return
    logger.setLevel(level)
    if any(isinstance(handler, _EnvHandler) for handler in logger.handlers):
        return
    handler = _EnvHandler()  # stderr, resolved when a record is written
    handler.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    logger.addHandler(handler)
