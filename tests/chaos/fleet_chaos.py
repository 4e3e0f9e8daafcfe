"""Chaos over a fleet: three paper trees (each under a restarter, as systemd would run it) and
a 3-node NATS cluster take a seeded schedule of SIGKILLs of supervisors, actors and NATS nodes
while the fleet is halted and resumed; then every tree must be in the fleet's state, the
fleet's trail and every halts store must verify, and no order may have reached a venue while
the fleet was HALTED.

Used by ``tests/chaos/test_fleet_chaos.py`` (a short run by default; the issue's run of 100
faults over 20 changes with ``QUANTFUND_FLEET_CHAOS_FAULTS=100
QUANTFUND_FLEET_CHAOS_CHANGES=20``); figures in docs/chaos.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from supervisor.admin_messages import StatusReply
from supervisor.drill import invariants as inv
from tests.chaos.harness import CHILDREN, TreeWatch
from tests.chaos.harness import CONFIG as TREE_CONFIG
from tests.support.fleet import fleet_cli, fleet_toml, prepare
from tests.support.nats_cluster import NatsCluster
from tests.support.restarter import Restarter
from tests.support.tree import alive
from tests.support.venue import venue_total

CONFIG = TREE_CONFIG + """\
# Appended to the [breaker] table the tree config ends with. The breaker's own halts are not
# the fleet's to lift: its rules off, so every tree can follow the fleet.
max_drawdown_pct = 100.0
sharpe_floor = -1000000.0
daily_loss_limit = 1000000000.0
"""


@dataclass
class FleetChaosReport:
    """What a fleet chaos run did and found."""

    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    """Faults injected, by ``kind target``."""
    changes: int = 0
    """Fleet halts and resumes given."""
    unacked: int = 0
    """Commands after which some fresh tree had not acked within the CLI's timeout."""
    converge_s: list[float] = field(default_factory=list)
    """Per change: seconds from the command until every tree was in the fleet's state."""
    orders_while_halted: int = 0
    """Orders that reached a venue while the fleet was HALTED (must be 0)."""
    venue_orders: int = 0
    """Orders the venues took over the run."""
    supervisor_generations: int = 0
    """Supervisor processes started over all trees."""
    duration_s: float = 0.0
    violations: list[str] = field(default_factory=list)

    @property
    def total_faults(self) -> int:
        """Every fault injected."""
        return sum(self.faults.values())


class FleetTree(TreeWatch):
    """One tree of the fleet under a restarter."""

    def __init__(self, tmp: Path, text: str) -> None:
        """Start it."""
        tmp.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp
        self.state = tmp / "state"
        self.run_dir = tmp / "run"
        self.restarter = Restarter(tmp, text)
        self.pids: dict[str, int] = {}
        self.seen: set[int] = set()

    def _status(self, timeout_s: float = 2.0) -> StatusReply | None:
        # Three trees and a cluster on two cores: an answer can take longer than the 0.5 s
        # the single-tree harness waits, and a tree that answers late is still serving.
        return super()._status(timeout_s)

    def trading_state(self) -> str | None:
        """Its trading state, or None when its supervisor does not answer."""
        reply = self._status(0.5)
        return None if reply is None else reply.trading_state


class FleetChaos:
    """One run in ``tmp``."""

    def __init__(self, tmp: Path, seed: int, trees: int = 3) -> None:
        """Start the cluster and the trees."""
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.report = FleetChaosReport(seed=seed)
        self.cluster = NatsCluster(tmp / "nats")
        self.cluster.start()
        prepare(self.cluster)
        self.trees = [FleetTree(tmp / f"tree{i}", CONFIG + fleet_toml(
            self.cluster.urls, f"chaos-{i}")) for i in range(trees)]

    def run(self, changes: int = 20, faults: int = 100) -> FleetChaosReport:
        """``changes`` fleet commands (halt, resume, ...), ``faults`` faults spread over them."""
        started = time.monotonic()
        per_round = -(-faults // changes)
        try:
            for tree in self.trees:
                tree.wait_serving(timeout_s=120)
            for index in range(changes):
                state = "HALTED" if index % 2 == 0 else "ACTIVE"
                baseline = self._command(state)
                done = 0
                for _ in range(per_round * 10):  # a target that just died is skipped
                    if done >= per_round or self.report.total_faults >= faults:
                        break
                    time.sleep(self.rng.uniform(0.05, 0.4))
                    done += self._inject()
                self._heal()
                self._converge(state, time.monotonic())
                if baseline is not None:
                    self._check_no_orders(baseline)
        finally:
            self.report.duration_s = round(time.monotonic() - started, 1)
            self._stop()
        self._check()
        return self.report

    # --- the fleet -----------------------------------------------------------------------

    def _command(self, state: str) -> dict[str, int] | None:
        verb = "halt" if state == "HALTED" else "resume"
        t0 = time.monotonic()
        done = fleet_cli(self.cluster, self.tmp, verb, "--reason", f"chaos {verb}", "--json",
                         "--timeout", "10")
        self.report.changes += 1
        if done.returncode != 0:
            self.report.unacked += 1
            with contextlib.suppress(ValueError):
                json.loads(done.stdout)  # written, some ack missing: fine, converge checks
            if not done.stdout.strip():
                self.report.violations.append(f"fleet {verb} not written: {done.stderr}")
        self._converge(state, t0)
        if state != "HALTED":
            return None
        time.sleep(0.3)  # an order sent before the halt lands within paper_latency_s
        return {str(t.tmp): venue_total(t.state) for t in self.trees}

    def _converge(self, state: str, since: float, timeout_s: float = 90.0) -> None:
        """Until every tree answers with ``state`` (restarted ones included)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(t.trading_state() == state for t in self.trees):
                self.report.converge_s.append(round(time.monotonic() - since, 3))
                return
            time.sleep(0.1)
        found = [t.trading_state() for t in self.trees]
        self.report.violations.append(f"trees {found} not all {state} within {timeout_s} s")

    def _check_no_orders(self, baseline: dict[str, int]) -> None:
        for tree in self.trees:
            extra = venue_total(tree.state) - baseline[str(tree.tmp)]
            if extra:
                self.report.orders_while_halted += extra
                self.report.violations.append(
                    f"{tree.tmp.name}: {extra} orders reached the venue while HALTED")

    # --- faults --------------------------------------------------------------------------

    def _inject(self) -> bool:
        """One fault; False when its target was already gone (nothing sent)."""
        kind = self.rng.choices(("supervisor", "actor", "nats"), (3, 5, 2))[0]
        if kind == "nats":
            for index, node in enumerate(self.cluster.nodes):
                if not node.running:  # one node down at a time: the cluster keeps its quorum
                    self.cluster.start_node(index)
            self.cluster.kill_node(self.rng.randrange(len(self.cluster.nodes)))
            self.report.faults["SIGKILL nats"] += 1
            return True
        tree = self.rng.choice(self.trees)
        tree._status(0.3)
        target = "supervisor" if kind == "supervisor" else self.rng.choice(CHILDREN)
        pid = tree.pids.get(target, 0)
        if pid <= 0 or not alive(pid):
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        self.report.faults[f"SIGKILL {target}"] += 1
        return True

    def _heal(self) -> None:
        for index, node in enumerate(self.cluster.nodes):
            if not node.running:
                self.cluster.start_node(index)
        for tree in self.trees:
            tree.wait_serving(timeout_s=180)

    # --- end -----------------------------------------------------------------------------

    def _stop(self) -> None:
        for tree in self.trees:
            tree.restarter.stop()
        self.cluster.close()

    def _check(self) -> None:
        report = self.report
        trail = fleet_trail_ok(self)
        if trail:
            report.violations.append(trail)
        seen: set[int] = set(self.cluster.pids())
        for tree in self.trees:
            report.supervisor_generations += len(tree.restarter.procs)
            report.venue_orders += venue_total(tree.state)
            report.violations += [f"{tree.tmp.name}: {v.invariant}: {v.detail}"
                                  for v in inv.halts_verify(tree.state)]
            report.violations += [f"{tree.tmp.name}: {v.invariant}: {v.detail}"
                                  for v in inv.no_duplicate_client_order_ids(tree.state)]
            seen |= tree.seen | tree.restarter.logged_pids()
        report.violations += [f"{v.invariant}: {v.detail}" for v in inv.no_orphans(seen)]


def fleet_trail_ok(run: FleetChaos) -> str:
    """The fleet's audit trail verified after the run (cluster started again to read it):
    empty when it holds, else what is wrong."""
    run.cluster.start()
    try:
        done = fleet_cli(run.cluster, run.tmp, "verify", "--json")
        data = json.loads(done.stdout or "{}")
        trail = data.get("trail", {})
        if not trail.get("ok") or trail.get("rows_checked") != run.report.changes:
            return f"fleet trail: {trail} ({run.report.changes} changes given)"
        return ""
    finally:
        run.cluster.close()
