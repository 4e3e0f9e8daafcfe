"""Pure reconciliation rules: what execution holds against what the venue says it holds."""

from __future__ import annotations

import math
from collections.abc import Mapping

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
