"""Fleet halt latency: ``fleet halt`` written -> every tree's supervisor has acknowledged it.

Also printed, from the trees' ``fleet_change_acked`` lines: the command's write to the tree's
receipt of the KV update (``command_to_tree_ms``), the kill switch's change there
(``apply_ms``) and the halts store's fsync before the ack (``durable_ms``).

A real 3-node NATS JetStream cluster (``tests.support.nats_cluster``) and 1, 3 and 6 real
trees (the default shadow tree, trading the simulated feed). For each change: the audit
trail's append, the KV compare-and-set, and every tree's ack (sent once its kill switch has
persisted and published the change and the row is fsynced). Halts and resumes alternate; the
figures are for the halts, and separately for the resumes.

    uv run python benchmarks/fleet.py --halts 200 --trees 1,3,6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.restart import pct
from supervisor.fleet.commands import change_on, open_fleet
from supervisor.fleet.config import FleetConfig
from supervisor.fleet.credentials import load_credentials
from tests.support.fleet import fleet_env, fleet_toml
from tests.support.nats_cluster import NatsCluster
from tests.support.tree import TreeRun


async def _loop(cluster: NatsCluster, ids: set[str], halts: int) -> dict[str, list[float]]:
    cfg = FleetConfig(servers=cluster.urls)
    creds = load_credentials(fleet_env(), None)
    planes = await open_fleet(cfg, creds, time.monotonic() + 10)
    out: dict[str, list[float]] = {"HALTED": [], "ACTIVE": []}
    missed = 0
    try:
        for i in range(halts * 2):
            state = "HALTED" if i % 2 == 0 else "ACTIVE"
            result = await change_on(planes, state, who="bench@fleet", reason=f"bench {i}",
                                     timeout_s=5.0, expected=ids)
            if result.missing:
                missed += 1
            else:
                out[state].append(result.elapsed_s * 1000)
            await asyncio.sleep(0.05)  # let the trees' orchestrators tick between changes
    finally:
        await planes.nc.close()
    if missed:
        print(f"  {missed} changes missed an ack within 5 s (left out of the figures)")
    return out


def run(n_trees: int, halts: int, base: Path) -> dict[str, list[float]]:
    """One cluster, ``n_trees`` trees, ``halts`` halt+resume pairs."""
    cluster = NatsCluster(base / f"nats-{n_trees}")
    trees: list[TreeRun] = []
    os.environ.update(fleet_env())
    try:
        cluster.start()
        for i in range(n_trees):
            d = base / f"n{n_trees}-t{i}"
            d.mkdir()
            trees.append(TreeRun(d, fleet_toml(cluster.urls, f"bench-{i}")))
        for tree in trees:
            tree.wait_started(timeout=120)
            tree.wait_for("fleet_connected", timeout=30)
        figures = asyncio.run(_loop(cluster, {f"bench-{i}" for i in range(n_trees)}, halts))
        parts = [line for tree in trees for line in tree.events("fleet_change_acked")
                 if line.get("via") == "watch" and line.get("state") == "HALTED"]
        for key in ("command_to_tree_ms", "apply_ms", "durable_ms"):
            values = [float(line[key]) for line in parts]
            if values:
                print(f"  {n_trees} trees, halts, in the tree: {key} median "
                      f"{statistics.median(values):.2f} p99 {pct(values, 99):.2f}")
        return figures
    finally:
        for tree in trees:
            tree.stop()
        cluster.close()


def main() -> int:
    """Run and print a markdown table."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--halts", type=int, default=200)
    p.add_argument("--trees", default="1,3,6")
    args = p.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="qf-fleet-") as tmp:
        for n in (int(x) for x in args.trees.split(",")):
            figures = run(n, args.halts, Path(tmp))
            for state, values in figures.items():
                if values:
                    rows.append((n, state, len(values), statistics.median(values),
                                 pct(values, 99), max(values)))
            print(f"  {n} trees done", flush=True)
    print("\n| trees | change | n | median ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    for n, state, count, med, p99, top in rows:
        print(f"| {n} | {'halt' if state == 'HALTED' else 'resume'} | {count} | {med:.2f} | "
              f"{p99:.2f} | {top:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
