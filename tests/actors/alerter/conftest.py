"""Fixtures of the alerter tests: a local Bot API server, an outbox path, a fake clock, and a
guard that no thread or process outlives its test."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.botapi import BotApiServer


class FakeClock:
    """A wall clock that moves only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, when: float) -> None:
        self.now = max(self.now, when)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at a fixed time."""
    return FakeClock()


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    """Where this test's outbox lives."""
    return tmp_path / "state" / "alerts.sqlite"


@pytest.fixture(autouse=True)
def _state_dir(outbox_path: Path) -> None:
    outbox_path.parent.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def botapi() -> Iterator[BotApiServer]:
    """A running local Bot API server; stopped (threads joined) after the test."""
    with BotApiServer() as server:
        yield server


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running afterwards is killed and reaped."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    leftovers = [p for p in started if p.poll() is None]
    for proc in leftovers:
        proc.kill()
        proc.wait(timeout=10)
    assert not leftovers, f"test left processes running: {[p.pid for p in leftovers]}"


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread behind (server, aiosqlite worker, executor)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    leaked: list[threading.Thread] = []
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked:
            return
        time.sleep(0.02)  # threads end asynchronously after join-less close paths
    pytest.fail(f"threads left running: {[t.name for t in leaked]}")
