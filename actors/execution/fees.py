"""Commissions against what is booked: pure code over values.

A venue reports an order's fees the way it reports its fill, cumulatively (all its trades so
far, by currency), and may report them later than the fill (an answer without its trades). What
is booked is the difference from what an order already carries, once per part, however often
it is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

TOLERANCE = 1e-12
"""Fee differences below this (a venue's decimals through floats) are no change."""


def fee_increments(booked: Mapping[str, float], reported: Mapping[str, float]
                   ) -> tuple[dict[str, float], list[str]]:
    """What to book of ``reported`` (an order's cumulative fees by currency) given ``booked``
    (what its record already carries): the increments, and in words each figure that cannot
    be true (not finite, negative, or lower than what was booked: fees never fall).
    """
    add: dict[str, float] = {}
    problems: list[str] = []
    for currency in sorted(reported):
        now, before = reported[currency], booked.get(currency, 0.0)
        if not math.isfinite(now) or now < 0:
            problems.append(f"{currency} fee {now!r} is not a cost")
        elif now < before - TOLERANCE:
            problems.append(f"{currency} fee {now:g} is below the {before:g} already booked")
        elif now > before + TOLERANCE:
            add[currency] = now - before
    for currency in sorted(set(booked) - set(reported)):
        if booked[currency] > TOLERANCE:
            problems.append(f"{currency} fee {booked[currency]:g} was booked, now reported none")
    return add, problems
