"""What a tree does with a fleet state, given its own: pure rules over values (docs/adr/0015).

A tree follows its fleet by one rule, used for every fleet cause (a fleet command, the fleet
lost for ``lost_after_s``, the fleet unreachable at start):

- a fleet state *stricter* than the tree's is taken at once;
- a fleet state *looser* than the tree's is taken only when the tree's state was set by the
  fleet itself (a fleet resume lifts a fleet halt, never a local operator's or breaker's halt);
- the link's own causes (``on_lost``, ``unreachable_at_start``) only ever make a tree stricter.

The other half, that no local source may leave the tree looser than its fleet, is
``supervisor.trading_state.check_fleet_floor``.
"""

from __future__ import annotations

from actors._runtime.trading import TradingState
from supervisor.trading_state import STRICTNESS, Source


def follow(
    local: TradingState, set_by: Source | None, wanted: TradingState
) -> TradingState | None:
    """The state to move to when the fleet says ``wanted``; None: keep ``local``.

    Args:
        local: The tree's trading state now.
        set_by: The source of the transition that set ``local`` (None: no transition yet).
        wanted: The fleet's state.
    """
    if wanted is local:
        return None
    if STRICTNESS[wanted] > STRICTNESS[local]:
        return wanted
    return wanted if set_by is Source.FLEET else None


def tighten(local: TradingState, wanted: TradingState | None) -> TradingState | None:
    """The state to move to for a cause of the link's own (fleet lost, unreachable at start):
    ``wanted`` when it is stricter than ``local``, else None (never loosens)."""
    if wanted is None or STRICTNESS[wanted] <= STRICTNESS[local]:
        return None
    return wanted
