"""Trees in a fleet for tests: their config, the ``quantfund fleet`` CLI, reading their state."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from supervisor.halts import HaltsStore
from tests.support.nats_cluster import PASSWORD, USER, NatsCluster
from tests.support.tree import TreeRun
from tests.support.venue import PAPER

ROOT = Path(__file__).parents[2]


def fleet_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: empty) with the test bed's credentials."""
    return {**(env or {}), "QUANTFUND_FLEET_USER": USER, "QUANTFUND_FLEET_PASSWORD": PASSWORD}


def fleet_toml(servers: list[str], tree_id: str = "", **keys: object) -> str:
    """A ``[fleet]`` section."""
    lines = ["[fleet]", f"servers = {json.dumps(servers)}"]
    if tree_id:
        lines.append(f'tree_id = "{tree_id}"')
    for key, value in keys.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def tree_config(cluster: NatsCluster, tree_id: str, **keys: object) -> str:
    """A paper-venue tree (it trades every tick) joining the cluster's fleet."""
    return PAPER + fleet_toml(cluster.urls, tree_id, **keys)


def fleet_cli(cluster: NatsCluster, tmp: Path, *args: str, env: dict[str, str] | None = None,
              timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """``quantfund fleet ARGS`` (a real CLI process), with the credentials unless ``env``."""
    cfg = tmp / "fleet-cli.toml"
    cfg.write_text(fleet_toml(cluster.urls))
    base = {k: v for k, v in os.environ.items() if not k.startswith("QUANTFUND_FLEET_")}
    return subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "fleet", *args, "--config", str(cfg)],
        env={**base, **(fleet_env() if env is None else env)}, cwd=str(ROOT),
        capture_output=True, text=True, timeout=timeout, check=False)


def fleet_json(cluster: NatsCluster, tmp: Path, *args: str) -> dict[str, Any]:
    """``fleet ARGS --json`` parsed (the exit status is left to the caller to check)."""
    done = fleet_cli(cluster, tmp, *args, "--json")
    assert done.stdout.strip(), f"no output; stderr: {done.stderr}"
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def wait_until(what: str, check: Callable[[], bool], timeout: float = 20.0) -> float:
    """Poll ``check`` until true; the seconds it took (AssertionError naming ``what``)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"{what} not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


def fleet_states(tree: TreeRun) -> list[str]:
    """The states fleet commands set in the tree's halts store, in order (notes, and the
    link's own changes such as ``unreachable_at_start``, left out)."""
    store = HaltsStore.open_readonly(tree.state_dir / "halts.sqlite")
    try:
        return [r.state.value for r in store.rows()
                if r.source.value == "fleet" and r.state is not None
                and r.who.startswith("fleet:")]
    finally:
        store.close()


def state_of(tree: TreeRun) -> str:
    """The tree's trading state, from its supervisor."""
    return tree.status().trading_state


def local_cli(tree: TreeRun, verb: str, reason: str) -> subprocess.CompletedProcess[str]:
    """``quantfund halt|reduce|resume`` against one tree's own admin socket (a real CLI)."""
    return subprocess.run(
        [sys.executable, "-m", "supervisor.cli", verb, "--reason", reason,
         "--run-dir", str(tree.run_dir), "--state-dir", str(tree.state_dir)],
        capture_output=True, text=True, timeout=20, check=False, cwd=str(ROOT))


def prepare(cluster: NatsCluster) -> None:
    """Create the fleet's buckets and audit stream once, so that trees starting together do
    not race to create them (each start waits only ``connect_timeout_s``)."""
    from supervisor.fleet.commands import open_fleet
    from supervisor.fleet.config import FleetConfig
    from supervisor.fleet.credentials import load_credentials

    async def once() -> None:
        planes = await open_fleet(FleetConfig(servers=cluster.urls),
                                  load_credentials(fleet_env(), None), time.monotonic() + 20)
        await planes.nc.close()

    asyncio.run(once())
