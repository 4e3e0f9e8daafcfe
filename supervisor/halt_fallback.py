"""Layer 3 by hand: write HALTED straight into the halts store when the supervisor is silent.

Used by ``quantfund halt`` and by the alerter's Telegram ``/halt`` when the admin socket does not
answer. Execution checks the store before every order (``actors._runtime.halts_reader``), so the
halt takes effect without the supervisor; the supervisor itself learns of it at its next start.
"""

from __future__ import annotations

import time
from pathlib import Path

from actors._runtime.halts_reader import HALTS_FILE
from actors._runtime.trading import TradingState
from supervisor.halts import HaltsStore
from supervisor.trading_state import Source, transition


def halt_in_store(state_dir: Path, *, reason: str, who: str, why: str, via: str) -> int:
    """Append a HALTED transition to ``<state_dir>/halts.sqlite`` unless it is HALTED already.

    Args:
        state_dir: The tree's state directory.
        reason: Why the operator halts (recorded in the row).
        who: The operator (``user@host``, ``telegram:<id>``).
        why: Why the supervisor was not asked (its silence, as the client saw it).
        via: What wrote the row (``halts store``, ``telegram``), kept in its payload.

    Returns:
        The seq of the row written, or 0 when the store said HALTED already.
    """
    store = HaltsStore.open(state_dir / HALTS_FILE)
    try:
        current = store.current_state()
        if current is TradingState.HALTED:
            return 0
        change = transition(current, TradingState.HALTED, source=Source.OPERATOR,
                            reason=reason, at=time.time())
        return store.append_transition(
            change, who=who, payload={"command": "halt", "via": via, "supervisor": why},
        ).seq
    finally:
        store.close()
