"""The ``[fleet]`` config section: which NATS servers, which tree, what to do without them."""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from actors._runtime.trading import TradingState

TREE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A tree id: it is a NATS subject token and a KV key, so letters, digits, ``_`` and ``-``."""


class FleetConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Joining a fleet (README, Fleet). Credentials never come from here: see
    ``supervisor.fleet.credentials``."""

    servers: list[str]
    """NATS URLs of the fleet's cluster (``nats://10.0.0.1:4222``, ``tls://...``)."""
    tree_id: str = ""
    """This tree's name in the fleet; required for ``quantfund up`` (the CLI needs none)."""
    lost_after_s: float = 5.0
    """Seconds without the fleet after which the tree goes to ``on_lost``."""
    on_lost: Literal["reducing", "halted"] = "reducing"
    """The state a tree takes when it has lost the fleet for ``lost_after_s`` (never looser
    than it is)."""
    unreachable_at_start: Literal["halt", "reduce", "trade"] = "reduce"
    """What a tree does when no fleet server answers at its start: go HALTED, go REDUCING, or
    trade on its own sticky state."""
    connect_timeout_s: float = 2.0
    """How long a start waits for the fleet before ``unreachable_at_start`` applies."""
    summary_interval_s: float = 1.0
    """Seconds between two status summaries this tree publishes (also sent on every change)."""
    replicas: int = 3
    """Replicas of the fleet's KV bucket and audit stream when this tree or CLI creates them
    (3 in a 3-node cluster; 1 for a single server)."""
    tls_ca_file: str = ""
    """CA bundle to verify the servers with (TLS when set, or with a ``tls://`` URL)."""
    tls_cert_file: str = ""
    """Client certificate, for servers that verify clients; with ``tls_key_file``."""
    tls_key_file: str = ""
    """The client certificate's key (a path: the key itself never sits in config)."""

    def on_lost_state(self) -> TradingState:
        """``on_lost`` as a trading state."""
        return TradingState.HALTED if self.on_lost == "halted" else TradingState.REDUCING

    def at_start_state(self) -> TradingState | None:
        """``unreachable_at_start`` as a trading state; None for ``trade``."""
        return {"halt": TradingState.HALTED, "reduce": TradingState.REDUCING,
                "trade": None}[self.unreachable_at_start]


def problems(fleet: FleetConfig) -> list[tuple[str, str]]:
    """Cross-field problems as (key under ``fleet.``, what is wrong); empty when sound."""
    found: list[tuple[str, str]] = []
    if not fleet.servers:
        found.append(("servers", "empty: name at least one NATS server (nats://host:4222)"))
    for i, url in enumerate(fleet.servers):
        if not re.fullmatch(r"(nats|tls)://[^\s/]+", url):
            found.append((f"servers[{i}]", f"{url!r} is not nats://host:port or tls://host:port"))
    if fleet.tree_id and not TREE_ID.fullmatch(fleet.tree_id):
        found.append(("tree_id", f"{fleet.tree_id!r}: use 1-64 letters, digits, '_' or '-'"))
    for key in ("lost_after_s", "connect_timeout_s", "summary_interval_s"):
        if not getattr(fleet, key) > 0:
            found.append((key, "must be a number of seconds > 0"))
    if fleet.replicas not in (1, 3, 5):
        found.append(("replicas", f"{fleet.replicas}: JetStream replicas are 1, 3 or 5"))
    if bool(fleet.tls_cert_file) != bool(fleet.tls_key_file):
        found.append(("tls_cert_file", "a client certificate needs tls_key_file too (and back)"))
    return found
