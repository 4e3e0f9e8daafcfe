"""``quantfund fleet halt|resume`` against real trees on the paper venue and a real 3-node
NATS JetStream cluster: every tree follows, acknowledges, and stays as strict as its fleet."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

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


def test_fleet_halt_halts_every_tree_and_a_local_resume_is_refused(
    cluster: NatsCluster, tree_factory: Callable[..., TreeRun], tmp_path: Path
) -> None:
    """Three trading trees: a fleet halt halts all three, the CLI lists three acks, status
    shows three HALTED; no order reaches a venue while halted; a local resume is refused
    naming the fleet; a fleet resume brings all three back to ACTIVE."""
    trees = {f"tree-{i}": tree_factory(tree_config(cluster, f"tree-{i}")) for i in range(3)}
    for tree in trees.values():
        tree.wait_started(timeout=60)
        tree.wait_for("fleet_connected")
    for tree in trees.values():
        wait_until("orders at the paper venue", lambda t=tree: venue_total(t.state_dir) > 0)

    done = fleet_cli(cluster, tmp_path, "halt", "--reason", "desk-wide stop", "--json")
    assert done.returncode == 0, done.stderr
    halt = json.loads(done.stdout)
    assert sorted(halt["acked"]) == sorted(trees)
    assert halt["missing"] == []
    assert {a["state"] for a in halt["acked"].values()} == {"HALTED"}
    for tree in trees.values():
        assert state_of(tree) == "HALTED"

    status = fleet_json(cluster, tmp_path, "status")
    assert status["state"] == "HALTED"
    assert status["trail"]["ok"], status["trail"]
    seen = {t["tree_id"]: t for t in status["trees"] if t["tree_id"] in trees}
    wait_until("every summary HALTED", lambda: all(
        t["trading_state"] == "HALTED" for t in fleet_json(cluster, tmp_path, "status")["trees"]
        if t["tree_id"] in trees), timeout=10)
    assert set(seen) == set(trees)

    # Orders the venue holds now: settled within a moment of the halt, then none.
    time.sleep(0.5)
    before = {name: venue_total(t.state_dir) for name, t in trees.items()}
    time.sleep(1.0)
    assert {name: venue_total(t.state_dir) for name, t in trees.items()} == before

    one = trees["tree-0"]
    local = local_cli(one, "resume", "mine")
    assert local.returncode == 1
    assert "the fleet is HALTED" in local.stderr
    assert "fleet resume" in local.stderr
    assert state_of(one) == "HALTED"

    done = fleet_cli(cluster, tmp_path, "resume", "--reason", "all clear")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in trees:
        assert f"acknowledged  {name}: ACTIVE (changed)" in done.stdout
    for tree in trees.values():
        assert state_of(tree) == "ACTIVE"
        assert fleet_states(tree) == ["HALTED", "ACTIVE"]
