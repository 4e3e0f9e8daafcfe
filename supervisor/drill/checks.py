"""The invariant suite a drill runs after recovery, with a short settle for the eventual ones."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from supervisor.drill import invariants as inv
from supervisor.drill.report import DrillReport
from supervisor.state_files import VENUE_FILE

Check = Callable[[Path], list[inv.Violation]]

SETTLE_S = 3.0
"""How long an eventual invariant may take to hold: the alerter follows the bus a little behind
the journal, and a journal line may be mid-write. A real break outlasts this."""


def _settled(check: Check, state_dir: Path, settle_s: float) -> list[inv.Violation]:
    deadline = time.monotonic() + settle_s
    while True:
        found = check(state_dir)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def run(
    report: DrillReport, state_dir: Path, *, breaker_before: dict[str, float],
    gone: Iterable[int], quiescent: bool, settle_s: float = SETTLE_S,
) -> None:
    """Run every invariant that applies; record names, violations and skips in ``report``."""
    checks: list[Check] = [inv.no_duplicate_client_order_ids, inv.no_lost_orders,
                           inv.journal_verifies, inv.halts_verify, inv.red_events_in_outbox]
    paper = (state_dir / VENUE_FILE).is_file()
    if quiescent or not paper:
        checks.append(inv.fills_reflected_in_positions)
    else:
        report.notes.append("fills_reflected_in_positions not checked: paper venue and the tree "
                            "is trading (a fill lands at the venue before execution books it); "
                            "the kill-switch drill checks it while HALTED")
    for check in checks:
        report.invariants_checked.append(check.__name__)
        report.violations += _settled(check, state_dir, settle_s)
    report.invariants_checked.append("breaker_monotonic")
    report.violations += inv.breaker_monotonic(breaker_before, inv.breaker_snapshot(state_dir))
    pids = sorted(set(gone))
    if pids:
        report.invariants_checked.append("no_orphans")
        report.violations += inv.no_orphans(pids)
