"""The journal's chain checked against the day anchors kept in the halts store (read-only).

Shared by ``quantfund journal verify``, ``quantfund state check`` and the drills' invariants,
which is why it lives below all three rather than in the CLI.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from actors._runtime.halts_reader import HALTS_FILE
from actors._runtime.store import connect_readonly
from actors.journal.verify import VerifyReport, verify


@dataclass(frozen=True)
class JournalCheck:
    """What ``journal verify`` found: the chain report and the anchors it was checked against."""

    report: VerifyReport
    """The chain walk."""
    ok: bool
    """The chain holds and no day is anchored twice with different hashes."""
    anchors: dict[str, str]
    """Day -> final hash, from the halts store."""
    conflicts: list[str]
    """Days anchored twice with different hashes."""
    note: str
    """Why the anchors were not (all) used, or ''."""


def journal_check(state_dir: Path, given: dict[str, str] | None = None) -> JournalCheck:
    """Verify the journal's chain, and each finished day's tail against its anchor: the final
    hashes kept in the halts store (rows of kind ``anchor``, read read-only), and ``given``
    (day -> hash, e.g. the anchor a daily report left in the chat), which win over the store's
    and are a conflict where they differ from it. Shared by ``journal verify`` and the drills'
    invariants."""
    halts = state_dir / HALTS_FILE
    anchors: dict[str, str] = {}
    conflicts: list[str] = []
    note = ""
    if not halts.is_file():
        note = f"no halts store at {halts}: day tails not checked against anchors"
    else:
        try:
            con = connect_readonly(halts)
            try:
                rows = con.execute(
                    "SELECT seq, payload FROM halts WHERE kind = 'anchor' ORDER BY seq"
                ).fetchall()
            finally:
                con.close()
            for seq, payload in rows:
                data = json.loads(payload)
                day, final = str(data["day"]), str(data["final_hash"])
                if anchors.get(day, final) != final:
                    conflicts.append(f"halts row {seq}: day {day} anchored twice with "
                                     f"different hashes ({anchors[day]} then {final})")
                anchors[day] = final
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            note = f"anchors unreadable in {halts} ({exc}): day tails not checked"
            anchors = {}
    for day, final in (given or {}).items():
        if anchors.get(day, final) != final:
            conflicts.append(f"day {day}: the anchor given ({final}) is not the halts store's "
                             f"({anchors[day]})")
        anchors[day] = final
    report = verify(state_dir, anchors=anchors)
    return JournalCheck(report, report.ok and not conflicts, anchors, conflicts, note)
