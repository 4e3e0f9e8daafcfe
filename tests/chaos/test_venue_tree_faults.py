"""The venue fault suite at tree level (``tests/chaos/venue_tree.py``): at least 500 orders at
the local exchange through a whole tree, with at least 200 faults on both sides of the wire
(execution and supervisor SIGKILLs, websocket drops and exchange restarts among them), a halt
halfway and one at the end. Figures: docs/chaos.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.venue_tree import EXCHANGE_ARGS, VenueChaos
from tests.support.exchange.process import local_exchange

ORDERS = int(os.environ.get("QUANTFUND_VENUE_TREE_ORDERS", "500"))
FAULTS = int(os.environ.get("QUANTFUND_VENUE_TREE_FAULTS", "200"))
SEED = int(os.environ.get("QUANTFUND_VENUE_TREE_SEED", "3"))


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_tree_keeps_orders_exactly_once_through_venue_and_process_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No duplicate, no lost fill, every order final, positions and balances the venue's, a
    halt leaves nothing resting: over ``ORDERS`` orders and ``FAULTS`` faults."""
    monkeypatch.setenv("QUANTFUND_VENUE_KEY", "test-key")  # restored after the test
    monkeypatch.setenv("QUANTFUND_VENUE_SECRET", "test-secret")
    with local_exchange(tmp_path / "exchange.sqlite", *EXCHANGE_ARGS) as x:
        report = VenueChaos(tmp_path, x, SEED).run(ORDERS, FAULTS)
    print(report)
    assert report.venue_orders >= ORDERS
    assert report.total_faults >= FAULTS
    for kind in ("SIGKILL execution", "SIGKILL supervisor", "ws_close", "exchange restart"):
        assert report.faults[kind], f"no {kind} in the run"
    assert report.halts_clean == 2
    assert report.partially_filled_orders or report.venue_trades > report.venue_orders
    assert not report.violations, "\n".join(report.violations[:30])
