"""Start the local exchange as a subprocess for a test: READY wait, control calls, kill, restart."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

KEY, SECRET = "test-key", "test-secret"


class ExchangeProcess:
    """One running local exchange; ``restart`` keeps its port and state file."""

    def __init__(self, state: Path, args: list[str], start_timeout: float = 15.0) -> None:
        self.state = Path(state)
        self.args = list(args)
        self.start_timeout = start_timeout
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: what rehost_all gets as rest_url."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<port>``."""
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start and wait (bounded) for ``READY <port>``."""
        argv = [sys.executable, "-m", "tests.support.exchange", "--port", str(self.port),
                "--state", str(self.state), "--key", KEY, "--secret", SECRET, *self.args]
        root = Path(__file__).resolve().parents[3]
        self.proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith("READY "):
                    self.port = int(line.split()[1])
                    return
                if line == "":
                    break
            if self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"local exchange did not print READY within {self.start_timeout}s")

    def kill(self) -> None:
        """SIGKILL the process (its whole session) and reap it."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def restart(self) -> None:
        """SIGKILL, then start again on the same port and state file."""
        self.kill()
        deadline = time.monotonic() + 10
        while True:  # the port may linger a moment
            try:
                self.start()
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            else:
                return

    def control(self, what: str, body: dict[str, Any] | None = None,
                timeout: float = 5.0) -> Any:
        """``GET /_control/<what>`` (no body) or ``POST`` it with a JSON body."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base_url}/_control/{what}", data=data,
                                     method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def fault(self, kind: str, **spec: Any) -> Any:
        """Arm one fault (see faults.Fault for the fields)."""
        return self.control("fault", {"kind": kind, **spec})


@contextlib.contextmanager
def local_exchange(state: Path, *args: str, start_timeout: float = 15.0,
                   ) -> Iterator[ExchangeProcess]:
    """A running local exchange for the ``with`` block; no process is left behind."""
    proc = ExchangeProcess(state, list(args), start_timeout)
    try:
        proc.start()
        yield proc
    finally:
        proc.kill()
