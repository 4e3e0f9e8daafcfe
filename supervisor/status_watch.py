"""``quantfund status --watch``: ask the supervisor every interval and show each answer.

On a terminal each snapshot replaces the last (cursor home, screen cleared); piped, snapshots
follow one another as plain text (or one JSON object a line), so a log or a test reads them.
Ctrl-C ends it quietly; ``count`` bounds it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import msgspec

from supervisor.admin_messages import ErrorReply, StatusReply, StatusRequest
from supervisor.cli import EXIT_FAILED, EXIT_NO_ANSWER, EXIT_OK
from supervisor.client import request
from supervisor.errors import AdminUnavailable
from supervisor.status_text import render

REDRAW = "\x1b[H\x1b[2J"
"""Cursor home, then clear the screen: the next snapshot is drawn in place."""


def ask(run_dir: Path, timeout: float) -> tuple[StatusReply | None, str, int]:
    """One ``StatusRequest``: the reply, or None with what went wrong and the exit status."""
    try:
        reply = request(run_dir, StatusRequest(), timeout_s=timeout)
    except AdminUnavailable as exc:
        return None, str(exc), EXIT_NO_ANSWER
    if isinstance(reply, ErrorReply) or not isinstance(reply, StatusReply):
        return None, str(getattr(reply, "error", reply)), EXIT_FAILED
    return reply, "", EXIT_OK


def json_line(reply: StatusReply) -> str:
    """The reply as one JSON object (without the wire tag), as ``status --json`` prints it."""
    data = msgspec.to_builtins(reply)
    data.pop("type", None)
    return msgspec.json.encode(data).decode()


def watch(run_dir: Path, *, as_json: bool, timeout: float, interval: float,
          count: int | None, out: TextIO | None = None) -> int:
    """Show a snapshot every ``interval`` seconds, ``count`` times (None: until Ctrl-C).

    Returns:
        0 when it ends by Ctrl-C or after ``count`` snapshots of which the last was answered;
        else the exit status of the last failed ask (a silent supervisor is shown, not fatal).
    """
    stream = out or sys.stdout
    tty = not as_json and stream.isatty()
    shown, code = 0, EXIT_OK
    try:
        while count is None or shown < count:
            started = time.monotonic()
            reply, problem, code = ask(run_dir, timeout)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            if reply is None:
                text = (msgspec.json.encode({"error": problem, "at": stamp}).decode() if as_json
                        else f"{stamp}  quantfund: {problem}")
            else:
                text = json_line(reply) if as_json else f"{stamp}\n{render(reply)}"
            if tty:
                stream.write(REDRAW)
            elif shown and not as_json:
                stream.write("\n")  # a blank line between two plain snapshots
            stream.write(text + "\n")
            stream.flush()
            shown += 1
            if count is not None and shown >= count:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return EXIT_OK
    return code
