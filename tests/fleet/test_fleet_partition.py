"""Partitions made by stopping real nats-server processes: one node killed during a fleet halt
and resume (no tree misses a change), the whole cluster down (every tree goes to ``on_lost``
within ``lost_after_s`` + 1 s, and follows the fleet again when it returns)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from supervisor.halts import verify
from tests.support.fleet import (
    fleet_cli,
    fleet_json,
    fleet_states,
    local_cli,
    state_of,
    tree_config,
    wait_until,
)
from tests.support.nats_cluster import NatsCluster
from tests.support.tree import TreeRun
from tests.support.venue import venue_total

pytestmark = pytest.mark.slow

LOST_AFTER_S = 2.0


def test_a_node_killed_during_halt_and_resume_loses_no_change(
    cluster: NatsCluster, tree_factory: Callable[..., TreeRun], tmp_path: Path
) -> None:
    """Kill a node, fleet halt, restart it; kill another, fleet resume: every tree acks both,
    none trades between them, and every halts store and the fleet's trail verify."""
    trees = {f"node-{i}": tree_factory(tree_config(cluster, f"node-{i}")) for i in range(3)}
    for tree in trees.values():
        tree.wait_started(timeout=60)

    cluster.kill_node(0)
    done = fleet_cli(cluster, tmp_path, "halt", "--reason", "node 1 down", "--json",
                     "--timeout", "15")
    assert done.returncode == 0, done.stdout + done.stderr
    halt = json.loads(done.stdout)
    assert sorted(halt["acked"]) == sorted(trees)
    cluster.start_node(0)
    halted_at = {name: venue_total(t.state_dir) for name, t in trees.items()}

    cluster.kill_node(1)
    for tree in trees.values():  # nobody lifted the halt: nobody trades
        assert state_of(tree) == "HALTED"
    time.sleep(1.0)
    assert {name: venue_total(t.state_dir) for name, t in trees.items()} == halted_at
    done = fleet_cli(cluster, tmp_path, "resume", "--reason", "node 2 down", "--json",
                     "--timeout", "15")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(json.loads(done.stdout)["acked"]) == sorted(trees)
    cluster.start_node(1)

    for tree in trees.values():
        assert state_of(tree) == "ACTIVE"
        assert fleet_states(tree) == ["HALTED", "ACTIVE"]
        assert verify(tree.state_dir / "halts.sqlite").ok
    assert fleet_json(cluster, tmp_path, "verify")["trail"]["ok"]


def test_the_whole_cluster_down_goes_on_lost_in_time_and_recovers(
    cluster: NatsCluster, tree_factory: Callable[..., TreeRun], tmp_path: Path
) -> None:
    """Every node killed: each tree is REDUCING (on_lost) within lost_after_s + 1 s; the
    local kill switch still works meanwhile; with the cluster back each tree follows the
    fleet state again (ACTIVE) and the trail still verifies."""
    assert fleet_json(cluster, tmp_path, "status")["state"] == "ACTIVE"
    trees = [tree_factory(tree_config(cluster, f"lost-{i}", lost_after_s=LOST_AFTER_S))
             for i in range(2)]
    for tree in trees:
        tree.wait_started(timeout=60)
        assert state_of(tree) == "ACTIVE"
    marks = [t.mark() for t in trees]

    for index in range(len(cluster.nodes)):
        cluster.kill_node(index)
    killed = time.monotonic()
    for tree, mark in zip(trees, marks, strict=True):
        tree.wait_for("fleet_lost", after=mark, timeout=LOST_AFTER_S + 5)
        wait_until("REDUCING", lambda t=tree: state_of(t) == "REDUCING", timeout=5)
    took = time.monotonic() - killed
    assert took <= LOST_AFTER_S + 1.0, f"on_lost after {took:.2f} s"

    local = local_cli(trees[1], "halt", "local, fleet down")
    assert local.returncode == 0, local.stderr
    assert state_of(trees[1]) == "HALTED"

    cluster.start()
    wait_until("tree 0 back to ACTIVE", lambda: state_of(trees[0]) == "ACTIVE", timeout=30)
    trees[0].wait_for("fleet_regained", after=marks[0], timeout=5)
    trees[1].wait_for("fleet_regained", after=marks[1], timeout=30)
    assert state_of(trees[1]) == "HALTED"  # its own operator's halt: not the fleet's to lift
    assert fleet_json(cluster, tmp_path, "verify")["trail"]["ok"]
