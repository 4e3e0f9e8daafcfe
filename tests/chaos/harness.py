"""Chaos: a paper tree trading constantly under a seeded schedule of SIGKILL, SIGSTOP and SIGCONT
across all seven processes (the supervisor included, restarted as systemd would), then the
invariants of ``supervisor.drill.invariants`` over what the run left on disk.

Used by the short run in the test suite and by ``python -m tests.chaos.long_run``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.admin_messages import HaltRequest, ResumeRequest, StatusReply
from supervisor.client import request
from supervisor.drill import invariants as inv
from supervisor.drill import observe
from supervisor.errors import AdminUnavailable
from tests.support.restarter import Restarter
from tests.support.tree import alive

CHILDREN = ("journal", "alerter", "heartbeat", "breaker", "execution", "orchestrator")
TARGETS = ("supervisor", *CHILDREN)

CONFIG = """
[supervisor]
intensity = 100000          # chaos restarts far more often than production ever should
period_s = 10.0
backoff_initial_s = 0.01
backoff_max_s = 0.2
backoff_reset_s = 1.0
[execution]
broker = "paper"
paper_latency_s = 0.05
[orchestrator]
interval_s = 0.02           # accelerated: 50 bars a second
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 1
quantity = 1.0
[breaker]
max_consecutive_losses = 1000000   # EveryN loses slippage on most round trips
reset_window_s = 1.0
"""

KINDS = ("SIGKILL", "SIGSTOP", "SIGCONT")
WEIGHTS = (5, 3, 2)


@dataclass
class ChaosReport:
    """What a chaos run did and what it found."""

    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    """Faults injected by ``kind target``."""
    duration_s: float = 0.0
    supervisor_generations: int = 0
    operator_resumes: int = 0
    breaker_samples: int = 0
    venue_orders: int = 0
    venue_fills: int = 0
    checked: list[str] = field(default_factory=list)
    violations: list[inv.Violation] = field(default_factory=list)

    @property
    def total_faults(self) -> int:
        """Every signal sent."""
        return sum(self.faults.values())


class TreeWatch:
    """The pids and readiness of a tree under a restarter, as the chaos runs see them (needs
    ``run_dir``, ``restarter``, ``pids`` and ``seen`` on the instance)."""

    run_dir: Path
    restarter: Restarter
    pids: dict[str, int]
    seen: set[int]

    def _status(self, timeout_s: float = 0.5) -> StatusReply | None:
        reply = observe.status(self.run_dir, timeout_s)
        if reply is not None:
            self.pids.update({a.name: a.pid for a in reply.actors if a.pid is not None})
        proc = self.restarter.current()
        if proc is not None:
            self.pids["supervisor"] = proc.pid
        self.seen |= set(self.pids.values())
        return reply

    def wait_serving(self, timeout_s: float = 60.0) -> StatusReply:
        """Until every child is alive and beating."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reply = self._status()
            if reply is not None and all(observe.serving(a) for a in reply.actors):
                return reply
            time.sleep(0.05)
        raise AssertionError(f"the tree did not come up within {timeout_s} s")


class Chaos(TreeWatch):
    """One chaos run in ``tmp``: start, inject, settle, stop, check."""

    def __init__(self, tmp: Path, seed: int, config: str = CONFIG) -> None:
        """Start the tree under a restarter."""
        self.tmp = tmp
        self.state = tmp / "state"
        self.run_dir = tmp / "run"
        self.rng = random.Random(seed)
        self.report = ChaosReport(seed=seed)
        self.restarter = Restarter(tmp, config)
        self.pids: dict[str, int] = {}
        self.stopped: dict[int, float] = {}
        self.seen: set[int] = set()
        self.breaker_last: dict[str, float] = {}

    # --- observing -----------------------------------------------------------------------

    def _sample_breaker(self) -> None:
        with contextlib.suppress(Exception):  # a state file mid-creation reads as nothing
            now = inv.breaker_snapshot(self.state)
            if self.breaker_last:
                self.report.violations += inv.breaker_monotonic(self.breaker_last, now)
            self.breaker_last = now
            self.report.breaker_samples += 1

    def _operator(self, reply: StatusReply | None) -> None:
        """Act as the operator would: lift a halt or pause the chaos caused."""
        if reply is None or reply.trading_state == "ACTIVE":
            return
        with contextlib.suppress(AdminUnavailable):
            request(self.run_dir, ResumeRequest(reason="chaos: operator resumes", who="chaos"),
                    timeout_s=1.0)
            self.report.operator_resumes += 1

    # --- injecting -----------------------------------------------------------------------

    def _continue_due(self, *, all_of_them: bool = False) -> None:
        now = time.monotonic()
        for pid, due in list(self.stopped.items()):
            if all_of_them or now >= due:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
                del self.stopped[pid]

    def _inject(self, max_stop_s: float) -> None:
        target = self.rng.choice(TARGETS)
        kind = self.rng.choices(KINDS, WEIGHTS)[0]
        if kind == "SIGCONT" and self.stopped:
            pid = self.rng.choice(sorted(self.stopped))
            del self.stopped[pid]
            target = next((n for n, p in self.pids.items() if p == pid), "exited")
        else:
            pid = self.pids.get(target, 0)
        if pid <= 0 or not alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, getattr(signal, kind))
        if kind == "SIGSTOP":
            self.stopped[pid] = time.monotonic() + self.rng.uniform(0.05, max_stop_s)
        self.report.faults[f"{kind} {target}"] += 1

    def run(self, faults: int, spacing: tuple[float, float] = (0.03, 0.25),
            max_stop_s: float = 3.0) -> ChaosReport:
        """Inject ``faults`` signals, then settle, stop and check; returns the report."""
        started = time.monotonic()
        try:
            self.wait_serving()
            while self.report.total_faults < faults:
                time.sleep(self.rng.uniform(*spacing))
                self._continue_due()
                reply = self._status(0.3)
                self._inject(max_stop_s)
                if self.rng.random() < 0.1:
                    self._sample_breaker()
                    self._operator(reply)
            self._continue_due(all_of_them=True)
            self._settle()
        finally:
            self._continue_due(all_of_them=True)
            self.restarter.stop()
            self.report.duration_s = round(time.monotonic() - started, 1)
        self._check()
        return self.report

    def _settle(self) -> None:
        """Faults over: the tree serves again; halt so nothing new trades, let open orders
        settle (fill or be cancelled), then the drain of ``stop`` persists everything."""
        self.wait_serving()
        request(self.run_dir, HaltRequest(reason="chaos: settle", who="chaos"), timeout_s=5.0)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = self._status()
            if reply is not None and not any(
                n for status, n in reply.orders.items()
                if status in ("PENDING_SUBMIT", "SUBMITTED")
            ):
                break
            time.sleep(0.1)
        self._sample_breaker()

    # --- checking ------------------------------------------------------------------------

    def _check(self) -> None:
        report = self.report
        procs = self.restarter.procs
        report.supervisor_generations = len(procs)
        last = procs[-1].returncode if procs else None
        report.checked.append("last_supervisor_exit_0")
        if last != 0:
            report.violations.append(inv.Violation(
                "last_supervisor_exit_0", f"the final drain exited {last}"))
        checks = (inv.no_duplicate_client_order_ids, inv.no_lost_orders,
                  inv.fills_reflected_in_positions, inv.journal_verifies, inv.halts_verify,
                  inv.red_events_in_outbox)
        for check in checks:
            report.checked.append(check.__name__)
            report.violations += check(self.state)
        report.checked.append("breaker_monotonic")
        report.checked.append("no_orphans")
        report.violations += inv.no_orphans(self.seen | self.restarter.logged_pids())
        from tests.support.venue import venue_counts

        counts = venue_counts(self.state)
        report.venue_orders = sum(counts.values())
        report.venue_fills = counts.get("FILLED", 0)
