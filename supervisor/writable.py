"""Does the state directory take writes? The probe the tree waits on before it restarts an actor
that exited because its state could not be written (disk full, read-only, permission)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from actors._runtime import log
from actors._runtime.errors import unwritable_problem

PROBE_FILE = ".write-probe"
"""Written, fsynced and removed by each probe (in the state directory)."""
PROBE_BYTES = 256 * 1024
"""What a probe writes: room for an actor's next commits, not only for a few bytes."""
POLL_S = 1.0
"""How often a waiting tree probes again."""
LOG_EVERY_S = 30.0
"""A tree still waiting says so again this often (a wait is never silent)."""


def probe(state_dir: Path) -> str | None:
    """None when ``state_dir`` took (and gave back) ``PROBE_BYTES``; else what refused it."""
    path = state_dir / PROBE_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return unwritable_problem(exc) or f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    return None


async def wait_writable(
    state_dir: Path, *, child: str, problem: str, interrupted: asyncio.Event
) -> float:
    """Return once ``state_dir`` takes writes (probing every ``POLL_S``) or ``interrupted``
    is set; the seconds waited."""
    logger = log.get()
    started = last_said = time.monotonic()
    logger.error("waiting_for_writable_state", child=child, state_dir=str(state_dir),
                 problem=problem, consequence="trading HALTED; the actor starts once it writes")
    while (found := await asyncio.to_thread(probe, state_dir)) is not None:
        if interrupted.is_set():
            return time.monotonic() - started
        now = time.monotonic()
        if now - last_said >= LOG_EVERY_S:
            last_said = now
            logger.error("still_waiting_for_writable_state", child=child, problem=found,
                         waited_s=round(now - started, 1))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(interrupted.wait(), POLL_S)
    waited = time.monotonic() - started
    logger.warning("state_writable_again", child=child, waited_s=round(waited, 3))
    return waited
