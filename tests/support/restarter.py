"""What systemd's ``Restart=on-failure`` does for a test: run ``quantfund up`` again whenever it
dies with a failure, until told to stop; each generation logs to ``up-N.log``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Restarter:
    """What systemd's Restart=on-failure does: run ``quantfund up`` again whenever it dies with
    a failure, until told to stop."""

    def __init__(self, tmp: Path, config_text: str = "") -> None:
        """Start the first supervisor."""
        self.tmp = tmp
        (tmp / "test.toml").write_text(config_text)
        self.argv = [sys.executable, "-m", "supervisor.cli", "up", "--config",
                     str(tmp / "test.toml"), "--state-dir", str(tmp / "state"),
                     "--run-dir", str(tmp / "run")]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            with self.lock:
                if self.stopping:
                    return
                with (self.tmp / f"up-{len(self.procs)}.log").open("wb") as log:
                    proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=str(REPO))
                self.procs.append(proc)
            if proc.wait() == 0:
                return
            time.sleep(0.1)  # RestartSec

    def current(self) -> subprocess.Popen[bytes] | None:
        """The newest supervisor process (running or not), if one was started."""
        with self.lock:
            return self.procs[-1] if self.procs else None

    def logged_pids(self) -> set[int]:
        """Every pid the supervisors logged (themselves, zygotes, children)."""
        pids = {p.pid for p in self.procs}
        for log in self.tmp.glob("up-*.log"):
            for raw in log.read_text(errors="replace").splitlines():
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                pids |= {line[k] for k in ("pid", "child_pid", "zygote_pid")
                         if isinstance(line.get(k), int)}
        return pids

    def stop(self) -> None:
        """Stop restarting; drain the current supervisor (SIGTERM, SIGKILL after 20 s)."""
        with self.lock:
            self.stopping = True
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.thread.join(timeout=5)
