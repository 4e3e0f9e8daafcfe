"""Events -> metric values (``supervisor/metrics.py``, pure) and their exposition text."""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from actors._runtime.messages import (
    ChildStarted,
    ChildTerminated,
    Heartbeat,
    TreeLiveness,
)
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.breaker.messages import BreakerTripped
from actors.execution.messages import (
    EquityUpdated,
    ExecutionSnapshot,
    ExecutionStatus,
    FeeCharged,
    GateStatus,
    InstrumentBook,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    PriceTick,
    Side,
)
from actors.venue import roundtrips
from actors.venue.messages import VenueReconciled
from actors.venue.roundtrips import RoundTrips
from supervisor.metrics import LATENCY_BUCKETS, MAX_LABEL_VALUES, SPECS, Kind, Live, Metrics
from supervisor.metrics_server import exposition


def _changed(previous: TradingState, state: TradingState, seq: int = 1) -> TradingStateChanged:
    return TradingStateChanged(previous=previous, state=state, source="operator",
                               reason="test", seq=seq)


def _accepted(iteration: int, instrument: str = "BTC-USD", k: int = 0) -> OrderAccepted:
    return OrderAccepted(
        client_order_id=f"coid-{iteration}-{k}-deadbeef", intent_id=f"orchestrator-{iteration}-{k}",
        instrument=instrument, side=Side.BUY, quantity=1.0, status=OrderStatus.SUBMITTED)


def test_trading_state_is_one_for_the_state_in_force_and_zero_for_the_others() -> None:
    """A halt sets HALTED to 1 and every other state to 0, and counts the transition."""
    m = Metrics()
    m.trading_state(TradingState.ACTIVE)
    assert m.value("quantfund_trading_state", "ACTIVE") == 1.0
    m.observe(_changed(TradingState.ACTIVE, TradingState.HALTED), 1.0)
    states = {s.value: m.value("quantfund_trading_state", s.value) for s in TradingState}
    assert states == {"ACTIVE": 0.0, "REDUCING": 0.0, "PAUSED": 0.0, "HALTED": 1.0}
    assert m.value("quantfund_trading_state_changes", "HALTED", "operator") == 1.0
    # The same state said again (to a child just Ready) is no transition.
    m.observe(_changed(TradingState.HALTED, TradingState.HALTED), 2.0)
    assert m.value("quantfund_trading_state_changes", "HALTED", "operator") == 1.0


def test_restarts_and_exits_per_actor() -> None:
    """Restarts are the supervisor's count from ChildStarted; exits count by reason; up follows."""
    m = Metrics(intensity=10, period_s=60.0)
    m.observe(ChildStarted(actor="execution", pid=10, restarts=0), 1.0)
    m.observe(ChildTerminated(actor="execution", pid=10, reason="killed", exit_status=-9), 2.0)
    assert m.value("quantfund_actor_up", "execution") == 0.0
    m.observe(ChildStarted(actor="execution", pid=11, restarts=1), 3.0)
    assert m.value("quantfund_actor_up", "execution") == 1.0
    assert m.value("quantfund_actor_restarts", "execution") == 1.0
    assert m.value("quantfund_actor_exits", "execution", "killed") == 1.0
    m.live(Live(intensity_restarts=1, bad_messages={"bus-in": 3}))
    assert m.value("quantfund_restart_intensity_restarts") == 1.0
    assert m.value("quantfund_restart_intensity_limit") == 10.0
    assert m.value("quantfund_bad_messages", "supervisor", "bus-in") == 3.0


def test_orders_fills_and_rejections_by_typed_reason() -> None:
    """Accepted orders and fills count by instrument and side; rejections by their code."""
    m = Metrics()
    m.observe(_accepted(1), 1.0)
    m.observe(OrderRejected(intent_id="i", instrument="BTC-USD", code="max_position",
                            reason="too big"), 1.0)
    m.observe(OrderRejected(intent_id="j", instrument="BTC-USD", code="max_position",
                            reason="too big"), 1.0)
    m.observe(OrderRejected(intent_id="k", instrument="BTC-USD", code="broker",
                            reason="venue said no"), 1.0)
    m.observe(OrderFilled(client_order_id="c", instrument="BTC-USD", side=Side.SELL,
                          quantity=2.0, price=100.0, position_after=-2.0, realized_pnl=0.0), 1.0)
    assert m.value("quantfund_orders_accepted", "BTC-USD", "BUY") == 1.0
    assert m.value("quantfund_orders_rejected", "max_position") == 2.0
    assert m.value("quantfund_orders_rejected", "broker") == 1.0
    assert m.value("quantfund_fills", "BTC-USD", "SELL") == 1.0
    assert m.value("quantfund_position", "BTC-USD") == -2.0


def test_commissions_add_up_by_currency_and_move_the_position() -> None:
    """Each FeeCharged adds its amount under its currency; a base-currency fee's position
    after it is the position shown."""
    m = Metrics()
    for amount, after in ((1e-5, 0.00999), (2e-5, 0.01997)):
        m.observe(FeeCharged(client_order_id="c", instrument="BTC/USDT", currency="BTC",
                             amount=amount, value=amount * 5e4, position_after=after), 1.0)
    m.observe(FeeCharged(client_order_id="d", instrument="BTC/USDT", currency="USDT",
                         amount=0.5, value=0.5, position_after=0.01997), 1.0)
    assert m.value("quantfund_fees_paid", "BTC/USDT", "BTC") == pytest.approx(3e-5)
    assert m.value("quantfund_fees_paid", "BTC/USDT", "USDT") == 0.5
    assert m.value("quantfund_position", "BTC/USDT") == 0.01997


def test_a_label_past_its_cap_of_distinct_values_reads_other() -> None:
    """Whatever a publisher puts in a code, one label keeps a bounded set of values."""
    m = Metrics()
    for n in range(MAX_LABEL_VALUES + 10):
        m.observe(OrderRejected(intent_id="i", instrument="X", code=f"code-{n}", reason="r"), 1.0)
    family = next(f for f in m.collect(0.0) if f.spec.name == "quantfund_orders_rejected")
    assert len(family.values) == MAX_LABEL_VALUES + 1
    assert family.values[("other",)] == 10.0
    assert family.values[("code-0",)] == 1.0  # a value seen before the cap keeps counting


def test_no_order_id_reaches_a_label() -> None:
    """Client order ids and intent ids are never label values (unbounded sets)."""
    m = Metrics()
    for n in range(50):
        m.observe(PriceTick(instrument="BTC-USD", price=100.0, ts=10.0, iteration=n), 1.0,
                  sent_at=10.001)
        m.observe(_accepted(n), 1.0, sent_at=10.004)
    text = exposition(m).decode()
    assert "coid-" not in text
    assert "orchestrator-" not in text


def test_tick_to_order_pairs_the_order_with_the_tick_its_intent_answered() -> None:
    """Latency = OrderAccepted's send time - the tick's ts for that iteration and instrument."""
    m = Metrics()
    m.observe(PriceTick(instrument="BTC-USD", price=100.0, ts=1000.0, iteration=7), 1.0,
              sent_at=1000.002)
    m.observe(PriceTick(instrument="ETH-USD", price=50.0, ts=1000.5, iteration=7), 1.0,
              sent_at=1000.502)
    m.observe(_accepted(7, "BTC-USD"), 2.0, sent_at=1000.004)
    m.observe(_accepted(99, "BTC-USD"), 2.0, sent_at=1000.004)  # no tick kept: not counted
    h = m.histogram("quantfund_tick_to_order_seconds")
    assert h is not None
    assert h.count == 1
    assert h.sum == pytest.approx(0.004)
    assert dict(h.cumulative())["0.005"] == 1
    assert dict(h.cumulative())["0.0025"] == 0


def test_an_order_accepted_before_its_tick_reached_the_hub_is_timed_when_the_tick_comes() -> None:
    """The orchestrator sends the intent before it publishes the tick: execution's
    OrderAccepted can reach the hub first, and still counts once the tick arrives."""
    m = Metrics()
    m.observe(_accepted(3), 1.0, sent_at=1000.006)
    assert m.histogram("quantfund_tick_to_order_seconds") is None
    m.observe(PriceTick(instrument="BTC-USD", price=1.0, ts=1000.0, iteration=3), 1.1,
              sent_at=1000.001)
    h = m.histogram("quantfund_tick_to_order_seconds")
    assert h is not None
    assert h.count == 1
    assert h.sum == pytest.approx(0.006)
    m.observe(PriceTick(instrument="BTC-USD", price=1.0, ts=1000.0, iteration=3), 1.2,
              sent_at=1000.001)  # the same tick again (a replay) does not count it twice
    assert m.histogram("quantfund_tick_to_order_seconds").count == 1  # type: ignore[union-attr]


def test_a_replayed_bar_time_falls_back_to_the_tick_publish_time() -> None:
    """A CSV bar's historical ts is not when the iteration began: the publish time is used."""
    m = Metrics()
    m.observe(PriceTick(instrument="BTC-USD", price=100.0, ts=1.6e9, iteration=1), 1.0,
              sent_at=1.7e9)
    m.observe(_accepted(1), 2.0, sent_at=1.7e9 + 0.003)
    h = m.histogram("quantfund_tick_to_order_seconds")
    assert h is not None
    assert h.sum == pytest.approx(0.003, abs=1e-6)


def test_the_execution_snapshot_zeroes_instruments_gone_flat() -> None:
    """The snapshot leaves flat instruments out; their gauge must read 0, not the old value."""
    m = Metrics()
    m.observe(ExecutionSnapshot(positions={"BTC-USD": 2.0, "ETH-USD": 1.0},
                                orders={"SUBMITTED": 1}), 1.0)
    m.observe(ExecutionSnapshot(positions={"ETH-USD": 3.0}, orders={"FILLED": 2}), 2.0)
    assert m.value("quantfund_position", "BTC-USD") == 0.0
    assert m.value("quantfund_position", "ETH-USD") == 3.0
    assert m.value("quantfund_orders", "SUBMITTED") == 0.0
    assert m.value("quantfund_orders", "FILLED") == 2.0


def test_ages_are_computed_at_collect_time() -> None:
    """A heartbeat or tick seen at t reads (now - t) at a scrape at now."""
    m = Metrics()
    m.observe(Heartbeat(actor="alerter", pid=1, seq=1, iterations=3, state_age_s=0.5,
                        wal_unsynced_s=0.02, gauges={"outbox_depth": 4.0, "send_failures": 2.0}),
              10.0, sent_mono=9.999)
    m.observe(PriceTick(instrument="BTC-USD", price=1.0, ts=0.0, iteration=1), 11.0)
    assert m.value("quantfund_actor_heartbeat_age_seconds", "alerter", now=12.5) == 2.5
    assert m.value("quantfund_feed_age_seconds", "BTC-USD", now=12.5) == 1.5
    assert m.value("quantfund_actor_wal_unsynced_seconds", "alerter") == 0.02
    assert m.value("quantfund_alert_outbox_depth") == 4.0
    assert m.value("quantfund_alert_send_failures") == 2.0


def test_bus_lag_is_measured_for_actor_events_only() -> None:
    """An actor's event has a send time; the supervisor's own events have no lag."""
    m = Metrics()
    m.observe(TreeLiveness(live=True, stale=[]), 5.0, sent_mono=4.998)
    m.observe(_changed(TradingState.ACTIVE, TradingState.HALTED), 5.0)
    h = m.histogram("quantfund_bus_lag_seconds")
    assert h is not None
    assert h.count == 1
    assert h.sum == pytest.approx(0.002)
    assert m.value("quantfund_tree_live") == 1.0


def test_exposition_follows_prometheus_conventions() -> None:
    """Every name has the prefix; counters expose ``_total``; histograms ``_seconds`` buckets."""
    m = Metrics(max_drawdown_pct=5.0)
    m.observe(BreakerTripped(rule="drawdown", reason="r", pause_until=0.0), 1.0)
    m.observe(EquityUpdated(equity=99.0, cash=1.0, realized_pnl=-1.0, ts=0.0), 1.0)
    m.state_acked(TradingState.HALTED, 0.004)
    families = {f.name: f for f in text_string_to_metric_families(exposition(m).decode())}
    assert all(name.startswith("quantfund_") for name in families)
    samples = {s.name: s for f in families.values() for s in f.samples}
    assert samples["quantfund_breaker_trips_total"].labels == {"rule": "drawdown"}
    assert samples["quantfund_breaker_max_drawdown_ratio"].value == 0.05
    assert samples["quantfund_equity"].value == 99.0
    buckets = [s for s in families["quantfund_trading_state_ack_seconds"].samples
               if s.name.endswith("_bucket")]
    assert buckets[-1].labels == {"state": "HALTED", "le": "+Inf"}
    assert buckets[-1].value == 1.0
    for spec in SPECS:
        assert spec.kind is not Kind.HISTOGRAM or spec.name.endswith("_seconds")
        assert not spec.name.endswith("_total")  # the exposition adds it to counters


def test_collect_while_observing_from_another_thread() -> None:
    """A scrape thread and the hub's thread share the values under one lock: no torn reads,
    no 'changed size during iteration', and the final count is exact."""
    m = Metrics()
    errors: list[BaseException] = []
    done = threading.Event()

    def scrape() -> None:
        try:
            while not done.is_set():
                exposition(m)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=scrape)
    thread.start()
    try:
        for n in range(20_000):
            m.observe(OrderRejected(intent_id="i", instrument=f"I{n % 40}", code=f"c{n % 50}",
                                    reason="r"), float(n))
    finally:
        done.set()
        thread.join(timeout=10)
    assert not errors
    family = next(f for f in m.collect(0.0) if f.spec.name == "quantfund_orders_rejected")
    assert sum(family.values.values()) == 20_000


def test_halt_to_cancel_times_each_cancel_after_a_halt_only() -> None:
    """Cancels after a halt are timed from it (the last one is the halt's slowest); a cancel
    with no halt before it, or after a resume, is not."""
    from actors.execution.messages import OrderCancelled

    def cancel() -> OrderCancelled:
        return OrderCancelled(client_order_id="c", instrument="BTC-USD", reason="kill switch")

    m = Metrics()
    m.observe(cancel(), 1.0)
    m.observe(_changed(TradingState.ACTIVE, TradingState.HALTED), 10.0)
    m.observe(cancel(), 10.004)
    m.observe(cancel(), 10.02)
    m.observe(_changed(TradingState.HALTED, TradingState.ACTIVE, seq=2), 11.0)
    m.observe(cancel(), 12.0)
    h = m.histogram("quantfund_halt_to_cancel_seconds")
    assert h is not None
    assert h.count == 2
    assert h.sum == pytest.approx(0.024)
    assert m.value("quantfund_orders_cancelled", "BTC-USD") == 4.0


def test_breaker_trips_pause_and_reset() -> None:
    """A trip counts by rule and sets the 24 h count and the pause's end; a reset clears it."""
    from actors.breaker.messages import BreakerHalted, BreakerReset

    m = Metrics()
    m.observe(BreakerTripped(rule="drawdown", reason="r", pause_until=1.7e9, trips_in_24h=2), 1.0)
    assert m.value("quantfund_breaker_trips", "drawdown") == 1.0
    assert m.value("quantfund_breaker_trips_24h") == 2.0
    assert m.value("quantfund_breaker_paused_until_timestamp_seconds") == 1.7e9
    m.observe(BreakerReset(reason="window passed"), 2.0)
    assert m.value("quantfund_breaker_paused_until_timestamp_seconds") == 0.0
    assert m.value("quantfund_breaker_resets") == 1.0
    m.observe(BreakerHalted(rule="daily_loss", reason="r", trips_in_24h=3), 3.0)
    assert m.value("quantfund_breaker_halts", "daily_loss") == 1.0
    assert m.value("quantfund_breaker_trips_24h") == 3.0


def test_a_failing_handler_never_stops_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub's tap logs a handler's exception and returns: the event is still forwarded,
    and the lock is free for the next one."""
    from supervisor import metrics as metrics_mod
    from supervisor.metrics_server import hub_tap

    def broken(*_args: object) -> None:
        raise RuntimeError("bug in a handler")

    monkeypatch.setitem(metrics_mod._HANDLERS, TreeLiveness, broken)
    m = Metrics()
    tap = hub_tap(m)
    tap(None, TreeLiveness(live=True, stale=[]))  # does not raise
    m.observe(ChildStarted(actor="journal", pid=1, restarts=0), 1.0)
    assert m.value("quantfund_actor_up", "journal") == 1.0


def test_execution_status_gives_unrealised_pnl_and_average_price_per_instrument() -> None:
    """Execution's own status report (not recomputed here) sets the per-instrument gauges."""
    m = Metrics()
    book = InstrumentBook(position=2.0, avg_price=100.0, last_price=103.0, last_price_at=1.0,
                          unrealized_pnl=6.0, realized_pnl=1.5)
    gate = GateStatus(orders_in_window=0, max_orders_per_window=10, rate_window_s=1.0,
                      rate_headroom=10, session_id="s", daily_loss=None, daily_loss_limit=100.0)
    m.observe(ExecutionStatus(instruments={"BTC-USD": book}, equity=1.0, cash=1.0,
                              realized_pnl=1.5, unrealized_pnl=6.0, orders={}, open_orders={},
                              fills=1, last_fill=None, gate=gate, at=1.0), 1.0)
    assert m.value("quantfund_unrealized_pnl", "BTC-USD") == 6.0
    assert m.value("quantfund_average_price", "BTC-USD") == 100.0


def test_venue_reconciliations_are_counted_by_outcome_with_the_fills_they_recovered() -> None:
    """ok and mismatch apart (an alert rule can fire on the second); recovered fills summed."""
    m = Metrics()
    for ok, recovered in ((True, 0), (True, 2), (False, 1)):
        m.observe(VenueReconciled(open_at_venue=0, open_here=0, adopted=0, cancelled=0,
                                  fills_recovered=recovered, mismatches=[] if ok else ["x"],
                                  ok=ok), 1.0)
    assert m.value("quantfund_venue_reconciliations", "ok") == 2.0
    assert m.value("quantfund_venue_reconciliations", "mismatch") == 1.0
    assert m.value("quantfund_venue_fills_recovered") == 3.0


def test_venue_round_trips_ride_on_executions_heartbeat_as_a_histogram() -> None:
    """The broker's timings by call, carried as heartbeat gauges, read back as one histogram
    per call (replaced by each beat: the counts are execution's own, since it started)."""
    trips = RoundTrips()
    for seconds in (0.0008, 0.003, 0.003, 20.0):
        trips.observe("create_order", seconds)
    trips.observe("cancel_order", 0.002)
    m = Metrics()
    for _ in range(2):  # the same counts twice: not doubled
        m.observe(Heartbeat(actor="execution", pid=1, seq=1, iterations=0, state_age_s=0.0,
                            gauges=trips.gauges()), 1.0)
    h = m.histogram("quantfund_venue_round_trip_seconds", "create_order")
    assert h is not None
    assert (h.count, round(h.sum, 4)) == (4, 20.0068)
    cumulative = dict(h.cumulative())
    assert (cumulative["0.001"], cumulative["0.0025"], cumulative["0.005"]) == (1, 1, 3)
    assert cumulative["+Inf"] == 4  # 20 s: past the largest bound
    assert roundtrips.BUCKETS == LATENCY_BUCKETS
