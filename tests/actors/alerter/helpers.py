"""Shared helpers of the alerter tests: scenario runner, alert factory, delivery checks."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TypeVar

from actors.alerter.outbox import RESEND_PREFIX, Alert, Outbox
from actors.alerter.sender import Sender
from actors.alerter.severity import Severity
from tests.support.botapi import BotApiServer

T = TypeVar("T")

CHAT_ID = 4242
"""The operator chat the tests deliver to."""

_MARKERS = tuple(RESEND_PREFIX.values())
_TEXT = re.compile(r"^(RED|YELLOW|INFO) #(\d+)$")


def run(coro: Awaitable[T], timeout: float = 60.0) -> T:
    """Run a scenario in a fresh event loop, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def alert(severity: Severity, n: int) -> Alert:
    """A test alert whose text names its severity and sequence number."""
    return Alert(severity=severity, kind="Test", text=f"{severity.name} #{n}")


def unmark(text: str) -> tuple[str, bool]:
    """``text`` without a resend marker, and whether it had one."""
    for marker in _MARKERS:
        if text.startswith(marker):
            return text[len(marker) :], True
    return text, False


def check_exactly_once_in_order(texts: Sequence[str], expected: Sequence[str]) -> None:
    """Every expected alert arrived exactly once (markers ignored), FIFO within each severity."""
    plain = [unmark(t)[0] for t in texts]
    assert sorted(plain) == sorted(expected), "lost or duplicated alerts"
    for level in Severity:
        got = [t for t in plain if t.startswith(level.name + " ")]
        want = [t for t in expected if t.startswith(level.name + " ")]
        assert got == want, f"{level.name} alerts out of order"


def sequence_number(text: str) -> tuple[Severity, int]:
    """(severity, n) of a test alert text."""
    match = _TEXT.match(unmark(text)[0])
    assert match is not None, text
    return Severity[match.group(1)], int(match.group(2))


async def wait_delivered(server: BotApiServer, n: int, timeout: float = 20.0) -> None:
    """Wait (off the event loop) until the server has accepted ``n`` messages."""
    ok = await asyncio.to_thread(server.wait_delivered, n, timeout)
    assert ok, f"only {len(server.delivered)} of {n} messages delivered within {timeout} s"


@contextlib.asynccontextmanager
async def running(sender: Sender) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``sender.run_forever`` as a task; stop it and release its bot on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run_forever(stop))
    try:
        yield task
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 10.0)
        finally:
            await sender.aclose()


async def enqueue_all(outbox: Outbox, alerts: Sequence[Alert]) -> list[int]:
    """Enqueue in order; returns the ids."""
    return [await outbox.enqueue(a) for a in alerts]
