"""structlog set-up shared by the supervisor and every actor: JSON lines, actor and pid on each."""

from __future__ import annotations

import json
import os
import select
import sys
import uuid
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
    factory: Any = (
        AtomicLines if json_lines else structlog.WriteLoggerFactory(file=sys.stdout)
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
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )


def get(name: str = "quantfund") -> Any:
    """A bound logger."""
    return structlog.get_logger(name)


LINE_MAX = min(select.PIPE_BUF, 4096)
"""Longest line one write() puts on a shared pipe without another process's bytes inside it."""
_KEEP_CHARS = 300


class AtomicLines:
    """A structlog logger writing each JSON line with one ``write()`` of at most ``LINE_MAX``.

    A longer line (a traceback, a long alert text) could interleave with another process's on
    the shared stdout. It goes out as the event with its long values shortened and
    ``continued_in`` set, then as ``log_line_part`` lines that carry the whole original line in
    order (``part``/``parts``), each short enough to be written atomically: nothing is lost,
    nothing is torn.
    """

    def __init__(self, *_args: Any) -> None:
        """structlog passes the logger name; the file is always stdout (fd 1)."""
        self.fd = 1

    def msg(self, message: str) -> None:
        """Write one rendered line."""
        data = message.encode() + b"\n"
        if len(data) <= LINE_MAX:
            self._write(data)
            return
        for line in split_line(message):
            self._write(line.encode() + b"\n")

    log = debug = info = warn = warning = error = critical = exception = fatal = msg

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]


def split_line(message: str, limit: int = LINE_MAX - 1) -> list[str]:
    """A too-long JSON line as a short head line plus ordered part lines (pure)."""
    part_of = uuid.uuid4().hex[:12]
    try:
        event: dict[str, Any] = json.loads(message)
    except ValueError:
        event = {"event": "log_line_unparsed"}
    head = {k: (v[:_KEEP_CHARS] + "…" if isinstance(v, str) and len(v) > _KEEP_CHARS else v)
            for k, v in event.items() if not isinstance(v, dict | list)}
    base = {"event": "log_line_part", "actor": event.get("actor"), "pid": event.get("pid"),
            "part_of": part_of}
    chunks: list[str] = []
    rest = message
    while rest:
        size = len(rest)
        while len(json.dumps({**base, "part": 0, "parts": 0, "text": rest[:size]})) > limit - 16:
            size //= 2
        chunks.append(rest[:size])
        rest = rest[size:]
    head["continued_in"] = part_of
    head["parts"] = len(chunks)
    if len(json.dumps(head)) > limit:
        head = {k: head.get(k) for k in ("event", "level", "timestamp", "actor", "pid",
                                         "continued_in", "parts")}
    out = [json.dumps(head)]
    out += [json.dumps({**base, "part": i + 1, "parts": len(chunks), "text": c})
            for i, c in enumerate(chunks)]
    return out
