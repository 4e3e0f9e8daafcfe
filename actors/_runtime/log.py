"""structlog set-up shared by the supervisor and every actor: JSON lines, actor and pid on each."""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog


def configure(actor: str, *, json_lines: bool | None = None) -> None:
    """Configure structlog for this process; call again in a child after fork (pid changes).

    Args:
        actor: Name stamped on every line (``supervisor`` or the actor's name).
        json_lines: JSON lines when True, console rendering when False; by default JSON unless
            stdout is a terminal.
    """
    if json_lines is None:
        json_lines = not sys.stdout.isatty()
    pid = os.getpid()

    def stamp(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        event.setdefault("actor", actor)
        event.setdefault("pid", pid)
        return event

    renderer: Any = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            stamp,
            structlog.processors.format_exc_info,
            renderer,
        ],
        # One write() per line: several processes share stdout, and print() would write the
        # message and its newline separately, letting another process's line land in between.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )


def get(name: str = "quantfund") -> Any:
    """A bound logger."""
    return structlog.get_logger(name)
