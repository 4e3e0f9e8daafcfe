"""What a tree does with a fleet state given its own (supervisor/fleet/rules.py)."""

from __future__ import annotations

import itertools

import pytest

from actors._runtime.trading import TradingState
from supervisor.fleet.rules import follow, tighten
from supervisor.trading_state import STRICTNESS, Source

A, R, P, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.PAUSED, TradingState.HALTED
FLEET_STATES = (A, R, H)


@pytest.mark.parametrize("local", list(TradingState), ids=str)
@pytest.mark.parametrize("set_by", [None, *Source], ids=str)
def test_a_fleet_halt_halts_every_tree(local: TradingState, set_by: Source | None) -> None:
    """Whatever a tree's state and whoever set it, a fleet HALTED leaves it HALTED."""
    assert (follow(local, set_by, H) or local) is H


@pytest.mark.parametrize("set_by", [s for s in Source if s is not Source.FLEET], ids=str)
def test_a_fleet_resume_never_lifts_a_local_halt(set_by: Source) -> None:
    """A halt set by the operator, breaker, heartbeat... stays when the fleet resumes."""
    assert follow(H, set_by, A) is None
    assert follow(H, set_by, R) is None


def test_a_fleet_resume_lifts_what_the_fleet_set() -> None:
    """The fleet's own halt or reduce is lifted by the fleet's resume or reduce."""
    assert follow(H, Source.FLEET, A) is A
    assert follow(H, Source.FLEET, R) is R
    assert follow(R, Source.FLEET, A) is A


def test_a_breaker_pause_is_kept_under_a_looser_fleet_state() -> None:
    """PAUSED (the breaker's) is stricter than REDUCING: a fleet reduce keeps it."""
    assert follow(P, Source.BREAKER, R) is None
    assert follow(P, Source.BREAKER, A) is None


def test_follow_never_goes_looser_unless_the_fleet_set_it() -> None:
    """Over every combination: a looser result only when the current state is the fleet's."""
    for local, set_by, wanted in itertools.product(TradingState, [None, *Source], FLEET_STATES):
        got = follow(local, set_by, wanted)
        if got is not None and STRICTNESS[got] < STRICTNESS[local]:
            assert set_by is Source.FLEET, (local, set_by, wanted)
        if got is not None:
            assert got is wanted


@pytest.mark.parametrize(("local", "wanted", "expected"), [
    (A, R, R), (A, H, H), (R, R, None), (P, R, None), (H, R, None), (R, H, H), (A, None, None),
])
def test_tighten_only_makes_stricter(
    local: TradingState, wanted: TradingState | None, expected: TradingState | None
) -> None:
    """The link's own causes (lost, unreachable at start) never loosen a tree."""
    assert tighten(local, wanted) is expected
