"""Limits of the pre-trade gate, validated when built or decoded."""

from __future__ import annotations

import datetime as dt
import functools
import math
import zoneinfo

import msgspec


class GateConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the pre-trade gate allows (``[execution.gate]`` in the config).

    All limits are inclusive: a value equal to its limit passes, one above it is rejected.
    """

    max_position: float
    """Largest absolute position allowed in any one instrument after the order, in units."""
    max_gross_position: float
    """Largest gross notional after the order: sum of abs(position) x last price."""
    max_order_notional: float
    """Largest notional of one order: quantity x (limit price, or reference price if none)."""
    max_order_quantity: float
    """Largest quantity of one order, in units."""
    price_collar_pct: float
    """Largest distance of the limit and reference prices from the last market price, in %."""
    max_orders_per_window: int
    """Most orders accepted within any ``rate_window_s`` seconds (rejected orders do not count)."""
    rate_window_s: float
    """Length of the sliding window of the order-rate throttle, in seconds."""
    daily_loss_limit: float
    """Session loss (equity drop since the session start) at which new exposure is refused; > 0."""
    session_reset: str = "00:00"
    """Local wall-clock time ``HH:MM`` at which a trading session (and its loss baseline) starts."""
    timezone: str = "UTC"
    """IANA time zone name in which ``session_reset`` is read (e.g. ``America/New_York``)."""
    duplicate_window_s: float = 10.0
    """How long an accepted intent id is remembered to refuse its duplicates, in seconds. The
    window is persisted with every order, so it stays short; beyond it a repeated intent id
    still maps to its one existing order (execution's records)."""

    def __post_init__(self) -> None:
        """Refuse limits that would make the gate meaningless (ValueError; msgspec wraps it).

        Raises:
            ValueError: a limit is not a finite positive number, or the session is unreadable.
        """
        for name in (
            "max_position",
            "max_gross_position",
            "max_order_notional",
            "max_order_quantity",
            "price_collar_pct",
            "rate_window_s",
            "daily_loss_limit",
            "duplicate_window_s",
        ):
            value = getattr(self, name)
            # A NaN limit would make every comparison False, i.e. silently disable the rule.
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if self.max_orders_per_window < 1:
            raise ValueError(
                f"max_orders_per_window must be >= 1, got {self.max_orders_per_window!r}"
            )
        parse_session_reset(self.session_reset)
        load_timezone(self.timezone)


VENUE_RATE_SHARE = 0.9
"""The gate's order rate is kept to this share of the venue's published limit: what our clock
and the venue's disagree on (a window's edges) must not make the venue refuse an order."""


def _within(cfg: GateConfig, limit: int, window_s: float) -> bool:
    """Whether the gate's sliding window admits at most ``VENUE_RATE_SHARE * limit`` orders
    in any ``window_s`` seconds."""
    n, w = cfg.max_orders_per_window, cfg.rate_window_s
    most = n if w >= window_s else n * math.ceil(window_s / w)
    return most <= VENUE_RATE_SHARE * limit


def fit_to_venue(cfg: GateConfig, limits: list[tuple[int, float]]) -> GateConfig:
    """The gate's throttle kept below the order limits a venue publishes (``limit`` orders per
    ``window_s``): the tightest one the configured throttle could exceed becomes the throttle,
    at ``VENUE_RATE_SHARE`` of it over its window. Windows over an hour are left to the venue
    (a sliding window keeps one timestamp per order: a day's would be large)."""
    fitted = cfg
    usable = [(n, w) for n, w in limits if n >= 1 and 0 < w <= 3600]
    for limit, window_s in sorted(usable, key=lambda lw: lw[0] / lw[1]):
        if not _within(fitted, limit, window_s):
            fitted = msgspec.structs.replace(
                fitted, max_orders_per_window=max(1, math.floor(VENUE_RATE_SHARE * limit)),
                rate_window_s=float(window_s))
    return fitted


def parse_session_reset(text: str) -> dt.time:
    """Read a ``HH:MM`` wall-clock time.

    Args:
        text: the configured time, e.g. ``"17:00"``.

    Returns:
        The time of day.

    Raises:
        ValueError: the text is not ``HH:MM`` with 00 <= HH <= 23 and 00 <= MM <= 59.
    """
    hours, sep, minutes = text.partition(":")
    if sep != ":" or len(hours) != 2 or len(minutes) != 2:
        raise ValueError(f"session_reset must be HH:MM, got {text!r}")
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"session_reset must be HH:MM, got {text!r}")
    try:
        return dt.time(int(hours), int(minutes))
    except ValueError as exc:  # 24:00 or 12:60; its own message does not name the setting
        raise ValueError(f"session_reset must be HH:MM, got {text!r}: {exc}") from exc


def load_timezone(name: str) -> zoneinfo.ZoneInfo:
    """Load an IANA time zone (zoneinfo caches them, so this is cheap after the first call).

    Args:
        name: IANA name such as ``Europe/London``.

    Returns:
        The zone.

    Raises:
        ValueError: the name is unknown (zoneinfo's KeyError is turned into ValueError so that
            msgspec reports it as a validation error).
    """
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone must be an IANA name, got {name!r}") from exc


def session_id(now: float, session_reset: str, timezone: str) -> str:
    """Name the trading session that contains ``now``: the local date on which it started.

    A session starts at ``session_reset`` local time and runs until the next one. Comparing
    wall-clock times of day (not adding 24 h) keeps exactly one boundary per local day across
    daylight-saving changes.

    Args:
        now: seconds since the epoch.
        session_reset: ``HH:MM`` local time of the boundary.
        timezone: IANA zone name.

    Returns:
        ISO date of the session start, e.g. ``"2024-03-08"``.
    """
    return _session_of_second(math.floor(now), session_reset, timezone)


def later_session(current: str, now: float, session_reset: str, timezone: str) -> str:
    """Name the session to be in at wall time ``now``, given the session ``current`` is in.

    The session follows the wall clock forward, so a step forward across the boundary (NTP
    correcting a slow clock) starts the new session rather than skipping its reset; it never
    follows it back, so a step back across the boundary neither re-opens the previous session
    nor, when the wall reaches the boundary again, starts the current one a second time.

    Args:
        current: the session the rule is in ('' before the first).
        now: wall-clock seconds since the epoch.
        session_reset: ``HH:MM`` local time of the boundary.
        timezone: IANA zone name.

    Returns:
        The later of ``current`` and the session containing ``now`` (ISO dates order as text).
    """
    return max(current, session_id(now, session_reset, timezone))


@functools.lru_cache(maxsize=64)
def _session_of_second(second: int, session_reset: str, timezone: str) -> str:
    # Per whole second: boundaries are whole local minutes and UTC offsets whole seconds, so
    # every instant of one second lies in the same session. Orders and marks come many times a
    # second, and the zone arithmetic costs ~15 us each time.
    local = dt.datetime.fromtimestamp(second, load_timezone(timezone))
    start = local.date()
    if local.time() < parse_session_reset(session_reset):
        start -= dt.timedelta(days=1)
    return start.isoformat()
