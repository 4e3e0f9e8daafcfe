"""The kill switch in a fleet: the fleet floor refuses a looser local change, and the floor,
the applied fleet seq and who set the state survive a restart (from the halts store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors._runtime.trading import TradingState
from supervisor.errors import InvalidTransition
from supervisor.halts import RowKind
from supervisor.killswitch import KillSwitch
from supervisor.trading_state import Source

A, R, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def _open(path: Path) -> KillSwitch:
    ks = KillSwitch(path, lambda _e: None)
    ks.open()
    if ks.state is H and ks.seq <= 1:  # a fresh store starts HALTED
        ks.change(A, source=Source.OPERATOR, who="op", reason="start trading")
    return ks


def test_a_fleet_halt_refuses_a_local_resume_and_sticks_across_a_restart(
    tmp_path: Path
) -> None:
    """HALTED by the fleet: a local resume is refused naming the fleet; reopened, the store
    gives back the floor, the seq and the fleet as the state's setter; a fleet resume lifts
    it."""
    ks = _open(tmp_path)
    ks.change(H, source=Source.FLEET, who="fleet:op@h", reason="fleet HALTED: stop",
              payload={"fleet_seq": 4, "fleet_state": "HALTED"})
    ks.fleet_applied(H, 4)
    with pytest.raises(InvalidTransition, match="the fleet is HALTED"):
        ks.change(A, source=Source.OPERATOR, who="op", reason="mine")
    ks.close()

    again = KillSwitch(tmp_path, lambda _e: None)
    again.open()
    assert (again.state, again.set_by) == (H, Source.FLEET)
    assert (again.fleet_floor, again.fleet_seq) == (H, 4)
    with pytest.raises(InvalidTransition, match="fleet resume"):
        again.change(R, source=Source.OPERATOR, who="op", reason="mine")
    again.change(A, source=Source.FLEET, who="fleet:op@h", reason="fleet ACTIVE: go",
                 payload={"fleet_seq": 5, "fleet_state": "ACTIVE"})
    again.fleet_applied(A, 5)
    assert again.state is A
    again.close()


def test_a_note_row_carries_the_floor_when_nothing_changed(tmp_path: Path) -> None:
    """Already HALTED by the operator when the fleet halts: only a note is written, and it is
    what keeps the floor after a restart."""
    ks = _open(tmp_path)
    ks.change(H, source=Source.OPERATOR, who="op", reason="local stop")
    ks.audit(RowKind.NOTE, source=Source.FLEET, who="fleet:op@h", reason="fleet HALTED (kept)",
             payload={"fleet_seq": 2, "fleet_state": "HALTED"})
    ks.close()
    again = KillSwitch(tmp_path, lambda _e: None)
    again.open()
    assert (again.set_by, again.fleet_floor, again.fleet_seq) == (Source.OPERATOR, H, 2)
    again.close()
