"""The message ids of the journal's most recent entries, so that an event replayed after a
restart (see ``actors._runtime.replay``) is recorded once."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from actors.journal.chain import read_entry
from actors.journal.errors import JournalError
from actors.journal.layout import day_path, list_days

KEEP = 20_000
"""Ids remembered; far more than a restart's replay window holds."""
TAIL_BYTES = 1 << 20
"""How much of the latest day file is read (the newest entries are at its end): far more than
the events a crash can leave both recorded and unconfirmed (the runtime confirms its bus
position every fraction of a second)."""


class RecentIds:
    """A bounded, insertion-ordered set of message ids."""

    def __init__(self, ids: list[str], keep: int = KEEP) -> None:
        """Start from ``ids`` (oldest first)."""
        self.keep = keep
        self._ids: OrderedDict[str, None] = OrderedDict()
        for msg_id in ids:
            self.add(msg_id)

    def __contains__(self, msg_id: object) -> bool:
        """Whether ``msg_id`` was recorded recently."""
        return msg_id in self._ids

    def __len__(self) -> int:
        """How many ids are remembered."""
        return len(self._ids)

    def add(self, msg_id: str) -> None:
        """Remember ``msg_id``, forgetting the oldest beyond ``keep``."""
        self._ids[msg_id] = None
        if len(self._ids) > self.keep:
            self._ids.popitem(last=False)


def tail_msg_ids(root: Path, tail_bytes: int = TAIL_BYTES) -> list[str]:
    """Message ids of the good entries at the end of the latest day file, oldest first.

    Only lines that parse and whose hash matches count: a torn line's event is not in the
    chain, so a replay must record it again.
    """
    days = list_days(root)
    if not days:
        return []
    path = day_path(root, days[-1])
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - tail_bytes)
        handle.seek(start)
        data = handle.read()
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first is cut
    ids: list[str] = []
    for raw in lines:
        if not raw.startswith(b"- "):
            continue  # the header, blank lines
        try:
            entry, good = read_entry(raw)
        except JournalError:
            continue
        msg_id = entry.fields.get("msg_id")
        if good and isinstance(msg_id, str):
            ids.append(msg_id)
    return ids
