"""What a drill reports: timings, state before/after, comparisons, invariants; text or JSON."""

from __future__ import annotations

import msgspec

from supervisor.drill.invariants import Violation


class StateView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The tree as ``status`` showed it at one moment."""

    trading_state: str
    """ACTIVE, REDUCING, PAUSED or HALTED."""
    trading_state_seq: int
    """Halts-store seq of that state."""
    supervisor_pid: int
    """The supervisor's pid."""
    pids: dict[str, int | None]
    """Child name -> pid (None while not running)."""
    positions: dict[str, float]
    """Instrument -> signed quantity, as execution last published it."""
    orders: dict[str, int]
    """Orders by status, as execution last published them."""


class Comparison(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One field of the state compared before/after the drill."""

    field: str
    """What is compared."""
    expected: str
    """``equal``, ``different``, ``not less``, ``informational`` or an expected value."""
    before: str
    """Value before."""
    after: str
    """Value after."""
    holds: bool
    """The expectation is met (always true for ``informational``)."""
    why: str = ""
    """Why this expectation."""


class DrillReport(msgspec.Struct, forbid_unknown_fields=True):
    """The outcome of one drill; ``ok`` only when everything held and recovery happened."""

    scenario: str
    """crash, hang, kill-supervisor or kill-switch."""
    target: str
    """The child, ``supervisor`` or ``trading state``."""
    ok: bool = False
    """No violation, every must-hold comparison holds, recovery within the timeout."""
    detection_ms: float | None = None
    """From the drill's action to the tree noticing it (see ``detection``)."""
    detection: str = ""
    """What counted as detection."""
    recovery_ms: float | None = None
    """From the drill's action to the tree working again (see ``recovery``)."""
    recovery: str = ""
    """What counted as recovery."""
    state_before: StateView | None = None
    """Status before the drill."""
    state_after: StateView | None = None
    """Status once the drill is over (after the resume, when it resumes)."""
    comparisons: list[Comparison] = msgspec.field(default_factory=list)
    """Before/after, each with its expectation."""
    invariants_checked: list[str] = msgspec.field(default_factory=list)
    """Names of the invariants run after recovery."""
    violations: list[Violation] = msgspec.field(default_factory=list)
    """Broken invariants."""
    failure: str = ""
    """Why the drill failed apart from violations (no recovery, tree not running), or ''."""
    notes: list[str] = msgspec.field(default_factory=list)
    """What the reader should know (policies applied, checks skipped and why)."""

    def conclude(self) -> DrillReport:
        """Set ``ok`` from the findings; returns self."""
        self.ok = (not self.failure and not self.violations
                   and all(c.holds for c in self.comparisons))
        return self


def to_json(report: DrillReport) -> str:
    """One line of JSON."""
    return msgspec.json.encode(report).decode()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def render(report: DrillReport) -> str:
    """The report for a person."""
    head = "PASSED" if report.ok else "FAILED"
    lines = [f"drill {report.scenario} ({report.target}): {head}"]
    if report.failure:
        lines.append(f"  failure: {report.failure}")
    for label, ms, what in (("detection", report.detection_ms, report.detection),
                            ("recovery ", report.recovery_ms, report.recovery)):
        if what:
            lines.append(f"  {label}: {_ms(ms)}  ({what})")
    if report.comparisons:
        lines.append("  state before -> after:")
        for c in report.comparisons:
            mark = "ok " if c.holds else "BAD"
            why = f"  [{c.why}]" if c.why else ""
            lines.append(f"    {mark} {c.field}: {c.before} -> {c.after} (expected {c.expected})"
                         f"{why}")
    lines.append(f"  invariants checked: {', '.join(report.invariants_checked) or 'none'}")
    for v in report.violations:
        lines.append(f"  VIOLATED {v.invariant}: {v.detail}")
    for note in report.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
