"""Act as a Type=notify service the way the supervisor will: READY, STATUS and a gated watchdog.

Runs inside the harness container on the project's venv Python, as the ExecStart of a test unit
(or of quantfund.service through a drop-in). It stands in for ``quantfund up`` until that exists:

- optionally runs the hardening probes (``QF_PROBE=1``, see probes.py) before saying ready;
- sleeps ``QF_READY_DELAY`` seconds, writes ``$RUNTIME_DIRECTORY/ready-sent``, sends ``READY=1``
  with ``STATUS=$QF_STATUS``;
- then loops like the supervisor: a simulated heartbeat verdict every tick (live unless
  ``$RUNTIME_DIRECTORY/not-live`` exists; no verdict at all while ``.../silent`` exists), fed to
  :class:`WatchdogGate`, which decides each ping. Decision changes are logged to the journal as
  ``watchdog_withheld reason=...`` and ``watchdog_resumed``;
- on SIGTERM sends ``STOPPING=1`` and exits 0.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from supervisor.notify import Notifier, WatchdogDecision, WatchdogGate

_stop_requested = False


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    """Ask the loop to finish; the drain happens outside the handler."""
    global _stop_requested  # noqa: PLW0603 - a signal handler can only reach module state
    _stop_requested = True


def log(message: str) -> None:
    """One line to stdout, which systemd sends to the journal."""
    print(message, flush=True)


def main() -> int:
    """Run the service until SIGTERM; returns the exit status."""
    environ_at_start = dict(os.environ)
    notifier = Notifier.from_environ(unset=True)
    signal.signal(signal.SIGTERM, _on_sigterm)
    runtime = Path(os.environ.get("RUNTIME_DIRECTORY", "/tmp"))
    if os.environ.get("QF_PROBE") == "1":
        from tests.systemd import probes  # the project is on PYTHONPATH inside the container

        probes.run(environ_at_start, Path(os.environ["STATE_DIRECTORY"]), runtime)
    time.sleep(float(os.environ.get("QF_READY_DELAY", "0")))
    (runtime / "ready-sent").write_text(f"{time.monotonic()}\n")
    notifier.ready(status=os.environ.get("QF_STATUS", "ready"))
    log(f"ready pid={os.getpid()} watchdog_interval={notifier.watchdog_interval()}")

    # Decide four times per ping interval, so pings resume promptly after a not-live spell.
    tick = (notifier.watchdog_interval() or 1.0) / 4
    gate = WatchdogGate(max_verdict_age=2 * tick, armed_at=time.monotonic())
    last = WatchdogDecision.PING
    while not _stop_requested:
        now = time.monotonic()
        if not (runtime / "silent").exists():
            gate.observe(live=not (runtime / "not-live").exists(), at=now)
        decision = gate.decide(now)
        if decision is WatchdogDecision.PING:
            notifier.watchdog()
        if decision is not last:
            log(
                "watchdog_resumed"
                if decision is WatchdogDecision.PING
                else f"watchdog_withheld reason={decision.value}"
            )
            last = decision
        time.sleep(tick)
    notifier.stopping(status="stopping")
    log("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
