"""Pure reconciliation rules: what execution holds against what the venue says it holds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

ABS_TOL = 1e-9
"""Quantities closer than this (relative to the larger, at least 1) are the same position."""


def position_differences(here: Mapping[str, float], venue: Mapping[str, float]) -> list[str]:
    """Each instrument whose net position differs, as ``instrument: here X, venue Y``.

    Checked after the orders left open by a restart were reconciled: any difference then is
    not one execution can explain (its book was lost or restored from an older copy, or the
    venue was traded behind its back), and trading on it would compound the error.
    """
    out: list[str] = []
    for instrument in sorted(set(here) | set(venue)):
        a, b = here.get(instrument, 0.0), venue.get(instrument, 0.0)
        if not math.isclose(a, b, rel_tol=0.0, abs_tol=ABS_TOL * max(1.0, abs(a), abs(b))):
            out.append(f"{instrument}: here {a:g}, venue {b:g}")
    return out


@dataclass(frozen=True)
class Fill:
    """How much of one order is filled, and whether it can change any more."""

    filled: float
    final: bool


@dataclass
class FillCheck:
    """What a comparison of the venue's orders with execution's found."""

    recover: list[str] = field(default_factory=list)
    """Open here, further along at the venue: ask the venue and book what it says."""
    cancel: list[str] = field(default_factory=list)
    """Resting at the venue, final (or unknown) here: nothing may trade that nobody tracks."""
    mismatches: list[str] = field(default_factory=list)
    """Differences nothing here explains, in words: trading on them compounds the error."""


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=ABS_TOL * max(1.0, abs(a), abs(b)))


def compare_fills(venue: Mapping[str, Fill], here: Mapping[str, Fill | None]) -> FillCheck:
    """Each order the venue lists (client order id -> its fill) against execution's record of
    it (None: no record). An order still open here may be behind the venue (a report not yet
    polled, a lost answer): recovered. An order final here is settled: its fill must be the
    venue's, and it must not rest there."""
    out = FillCheck()
    for coid in sorted(venue):
        v, h = venue[coid], here.get(coid)
        if h is None:
            if v.filled > 0:
                out.mismatches.append(f"{coid}: filled {v.filled:g} at the venue, no record here")
            if not v.final:
                out.cancel.append(coid)
        elif not h.final:
            if v.final or (v.filled > h.filled and not _same(v.filled, h.filled)):
                out.recover.append(coid)
        else:
            if not _same(v.filled, h.filled):
                out.mismatches.append(f"{coid}: filled {h.filled:g} here, {v.filled:g} at the "
                                      "venue")
            if not v.final:
                out.cancel.append(coid)
                out.mismatches.append(f"{coid}: final here, still open at the venue")
    return out
