"""sd_notify from a real tree to a socket the test owns: READY after every child, STATUS,
watchdog pings gated on the heartbeat actor's verdict, STOPPING on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.support.tree import TreeRun, wait_stopped


class NotifySink:
    """A unix datagram socket standing in for systemd's notify socket."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.got: list[tuple[float, str]] = []

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            for line in data.decode().splitlines():
                self.got.append((time.monotonic(), line))

    def pings_between(self, a: float, b: float) -> int:
        return sum(1 for t, line in self.got if line == "WATCHDOG=1" and a <= t <= b)


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    s = NotifySink(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # ping every 0.5 s
    yield s
    s.sock.close()


def test_ready_status_and_gated_watchdog(tmp_path: Path, sink: NotifySink) -> None:
    """READY=1 only once the tree is up; pings while live; a frozen heartbeat actor (no fresh
    verdict) stops them; they resume when it runs again; SIGTERM sends STOPPING=1."""
    (tmp_path / "t").mkdir()
    tree = TreeRun(tmp_path / "t", "")
    try:
        tree.wait_started()
        sink.drain(2.0)
        lines = [line for _, line in sink.got]
        assert "READY=1" in lines
        assert any(line.startswith("STATUS=trading ACTIVE; 6/6 actors alive") for line in lines)
        t0 = time.monotonic()
        sink.drain(2.0)
        assert sink.pings_between(t0, time.monotonic()) >= 3
        hb = tree.child_pid("heartbeat")
        os.kill(hb, signal.SIGSTOP)
        wait_stopped(hb)
        sink.drain(4.0)  # the last verdict goes stale after 3 s
        t1 = time.monotonic()
        sink.drain(2.0)
        assert sink.pings_between(t1, time.monotonic()) == 0, "pinged with no live verdict"
        tree.wait_for("watchdog_withheld")
        os.kill(hb, signal.SIGCONT)
        sink.drain(1.5)
        t2 = time.monotonic()
        sink.drain(2.0)
        assert sink.pings_between(t2, time.monotonic()) >= 2, "pings did not resume"
        tree.signal(signal.SIGTERM)
        assert tree.wait_exit() == 0
        sink.drain(0.5)
        lines = [line for _, line in sink.got]
        assert "STOPPING=1" in lines
        assert any(line.startswith("EXTEND_TIMEOUT_USEC=") for line in lines)
    finally:
        tree.stop()
