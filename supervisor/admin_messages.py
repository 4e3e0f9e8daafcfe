"""Requests and replies on the operator admin socket (msgpack-encoded msgspec structs)."""

from __future__ import annotations

from typing import Union

import msgspec

from supervisor.trading_view import TradingStatus


class AdminRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag=True):
    """Base of admin requests."""


class StatusRequest(AdminRequest, frozen=True, forbid_unknown_fields=True, tag=True):
    """Ask for the tree's status."""


class _Operator(AdminRequest, frozen=True, forbid_unknown_fields=True, tag=True):
    """An operator command: always with who asked and why."""

    reason: str
    """Why (required, non-blank)."""
    who: str
    """Who asks (user and host, as the CLI reports them)."""


class HaltRequest(_Operator, frozen=True, forbid_unknown_fields=True, tag=True):
    """Stop all new trading until an operator resumes."""


class ReduceRequest(_Operator, frozen=True, forbid_unknown_fields=True, tag=True):
    """Allow only exposure-reducing orders."""


class ResumeRequest(_Operator, frozen=True, forbid_unknown_fields=True, tag=True):
    """Back to ACTIVE (from HALTED, REDUCING or PAUSED)."""


class CommandReply(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag=True):
    """Answer to an operator command."""

    ok: bool
    """True when the state is now what was asked."""
    state: str
    """Trading state after the command."""
    seq: int
    """Halts-store row of the transition (0 when nothing changed)."""
    message: str
    """What happened, for a person."""


class ActorStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One child as the supervisor sees it."""

    name: str
    """Child name."""
    pid: int | None
    """Current process id (None when not running)."""
    alive: bool
    """True while its process runs."""
    restarts: int
    """Restarts since the tree started."""
    last_heartbeat_age_s: float | None
    """Seconds since its last heartbeat (None before the first)."""
    iterations: int | None
    """Progress counter from its last heartbeat."""
    restored: dict[str, int | float | str | bool]
    """What it reported loading from disk at its last start."""
    trading_state_seq: int | None = None
    """Halts-store seq of the last trading state it acknowledged."""


class SupervisorStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The supervisor itself."""

    pid: int
    """Process id."""
    uptime_s: float
    """Seconds since it started."""
    strategy: str
    """Restart strategy."""
    bus_seq: int
    """Events published on the bus so far."""
    bad_messages: dict[str, int]
    """Undecodable messages dropped, per socket."""
    tree_live: bool | None
    """The heartbeat actor's last verdict (None before the first)."""


class StatusReply(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag=True):
    """Answer to ``StatusRequest``."""

    trading_state: str
    """ACTIVE, REDUCING, PAUSED or HALTED."""
    trading_state_seq: int
    """Halts-store seq of the current state's transition."""
    halts_store_problem: str | None
    """Why the halts store failed verification (the tree then stays HALTED), or None."""
    supervisor: SupervisorStatus
    """The supervisor."""
    actors: list[ActorStatus]
    """Children in start order."""
    positions: dict[str, float] = msgspec.field(default_factory=dict)
    """Instrument -> signed quantity, as execution last reported it."""
    orders: dict[str, int] = msgspec.field(default_factory=dict)
    """Orders by status, as execution last reported them."""
    state_lost: list[str] = msgspec.field(default_factory=list)
    """Stores found missing, empty, unreadable or behind at this start (``path: what``): the
    tree started HALTED for them; empty when every store held."""
    state_unwritable: list[str] = msgspec.field(default_factory=list)
    """What cannot write now (``actor: waiting for the disk``, ``halts store: problem``):
    trading is HALTED until it can and an operator resumes; empty when everything writes."""
    trading: TradingStatus | None = None
    """Positions, marks, PnL, drawdown and daily loss against their limits, breaker, gate
    headroom, orders, last fill, feeds and alert outbox, as execution, the breaker, the feed
    and the alerter last reported them (None from a supervisor that keeps none)."""


class ErrorReply(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag=True):
    """The request could not be served; ``error`` says why."""

    error: str
    """What was wrong."""


Request = Union[StatusRequest, HaltRequest, ReduceRequest, ResumeRequest]  # noqa: UP007
Reply = Union[StatusReply, CommandReply, ErrorReply]  # noqa: UP007

AnyReply = StatusReply | CommandReply | ErrorReply

REQUEST_DECODER = msgspec.msgpack.Decoder(Request)
REPLY_DECODER = msgspec.msgpack.Decoder(Reply)
ENCODER = msgspec.msgpack.Encoder()
