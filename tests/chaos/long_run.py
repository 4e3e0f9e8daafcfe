"""The long chaos run: ``uv run python -m tests.chaos.long_run --faults 1000 [--seed N]``.

Same harness as the short run in the test suite, more faults; prints a markdown report (the one
kept in docs/chaos.md) and exits 1 if any invariant was violated.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.harness import Chaos, ChaosReport


def markdown(report: ChaosReport, faults_asked: int) -> str:
    """The report as the markdown kept in docs/chaos.md."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Run on {time.strftime('%Y-%m-%d', time.gmtime())}, seed {report.seed}, "
        f"{faults_asked} faults asked, load average at the end {load}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| faults injected | {report.total_faults} |",
        f"| duration | {report.duration_s} s |",
        f"| supervisor generations (killed and restarted) | {report.supervisor_generations} |",
        f"| operator resumes (halts the chaos caused) | {report.operator_resumes} |",
        f"| breaker snapshots compared | {report.breaker_samples} |",
        f"| orders at the venue / filled | {report.venue_orders} / {report.venue_fills} |",
        f"| invariants checked | {', '.join(report.checked)} |",
        f"| **violations** | **{len(report.violations)}** |",
        "",
        "| fault | count |",
        "|---|---|",
    ]
    lines += [f"| {key} | {n} |" for key, n in sorted(report.faults.items())]
    lines += [f"- VIOLATED {v.invariant}: {v.detail}" for v in report.violations]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run, print the report; exit 1 on any violation."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--faults", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qf-chaos-", dir="/tmp") as tmp:
        report = Chaos(Path(tmp), args.seed).run(args.faults)
    print(markdown(report, args.faults))
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
