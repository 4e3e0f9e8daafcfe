"""The fleet audit trail's hash chain (supervisor/fleet/chain.py)."""

from __future__ import annotations

import msgspec
import pytest

from supervisor.fleet.chain import check_chain, next_change
from supervisor.fleet.messages import FleetChange
from supervisor.halts_chain import GENESIS_HASH


def _chain(n: int) -> list[FleetChange]:
    out: list[FleetChange] = []
    for i in range(n):
        out.append(next_change(out[-1] if out else None, ("HALTED", "ACTIVE")[i % 2],
                               who="op@host", reason=f"drill {i}", at=1_700_000_000.0 + i))
    return out


def test_a_chain_of_changes_verifies() -> None:
    """Changes made one after the other link from the genesis hash and verify."""
    chain = _chain(5)
    assert chain[0].prev_hash == GENESIS_HASH
    assert [c.seq for c in chain] == [1, 2, 3, 4, 5]
    report = check_chain(chain)
    assert report.ok
    assert report.rows_checked == 5


@pytest.mark.parametrize("field", ["state", "reason", "who", "at"])
def test_an_edited_change_is_found(field: str) -> None:
    """Editing any covered field of an entry breaks its hash at that entry."""
    chain = _chain(4)
    value = {"state": "REDUCING", "reason": "edited", "who": "x", "at": 1.0}[field]
    chain[2] = msgspec.structs.replace(chain[2], **{field: value})
    report = check_chain(chain)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "hash" in report.problem


def test_a_removed_change_is_found() -> None:
    """A gap names the missing seq."""
    chain = _chain(4)
    del chain[1]
    report = check_chain(chain)
    assert not report.ok
    assert report.first_bad_seq == 2


def test_a_relinked_change_is_found() -> None:
    """A change whose prev_hash is not the previous change's hash breaks the link."""
    chain = _chain(3)
    chain[2] = next_change(chain[0], "HALTED", who="op@host", reason="forged", at=5.0)
    chain[2] = msgspec.structs.replace(chain[2], seq=3)
    report = check_chain(chain)
    assert not report.ok
    assert report.first_bad_seq == 3


def test_a_blank_reason_is_refused() -> None:
    """Every fleet command says who and why."""
    with pytest.raises(ValueError, match="non-blank"):
        next_change(None, "HALTED", who="op@host", reason="  ", at=1.0)
