"""The trading-state transition table (supervisor/trading_state.py)."""

from __future__ import annotations

import itertools

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors._runtime.trading import TradingState
from supervisor.errors import InvalidTransition
from supervisor.trading_state import (
    Source,
    Transition,
    allows_new_orders,
    allows_order,
    check_fleet_floor,
    transition,
)

A, R, P, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.PAUSED, TradingState.HALTED
OP, BR, HB, SV, HS, EX, FL = (
    Source.OPERATOR,
    Source.BREAKER,
    Source.HEARTBEAT,
    Source.SUPERVISOR,
    Source.HALTS_STORE,
    Source.EXECUTION,
    Source.FLEET,
)

# Written out by hand from DESIGN.md section 4 and the kill-switch brief, not read from the
# module's table, so that a wrong table entry fails here.
EXPECTED_ALLOWED: set[tuple[TradingState, TradingState, Source]] = {
    (A, R, OP),
    (A, R, SV),
    (A, R, HB),  # the heartbeat's stale-feed rule (on_feed_stale = "reduce")
    (A, P, OP),
    (A, P, BR),
    (A, H, OP),
    (A, H, BR),
    (A, H, HB),
    (A, H, SV),
    (A, H, HS),
    (A, H, EX),  # execution's positions differ from the venue's after reconciliation
    (R, A, OP),
    (R, P, OP),
    (R, P, BR),
    (R, H, OP),
    (R, H, BR),
    (R, H, HB),
    (R, H, SV),
    (R, H, HS),
    (R, H, EX),
    (P, A, OP),
    (P, A, BR),
    (P, R, OP),
    (P, H, OP),
    (P, H, BR),
    (P, H, HB),
    (P, H, SV),
    (P, H, HS),
    (P, H, EX),
    (H, A, OP),
    (H, R, OP),
    # The fleet (issue 16): halts, reduces, and lifts what it set itself (fleet.rules).
    (A, R, FL),
    (A, H, FL),
    (R, A, FL),
    (R, H, FL),
    (P, H, FL),
    (H, A, FL),
    (H, R, FL),
}

ALL_TRIPLES = list(itertools.product(TradingState, TradingState, Source))


def _id(t: tuple[TradingState, TradingState, Source]) -> str:
    return f"{t[0].value}->{t[1].value}-by-{t[2].value}"


ALLOWED = sorted(EXPECTED_ALLOWED, key=_id)
REFUSED = sorted((t for t in ALL_TRIPLES if t not in EXPECTED_ALLOWED), key=_id)


@pytest.mark.parametrize("triple", ALLOWED, ids=_id)
def test_allowed_transition_returns_it(triple: tuple[TradingState, TradingState, Source]) -> None:
    """Each transition the design allows, from its allowed source, comes back as a Transition."""
    current, target, source = triple
    got = transition(current, target, source=source, reason="because", at=12.5)
    assert got == Transition(
        previous=current, state=target, source=source, reason="because", at=12.5
    )


@pytest.mark.parametrize("triple", REFUSED, ids=_id)
def test_refused_transition_raises(triple: tuple[TradingState, TradingState, Source]) -> None:
    """Every (from, to, source) not in the expected list is refused, even with a reason."""
    current, target, source = triple
    with pytest.raises(InvalidTransition) as info:
        transition(current, target, source=source, reason="because", at=0.0)
    # The message names the transition so an operator can tell what was refused.
    assert f"{current.value} -> {target.value} by {source.value}" in str(info.value)


def test_matrix_is_complete() -> None:
    """The two parametrized lists cover all 4 x 4 x 7 triples, so no case goes untested."""
    assert len(ALLOWED) + len(REFUSED) == 4 * 4 * 7


@pytest.mark.parametrize("state", list(TradingState), ids=lambda s: s.value)
def test_same_state_is_refused_as_noop(state: TradingState) -> None:
    """A transition to the current state is refused, and the message says it is a no-op."""
    with pytest.raises(InvalidTransition, match="no-op"):
        transition(state, state, source=Source.OPERATOR, reason="again", at=0.0)


@pytest.mark.parametrize("source", list(Source), ids=lambda s: s.value)
def test_halted_to_paused_is_refused_saying_why(source: Source) -> None:
    """HALTED -> PAUSED is refused for every source, explaining that a halt is not downgraded."""
    with pytest.raises(InvalidTransition, match="never downgraded"):
        transition(H, P, source=source, reason="breaker tripped", at=0.0)


def test_wrong_source_message_names_allowed_sources() -> None:
    """A source the table does not allow is told which sources may cause the transition."""
    with pytest.raises(InvalidTransition, match=r"only fleet, operator may cause it"):
        transition(H, A, source=Source.BREAKER, reason="reset window elapsed", at=0.0)


@pytest.mark.parametrize("reason", ["", " ", "\t\n"], ids=["empty", "space", "whitespace"])
@pytest.mark.parametrize("triple", ALLOWED, ids=_id)
def test_reason_is_required(triple: tuple[TradingState, TradingState, Source], reason: str) -> None:
    """Every allowed transition is refused when its reason is empty or only whitespace."""
    current, target, source = triple
    with pytest.raises(InvalidTransition, match="reason is required"):
        transition(current, target, source=source, reason=reason, at=0.0)


def test_transition_is_frozen_and_strict() -> None:
    """A Transition cannot be altered after the table allowed it, and rejects unknown fields."""
    t = transition(A, H, source=Source.HEARTBEAT, reason="orchestrator hung", at=1.0)
    with pytest.raises(AttributeError):
        t.state = A  # type: ignore[misc]
    raw = msgspec.json.encode(t)
    assert msgspec.json.decode(raw, type=Transition) == t
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(raw[:-1] + b',"extra":1}', type=Transition)


def test_source_raw_values() -> None:
    """The raw source values are the words the halts store and the event carry."""
    assert [s.value for s in Source] == [
        "operator",
        "breaker",
        "heartbeat",
        "supervisor",
        "halts_store",
        "execution",
        "fleet",
    ]


@given(
    target=st.sampled_from(list(TradingState)),
    source=st.sampled_from(list(Source)),
    reason=st.text(max_size=20),
    at=st.floats(allow_nan=False),
)
def test_only_operator_or_fleet_with_reason_leaves_halted(
    target: TradingState, source: Source, reason: str, at: float
) -> None:
    """From HALTED, only an operator or the fleet with a non-blank reason gets out, to ACTIVE
    or REDUCING (which fleet changes a tree takes is supervisor.fleet.rules' to decide)."""
    should_pass = (source in {Source.OPERATOR, Source.FLEET} and bool(reason.strip())
                   and target in {A, R})
    try:
        got = transition(H, target, source=source, reason=reason, at=at)
    except InvalidTransition:
        assert not should_pass
    else:
        assert should_pass
        assert (got.previous, got.state, got.source, got.reason) == (H, target, source, reason)


@pytest.mark.parametrize(
    ("state", "increasing", "reducing"),
    [(A, True, True), (R, False, True), (P, False, False), (H, False, False)],
    ids=lambda v: v.value if isinstance(v, TradingState) else str(v),
)
def test_allows_order(state: TradingState, increasing: bool, reducing: bool) -> None:
    """ACTIVE allows every order, REDUCING only reducing ones, PAUSED and HALTED none."""
    assert allows_order(state, reduces_exposure=False) is increasing
    assert allows_order(state, reduces_exposure=True) is reducing


@pytest.mark.parametrize(
    ("state", "expected"), [(A, True), (R, False), (P, False), (H, False)], ids=str
)
def test_allows_new_orders_only_when_active(state: TradingState, expected: bool) -> None:
    """Only ACTIVE allows an unrestricted new order; REDUCING needs allows_order's distinction."""
    assert allows_new_orders(state) is expected


@pytest.mark.parametrize("source", [s for s in Source if s is not Source.FLEET], ids=str)
def test_fleet_halt_is_lifted_by_no_local_source(source: Source) -> None:
    """Under a fleet HALTED, no local source may loosen the tree to any other state."""
    for target in (A, R, P):
        with pytest.raises(InvalidTransition, match=r"the fleet is HALTED.*fleet resume"):
            check_fleet_floor(H, target, source=source, floor=H)


def test_fleet_floor_allows_stricter_and_the_fleet_itself() -> None:
    """A tree may be made stricter than its fleet; the fleet is not held to its own floor."""
    check_fleet_floor(A, H, source=OP, floor=R)
    check_fleet_floor(R, P, source=BR, floor=R)
    check_fleet_floor(H, R, source=OP, floor=R)
    check_fleet_floor(H, A, source=FL, floor=H)
    check_fleet_floor(H, A, source=OP, floor=A)


def test_fleet_reducing_refuses_a_local_resume_to_active() -> None:
    """Under a fleet REDUCING, a local resume to ACTIVE is refused, naming the fleet."""
    with pytest.raises(InvalidTransition, match="the fleet is REDUCING"):
        check_fleet_floor(R, A, source=OP, floor=R)
