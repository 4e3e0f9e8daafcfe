"""Bad lines and the ``TornEntryDetected`` record that preserves them.

A line is good when it parses, its hash matches its parts and it ends with a newline. After a
crash the last line of the latest file may be bad (torn). The writer never repairs or removes
it: it records a ``TornEntryDetected`` entry, right after the bad line(s), whose ``torn`` field
lists each bad line's location, length, exact bytes (base64) and a readable copy. That entry
continues the chain from the last good entry, and `claims` lets the verifier check that the
record names exactly the lines in front of it, byte for byte.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import msgspec

from actors.journal.chain import Entry, read_entry
from actors.journal.errors import MalformedEntry
from actors.journal.layout import RawLine

TORN_EVENT = "TornEntryDetected"
"""Event name of the record that preserves torn lines."""

MAX_TORN_RUN = 64
"""Most bad lines one record may cover. A crash leaves one or two; more means corruption."""


class Claim(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One bad line as a ``TornEntryDetected`` record names it."""

    location: str
    """``journal/YYYY-MM-DD.md:N``."""
    raw: bytes
    """The line's exact bytes, without a newline."""


def check_line(line: RawLine) -> Entry | str:
    """The line's entry when it is good, otherwise why it is bad (one phrase)."""
    entry: Entry | None = None
    try:
        entry, intact = read_entry(line.raw)
    except MalformedEntry as exc:
        reason = f"malformed line ({exc})"
    else:
        reason = "" if intact else "hash mismatch: the line's content does not match its hash"
    if not line.terminated:
        return "no trailing newline (a torn write)" + (f"; {reason}" if reason else "")
    if reason or entry is None:
        return reason
    return entry


def torn_fields(lines: Sequence[RawLine], reasons: Sequence[str]) -> dict[str, Any]:
    """The fields of a ``TornEntryDetected`` record for these bad lines, oldest first."""
    return {
        "torn": [
            {
                "location": line.location,
                "length": len(line.raw),
                "base64": base64.b64encode(line.raw).decode("ascii"),
                "text": line.raw.decode("utf-8", errors="backslashreplace"),
                "reason": reason,
            }
            for line, reason in zip(lines, reasons, strict=True)
        ]
    }


def claims(entry: Entry) -> list[Claim] | None:
    """The lines a ``TornEntryDetected`` entry names, oldest first; None if it is not one."""
    if entry.event != TORN_EVENT:
        return None
    items = entry.fields.get("torn")
    if not isinstance(items, list) or not items or len(items) > MAX_TORN_RUN:
        return None
    found = [_claim(item) for item in items]
    return None if None in found else [claim for claim in found if claim is not None]


def _claim(item: object) -> Claim | None:
    if not isinstance(item, dict):
        return None
    location = item.get("location")
    encoded = item.get("base64")
    if not isinstance(location, str) or not isinstance(encoded, str):
        return None
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if item.get("length") != len(raw):
        return None
    return Claim(location=location, raw=raw)
