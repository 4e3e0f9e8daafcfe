"""The short chaos run of CI: a paper tree trading constantly takes a seeded random schedule of
SIGKILL, SIGSTOP and SIGCONT across all seven processes (the supervisor too, restarted as
systemd would), then every invariant must hold. The long run (``python -m
tests.chaos.long_run``) is the same with more faults; its report is in docs/chaos.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.harness import TARGETS, Chaos

FAULTS = int(os.environ.get("QUANTFUND_CHAOS_FAULTS", "250"))
SEED = int(os.environ.get("QUANTFUND_CHAOS_SEED", "7"))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_short_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    """No duplicate client order id at the venue, no lost order, every fill in execution's
    positions, journal and halts chains verify, every RED event in the alert outbox, breaker
    counters never go backwards, the final drain exits 0 and no process is left."""
    report = Chaos(tmp_path, SEED).run(FAULTS)
    assert report.total_faults >= FAULTS
    kinds = {key.split()[0] for key in report.faults}
    targets = {key.split()[1] for key in report.faults}
    assert kinds == {"SIGKILL", "SIGSTOP", "SIGCONT"}
    assert "supervisor" in targets
    assert len(targets) >= len(TARGETS) - 1
    assert report.supervisor_generations >= 2, "the supervisor was never killed"
    assert report.venue_fills > 0, "nothing traded"
    assert report.violations == [], "\n".join(f"{v.invariant}: {v.detail}"
                                                for v in report.violations)
