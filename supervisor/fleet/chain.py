"""The fleet audit trail's hash chain: each change carries the hash of the one before.

Pure code over values, the same construction as the halts store's (``supervisor.halts_chain``):
SHA-256 over a tagged, compact JSON array of the change's content including ``prev_hash``::

    ["quantfund.fleet/1", seq, state, who, reason, at, prev_hash]

What it cannot see is what the halts chain cannot see either: the last entries removed, or a
suffix rewritten by someone who recomputes every later hash (the stream's own permissions are
what guard against that).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from supervisor.fleet.messages import FleetChange, FleetStateName
from supervisor.halts_chain import GENESIS_HASH, VerifyReport

_TAG = "quantfund.fleet/1"


def change_hash(  # noqa: PLR0917 - the chained fields, in their encoded order
    seq: int, state: str, who: str, reason: str, at: float, prev_hash: str
) -> str:
    """SHA-256 hex of a change's canonical encoding."""
    encoded = json.dumps([_TAG, seq, state, who, reason, at, prev_hash],
                         separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def next_change(
    last: FleetChange | None, state: FleetStateName, *, who: str, reason: str, at: float
) -> FleetChange:
    """The change that follows ``last`` (None: the first of the chain).

    Raises:
        ValueError: A blank reason or who (every fleet command says who and why).
    """
    if not reason.strip() or not who.strip():
        raise ValueError("a fleet change needs a non-blank reason and who")
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS_HASH if last is None else last.hash
    return FleetChange(seq=seq, state=state, who=who, reason=reason, at=at, prev_hash=prev,
                       hash=change_hash(seq, state, who, reason, at, prev))


def check_chain(changes: Sequence[FleetChange]) -> VerifyReport:
    """Check changes in stream order: seq 1..n contiguous, each link, each hash."""
    prev = GENESIS_HASH
    for index, change in enumerate(changes):
        expected = index + 1
        if change.seq != expected:
            return VerifyReport(False, index, expected,
                                f"seq {change.seq} where {expected} belongs (missing or moved)")
        if change.prev_hash != prev:
            return VerifyReport(False, index, change.seq, "prev-hash link broken")
        again = change_hash(change.seq, change.state, change.who, change.reason, change.at,
                            change.prev_hash)
        if again != change.hash:
            return VerifyReport(False, index, change.seq, "hash does not recompute")
        prev = change.hash
    return VerifyReport(True, len(changes))
