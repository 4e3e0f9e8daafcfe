"""Sticky fleet states: a tree restarted or joining during a fleet halt comes up HALTED; a
fleet out of reach at start applies ``unreachable_at_start``; bad bytes and missing
credentials change nothing (real trees, a real 3-node NATS cluster)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import nats
import pytest

from supervisor.fleet.messages import BUCKET, STATE_KEY
from tests.support.fleet import (
    fleet_cli,
    fleet_json,
    fleet_toml,
    state_of,
    tree_config,
    wait_until,
)
from tests.support.nats_cluster import PASSWORD, USER, NatsCluster
from tests.support.tree import TreeRun, assert_gone
from tests.support.venue import PAPER, venue_total

pytestmark = pytest.mark.slow


def test_a_tree_stopped_or_joining_during_a_fleet_halt_comes_up_halted(
    cluster: NatsCluster, tree_factory: Callable[..., TreeRun], tmp_path: Path
) -> None:
    """A tree stopped while the fleet is HALTED restarts HALTED; a new tree joining then
    starts HALTED and sends no order; a fleet resume frees both."""
    first = tree_factory(tree_config(cluster, "sticky-a"))
    first.wait_started(timeout=60)
    assert fleet_cli(cluster, tmp_path, "halt", "--reason", "sticky").returncode == 0
    assert state_of(first) == "HALTED"
    first.stop()

    again = TreeRun(first.tmp, tree_config(cluster, "sticky-a"))
    joined = tree_factory(tree_config(cluster, "sticky-b"))
    try:
        for tree in (again, joined):
            tree.wait_started(timeout=60)
            assert state_of(tree) == "HALTED"
        assert venue_total(joined.state_dir) == 0
        assert fleet_cli(cluster, tmp_path, "resume", "--reason", "go").returncode == 0
        for tree in (again, joined):
            assert state_of(tree) == "ACTIVE"
        wait_until("the joined tree trades", lambda: venue_total(joined.state_dir) > 0)
    finally:
        again.stop()


@pytest.mark.parametrize(("mode", "expected"), [("reduce", "REDUCING"), ("halt", "HALTED")])
def test_a_fleet_out_of_reach_at_start_applies_unreachable_at_start_until_reached(
    tree_factory: Callable[..., TreeRun], tmp_path: Path, mode: str, expected: str
) -> None:
    """No server answers (a cluster not started yet): the tree starts anyway, in the
    configured state, saying why; once the cluster is up (no fleet command ever given, so
    the fleet is ACTIVE) the tree follows it and trades."""
    later = NatsCluster(tmp_path / "later")
    try:
        tree = tree_factory(PAPER + fleet_toml(later.urls, "alone", unreachable_at_start=mode,
                                               connect_timeout_s=1.0, replicas=3))
        line = tree.wait_for("fleet_unreachable_at_start", timeout=30)
        assert line["state"] == expected
        tree.wait_started(timeout=60)
        assert state_of(tree) == expected
        assert venue_total(tree.state_dir) == 0
        later.start()
        wait_until("ACTIVE once the fleet answers", lambda: state_of(tree) == "ACTIVE",
                   timeout=30)
        wait_until("orders", lambda: venue_total(tree.state_dir) > 0)
    finally:
        later.close()
        assert_gone(later.pids())


def test_malformed_fleet_state_is_counted_and_changes_nothing(
    cluster: NatsCluster, tree_factory: Callable[..., TreeRun], tmp_path: Path
) -> None:
    """Garbage written over the fleet state: the tree logs and counts it, keeps its state and
    keeps running; fleet status reports it; the next fleet command repairs it."""
    tree = tree_factory(tree_config(cluster, "garbage"))
    tree.wait_started(timeout=60)
    assert state_of(tree) == "ACTIVE"
    mark = tree.mark()

    async def scribble() -> None:
        nc = await nats.connect(cluster.urls, user=USER, password=PASSWORD)
        try:
            kv = await nc.jetstream().key_value(BUCKET)
            await kv.put(STATE_KEY, b'{"seq": "not a number"')
        finally:
            await nc.close()

    asyncio.run(scribble())
    line = tree.wait_for("fleet_message_malformed", after=mark, timeout=10)
    assert "not a FleetChange" in line["problem"]
    assert state_of(tree) == "ACTIVE"
    assert tree.proc.poll() is None
    status = fleet_json(cluster, tmp_path, "status")
    assert any("fleet state" in b for b in status["bad"])
    assert fleet_cli(cluster, tmp_path, "reduce", "--reason", "repair").returncode == 0
    assert state_of(tree) == "REDUCING"
    assert fleet_cli(cluster, tmp_path, "resume", "--reason", "repaired").returncode == 0
    assert state_of(tree) == "ACTIVE"


def test_a_client_without_credentials_cannot_read_halt_or_resume(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """No credentials: the CLI refuses before connecting; wrong ones: the servers refuse;
    a bare client is refused by the server; the fleet state is unchanged throughout."""
    before = fleet_json(cluster, tmp_path, "status")["change"]
    for verb in ("status", "halt", "resume"):
        extra = () if verb == "status" else ("--reason", "intruder")
        none = fleet_cli(cluster, tmp_path, verb, *extra, env={})
        assert none.returncode == 2
        assert "fleet credentials missing" in none.stderr
        wrong = fleet_cli(cluster, tmp_path, verb, *extra, env={
            "QUANTFUND_FLEET_USER": USER, "QUANTFUND_FLEET_PASSWORD": "guessed"})
        assert wrong.returncode == 3, wrong.stdout + wrong.stderr
        assert "nothing changed" in wrong.stderr

    async def bare() -> None:
        async def quiet(_exc: Exception) -> None:
            pass
        await asyncio.wait_for(nats.connect(cluster.urls, error_cb=quiet,
                                            max_reconnect_attempts=1), timeout=5)

    with pytest.raises((nats.errors.Error, TimeoutError)):
        asyncio.run(bare())
    assert fleet_json(cluster, tmp_path, "status")["change"] == before
