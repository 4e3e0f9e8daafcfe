"""The venue fault suite, tree level: a whole tree (``feed.kind = "venue"``, ``broker = "venue"``)
trading against the local exchange under a seeded schedule of faults on both sides of the wire:
lost order answers, late answers, 5xx, 429 + Retry-After, connection resets, websocket closes and
pauses, exchange restarts with the book intact, and SIGKILLs of execution and of the supervisor
(restarted as systemd would). Halfway, and at the end, a halt must leave nothing resting at the
venue. Then what the venue holds is checked against what execution wrote:

- no client order id at the venue twice, and none execution has no record of;
- every order execution made is final (filled, cancelled, or rejected with a typed reason);
- every order's filled quantity is the venue's (no lost fill, none invented);
- execution's positions and cash moved exactly as the venue's balances, commissions included
  (the exchange charges Binance's 0.1 % in the asset received: a buy's in BTC, a sell's in
  USDT), and execution booked what the venue's trades say each fill cost;
- the journal and the halts store verify, and no process of the run is left.

Used by ``tests/chaos/test_venue_tree_faults.py``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor.admin_messages import HaltRequest, ResumeRequest
from supervisor.client import request
from supervisor.drill import invariants as inv
from supervisor.errors import AdminUnavailable
from tests.chaos.harness import TreeWatch
from tests.support.exchange.process import ExchangeProcess
from tests.support.restarter import Restarter
from tests.support.tree import alive
from tests.support.venue import execution_orders

KEY, SECRET = "test-key", "test-secret"
WEIGHT_LIMIT = 12_000
"""The exchange's weight per minute, and the broker's (a higher tier than Binance's default:
hundreds of orders and their faults within a couple of minutes)."""
BALANCES = {"USDT": 10_000_000.0, "BTC": 100.0}
FEE_RATE = "0.001"
"""The exchange's commission, as Binance charges without BNB (of the asset received)."""
EXCHANGE_ARGS = ("--prices", "BTC/USDT=50000", "--symbols", "BTC/USDT", "--tick-ms", "50",
                 "--seed", "5", "--fee-rate", FEE_RATE, "--max-fill-qty", "BTC/USDT=0.0006",
                 "--balances", ",".join(f"{k}={v:g}" for k, v in BALANCES.items()),
                 "--weight-limit", str(WEIGHT_LIMIT))
"""Prices move every 50 ms and stream; a fill takes at most 0.0006 BTC, so 0.001 fills in parts
(a market order in two trades at once, a resting one a slice per price step)."""
ORDER_FAULTS = (  # armed for one request to the order endpoint
    ("drop_after_accept", {}),
    ("delay_ms", {"delay_ms": 2500}),  # past the 2 s deadline: a lost answer, arriving late
    ("http_5xx", {"status": 503}),
    ("http_5xx", {"status": 500, "json_body": True}),
    ("rate_limit", {"retry_after": 1}),
    ("reset", {}),
)
OTHER_FAULTS = ("ws_close", "ws_pause", "SIGKILL execution", "SIGKILL supervisor",
                "exchange restart")
OTHER_WEIGHTS = (4, 2, 3, 1, 1)
OPEN = ("PENDING_SUBMIT", "SUBMITTED")
RESTING = ("NEW", "PARTIALLY_FILLED")


def config(x: ExchangeProcess) -> str:
    """EveryN on the venue's stream, every second bar a limit order of 0.001 BTC 0.05 % away
    (about one price step: some rest, most fill in slices soon), sent to the venue."""
    return f"""
[supervisor]
intensity = 100000
period_s = 10.0
backoff_initial_s = 0.01
backoff_max_s = 0.2
backoff_reset_s = 1.0
[venue]
rest_url = "{x.base_url}"
ws_url = "{x.ws_url}"
symbols = ["BTC/USDT"]
request_timeout_s = 2.0
recv_window_ms = 2000
reconcile_every_s = 5.0     # reconciliations during the faults, not only at the end
request_weight_per_minute = {WEIGHT_LIMIT}
stale_after_s = 1.0
[execution]
broker = "venue"
initial_cash = 100000.0
[execution.gate]
max_order_notional = 1000000.0
[orchestrator]
interval_s = 0.05
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 2
quantity = 0.001
limit_offset_pct = 0.05
[orchestrator.feed]
kind = "venue"
[heartbeat]
on_feed_stale = "alert"     # keep trading through the stream's faults: they are what is tested
[breaker]
max_consecutive_losses = 1000000
"""


@dataclass
class VenueChaosReport:
    """What a run did and found."""

    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0
    supervisor_generations: int = 0
    venue_orders: int = 0
    venue_trades: int = 0
    partially_filled_orders: int = 0
    execution_orders: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    fees_charged: dict[str, float] = field(default_factory=dict)
    """Commissions the venue's trades charged, by currency (each equal to execution's)."""
    rejections: Counter[str] = field(default_factory=Counter)
    reconciliations: int = 0
    """``venue_reconciled`` logged by execution (at starts, reconnects, every 5 s)."""
    halts_clean: int = 0
    """Halts after which the venue listed no order resting (the mid-run one and the final)."""
    violations: list[str] = field(default_factory=list)

    @property
    def total_faults(self) -> int:
        """Faults injected."""
        return sum(self.faults.values())


class VenueChaos(TreeWatch):
    """One run: a tree under a restarter, trading at the local exchange ``x``."""

    def __init__(self, tmp: Path, x: ExchangeProcess, seed: int) -> None:
        """Start the tree (the venue credentials must be in the environment it inherits)."""
        assert os.environ.get("QUANTFUND_VENUE_KEY") == KEY, "set the venue credentials first"
        self.tmp, self.x = tmp, x
        self.state, self.run_dir = tmp / "state", tmp / "run"
        self.rng = random.Random(seed)
        self.report = VenueChaosReport(seed=seed)
        self.restarter = Restarter(tmp, config(x))
        self.seen: set[int] = set()
        self.pids: dict[str, int] = {}

    # --- observing -------------------------------------------------------------------------

    def _venue(self) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while True:  # the exchange may be restarting
            try:
                return dict(self.x.control("orders"))
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _venue_orders(self) -> list[dict[str, Any]]:
        return list(self._venue()["orders"])

    # --- acting ----------------------------------------------------------------------------

    def _admin(self, msg: HaltRequest | ResumeRequest, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                request(self.run_dir, msg, timeout_s=3.0)
            except AdminUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            else:
                return

    def _halt_and_check(self, why: str, timeout_s: float = 15.0) -> None:
        """Halt; within ``timeout_s`` the venue lists nothing of ours resting."""
        self.wait_serving(90.0)
        self._admin(HaltRequest(reason=f"venue chaos: {why}", who="chaos"))
        deadline = time.monotonic() + timeout_s
        while left := [o for o in self._venue_orders() if o["status"] in RESTING]:
            if time.monotonic() > deadline:
                self.report.violations.append(
                    f"{why}: {len(left)} orders still resting {timeout_s} s after the halt, "
                    f"e.g. {left[0]['clientOrderId']}")
                return
            time.sleep(0.1)
        self.report.halts_clean += 1

    def _inject(self) -> None:
        if self.rng.random() < 0.6:
            kind, extra = self.rng.choice(ORDER_FAULTS)
            with contextlib.suppress(OSError):
                self.x.fault(kind, count=1, path="/api/v3/order", method="POST", **extra)
                self.report.faults[kind] += 1
            return
        kind = self.rng.choices(OTHER_FAULTS, OTHER_WEIGHTS)[0]
        if kind.startswith("SIGKILL"):
            target = kind.split()[1]
            self._status(0.3)
            pid = self.pids.get(target, 0)
            if pid <= 0 or not alive(pid):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        elif kind == "exchange restart":
            self.x.restart()
        else:
            with contextlib.suppress(OSError):
                self.x.fault(kind, count=1)
                if kind == "ws_pause":  # a short silence: past stale_after_s now and then
                    time.sleep(self.rng.uniform(0.3, 1.5))
                    self.x.fault("ws_pause", count=0)
        self.report.faults[kind] += 1

    def run(self, orders: int, faults: int) -> VenueChaosReport:
        """Inject faults until the venue holds ``orders`` orders and ``faults`` were injected
        (a halt and a resume halfway), halt, stop, check."""
        started = time.monotonic()
        try:
            self.wait_serving(90.0)
            halted_midway = False
            while len(self._venue_orders()) < orders or self.report.total_faults < faults:
                assert time.monotonic() - started < 900, "the run did not reach its targets"
                time.sleep(self.rng.uniform(0.05, 0.3))
                placed = len(self._venue_orders())
                if self.report.total_faults < faults * min(1.0, placed / orders) + 5:
                    self._inject()  # spread over the orders, not bunched before them
                if not halted_midway and placed >= orders // 2:
                    self._halt_and_check("midway")
                    self._admin(ResumeRequest(reason="venue chaos: resume", who="chaos"))
                    halted_midway = True
                self._resume_if_halted()
            self._halt_and_check("settle")
            self._settle()
        finally:
            self.restarter.stop()
            self.report.duration_s = round(time.monotonic() - started, 1)
        self._check()
        return self.report

    def _resume_if_halted(self) -> None:
        """The operator lifts what the faults caused (a restart's reconcile may halt)."""
        reply = self._status(0.3)
        if reply is not None and reply.trading_state != "ACTIVE":
            with contextlib.suppress(AdminUnavailable):
                request(self.run_dir, ResumeRequest(reason="venue chaos: operator resumes",
                                                    who="chaos"), timeout_s=1.0)

    def _settle(self, timeout_s: float = 60.0) -> None:
        """Halted: wait until execution holds nothing open (lost answers resolved) and every
        fill's commission is booked (its status report, newer than the wait, says none due)."""
        deadline, since = time.monotonic() + timeout_s, time.time()
        while time.monotonic() < deadline:
            reply = self._status()
            shown = reply.trading.execution if reply is not None and reply.trading else None
            if (reply is not None and not any(n for s, n in reply.orders.items() if s in OPEN)
                    and shown is not None and shown.at > since and shown.fees_due == 0):
                return
            time.sleep(0.2)
        self.report.violations.append(f"orders open or commissions due {timeout_s} s after "
                                      "the final halt")

    # --- checking --------------------------------------------------------------------------

    def _check(self) -> None:
        r = self.report
        r.supervisor_generations = len(self.restarter.procs)
        last = self.restarter.procs[-1].returncode if self.restarter.procs else None
        if last != 0:
            r.violations.append(f"the final drain exited {last}")
        venue = self._venue()
        v_orders = list(venue["orders"])
        r.venue_orders, r.venue_trades = len(v_orders), len(venue["trades"])
        ids = [str(o["clientOrderId"]) for o in v_orders]
        r.violations += [f"client order id {c} at the venue {n} times"
                         for c, n in Counter(ids).items() if n > 1]
        book, orders = execution_orders(self.state)
        assert book is not None, "execution wrote no book"
        mine = {o.client_order_id: o for o in orders}
        r.execution_orders = len(mine)
        r.by_status = Counter(o.status.value for o in orders)
        r.rejections = Counter(o.reason.split(":")[0] for o in orders
                               if o.status.value == "REJECTED")
        r.violations += [f"{o.client_order_id} not final: {o.status.value}"
                         for o in orders if o.status.value in OPEN]
        r.violations += [f"{o.client_order_id} rejected with no reason"
                         for o in orders if o.status.value == "REJECTED" and not o.reason]
        for v in v_orders:
            coid, executed = str(v["clientOrderId"]), float(v["executedQty"])
            r.partially_filled_orders += 0 < executed < float(v["origQty"])
            here = mine.get(coid)
            if here is None:
                r.violations.append(f"{coid} at the venue, no record in execution")
            elif not math.isclose(here.filled, executed, abs_tol=1e-12):
                r.violations.append(f"{coid}: filled {here.filled:g} here, {executed:g} at "
                                    "the venue")
        at_venue = set(ids)
        r.violations += [f"{o.client_order_id} filled {o.filled:g} here, unknown at the venue"
                         for o in orders if o.filled > 0 and o.client_order_id not in at_venue]
        self._check_balances(book.portfolio.positions, book.portfolio.cash)
        self._check_fees(venue["trades"], v_orders, orders)
        self._check_reconciliations()
        for check in (inv.journal_verifies, inv.halts_verify):
            r.violations += [str(v) for v in check(self.state)]
        r.violations += [str(v) for v in
                         inv.no_orphans(self.seen | self.restarter.logged_pids())]

    def _check_balances(self, positions: dict[str, Any], cash: float) -> None:
        held = self.x.control("stats")["balances"]
        venue_btc = sum(float(v) for v in held["BTC"]) - BALANCES["BTC"]
        venue_usdt = sum(float(v) for v in held["USDT"]) - BALANCES["USDT"]
        pos = positions.get("BTC/USDT")
        here_btc = pos.quantity if pos else 0.0
        if not math.isclose(here_btc, venue_btc, abs_tol=1e-9):
            self.report.violations.append(
                f"BTC: execution holds {here_btc:.8f}, the venue's balance moved {venue_btc:.8f}")
        here_usdt = cash - 100_000.0
        if not math.isclose(here_usdt, venue_usdt, abs_tol=1e-6):
            self.report.violations.append(
                f"USDT: execution's cash moved {here_usdt:.8f}, the venue's {venue_usdt:.8f}")

    def _check_fees(self, trades: list[dict[str, Any]], v_orders: list[dict[str, Any]],
                    orders: list[Any]) -> None:
        """Each order's commissions as booked equal what the venue's trades of it charged,
        currency by currency (booked once per part, none lost, none made up)."""
        coid_of = {int(v["orderId"]): str(v["clientOrderId"]) for v in v_orders}
        charged: dict[str, dict[str, float]] = {}
        for t in trades:
            per = charged.setdefault(coid_of.get(int(t["orderId"]), "?"), {})
            asset = str(t["commissionAsset"])
            per[asset] = per.get(asset, 0.0) + float(t["commission"])
        self.report.fees_charged = {}
        for o in orders:
            venue = charged.get(o.client_order_id, {})
            for asset in set(venue) | set(o.fees):
                a, b = o.fees.get(asset, 0.0), venue.get(asset, 0.0)
                self.report.fees_charged[asset] = self.report.fees_charged.get(asset, 0.0) + b
                if not math.isclose(a, b, abs_tol=1e-10):
                    self.report.violations.append(
                        f"{o.client_order_id}: {asset} commission {a:.8f} booked, {b:.8f} "
                        "charged by the venue")

    def _check_reconciliations(self) -> None:
        """Count execution's reconciliations; each must have found nothing unexplained (the
        operator loop would lift the halt one requests, so it is looked for here)."""
        for log in sorted(self.tmp.glob("up-*.log")):
            for raw in log.read_text(errors="replace").splitlines():
                if '"venue_reconciled"' not in raw:
                    continue
                line = json.loads(raw)
                self.report.reconciliations += 1
                if not line.get("ok"):
                    self.report.violations.append(
                        f"reconcile ({line.get('why')}) found {line.get('mismatches')}")
