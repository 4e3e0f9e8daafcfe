"""The halts store's hash chain: canonical encoding, row hashes and the check of a row sequence.

Pure code over values: it knows nothing of SQLite, so it is tested on its own and the store and
the verifier share one definition of what a row's hash covers.

A row's hash is the SHA-256 (hex) of the canonical encoding of its content *including*
``prev_hash``: the compact, ASCII-only JSON array::

    ["quantfund.halts/1", seq, at, kind, state, source, who, reason, payload, prev_hash]

The leading tag versions the encoding. ``seq`` is covered, so a row moved to another position
does not recompute; ``payload`` is covered as its stored JSON text, so any byte change to it
shows. The first row's ``prev_hash`` is ``GENESIS_HASH`` (64 zeros).

``check_chain`` takes the raw column values as read back from storage (whatever types an
attacker left there) and reports the first problem. What a bare chain cannot see: a row removed
from the *end* (the remaining prefix is a valid chain), and a suffix rewritten by someone who
recomputes every following hash (the encoding is public and unkeyed). Anchoring the head
elsewhere (the journal) closes both; this module does not claim to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

__all__ = [
    "COLUMNS",
    "GENESIS_HASH",
    "VerifyReport",
    "canonical_payload",
    "check_chain",
    "row_hash",
]

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first row."""

COLUMNS = (
    "seq",
    "at",
    "kind",
    "state",
    "source",
    "who",
    "reason",
    "payload",
    "prev_hash",
    "hash",
)
"""Column order of a raw row as ``check_chain`` expects it; ``hash`` covers all but itself."""

_TAG = "quantfund.halts/1"


class VerifyReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Outcome of verifying a halts store."""

    ok: bool
    """True when integrity, contiguity, links and hashes all hold."""
    rows_checked: int
    """Rows that passed every check before the first problem (all rows when ``ok``)."""
    first_bad_seq: int | None = None
    """Seq of the first row found wrong (a missing row's seq for a gap); None when ``ok`` or
    when the problem is with the file rather than a row."""
    problem: str = ""
    """What exactly is wrong, empty when ``ok``."""


def canonical_payload(payload: Mapping[str, Any] | None) -> str:
    """Encode a payload as canonical JSON text: sorted keys, no spaces, no NaN.

    Args:
        payload: JSON-serialisable mapping; None is stored as ``{}``.

    Returns:
        The text the store keeps and the hash covers.

    Raises:
        TypeError: A value is not JSON-serialisable.
        ValueError: A float is NaN or infinite (not JSON).
    """
    return json.dumps(
        {} if payload is None else dict(payload),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def _raw(value: object) -> object:
    # Tampering can leave a BLOB where text belongs; tag it so it encodes and can never collide
    # with a string value an honest append would have written.
    if isinstance(value, bytes | bytearray | memoryview):
        return {"blob": bytes(value).hex()}
    raise TypeError(f"cannot encode {type(value).__name__} in a halts row")


def row_hash(content: Sequence[object]) -> str:
    """SHA-256 hex of a row's canonical encoding; accepts raw stored values of any type.

    Args:
        content: The row's values in ``COLUMNS`` order without ``hash``: seq, at, kind, state,
            source, who, reason, payload (canonical JSON text), prev_hash.

    Returns:
        64 lowercase hex digits.

    Raises:
        ValueError: ``content`` does not have the nine values.
    """
    if len(content) != len(COLUMNS) - 1:
        raise ValueError(f"a row's content has {len(COLUMNS) - 1} values, not {len(content)}")
    # ASCII-only output is byte-identical whatever the text holds (lone surrogates included),
    # and repr-based float output round-trips the REAL column exactly.
    encoded = json.dumps(
        [_TAG, *content],
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=True,
        default=_raw,
    )
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def _origin(row: Sequence[object], last_seq: int) -> int | None:
    """The seq under which this row's content was written, when it is not its own."""
    for candidate in range(1, last_seq + 1):
        if candidate != row[0] and row_hash([candidate, *row[1:9]]) == row[9]:
            return candidate
    return None


def check_chain(rows: Sequence[Sequence[object]]) -> VerifyReport:
    """Check raw rows, ordered by seq, for contiguity, links and hashes; report the first fault.

    Args:
        rows: Raw column values in ``COLUMNS`` order, sorted by ``seq``.

    Returns:
        ``ok`` with every row counted, or the first bad seq and what is wrong with it.
    """
    prev: object = GENESIS_HASH
    last_seq = max((r[0] for r in rows if isinstance(r[0], int)), default=0)
    for checked, row in enumerate(rows):
        expected = checked + 1
        seq, stored_prev, stored = row[0], row[8], row[9]
        if seq != expected:
            if isinstance(seq, int) and seq > expected:
                bad, problem = expected, f"missing row {expected} (gap: the next row is {seq})"
            else:
                bad = seq if isinstance(seq, int) else expected
                problem = f"unexpected seq {seq!r} where {expected} was due (forged seq)"
            return VerifyReport(False, checked, bad, problem)
        if row_hash(row[:9]) != stored:
            origin = _origin(row, last_seq)
            if origin is not None:
                problem = f"reordered rows: row {seq} holds the content written as row {origin}"
            else:
                problem = f"hash mismatch at row {seq}: its content changed after it was written"
            return VerifyReport(False, checked, expected, problem)
        if stored_prev != prev:
            problem = (
                f"prev-hash link broken at row {seq}: its prev_hash is not the hash of "
                f"{'the genesis' if expected == 1 else f'row {expected - 1}'}"
            )
            return VerifyReport(False, checked, expected, problem)
        prev = stored
    return VerifyReport(True, len(rows))
