"""What the bus says, as Prometheus metric values: events in, samples out (no I/O, no HTTP).

The supervisor's hub sees every event every actor publishes, and its own; each one goes through
:meth:`Metrics.observe`, which updates plain numbers under a lock. A scrape (another thread:
prometheus_client's HTTP server, ``supervisor/metrics_server.py``) calls :meth:`Metrics.collect`,
which copies them out under the same lock. Nothing here waits, so the hub never waits for a
scrape, and a scrape costs the hub one uncontended lock per event.

Conventions (https://prometheus.io/docs/practices/naming/): the ``quantfund_`` prefix, base units
(seconds, ratios), ``_total`` counters, and bounded label sets: labels take values from enums and
the config (actor, trading state, exit reason, rejection code, instrument), never an order id;
past ``MAX_LABEL_VALUES`` distinct values a label reads ``other``.
"""

from __future__ import annotations

import enum
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from actors._runtime.messages import (
    AdminCommandReceived,
    BadMessageSeen,
    ChildStarted,
    ChildTerminated,
    Heartbeat,
    Message,
    RestartIntensityReached,
    StateWriteFailed,
    TreeLiveness,
)
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.breaker.messages import BreakerHalted, BreakerReset, BreakerTripped
from actors.execution.messages import (
    EquityUpdated,
    ExecutionSnapshot,
    ExecutionStatus,
    FeeCharged,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PriceTick,
)
from actors.heartbeat.messages import HangDetected, HeartbeatAction, HeartbeatMissed
from actors.orchestrator.messages import SignalRejected, StrategyFailed
from actors.venue import roundtrips
from actors.venue.messages import (
    FeedFresh,
    FeedReconnected,
    FeedStale,
    VenueInputRejected,
    VenueRateLimited,
    VenueReconciled,
)

MAX_LABEL_VALUES = 64
"""Distinct values one label of one metric may take; beyond, the value reads ``other``."""
HALT_CANCELS_WITHIN_S = 60.0
"""Cancels this long after a halt still count as the halt's (later ones are other business)."""
TS_PLAUSIBLE_S = 5.0
"""A tick's ``ts`` at most this far before its publish is taken as when the iteration began."""
TICKS_KEPT = 4096
"""Recent ticks kept to pair an accepted order with the tick its intent answered."""

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)
"""Upper bounds (seconds) of the latency histograms: the tree's paths run in ms, a stall in s."""


class Kind(enum.Enum):
    """Prometheus metric types used here."""

    GAUGE = "gauge"
    COUNTER = "counter"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Spec:
    """One metric: name (``_total`` left off counters: the exposition adds it), help, labels."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()


def _g(name: str, text: str, *labels: str) -> Spec:
    return Spec(f"quantfund_{name}", Kind.GAUGE, text, labels)


def _c(name: str, text: str, *labels: str) -> Spec:
    return Spec(f"quantfund_{name}", Kind.COUNTER, text, labels)


def _h(name: str, text: str, *labels: str) -> Spec:
    return Spec(f"quantfund_{name}", Kind.HISTOGRAM, text, labels)


SPECS = (
    _g("trading_state", "1 for the trading state in force, 0 for the others (ACTIVE, REDUCING, "
       "PAUSED, HALTED)", "state"),
    _c("trading_state_changes", "Trading-state transitions, by the state entered and who asked",
       "state", "source"),
    _h("trading_state_ack_seconds", "A trading-state change until every actor acknowledged it "
       "(halt -> all acks, for state HALTED)", "state"),
    _g("tree_live", "The heartbeat actor's verdict: 1 every watched actor beats, 0 not (no "
       "sample before its first verdict)"),
    _g("actor_up", "1 while the actor's process runs (started, not yet terminated)", "actor"),
    _c("actor_restarts", "Restarts of the actor since the supervisor started", "actor"),
    _c("actor_exits", "Actor processes ended, by exit reason", "actor", "reason"),
    _g("actor_heartbeat_age_seconds", "Seconds since the actor's last heartbeat on the bus",
       "actor"),
    _g("actor_state_age_seconds", "Seconds since the actor last committed its state, as of its "
       "last heartbeat", "actor"),
    _g("actor_wal_unsynced_seconds", "Seconds the actor's oldest commit not yet fsynced has "
       "waited, as of its last heartbeat (WAL fsync lag; 0 when all are synced)", "actor"),
    _g("restart_intensity_restarts", "Restarts within the current intensity period"),
    _g("restart_intensity_limit", "Restarts allowed within the period; one more halts trading "
       "and stops the tree"),
    _g("restart_intensity_period_seconds", "The restart intensity period"),
    _c("restart_intensity_reached", "Times the restart intensity was exceeded"),
    _c("orders_accepted", "Intents execution accepted as orders", "instrument", "side"),
    _c("orders_rejected", "Intents or orders refused, by typed reason (a gate rule, broker, "
       "invalid)", "code"),
    _c("orders_cancelled", "Orders cancelled at the broker", "instrument"),
    _h("halt_to_cancel_seconds", "A halt until each order cancelled after it (the last cancel of "
       "a halt is its highest observation), as the hub saw both"),
    _c("fills", "Fills (real, paper or shadow-hypothetical)", "instrument", "side"),
    _c("fees_paid", "Commissions the venue charged, in their currency", "instrument", "currency"),
    _c("signals_rejected", "Strategy signals refused at the signal boundary, by kind", "code"),
    _c("strategy_errors", "Bars skipped because the strategy raised"),
    _g("position", "Signed position, as execution last reported it", "instrument"),
    _g("orders", "Orders execution keeps, by status (final ones included)", "status"),
    _g("equity", "Account equity marked to market (account currency)"),
    _g("cash", "Cash (account currency)"),
    _g("realized_pnl", "Realised P&L since inception (account currency)"),
    _g("last_price", "Last price from the feed", "instrument"),
    _g("feed_age_seconds", "Seconds since the last price tick for the instrument", "instrument"),
    _g("feed_stale", "1 while the venue feed reports the symbol stale", "symbol"),
    _c("feed_reconnects", "Venue market streams that dropped and came back", "symbol"),
    _h("tick_to_order_seconds", "A price tick until the order its intent became is accepted "
       "(OrderAccepted published; feed clock to execution's clock, same host)"),
    _c("breaker_trips", "Circuit-breaker trips, by rule", "rule"),
    _c("breaker_halts", "Breaker escalations to HALTED, by rule", "rule"),
    _c("breaker_resets", "Breaker pauses ended"),
    _g("breaker_trips_24h", "Breaker trips within the last 24 h, as of the last trip (the "
       "max_trips_per_24h-th halts)"),
    _g("breaker_paused_until_timestamp_seconds", "When the breaker's pause ends by itself "
       "(epoch seconds; 0 when not paused by the breaker)"),
    _g("breaker_max_drawdown_ratio", "The breaker's drawdown limit from the equity peak "
       "(0.05: 5 %)"),
    _c("heartbeats_missed", "Actors that went silent past their allowance", "actor"),
    _c("hangs_detected", "Hung or stalled loops detected", "actor", "kind"),
    _c("heartbeat_actions", "Actions the heartbeat actor took (sigterm, sigkill, halt, skipped)",
       "action"),
    _c("bus_events", "Events published on the bus, by type", "event"),
    _c("bus_events_dropped", "Events the hub could not forward (subscribers' queues full)"),
    _h("bus_lag_seconds", "An actor's publish until the hub forwarded it (same-host monotonic "
       "clock)"),
    _c("bad_messages", "Undecodable messages dropped, by receiving process and socket",
       "receiver", "socket"),
    _g("alert_outbox_depth", "Alerts in the alerter's outbox not yet delivered"),
    _c("alert_send_failures", "Failed Telegram delivery attempts (the alert stays queued)"),
    _c("state_write_failures", "State writes that failed (disk full, read-only)", "actor"),
    _c("admin_commands", "Operator commands received", "command"),
    _c("venue_rate_limited", "Venue requests refused for the rate limit", "endpoint"),
    _c("venue_input_rejected", "Malformed venue input dropped", "what"),
    _g("unrealized_pnl", "Unrealised P&L of the position at the last price (account currency)",
       "instrument"),
    _g("average_price", "Average entry price of the position (0 when flat)", "instrument"),
    _c("venue_reconciliations", "Reconciliations with the venue, by outcome (ok, mismatch)",
       "outcome"),
    _c("venue_fills_recovered", "Fills found at the venue by reconciliation, not booked before"),
    _h("venue_round_trip_seconds", "A ccxt call to the venue until its answer (or its deadline), "
       "as the venue broker timed it since execution started", "call"),
)
BY_NAME = {s.name: s for s in SPECS}


@dataclass
class Histogram:
    """Counts per bucket (not cumulative), sum and count of observed values."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    sum: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        """Add one observation (negative values, a clock step, count as 0)."""
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)
        value = max(value, 0.0)
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs, cumulative, ending with ``+Inf`` (the exposition's form)."""
        counts = self.counts or [0] * (len(self.bounds) + 1)
        out, running = [], 0
        for bound, n in zip((*self.bounds, float("inf")), counts, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


Labels = tuple[str, ...]


@dataclass(frozen=True)
class Family:
    """One metric's samples at collect time."""

    spec: Spec
    values: dict[Labels, float]
    histograms: dict[Labels, Histogram]


@dataclass(frozen=True)
class Live:
    """Figures the supervisor holds itself, pushed from its loop (not events)."""

    intensity_restarts: int
    """Restarts within the current period."""
    bad_messages: dict[str, int]
    """The hub's undecodable messages, per socket."""
    dropped: int = 0
    """Events the hub could not forward."""


Handler = Callable[["Metrics", Message, float, float], None]
"""Updates the values for one event: (metrics, event, monotonic now, publisher's wall send time)."""


class Metrics:
    """The values behind every metric; ``observe`` from the hub's thread, ``collect`` from any."""

    def __init__(self, *, intensity: int = 0, period_s: float = 0.0,
                 max_drawdown_pct: float = 0.0) -> None:
        """Start empty, with the limits the config sets."""
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = {s.name: {} for s in SPECS}
        self._histos: dict[str, dict[Labels, Histogram]] = {s.name: {} for s in SPECS}
        self._seen: dict[tuple[str, int], set[str]] = {}
        self._beats: dict[str, float] = {}
        self._ticks_at: dict[str, float] = {}
        self._ticks: OrderedDict[tuple[int, str], float] = OrderedDict()
        self._early: OrderedDict[tuple[int, str], list[float]] = OrderedDict()
        """Orders accepted before the hub saw their tick (the orchestrator sends the intent
        before it publishes the tick): their send times, until the tick comes."""
        self._halted_at: float | None = None
        self._set("restart_intensity_limit", (), float(intensity))
        self._set("restart_intensity_period_seconds", (), float(period_s))
        self._set("breaker_max_drawdown_ratio", (), max_drawdown_pct / 100.0)
        self._set("restart_intensity_restarts", (), 0.0)
        for spec in SPECS:  # a counter without labels exists from the start, at 0
            if spec.kind is Kind.COUNTER and not spec.labels:
                self._set(spec.name, (), 0.0)

    # --- updates (the hub's thread) -----------------------------------------------------

    def observe(self, msg: Message, now: float, *, sent_mono: float = 0.0,
                sent_at: float = 0.0) -> None:
        """One event the hub forwarded at monotonic ``now``. ``sent_mono``: when an actor
        published it (its monotonic clock, the same host's; 0 for the supervisor's own events,
        which have no lag); ``sent_at``: the same on the wall clock (0 when unknown)."""
        handler = _HANDLERS.get(type(msg))
        with self._lock:
            self._inc("bus_events", (type(msg).__name__,))
            if sent_mono:
                self._observe("bus_lag_seconds", (), now - sent_mono)
            if handler is not None:
                handler(self, msg, now, sent_at)

    def trading_state(self, state: TradingState) -> None:
        """The state in force (at start, before any change is published)."""
        with self._lock:
            self._state(state)

    def state_acked(self, state: TradingState, seconds: float) -> None:
        """Every actor acknowledged a change to ``state``, ``seconds`` after it was made."""
        with self._lock:
            self._observe("trading_state_ack_seconds", (state.value,), seconds)

    def live(self, figures: Live) -> None:
        """Refresh what the supervisor holds itself."""
        with self._lock:
            self._set("restart_intensity_restarts", (), float(figures.intensity_restarts))
            self._set("bus_events_dropped", (), float(figures.dropped))
            for socket, count in figures.bad_messages.items():
                self._gauge("bad_messages", ("supervisor", socket), float(count))

    # --- reads (any thread) -------------------------------------------------------------

    def collect(self, now: float) -> list[Family]:
        """Every metric's samples as of monotonic ``now`` (ages computed here)."""
        with self._lock:
            values = {name: dict(v) for name, v in self._values.items()}
            histos = {name: {k: Histogram(h.bounds, list(h.counts), h.sum, h.count)
                             for k, h in v.items()} for name, v in self._histos.items()}
            beats, ticks = dict(self._beats), dict(self._ticks_at)
        values["quantfund_actor_heartbeat_age_seconds"] = {
            (actor,): max(0.0, now - at) for actor, at in beats.items()}
        values["quantfund_feed_age_seconds"] = {
            (instrument,): max(0.0, now - at) for instrument, at in ticks.items()}
        return [Family(s, values[s.name], histos[s.name]) for s in SPECS]

    def value(self, name: str, *labels: str, now: float = 0.0) -> float | None:
        """One sample's value (tests, status): None when it was never set."""
        for family in self.collect(now):
            if family.spec.name == name:
                return family.values.get(tuple(labels))
        raise KeyError(f"no metric {name}")

    def histogram(self, name: str, *labels: str) -> Histogram | None:
        """One histogram (a copy), or None when nothing was observed."""
        with self._lock:
            h = self._histos[name].get(tuple(labels))
            return None if h is None else Histogram(h.bounds, list(h.counts), h.sum, h.count)

    # --- helpers (called with the lock held) --------------------------------------------

    def _labels(self, name: str, values: Iterable[str]) -> Labels:
        """``values`` with any past the cap of distinct values replaced by ``other``."""
        out = []
        for i, value in enumerate(values):
            seen = self._seen.setdefault((name, i), set())
            bounded = value
            if value not in seen:
                if len(seen) >= MAX_LABEL_VALUES:
                    bounded = "other"
                seen.add(bounded)
            out.append(bounded)
        return tuple(out)

    def _set(self, name: str, labels: Labels, value: float) -> None:
        self._values[f"quantfund_{name}" if not name.startswith("quantfund_") else name][
            labels] = value

    def _inc(self, name: str, labels: Iterable[str] = (), by: float = 1.0) -> None:
        key = f"quantfund_{name}"
        bounded = self._labels(key, labels)
        table = self._values[key]
        table[bounded] = table.get(bounded, 0.0) + by

    def _observe(self, name: str, labels: Iterable[str], value: float) -> None:
        key = f"quantfund_{name}"
        bounded = self._labels(key, labels)
        self._histos[key].setdefault(bounded, Histogram()).observe(value)

    def _gauge(self, name: str, labels: Iterable[str], value: float) -> None:
        key = f"quantfund_{name}"
        self._values[key][self._labels(key, labels)] = value

    def _state(self, state: TradingState) -> None:
        for each in TradingState:
            self._set("trading_state", (each.value,), 1.0 if each is state else 0.0)


# --- one handler per event type (the lock is held) --------------------------------------


def _state_changed(m: Metrics, msg: TradingStateChanged, now: float, _sent_at: float) -> None:
    m._state(msg.state)
    if msg.previous is not msg.state:
        m._inc("trading_state_changes", (msg.state.value, msg.source))
        m._halted_at = now if msg.state is TradingState.HALTED else None


def _liveness(m: Metrics, msg: TreeLiveness, _now: float, _sent_at: float) -> None:
    m._set("tree_live", (), 1.0 if msg.live else 0.0)


def _started(m: Metrics, msg: ChildStarted, _now: float, _sent_at: float) -> None:
    m._gauge("actor_up", (msg.actor,), 1.0)
    # The supervisor's own count since it started: a counter that only grows.
    m._gauge("actor_restarts", (msg.actor,), float(msg.restarts))


def _terminated(m: Metrics, msg: ChildTerminated, _now: float, _sent_at: float) -> None:
    m._gauge("actor_up", (msg.actor,), 0.0)
    m._inc("actor_exits", (msg.actor, msg.reason))


def _beat(m: Metrics, msg: Heartbeat, now: float, _sent_at: float) -> None:
    actor = m._labels("quantfund_actor_heartbeat_age_seconds", (msg.actor,))[0]
    m._beats[actor] = now
    m._gauge("actor_state_age_seconds", (msg.actor,), msg.state_age_s)
    m._gauge("actor_wal_unsynced_seconds", (msg.actor,), msg.wal_unsynced_s)
    for call, (counts, total, n) in roundtrips.parse(msg.gauges).items():
        bounded = m._labels("quantfund_venue_round_trip_seconds", (call,))
        m._histos["quantfund_venue_round_trip_seconds"][bounded] = Histogram(
            counts=counts, sum=total, count=n)  # cumulative in execution: replaced, not added
    if "outbox_depth" in msg.gauges:
        m._set("alert_outbox_depth", (), msg.gauges["outbox_depth"])
    if "send_failures" in msg.gauges:
        m._set("alert_send_failures", (), msg.gauges["send_failures"])


def _tick(m: Metrics, msg: PriceTick, now: float, sent_at: float) -> None:
    instrument = m._labels("quantfund_feed_age_seconds", (msg.instrument,))[0]
    m._ticks_at[instrument] = now
    m._gauge("last_price", (msg.instrument,), msg.price)
    # ``ts`` is the iteration's start on the wall clock for a live feed, but a replayed bar's
    # own (historical) time: then the tick's publish time is the start instead.
    start = msg.ts if not sent_at or 0.0 <= sent_at - msg.ts < TS_PLAUSIBLE_S else sent_at
    key = (msg.iteration, msg.instrument)
    m._ticks[key] = start
    if len(m._ticks) > TICKS_KEPT:
        m._ticks.popitem(last=False)
    for accepted_at in m._early.pop(key, ()):
        m._observe("tick_to_order_seconds", (), accepted_at - start)


def _accepted(m: Metrics, msg: OrderAccepted, _now: float, sent_at: float) -> None:
    m._inc("orders_accepted", (msg.instrument, msg.side.value))
    iteration = _iteration(msg.intent_id)
    if iteration is None or not sent_at:
        return
    key = (iteration, msg.instrument)
    ts = m._ticks.get(key)
    if ts is not None:
        m._observe("tick_to_order_seconds", (), sent_at - ts)
        return
    m._early.setdefault(key, []).append(sent_at)
    if len(m._early) > TICKS_KEPT:
        m._early.popitem(last=False)


def _iteration(intent_id: str) -> int | None:
    """The loop iteration in an orchestrator intent id (``orchestrator-<iteration>-<k>``)."""
    parts = intent_id.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])


def _rejected(m: Metrics, msg: OrderRejected, _now: float, _sent_at: float) -> None:
    m._inc("orders_rejected", (msg.code,))


def _cancelled(m: Metrics, msg: OrderCancelled, now: float, _sent_at: float) -> None:
    m._inc("orders_cancelled", (msg.instrument,))
    if m._halted_at is not None and now - m._halted_at < HALT_CANCELS_WITHIN_S:
        m._observe("halt_to_cancel_seconds", (), now - m._halted_at)


def _filled(m: Metrics, msg: OrderFilled, _now: float, _sent_at: float) -> None:
    m._inc("fills", (msg.instrument, msg.side.value))
    m._gauge("position", (msg.instrument,), msg.position_after)


def _fee(m: Metrics, msg: FeeCharged, _now: float, _sent_at: float) -> None:
    m._inc("fees_paid", (msg.instrument, msg.currency), by=msg.amount)
    m._gauge("position", (msg.instrument,), msg.position_after)


def _equity(m: Metrics, msg: EquityUpdated, _now: float, _sent_at: float) -> None:
    m._set("equity", (), msg.equity)
    m._set("cash", (), msg.cash)
    m._set("realized_pnl", (), msg.realized_pnl)


def _snapshot(m: Metrics, msg: ExecutionSnapshot, _now: float, _sent_at: float) -> None:
    positions = m._values["quantfund_position"]
    for key in positions:
        positions[key] = 0.0  # flat instruments are left out of the snapshot
    for instrument, quantity in msg.positions.items():
        m._gauge("position", (instrument,), quantity)
    orders = m._values["quantfund_orders"]
    for key in orders:
        orders[key] = 0.0
    for status, count in msg.orders.items():
        m._gauge("orders", (status,), float(count))


def _status(m: Metrics, msg: ExecutionStatus, _now: float, _sent_at: float) -> None:
    for instrument, book in msg.instruments.items():
        m._gauge("unrealized_pnl", (instrument,), book.unrealized_pnl)
        m._gauge("average_price", (instrument,), book.avg_price)


def _reconciled(m: Metrics, msg: VenueReconciled, _now: float, _sent_at: float) -> None:
    m._inc("venue_reconciliations", ("ok" if msg.ok else "mismatch",))
    m._inc("venue_fills_recovered", (), float(msg.fills_recovered))


def _tripped(m: Metrics, msg: BreakerTripped, _now: float, _sent_at: float) -> None:
    m._inc("breaker_trips", (msg.rule,))
    m._set("breaker_trips_24h", (), float(msg.trips_in_24h))
    m._set("breaker_paused_until_timestamp_seconds", (), msg.pause_until)


def _breaker_halted(m: Metrics, msg: BreakerHalted, _now: float, _sent_at: float) -> None:
    m._inc("breaker_halts", (msg.rule,))
    m._set("breaker_trips_24h", (), float(msg.trips_in_24h))


def _breaker_reset(m: Metrics, _msg: BreakerReset, _now: float, _sent_at: float) -> None:
    m._inc("breaker_resets")
    m._set("breaker_paused_until_timestamp_seconds", (), 0.0)


def _counter(name: str, *fields: str) -> Handler:
    """A handler that counts the event under the values of ``fields``."""
    def handle(m: Metrics, msg: Message, _now: float, _sent_at: float) -> None:
        m._inc(name, tuple(str(getattr(msg, f)) for f in fields))
    return handle


def _bad(m: Metrics, msg: BadMessageSeen, _now: float, _sent_at: float) -> None:
    m._gauge("bad_messages", (msg.actor, msg.socket), float(msg.count))


def _stale(m: Metrics, msg: FeedStale | FeedFresh, _now: float, _sent_at: float) -> None:
    m._gauge("feed_stale", (msg.symbol,), 1.0 if isinstance(msg, FeedStale) else 0.0)


_HANDLERS: dict[type[Message], Handler] = {
    TradingStateChanged: _state_changed,  # type: ignore[dict-item]
    TreeLiveness: _liveness,  # type: ignore[dict-item]
    ChildStarted: _started,  # type: ignore[dict-item]
    ChildTerminated: _terminated,  # type: ignore[dict-item]
    Heartbeat: _beat,  # type: ignore[dict-item]
    PriceTick: _tick,  # type: ignore[dict-item]
    OrderAccepted: _accepted,  # type: ignore[dict-item]
    OrderRejected: _rejected,  # type: ignore[dict-item]
    OrderCancelled: _cancelled,  # type: ignore[dict-item]
    OrderFilled: _filled,  # type: ignore[dict-item]
    FeeCharged: _fee,  # type: ignore[dict-item]
    EquityUpdated: _equity,  # type: ignore[dict-item]
    ExecutionSnapshot: _snapshot,  # type: ignore[dict-item]
    BadMessageSeen: _bad,  # type: ignore[dict-item]
    FeedStale: _stale,  # type: ignore[dict-item]
    FeedFresh: _stale,  # type: ignore[dict-item]
    SignalRejected: _counter("signals_rejected", "code"),
    StrategyFailed: _counter("strategy_errors"),
    RestartIntensityReached: _counter("restart_intensity_reached"),
    BreakerTripped: _tripped,  # type: ignore[dict-item]
    BreakerHalted: _breaker_halted,  # type: ignore[dict-item]
    BreakerReset: _breaker_reset,  # type: ignore[dict-item]
    FeedReconnected: _counter("feed_reconnects", "symbol"),
    HeartbeatMissed: _counter("heartbeats_missed", "actor"),
    HangDetected: _counter("hangs_detected", "actor", "kind"),
    HeartbeatAction: _counter("heartbeat_actions", "action"),
    StateWriteFailed: _counter("state_write_failures", "actor"),
    AdminCommandReceived: _counter("admin_commands", "command"),
    VenueRateLimited: _counter("venue_rate_limited", "endpoint"),
    VenueInputRejected: _counter("venue_input_rejected", "what"),
    ExecutionStatus: _status,  # type: ignore[dict-item]
    VenueReconciled: _reconciled,  # type: ignore[dict-item]
}
