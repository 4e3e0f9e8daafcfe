"""The ``venue`` broker: orders at a real exchange through ccxt, exactly once by client order id.

Execution calls it from its actor thread; every call to the exchange runs on the broker's own
event loop (``LoopThread``) with a deadline. A submit sends the client order id as the venue's
own (ccxt's unified ``clientOrderId``: ``newClientOrderId`` on Binance). A submit whose answer is
lost (a timeout, a reset, a 5xx) is never resent: the order stays open here, marked unresolved,
and ``match`` asks the venue for that client id until it answers. Only once the venue's
``recvWindow`` has passed since the send can "not found" mean "never accepted": a request still
in flight after that window is refused by the venue itself. ccxt's own request throttle is off
(it would queue a halt's cancels 50 ms apart); the venue's limits are kept by the gate's order
throttle and by honouring ``Retry-After``: while the venue says to wait, nothing is sent.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Callable
from typing import Any

from actors._runtime import log
from actors._runtime.messages import Event
from actors.execution.broker import BrokerOrder, BrokerReport
from actors.execution.messages import OrderStatus, Side
from actors.execution.reconcile import Fill
from actors.venue.costs import Costs
from actors.venue.decode import cancel_answer, decode_order, decode_trade
from actors.venue.errors import VenueBadInput
from actors.venue.loop import LoopThread
from actors.venue.messages import VenueInputRejected, VenueRateLimited
from actors.venue.roundtrips import RoundTrips
from actors.venue.rules import PreparedOrder, Rejection, classify, prepare

START_TIMEOUT_S = 30.0
"""Longest wait for the exchange's markets at start (importing ccxt alone takes seconds)."""

CLIENT_ID_PREFIX = "QF-"
"""What execution's client order ids start with (``actors.execution.actor.client_order_id``)."""

INTERVAL_S = {"SECOND": 1.0, "MINUTE": 60.0, "HOUR": 3600.0, "DAY": 86400.0}
"""Binance's rate-limit intervals in seconds."""
SWEEP_AT = 5
"""From this many cancels on one symbol (a halt, a drain), one request cancels them all."""
ORDERS_PAGE = 1000
"""Orders asked for per page when listing a symbol's history (Binance's most per request)."""
FEES_PER_ROUND = 20
"""Orders whose trades the poller asks for in one round (each is one request)."""
POLL_WEIGHT_SHARE = 0.5
"""Past this share of the venue's weight per minute the poller scans no resting orders (it still
resolves lost submits): orders and a halt's cancels must never find the budget spent."""

Factory = Callable[[], Any]
"""Builds the ccxt exchange (inside the broker's loop: its HTTP session belongs to it)."""


class VenueBroker:
    """A ccxt exchange behind execution's ``Broker`` interface."""

    name = "venue"

    def __init__(
        self, factory: Factory, *, symbols: list[str], request_timeout_s: float,
        recv_window_s: float, poll_s: float = 1.0, weight_limit: int = 1200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Build the exchange on the broker's loop, load its markets, start the poller."""
        self.symbols = list(symbols)
        self.timeout = request_timeout_s
        self.recv_window_s = recv_window_s
        self.poll_s = poll_s
        self.weight_limit = weight_limit
        """The venue's request weight per minute (Binance spot publishes 1200 per IP)."""
        self.clock = clock
        self.log = log.get("venue")
        self.io = LoopThread("venue-io")
        self.order_limits: list[tuple[int, float]] = []
        self.round_trips = RoundTrips()
        """Every ccxt call's round trip by call (for the metrics endpoint, via heartbeats)."""
        self.started = clock()
        self._settled_below: dict[str, int] = {}
        """Per symbol: every venue order id below this was final when ``order_fills`` last
        looked (the next look starts there)."""
        """Before this, an earlier process may have sent what the venue has not seen yet."""
        self.ex: Any = self.io.call(self._open(factory), START_TIMEOUT_S)
        self.symbol_of: dict[str, str] = {}
        """Client order id -> symbol, for the orders this process sent or looked up."""
        self.unresolved: dict[str, float] = {}
        """Client order ids whose submit got no answer -> when it was sent (our clock)."""
        self.resting: dict[str, float] = {}
        """Client order ids open at the venue -> filled quantity last reported."""
        self._reports: queue.SimpleQueue[BrokerReport] = queue.SimpleQueue()
        """Filled by the poller (the loop's thread), emptied by ``match`` (the actor's)."""
        self.blocked_until = 0.0
        self.bad_input = 0
        """Venue answers refused by the decoders (counted; none changed a position)."""
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        """Events for execution to publish (refused input, rate limits), from either thread."""
        self.costs = Costs()
        """Fills reported without their trades, whose commission the poller asks for."""
        self._poller = self.io.submit(self._poll_forever())

    async def _open(self, factory: Factory) -> Any:
        ex = factory()
        await ex.load_markets()
        missing = [s for s in self.symbols if s not in ex.markets]
        if missing:
            await ex.close()
            raise ValueError(f"[venue] symbols not traded at {ex.id}: {', '.join(missing)}")
        self.order_limits = await self._published_order_limits(ex)
        return ex

    async def _published_order_limits(self, ex: Any) -> list[tuple[int, float]]:
        """Binance's ``rateLimits`` of type ORDERS from exchangeInfo (limit, window in seconds);
        [] where the venue publishes none that ccxt can reach (then the config's throttle)."""
        fetch = getattr(ex, "publicGetExchangeInfo", None)
        if fetch is None:
            return []
        try:
            info = await asyncio.wait_for(fetch(), self.timeout)
            out = [(int(r["limit"]), INTERVAL_S[str(r["interval"])] * int(r["intervalNum"]))
                   for r in info.get("rateLimits", []) if r.get("rateLimitType") == "ORDERS"]
        except Exception as exc:  # noqa: BLE001 - then the config's throttle alone holds
            self.log.warning("venue_order_limits_unread",
                             error=f"{type(exc).__name__}: {exc}"[:300])
            return []
        self.log.info("venue_order_limits", limits=[f"{n}/{w:g}s" for n, w in out])
        return out

    def order_rate_limit(self) -> list[tuple[int, float]]:
        """The order limits the venue publishes: (orders, per seconds)."""
        return list(self.order_limits)

    # --- calls ----------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **params: Any) -> Any:
        """One exchange call on the loop, within the deadline (raises what ccxt raises)."""
        return self.io.call(self._timed(method, getattr(self.ex, method)(*args, params=params)),
                            self.timeout)

    async def _timed(self, call: str, coro: Any) -> Any:
        """Await ``coro`` (a ccxt call), its round trip counted under ``call``."""
        t0 = time.monotonic()
        try:
            return await coro
        finally:
            self.round_trips.observe(call, time.monotonic() - t0)

    def _note_rate_limit(self, exc: BaseException, endpoint: str) -> bool:
        """A 429/418: wait what the venue says (``Retry-After``), at least a second."""
        import ccxt

        if not isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
            return False
        raw = self._header("retry-after") or "1"
        try:
            wait = max(1.0, float(raw))
        except ValueError:
            wait = 1.0
        self.blocked_until = max(self.blocked_until, self.clock() + wait)
        self.log.warning("venue_rate_limited", retry_after_s=wait, endpoint=endpoint,
                         error=str(exc)[:200])
        self._events.put(VenueRateLimited(retry_after_s=wait, endpoint=endpoint))
        return True

    def _refused(self, what: str, exc: VenueBadInput, coid: str) -> None:
        """Count and say a venue answer the decoders refused (nothing was booked from it)."""
        self.bad_input += 1
        self.log.error("venue_bad_input", client_order_id=coid, problem=str(exc)[:300],
                       count=self.bad_input, action="ignored; no position changed")
        self._events.put(VenueInputRejected(what=what, detail=f"{coid}: {exc}"[:500],
                                            count=self.bad_input))

    def _unparsable(self, exc: BaseException, coid: str) -> bool:
        """An answer ccxt could not read (a NaN where it wants a number, a truncated body):
        refused and counted like one our decoders refuse; True when it was one."""
        import ccxt

        bad = (isinstance(exc, ccxt.BadResponse | ccxt.NullResponse)
               or (isinstance(exc, ValueError | TypeError | KeyError | ArithmeticError)
                   and not isinstance(exc, ccxt.BaseError)))
        if bad:
            self._refused("order", VenueBadInput("answer", f"{type(exc).__name__}: {exc}"), coid)
        return bad

    def events(self) -> list[Event]:
        """What happened at the venue since the last call, for execution to publish."""
        out: list[Event] = []
        while not self._events.empty():
            out.append(self._events.get_nowait())
        return out

    def _header(self, name: str) -> str | None:
        """A header of the venue's last answer (``name`` in lower case), None when absent."""
        headers = getattr(self.ex, "last_response_headers", None) or {}
        found = {str(k).lower(): v for k, v in dict(headers).items()}.get(name)
        return None if found is None else str(found)

    async def _fetch(self, coid: str, symbol: str) -> Any:
        """The venue's order of client id ``coid`` (raises ``OrderNotFound`` when it has none)."""
        return await asyncio.wait_for(self._timed("fetch_order", self.ex.fetch_order(
            None, symbol, params={"clientOrderId": coid})), self.timeout)

    def _weight_used(self) -> int | None:
        """The request weight the venue says we used this minute (Binance's
        ``X-MBX-USED-WEIGHT-1M``), None where the venue does not say."""
        raw = self._header("x-mbx-used-weight-1m")
        try:
            return None if raw is None else int(raw)
        except ValueError:
            return None

    def _report(self, coid: str, raw: Any) -> BrokerReport:
        """Our report of a ccxt order, checked (``decode_order``): its cumulative fill and
        average price. Bad input raises ``VenueBadInput`` (counted) and changes nothing."""
        self.symbol_of.setdefault(coid, "")
        try:
            order = decode_order(raw, known_client_ids=self.symbol_of.keys())
        except VenueBadInput as exc:
            self._refused("order", exc, coid)
            raise
        if order.client_order_id != coid:
            wrong = VenueBadInput("order.clientOrderId", f"asked for {coid!r}, the venue "
                                  f"answered {order.client_order_id!r}")
            self._refused("order", wrong, coid)
            raise wrong
        try:
            fees, known = self.costs.of_answer(coid, raw, order)
        except VenueBadInput as exc:
            self._refused("order", exc, coid)
            raise
        self.symbol_of[coid] = order.symbol
        if order.status is OrderStatus.SUBMITTED:
            self.resting[coid] = order.filled
        else:
            self.resting.pop(coid, None)
        reason = f"venue: {order.venue_status}" if order.status is OrderStatus.REJECTED else ""
        return BrokerReport(coid, order.status, order.filled,
                            order.average or order.price or 0.0, reason=reason, fees=fees,
                            fees_known=known)

    # --- Broker ---------------------------------------------------------------------------

    def _fit(self, order: BrokerOrder) -> PreparedOrder | BrokerReport:
        """The order fitted to its market (precision, minimums), or why not: the venue never
        has to reject what we could have known."""
        coid = order.client_order_id
        market = self.ex.markets.get(order.instrument)
        if market is None:
            return BrokerReport(coid, OrderStatus.REJECTED,
                                reason=f"unknown_symbol: {order.instrument} is not traded at "
                                       f"{self.ex.id}")
        fitted = prepare(order.side, order.quantity, order.limit_price, market,
                         amount_to_precision=self.ex.amount_to_precision,
                         price_to_precision=self.ex.price_to_precision,
                         reference_price=order.reference_price)
        if isinstance(fitted, Rejection):
            return BrokerReport(coid, OrderStatus.REJECTED,
                                reason=f"{fitted.reason.value}: {fitted.detail}")
        return fitted

    def submit(self, order: BrokerOrder) -> BrokerReport:
        """Send once; a lost answer leaves the order open and unresolved, never resent."""
        coid = order.client_order_id
        if self.clock() < self.blocked_until:
            return BrokerReport(coid, OrderStatus.REJECTED,
                                reason="rate_limited: the venue asked us to wait; not sent")
        fitted = self._fit(order)
        if isinstance(fitted, BrokerReport):
            return fitted
        self.symbol_of[coid] = order.instrument
        sent = self.clock()
        try:
            placed = self._call(
                "create_order", order.instrument, "market" if fitted.price is None else "limit",
                order.side.value.lower(), fitted.quantity, fitted.price, clientOrderId=coid)
            return self._report(coid, placed)
        except Exception as exc:  # noqa: BLE001 - classified: definite, or looked up
            outcome = classify(exc)
            self._note_rate_limit(exc, "create_order")
            self._unparsable(exc, coid)
            if outcome.definite and not isinstance(exc, VenueBadInput):
                return BrokerReport(coid, OrderStatus.REJECTED,
                                    reason=f"{outcome.reason.value}: {exc}")
            self.unresolved[coid] = sent
            self.log.warning("venue_submit_unresolved", client_order_id=coid,
                             error=outcome.detail[:300],
                             action="asking the venue by client order id; never resent")
            return BrokerReport(coid, OrderStatus.SUBMITTED, reason="status unknown: resolving")

    def lookup(self, client_order_id: str) -> BrokerReport | None:
        """What the venue knows of an order (None: not there), tried on each symbol we trade
        when this process has not seen the order (after a restart).

        "Not there" counts only once the venue's ``recvWindow`` (plus our deadline) has passed
        since this broker started: a submit an earlier process sent just before it died may
        still be on its way, and the venue refuses it only after that window. Until then a
        miss is asked again after the wait, once; an order execution then resends or rejects
        cannot be taken behind its back.
        """
        found = self._lookup_once(client_order_id)
        wait = self.started + self.recv_window_s + self.timeout - self.clock()
        if found is None and wait > 0:
            self.log.info("venue_lookup_waits", client_order_id=client_order_id,
                          wait_s=round(wait, 3), why="a send of the last process may be in "
                          "flight until the venue's recvWindow has passed")
            time.sleep(wait)
            found = self._lookup_once(client_order_id)
        return found

    def _lookup_once(self, client_order_id: str) -> BrokerReport | None:
        import ccxt

        known = self.symbol_of.get(client_order_id)
        for symbol in [known] if known else self.symbols:
            try:
                found = self.io.call(self._fetch(client_order_id, symbol), self.timeout * 2)
            except ccxt.OrderNotFound:
                continue
            self.symbol_of[client_order_id] = symbol
            report = self._report(client_order_id, found)
            if not report.fees_known:  # a lookup is not on a halt's path: ask its trades now
                report = self.io.call(self._settle(client_order_id), self.timeout * 2) or report
            return report
        return None

    def cancel(self, client_order_id: str) -> BrokerReport:
        """Cancel; an order already gone reports what became of it (a cancel racing a fill)."""
        return self.cancel_all([client_order_id])[0]

    def cancel_all(self, client_order_ids: list[str]) -> list[BrokerReport]:
        """Cancel several at once (concurrently: a halt's last ack is one round trip away)."""
        if not client_order_ids:
            return []
        return self.io.call(self._cancel_many(client_order_ids), self.timeout * 2)

    async def _cancel_many(self, coids: list[str]) -> list[BrokerReport]:
        swept: dict[str, BrokerReport] = {}
        for symbol in self.symbols:
            group = {c for c in coids if self.symbol_of.get(c) == symbol}
            mine = {c for c in self.resting if self.symbol_of.get(c) == symbol}
            if len(group) >= SWEEP_AT and mine <= group:
                swept |= await self._sweep(symbol, group)
        rest = [c for c in coids if c not in swept]
        done = dict(zip(rest, await asyncio.gather(*(self._cancel_one(c) for c in rest)),
                        strict=True))
        return [swept.get(c) or done[c] for c in coids]

    async def _sweep(self, symbol: str, group: set[str]) -> dict[str, BrokerReport]:
        """Every order resting on ``symbol`` cancelled in one request (Binance's ``DELETE
        openOrders``): a halt's last ack one round trip away, not twenty. Asked only when the
        cancels cover all of ours resting there; an order resting there that is not ours is
        cancelled with them, as reconciliation would (nothing rests that nobody tracks). What
        the answer does not name (filled or gone before) is cancelled one by one after it."""
        if self.clock() < self.blocked_until or not self.ex.has.get("cancelAllOrders"):
            return {}
        try:
            answers = await asyncio.wait_for(
                self._timed("cancel_all_orders", self.ex.cancel_all_orders(symbol)), self.timeout)
        except Exception as exc:  # noqa: BLE001 - then one by one, as without it
            self._note_rate_limit(exc, "cancel_all_orders")
            self.log.warning("venue_sweep_failed", symbol=symbol,
                             error=f"{type(exc).__name__}: {exc}"[:300])
            return {}
        out: dict[str, BrokerReport] = {}
        others = 0
        for answer in answers if isinstance(answers, list) else []:
            info = answer.get("info") if isinstance(answer, dict) else None
            coid = str(info.get("origClientOrderId") or "") if isinstance(info, dict) else ""
            if coid not in group:
                others += 1
                continue
            try:
                out[coid] = self._report(coid, cancel_answer(answer, coid))
            except VenueBadInput:
                continue  # counted; asked one by one
        if others:
            self.log.warning("venue_sweep_cancelled_untracked", symbol=symbol, orders=others)
        return out

    async def _cancel_one(self, coid: str) -> BrokerReport:
        if self.clock() < self.blocked_until:  # more requests would only lengthen a ban
            return BrokerReport(coid, OrderStatus.SUBMITTED,
                                reason="cancel not sent: the venue asked us to wait "
                                       f"{self.blocked_until - self.clock():.1f} s more")
        try:
            return await self._cancel_or_find(coid)
        except Exception as exc:  # noqa: BLE001 - reported, and the order stays open here
            self._note_rate_limit(exc, "cancel_order")
            return BrokerReport(coid, OrderStatus.SUBMITTED,
                                reason=f"cancel not confirmed: {type(exc).__name__}: {exc}")

    async def _cancel_or_find(self, coid: str) -> BrokerReport:
        import ccxt

        known = self.symbol_of.get(coid)
        for symbol in [known] if known else self.symbols:
            try:
                done = await asyncio.wait_for(self._timed("cancel_order", self.ex.cancel_order(
                    None, symbol, params={"clientOrderId": coid})), self.timeout)
                return self._report(coid, cancel_answer(done, coid))
            except ccxt.OrderNotFound:
                pass
            try:  # gone: filled or cancelled already; say which (a cancel racing a fill)
                found = await self._fetch(coid, symbol)
            except ccxt.OrderNotFound:
                continue
            return self._report(coid, found)
        return BrokerReport(coid, OrderStatus.CANCELLED, reason="not at the venue")

    async def _settle(self, coid: str) -> BrokerReport | None:
        """The due order ``coid`` reported with what its trades cost, None while the venue
        lists less than its fill (or lists it malformed: counted, asked again)."""
        due = self.costs.due.get(coid)
        if due is None:
            return None
        trades = await asyncio.wait_for(self._timed("fetch_my_trades", self.ex.fetch_my_trades(
            due.symbol, None, None, params={"orderId": due.venue_order_id})), self.timeout)
        try:
            return self.costs.report(coid, trades)
        except VenueBadInput as exc:
            self._refused("trades", exc, coid)
            return None

    def mark(self, instrument: str, price: float) -> None:
        """A real venue fills on its own book; our prices change nothing there."""

    def match(self) -> list[BrokerReport]:
        """What the poller learned since the last call (fills, cancels, resolved submits)."""
        out: list[BrokerReport] = []
        while not self._reports.empty():
            out.append(self._reports.get_nowait())
        return out

    def positions(self) -> dict[str, float]:
        """Net filled quantity of our own orders (``CLIENT_ID_PREFIX``), by symbol, as the venue
        lists them (every order it holds for the symbols we trade), less the commissions its
        trades of them took in the base currency (the account holds that much less).

        Raises:
            VenueBadInput: An order or trade of ours the venue lists is malformed (nothing is
                guessed).
        """
        net: dict[str, float] = {}
        for symbol in self.symbols:
            ours: set[str] = set()
            for raw in self._all_orders(symbol):
                coid = str(raw.get("clientOrderId") or "")
                if not coid.startswith(CLIENT_ID_PREFIX):
                    continue  # not ours: the reconciliation's business, not our position
                o = decode_order(raw, known_client_ids={coid})
                sign = 1.0 if o.side is Side.BUY else -1.0
                net[symbol] = net.get(symbol, 0.0) + sign * o.filled
                if o.filled > 0:
                    ours.add(o.venue_order_id)
            if ours:
                net[symbol] -= self._base_fees(symbol, ours)
        return {k: v for k, v in net.items() if abs(v) > 1e-12}

    def _base_fees(self, symbol: str, orders: set[str]) -> float:
        """What the venue's trades of ``orders`` (venue order ids) on ``symbol`` took in its
        base currency, read a page of ``ORDERS_PAGE`` trades at a time by trade id."""
        base = str(self.ex.markets[symbol]["base"])
        total, from_id = 0.0, 0
        while True:
            page = self._call("fetch_my_trades", symbol, None, ORDERS_PAGE, fromId=from_id)
            for raw in page:
                t = decode_trade(raw)
                if t.venue_order_id in orders and t.fee_currency == base:
                    total += t.fee
            if len(page) < ORDERS_PAGE:
                return total
            from_id = max(int(decode_trade(raw).trade_id) for raw in page) + 1

    def order_fills(self) -> dict[str, Fill]:
        """Our orders (``CLIENT_ID_PREFIX``) the venue lists from the oldest one not yet final
        at the last call on (all of them at the first): their fills, for reconciliation. Each
        call costs a page per ``ORDERS_PAGE`` orders since then, not the whole history.

        Raises:
            VenueBadInput: An order of ours the venue lists is malformed (counted).
        """
        out: dict[str, Fill] = {}
        for symbol in self.symbols:
            listed = self._all_orders(symbol, self._settled_below.get(symbol, 1))
            still_open = []
            for raw in listed:
                coid = str(raw.get("clientOrderId") or "")
                if not coid.startswith(CLIENT_ID_PREFIX):
                    continue
                try:
                    o = decode_order(raw, known_client_ids={coid})
                except VenueBadInput as exc:
                    self._refused("order", exc, coid)
                    raise
                final = o.status is not OrderStatus.SUBMITTED
                out[coid] = Fill(o.filled, final)
                if not final:
                    still_open.append(int(raw["id"]))
            if listed:
                self._settled_below[symbol] = min(
                    still_open or [max(int(o["id"]) for o in listed) + 1])
        return out

    def _all_orders(self, symbol: str, from_id: int = 1) -> list[Any]:
        """Every order the venue holds for ``symbol`` from venue order id ``from_id`` on,
        oldest first, a page at a time (a venue lists only the last ``ORDERS_PAGE`` unless
        asked from an order id on)."""
        out: list[Any] = []
        next_id = from_id
        while True:
            page = self._call("fetch_orders", symbol, None, ORDERS_PAGE, orderId=next_id)
            out += page
            if len(page) < ORDERS_PAGE:
                return out
            next_id = max(int(o["id"]) for o in page) + 1

    def open_orders(self) -> list[str]:
        """Client order ids resting at the venue for the symbols we trade."""
        ids: list[str] = []
        for symbol in self.symbols:
            ids += [str(o["clientOrderId"]) for o in self._call("fetch_open_orders", symbol)
                    if o.get("clientOrderId")]
        return ids

    def close(self) -> None:
        """Stop the poller and close the exchange's sessions."""
        self._poller.cancel()
        self.io.close(self.ex.close())

    # --- the poller -------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self._poll()
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                self._note_rate_limit(exc, "poll")
                self.log.warning("venue_poll_failed", error=f"{type(exc).__name__}: {exc}"[:300])

    async def _resolve(self, coid: str, sent: float) -> None:
        """Ask the venue for a submit that got no answer; "not there" counts only after its
        ``recvWindow``; an unreadable answer leaves it unresolved (counted, asked again)."""
        import ccxt

        try:
            found = await self._fetch(coid, self.symbol_of.get(coid, self.symbols[0]))
            report = self._report(coid, found)
        except ccxt.OrderNotFound:
            if self.clock() - sent > self.recv_window_s + self.timeout:
                del self.unresolved[coid]
                self._reports.put(BrokerReport(
                    coid, OrderStatus.REJECTED,
                    reason="venue_lost: not at the venue after its recvWindow: never taken"))
            return
        except VenueBadInput:
            return  # counted by ``_report``
        except Exception as exc:
            if self._unparsable(exc, coid):
                return
            raise
        del self.unresolved[coid]
        self.log.info("venue_submit_resolved", client_order_id=coid, status=found.get("status"))
        self._reports.put(report)

    async def _poll(self) -> None:
        if self.clock() < self.blocked_until:
            return  # told to wait: asking again would only lengthen it
        for coid, sent in list(self.unresolved.items()):
            await self._resolve(coid, sent)
        used = self._weight_used()
        if used is not None and used > POLL_WEIGHT_SHARE * self.weight_limit:
            return  # orders and cancels need the rest of the minute's weight more than a scan
        for symbol in {self.symbol_of.get(c, "") for c in self.resting} - {""}:
            listed = await asyncio.wait_for(
                self._timed("fetch_open_orders", self.ex.fetch_open_orders(symbol)), self.timeout)
            still = {str(o.get("clientOrderId")): o for o in listed}
            for coid, filled in list(self.resting.items()):
                if self.symbol_of.get(coid) != symbol or coid in self.unresolved:
                    continue
                o = still.get(coid)
                if o is None:  # closed since: ask what became of it
                    o = await self._fetch(coid, symbol)
                if o is not None and (o.get("status") != "open"
                                      or float(o.get("filled") or 0.0) > filled):
                    self._reports.put(self._report(coid, o))
        for coid in [c for c in self.costs.due if c not in self.unresolved][:FEES_PER_ROUND]:
            settled = await self._settle(coid)
            if settled is not None:
                self._reports.put(settled)
