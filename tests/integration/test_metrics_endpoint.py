"""The metrics endpoint's start: off by default, and a port that cannot be bound stops the
start with a clear error before any child runs (a real supervisor, real sockets)."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable

from tests.support.prometheus import free_port
from tests.support.tree import TreeRun


def test_a_busy_port_stops_the_start_naming_the_key(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """Exit 2, with ``metrics.listen`` and the address in the error; no child was started."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        tree = tree_factory(f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
        assert tree.wait_exit(timeout=60) == 2
    output = "".join(tree.raw)
    assert f"metrics.listen 127.0.0.1:{port}: cannot serve there" in output
    assert not tree.events("child_started")


def test_off_by_default_and_served_when_configured(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """The default config serves nothing; with ``listen`` set, /metrics answers in the text
    format with the tree's trading state."""
    plain = tree_factory()
    plain.wait_started()
    assert not plain.events("metrics_listening")
    plain.stop()
    port = free_port()
    served = tree_factory(f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
    served.wait_started()
    assert served.wait_for("metrics_listening")["port"] == port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        body = resp.read().decode()
    assert 'quantfund_trading_state{state="ACTIVE"} 1.0' in body
    assert 'quantfund_actor_up{actor="orchestrator"} 1.0' in body
