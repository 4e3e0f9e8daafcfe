"""Run a real ``quantfund up`` in a subprocess and follow its JSON log lines as events."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from supervisor.admin_messages import StatusReply, StatusRequest
from supervisor.client import request

Line = dict[str, Any]


class TreeRun:
    """A supervisor process started by a test; every pid it logs is checked gone at the end."""

    def __init__(self, tmp: Path, config_text: str = "", *, duration: float | None = None) -> None:
        """Write the config (keys to change only) and start ``quantfund up``."""
        self.tmp = tmp
        self.state_dir = tmp / "state"
        self.run_dir = tmp / "run"
        cfg = tmp / "test.toml"
        cfg.write_text(config_text)
        argv = [sys.executable, "-m", "supervisor.cli", "up", "--config", str(cfg),
                "--state-dir", str(self.state_dir), "--run-dir", str(self.run_dir)]
        if duration is not None:
            argv += ["--duration", str(duration)]
        self.lines: list[Line] = []
        self.raw: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=str(Path(__file__).parents[2]),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self.raw.append(raw)
                with contextlib.suppress(json.JSONDecodeError):
                    self.lines.append(json.loads(raw))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def pid(self) -> int:
        """The supervisor's pid."""
        return self.proc.pid

    def wait_for(
        self, event: str, where: Callable[[Line], bool] = lambda _l: True, *,
        timeout: float = 20.0, after: int = 0,
    ) -> Line:
        """The first log line (from index ``after``) with ``event`` matching ``where``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[after:]:
                    if line.get("event") == event and where(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    tail = "".join(self.raw[-30:])
                    raise AssertionError(f"no {event!r} within {timeout} s; log tail:\n{tail}")
                self._cond.wait(min(left, 0.5))

    def events(self, event: str) -> list[Line]:
        """All log lines with ``event`` so far."""
        with self._cond:
            return [line for line in self.lines if line.get("event") == event]

    def mark(self) -> int:
        """Index to pass as ``after`` to wait only for lines logged from now on."""
        with self._cond:
            return len(self.lines)

    def wait_started(self, timeout: float = 30.0) -> None:
        """Wait until every child sent Ready."""
        self.wait_for("tree_started", timeout=timeout)

    def status(self, timeout: float = 3.0) -> StatusReply:
        """Ask the running supervisor."""
        reply = request(self.run_dir, StatusRequest(), timeout_s=timeout)
        assert isinstance(reply, StatusReply), reply
        return reply

    def child_pid_cached(self, name: str) -> int:
        """Pid of child ``name`` from the log (works while the supervisor is frozen)."""
        lines = [ln for ln in self.events("child_started") if ln["child"] == name]
        assert lines, f"{name} never started"
        return int(lines[-1]["child_pid"])

    def child_pid(self, name: str) -> int:
        """Current pid of child ``name``."""
        for actor in self.status().actors:
            if actor.name == name and actor.pid is not None:
                return actor.pid
        raise AssertionError(f"{name} has no pid")

    def signal(self, sig: signal.Signals) -> None:
        """Signal the supervisor."""
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the supervisor to exit; its status."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def logged_pids(self) -> set[int]:
        """Every process id the run logged (supervisor, zygote, children)."""
        pids = {self.pid}
        with self._cond:
            for line in self.lines:
                for key in ("pid", "child_pid", "zygote_pid"):
                    if isinstance(line.get(key), int):
                        pids.add(line[key])
        return pids

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if needed; then assert no process of the run is left."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._reader.join(timeout=5)
        assert_gone(self.logged_pids())


def alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_gone(pids: set[int], timeout: float = 3.0) -> None:
    """Every pid in ``pids`` is gone within ``timeout`` (orphans are reaped late here)."""
    deadline = time.monotonic() + timeout
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = {p for p in left if alive(p)}
    assert not left, f"processes left behind: {sorted(left)}"


def wait_stopped(pid: int, timeout: float = 5.0) -> None:
    """Wait until ``pid`` is really stopped (SIGSTOP taken), not merely signalled."""
    deadline = time.monotonic() + timeout
    while psutil.Process(pid).status() != psutil.STATUS_STOPPED:
        assert time.monotonic() < deadline, f"{pid} did not stop"
        time.sleep(0.001)
