"""What travels on the fleet's NATS subjects and sits in its KV buckets (frozen msgspec)."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec

from supervisor.fleet.errors import FleetMessageMalformed

FleetStateName = Literal["ACTIVE", "REDUCING", "HALTED"]
"""The states a fleet command sets (a fleet never pauses: a pause resumes by itself)."""

BUCKET = "quantfund_fleet"
"""KV bucket holding the fleet state under ``STATE_KEY``."""
STATE_KEY = "state"
"""Key of the fleet state in ``BUCKET``."""
TREES_BUCKET = "quantfund_fleet_trees"
"""KV bucket holding each tree's last summary under its tree id."""
AUDIT_STREAM = "QUANTFUND_FLEET_AUDIT"
"""Stream of every fleet change, hash-chained (the fleet's audit trail)."""
AUDIT_SUBJECT = "quantfund.fleet.audit"
"""Subject of the audit stream's entries."""
ACK_PREFIX = "quantfund.fleet.ack"
"""Acks go to ``<ACK_PREFIX>.<fleet seq>.<tree id>``."""


class FleetChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One fleet command as recorded: the KV's value and the audit stream's entry."""

    seq: int
    """Position in the fleet's chain, 1..n."""
    state: FleetStateName
    """The fleet state this change sets."""
    who: str
    """Who gave the command (``user@host``)."""
    reason: str
    """Why (never blank)."""
    at: float
    """When, in seconds since the epoch, on the commanding host's clock."""
    prev_hash: str
    """Hash of the previous change (64 zeros for the first)."""
    hash: str
    """SHA-256 hex of this change's content including ``prev_hash`` (``chain.change_hash``)."""


class FleetAck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A tree's word that it applied a fleet change through its own kill switch."""

    tree_id: str
    """Which tree."""
    seq: int
    """The fleet change applied."""
    state: str
    """The tree's trading state after applying it."""
    changed: bool
    """False when the tree was already at least as strict (or kept a local state)."""
    at: float
    """When, in seconds since the epoch, on the tree's clock."""


class TreeSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A tree's status as the fleet sees it (``quantfund fleet status``)."""

    tree_id: str
    """Which tree."""
    host: str
    """Its host name."""
    pid: int
    """Its supervisor's pid."""
    version: str
    """Quantfund's version on that tree."""
    trading_state: str
    """Its trading state now."""
    fleet_seq: int
    """The last fleet change it applied (0: none)."""
    live: bool | None
    """The heartbeat actor's last verdict on the tree (None before one)."""
    equity: float | None
    """Account equity from execution's last report (None before one)."""
    drawdown_pct: float | None
    """Drawdown from peak, per cent, from the breaker's last report (None before one)."""
    positions: int
    """Instruments with a non-zero position."""
    at: float
    """When the summary was made, in seconds since the epoch (staleness is measured to it)."""
    stopped: bool = False
    """The tree's last word at a clean stop: not expected to acknowledge until it is back."""


T = TypeVar("T", FleetChange, FleetAck, TreeSummary)

_decoders: dict[type, msgspec.json.Decoder[Any]] = {}


def decode(raw: bytes, kind: type[T]) -> T:
    """``raw`` as ``kind``, or ``FleetMessageMalformed`` naming what was wrong."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        out: T = decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FleetMessageMalformed(f"not a {kind.__name__}: {exc}") from exc
    return out


def encode(msg: msgspec.Struct) -> bytes:
    """A fleet message as JSON bytes (readable with the ``nats`` CLI too)."""
    return msgspec.json.encode(msg)
