"""Every store of a state directory checked offline: there, readable, and consistent with the
others. One finding per store; the tree starts ``HALTED`` when any finding fails.

The rule (fail closed): a store that is missing or unreadable where the state directory
shows a tree with history never reads as a new store, and a halts store that lacks the last
row the journal recorded (cut short, or restored from an older copy) never reads as current.
A fresh state directory (no history anywhere) passes: it is a new tree.

Run at every start by the supervisor (``full=False``: ``quick_check``, values a start loads)
and by ``quantfund state check`` (``full=True``: ``integrity_check``, every value, the
journal's chain against its anchors).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actors._runtime.halts_reader import HALTS_FILE
from actors.execution.reconcile import position_differences
from actors.journal.halts_seen import HaltsSeen
from supervisor import state_files as sf
from supervisor.errors import HaltsStoreTampered
from supervisor.halts import HaltsStore, verify

_RESTORE = ("restore the file from a backup of this state directory, or run "
            "`quantfund resume --reason ...` once you have checked that the tree may trade "
            "without what it held")


@dataclass(frozen=True)
class Finding:
    """One store's verdict."""

    store: str
    """The store (``halts``, an actor's name, ``journal``, ``paper-venue``, ``outbox``)."""
    path: str
    """Its file or folder."""
    ok: bool
    """It holds."""
    detail: str
    """What was found (rows, entries), or the problem when not ``ok``."""
    remedy: str = ""
    """What an operator can do; '' when ``ok``."""


@dataclass(frozen=True)
class StateReport:
    """All findings for one state directory."""

    findings: list[Finding]
    """One per store, in start order."""
    history: list[str] = field(default_factory=list)
    """What shows a tree with history ('' for a fresh directory)."""

    @property
    def ok(self) -> bool:
        """Every store holds."""
        return all(f.ok for f in self.findings)

    def problems(self) -> list[Finding]:
        """The findings that fail."""
        return [f for f in self.findings if not f.ok]

    def reason(self) -> str:
        """One sentence naming every failing store and what was found, for a halt's reason."""
        parts = [f"{f.path}: {f.detail}" for f in self.problems()]
        evidence = "; ".join(self.history[:3])
        return "state lost or unreadable: " + " | ".join(parts) + (
            f" (history: {evidence})" if evidence else "")


def _bad(store: str, path: Path, detail: str, remedy: str = _RESTORE) -> Finding:
    return Finding(store, str(path), False, detail, remedy)


def _lost(store: str, path: Path, problem: str) -> Finding:
    return _bad(store, path, f"{problem} while the state directory shows a tree with history")


def check(state_dir: Path, kv_stores: Sequence[str], *, full: bool = False) -> StateReport:
    """Check every store of ``state_dir``.

    Args:
        state_dir: The state directory.
        kv_stores: The actors whose state files (``<name>.sqlite``) must be there.
        full: ``integrity_check`` and every value, plus the journal's chain (offline);
            else what a start can afford.

    Returns:
        The findings; never raises for a bad file.
    """
    history = sf.history(state_dir, list(kv_stores))
    findings = [check_halts(state_dir, history)]
    books: dict[str, sf.KvContents] = {}
    for name in kv_stores:
        finding, kv = _check_kv(state_dir, name, history, full=full)
        findings.append(finding)
        if kv is not None:
            books[name] = kv
    if "journal" in kv_stores:
        findings.append(_check_journal(state_dir, history, full=full))
    if "alerter" in kv_stores:
        findings.append(_check_plain(state_dir / sf.OUTBOX_FILE, "outbox", history, full=full))
    if "execution" in kv_stores:
        findings.append(_check_venue(state_dir, books.get("execution"), full=full))
    return StateReport(findings, history)


def check_halts(state_dir: Path, history: list[str]) -> Finding:
    """The halts store: its chain, rows where there is history, the journal's last row."""
    path = state_dir / HALTS_FILE
    problem = sf.file_problem(path)
    if problem:
        return _lost("halts", path, problem) if history else Finding(
            "halts", str(path), True, "none yet (fresh state directory)")
    report = verify(path)
    if not report.ok:
        where = f" at row {report.first_bad_seq}" if report.first_bad_seq else ""
        return _bad("halts", path, f"{report.problem}{where}",
                    "inspect with `quantfund halts verify`; move the file aside to start a new "
                    "chain (the tree then starts HALTED)")
    if report.rows_checked == 0 and history:
        return _lost("halts", path, "no rows")
    behind = behind_journal(path, sf.halts_seen(state_dir))
    if behind:
        return _bad("halts", path, behind)
    return Finding("halts", str(path), True, f"{report.rows_checked} rows, chain intact")


def behind_journal(path: Path, seen: HaltsSeen | None) -> str:
    """'' when the halts store holds the last row the journal recorded; else the mismatch."""
    if seen is None:
        return ""
    try:
        store = HaltsStore.open_readonly(path)
        try:
            head, row = store.head_seq(), store.row(seen.seq)
        finally:
            store.close()
    except (HaltsStoreTampered, sqlite3.Error) as exc:
        return f"cannot be compared with the journal: {exc}"
    if row is None:
        return (f"behind the journal: the journal recorded halts row {seen.seq} "
                f"({seen.state}, {seen.day}) but the store ends at row {head} "
                "(rows lost from its tail, or an older copy restored)")
    if row.hash != seen.row_hash:
        return (f"row {seen.seq} is not the one the journal recorded (hash {row.hash[:12]} "
                f"here, {seen.row_hash[:12]} in the journal): a copy from another history")
    return ""


def _check_kv(
    state_dir: Path, name: str, history: list[str], *, full: bool
) -> tuple[Finding, sf.KvContents | None]:
    path = state_dir / f"{name}.sqlite"
    problem = sf.file_problem(path)
    if problem == "missing" and not history:
        return Finding(name, str(path), True, "none yet (fresh state directory)"), None
    if problem:
        return (_lost(name, path, problem) if history else _bad(name, path, problem),
                None)
    try:
        kv = sf.read_kv(path, full=full)
    except sf.StoreUnreadable as exc:
        return _bad(name, path, str(exc)), None
    return Finding(name, str(path), True, f"{kv.rows} rows"), kv


def _check_plain(path: Path, store: str, history: list[str], *, full: bool) -> Finding:
    """A store whose rows may come and go (the outbox empties as alerts go out)."""
    problem = sf.file_problem(path)
    if problem == "missing" and not history:
        return Finding(store, str(path), True, "none yet (fresh state directory)")
    if problem:
        return _lost(store, path, problem) if history else _bad(store, path, problem)
    try:
        sf.open_checked(path, full=full).close()
    except sf.StoreUnreadable as exc:
        return _bad(store, path, str(exc))
    return Finding(store, str(path), True, "readable")


def _check_journal(state_dir: Path, history: list[str], *, full: bool) -> Finding:
    folder = state_dir / "journal"
    days = sf.journal_entries(state_dir)
    others = [h for h in history if not h.startswith(("journal has", sf.CONFIG_LAST))]
    if not days and others:
        return _lost("journal-days", folder, "no entries")
    if not full:
        return Finding("journal-days", str(folder), True, f"entries on {len(days)} day(s)")
    from supervisor.journal_check import journal_check

    check = journal_check(state_dir)
    if not check.ok:
        where = check.report.first_break or "anchors"
        what = check.report.problem or "; ".join(check.conflicts)
        return _bad("journal-days", folder, f"broken at {where}: {what}",
                    "inspect with `quantfund journal verify`; the journal is evidence: keep it")
    return Finding("journal-days", str(folder), True,
                   f"{check.report.entries_checked} entries over {check.report.days_checked} "
                   f"day(s), chain intact, {len(check.anchors)} anchors")


def _check_venue(state_dir: Path, execution: sf.KvContents | None, *, full: bool) -> Finding:
    """The paper venue, and execution's book against it: execution must never trade on an
    empty book while the venue holds positions. ``full`` (offline): its positions, plus the
    fills of orders it still holds open (its restart books those), must be the venue's; any
    other difference means a book lost or restored from an older copy."""
    path = state_dir / sf.VENUE_FILE
    if sf.file_problem(path) == "missing":
        return Finding("paper-venue", str(path), True, "not used")
    try:
        venue = sf.venue_positions(state_dir)
    except sf.StoreUnreadable as exc:
        return _bad("paper-venue", path, str(exc))
    if venue and execution is not None and not sf.book_positions(execution):
        held = ", ".join(f"{k} {v:g}" for k, v in sorted(venue.items()))
        return _bad("paper-venue", path,
                    f"the venue holds positions ({held}) but execution's book has none")
    book = sf.book_positions(execution) if execution is not None else None
    if full and book is not None and execution is not None:
        pending = sf.open_order_ids(execution)
        expected = dict(book)
        for coid, (instrument, qty) in sf.venue_fills(state_dir).items():
            if coid in pending:
                expected[instrument] = expected.get(instrument, 0.0) + qty
        diffs = position_differences(expected, venue)
        if diffs:
            return _bad("paper-venue", path,
                        f"execution's positions differ from the venue's ({'; '.join(diffs)}), "
                        "more than its open orders explain: execution.sqlite lost rows or was "
                        "restored from an older copy")
    return Finding("paper-venue", str(path), True, f"{len(venue)} open position(s)")


def render(report: StateReport) -> str:
    """One line per store, then the verdict."""
    lines = [f"{'OK ' if f.ok else 'BAD'} {f.store:<12} {f.path}: {f.detail}"
             + ("" if f.ok else f"\n    remedy: {f.remedy}") for f in report.findings]
    lines.append("state OK" if report.ok else f"state BROKEN: {len(report.problems())} store(s)")
    return "\n".join(lines)
