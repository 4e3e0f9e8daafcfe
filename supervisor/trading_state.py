"""The trading-state transition table: which state changes are allowed, and from whom.

Pure code over values (DESIGN.md section 4): no I/O, no clock of its own. The supervisor asks
``transition`` before it persists a change to the halts store and publishes
``TradingStateChanged``; a refused change raises ``InvalidTransition`` naming the transition and
why it is refused.

The table (``TRANSITIONS``), from -> to: sources allowed to cause it::

    ACTIVE   -> REDUCING  operator, supervisor, heartbeat, fleet
    ACTIVE   -> PAUSED    operator, breaker
    ACTIVE   -> HALTED    operator, breaker, heartbeat, supervisor, halts_store
    REDUCING -> ACTIVE    operator, fleet
    REDUCING -> PAUSED    operator, breaker
    REDUCING -> HALTED    operator, breaker, heartbeat, supervisor, halts_store
    PAUSED   -> ACTIVE    operator, breaker (the breaker's auto-resume after its reset window)
    PAUSED   -> REDUCING  operator
    PAUSED   -> HALTED    operator, breaker, heartbeat, supervisor, halts_store
    HALTED   -> ACTIVE    operator, fleet
    HALTED   -> REDUCING  operator, fleet

Everything else is refused:

- ``HALTED -> PAUSED`` for every source: a pause resumes by itself, so it would let the breaker
  undo a halt that only an operator may lift.
- A transition to the current state: a no-op is refused so that every persisted row records a
  real change.
- Any transition whose ``reason`` is empty or only whitespace: every stop and every resume says
  why (for ``HALTED -> ACTIVE|REDUCING`` this is the operator's stated reason to lift the halt).

What each source may do, read off the table: the breaker pauses, halts and auto-resumes a pause;
heartbeat and halts_store only halt; the supervisor halts (restart intensity) and reduces; only an
operator lifts a halt, leaves REDUCING for ACTIVE or loosens a pause to REDUCING. The fleet
halts, reduces and lifts (only what the fleet itself set: ``supervisor.fleet.rules``).

The fleet floor (``check_fleet_floor``): a tree in a fleet is never looser than the last fleet
state it knows. A fleet ``HALTED`` is lifted only by a fleet resume; a local source may make the
tree stricter than its fleet, never looser.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from actors._runtime.trading import TradingState, allows_order
from supervisor.errors import InvalidTransition

__all__ = [
    "STRICTNESS",
    "TRANSITIONS",
    "Source",
    "Transition",
    "allows_new_orders",
    "allows_order",
    "check_fleet_floor",
    "transition",
]


class Source(enum.StrEnum):
    """Who asked for a trading-state change; raw values are what the halts store records."""

    OPERATOR = "operator"
    """A human, through the admin socket or the CLI."""
    BREAKER = "breaker"
    """The circuit-breaker actor (loss, drawdown, error-rate rules; auto-resume)."""
    HEARTBEAT = "heartbeat"
    """The heartbeat actor, on a hung or missing child."""
    SUPERVISOR = "supervisor"
    """The supervisor itself (restart intensity exceeded, drain)."""
    HALTS_STORE = "halts_store"
    """The halts store (a sticky halt found at start, or a store that fails verification)."""
    EXECUTION = "execution"
    """The execution actor, when its book and the venue's disagree after a reconciliation."""
    FLEET = "fleet"
    """The fleet link: a fleet-wide halt/reduce/resume over NATS, or the link's own rules
    (``fleet.on_lost``, ``fleet.unreachable_at_start``; docs/adr/0015)."""


class Transition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A trading-state change the table allowed, ready to be persisted and published."""

    previous: TradingState
    """State before the change."""
    state: TradingState
    """State after the change."""
    source: Source
    """Who asked."""
    reason: str
    """Why (never empty)."""
    at: float
    """When, in seconds since the epoch, from the caller's clock."""


_A, _R, _P, _H = (
    TradingState.ACTIVE,
    TradingState.REDUCING,
    TradingState.PAUSED,
    TradingState.HALTED,
)
_ANYONE = frozenset(Source)

STRICTNESS: Mapping[TradingState, int] = MappingProxyType({_A: 0, _R: 1, _P: 2, _H: 3})
"""How much each state forbids (higher: stricter)."""

TRANSITIONS: Mapping[tuple[TradingState, TradingState], frozenset[Source]] = MappingProxyType(
    {
        # The heartbeat's stale-feed rule (``on_feed_stale = "reduce"``) narrows to REDUCING.
        (_A, _R): frozenset({Source.OPERATOR, Source.SUPERVISOR, Source.HEARTBEAT, Source.FLEET}),
        (_A, _P): frozenset({Source.OPERATOR, Source.BREAKER}),
        (_A, _H): _ANYONE,
        # The fleet lifts only what the fleet set (supervisor.fleet.rules decides when).
        (_R, _A): frozenset({Source.OPERATOR, Source.FLEET}),
        (_R, _P): frozenset({Source.OPERATOR, Source.BREAKER}),
        (_R, _H): _ANYONE,
        (_P, _A): frozenset({Source.OPERATOR, Source.BREAKER}),
        # Only an operator loosens a pause: a supervisor-made REDUCING would dodge the breaker.
        (_P, _R): frozenset({Source.OPERATOR}),
        (_P, _H): _ANYONE,
        (_H, _A): frozenset({Source.OPERATOR, Source.FLEET}),
        (_H, _R): frozenset({Source.OPERATOR, Source.FLEET}),
    }
)
"""Allowed (from, to) pairs and the sources that may cause each; absent pairs are refused."""

# Refused pairs whose refusal deserves more than "not in the table".
_WHY_ABSENT: Mapping[tuple[TradingState, TradingState], str] = MappingProxyType(
    {
        (_H, _P): (
            "a halt is never downgraded to a pause, which would resume by itself; "
            "only an operator lifts a halt, to ACTIVE or REDUCING"
        ),
    }
)


def transition(
    current: TradingState,
    target: TradingState,
    *,
    source: Source,
    reason: str,
    at: float,
) -> Transition:
    """Check a requested change against the table and return it as a ``Transition``.

    Args:
        current: The trading state now in force.
        target: The state asked for.
        source: Who asks.
        reason: Why; must contain something other than whitespace.
        at: When, in seconds since the epoch (the caller's clock).

    Returns:
        The allowed transition, carrying ``reason`` as given.

    Raises:
        InvalidTransition: The change is a no-op, not in the table, not allowed for ``source``,
            or has no reason. The message names the transition and the cause.
    """
    name = f"{current.value} -> {target.value} by {source.value}"
    if current is target:
        raise InvalidTransition(f"{name} refused: already {current.value}, a no-op is not a change")
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        why = _WHY_ABSENT.get((current, target), "the transition is not in the table")
        raise InvalidTransition(f"{name} refused: {why}")
    if source not in allowed:
        who = ", ".join(sorted(s.value for s in allowed))
        raise InvalidTransition(f"{name} refused: only {who} may cause it")
    if not reason.strip():
        raise InvalidTransition(f"{name} refused: a reason is required and none was given")
    return Transition(previous=current, state=target, source=source, reason=reason, at=at)


def allows_new_orders(state: TradingState) -> bool:
    """Whether ``state`` allows any new order, including one that adds exposure.

    Only ``ACTIVE`` does. This is the orchestrator's "may I emit an unrestricted intent" test;
    a caller that can tell reducing orders apart uses ``allows_order`` instead.
    """
    return allows_order(state, reduces_exposure=False)


def check_fleet_floor(
    current: TradingState, target: TradingState, *, source: Source, floor: TradingState
) -> None:
    """Refuse a change that would leave the tree looser than its fleet's state ``floor``.

    Args:
        current: The trading state now in force.
        target: The state asked for.
        source: Who asks; the fleet itself is never held to its own floor.
        floor: The last fleet state this tree knows (``ACTIVE`` outside a fleet).

    Raises:
        InvalidTransition: ``target`` is looser than ``floor`` and ``source`` is not the fleet;
            the message says what lifts it.
    """
    if source is Source.FLEET or STRICTNESS[target] >= STRICTNESS[floor]:
        return
    raise InvalidTransition(
        f"{current.value} -> {target.value} by {source.value} refused: the fleet is "
        f"{floor.value}; a tree may be made stricter than its fleet, never looser: only a fleet "
        "command (`quantfund fleet resume` / `fleet reduce`) lifts it"
    )
