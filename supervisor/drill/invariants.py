"""Invariants over a state directory that must hold after any crash: each check returns the
violations it found (empty: it holds).

Every check reads state files read-only (``stores.py``) and may run while the tree runs, except
``fills_reflected_in_positions`` on a paper venue, which compares two writers' files and so needs
a quiescent tree (no order open: e.g. HALTED and settled). The drills call these after a
recovery; the chaos suite calls them too, so the signatures are a contract.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from actors._runtime.halts_reader import HALTS_FILE
from actors.alerter.severity import Severity, severity_of
from actors.execution.actor import client_order_id
from actors.execution.messages import OrderStatus, Side
from actors.journal.chain import Entry
from actors.journal.layout import list_days, read_lines
from actors.journal.torn import check_line
from supervisor.drill import stores

TOLERANCE = 1e-6
"""Positions are float sums of fills; they agree when closer than this (units)."""

OUTBOX_KEEP_S = 7 * 86400.0
"""The alerter prunes delivered alerts after this long (``actors.alerter.actor.KEEP_SENT_S``;
not imported, see ``stores.OUTBOX_FILE``): older RED events are not looked for."""

BOOKED = frozenset({OrderStatus.FILLED, OrderStatus.RECORDED})
"""Statuses whose ``filled`` quantity is in execution's positions."""


@dataclass(frozen=True)
class Violation:
    """One broken invariant."""

    invariant: str
    """The check's name (the function's name)."""
    detail: str
    """What is wrong, naming the order, row, line or pid."""


def no_duplicate_client_order_ids(state_dir: Path) -> list[Violation]:
    """No client order id twice at the paper venue, and no intent that became two orders.

    Execution's records (the shadow broker's records too) are keyed by client order id, so a
    duplicate there shows as two records of one intent, a record filed under another id, or an
    id not derived from its intent (a retry would then mint a second one).
    """
    name = "no_duplicate_client_order_ids"
    out: list[Violation] = []
    venue = stores.venue_orders(state_dir) or []
    for coid, n in Counter(o.client_order_id for o in venue).items():
        if n > 1:
            out.append(Violation(name, f"paper venue holds client order id {coid} {n} times"))
    orders = stores.execution_state(state_dir).orders
    by_intent: dict[str, list[str]] = defaultdict(list)
    for key, order in orders.items():
        by_intent[order.intent_id].append(order.client_order_id)
        if key.rsplit("/", 1)[-1] != order.client_order_id:
            out.append(Violation(name, f"execution record {key} holds client order id "
                                       f"{order.client_order_id}"))
        if order.client_order_id != client_order_id(order.intent_id):
            out.append(Violation(name, f"client order id {order.client_order_id} is not derived "
                                       f"from its intent {order.intent_id}"))
    for intent, coids in by_intent.items():
        if len(coids) > 1:
            out.append(Violation(name, f"intent {intent} became {len(coids)} orders: "
                                       f"{', '.join(sorted(coids))}"))
    return out


def no_lost_orders(state_dir: Path) -> list[Violation]:
    """Paper only: every order at the venue is known to execution, and every order execution
    books as at the venue (SUBMITTED, FILLED) is there. Safe while the tree runs: the venue is
    read first for the first half (execution writes an order before the venue sees it), and
    again after execution for the second (the venue never deletes a row)."""
    name = "no_lost_orders"
    before = stores.venue_orders(state_dir)
    if before is None:
        return []
    orders = {o.client_order_id: o for o in stores.execution_state(state_dir).orders.values()}
    after = {o.client_order_id for o in stores.venue_orders(state_dir) or []}
    out = [Violation(name, f"venue order {o.client_order_id} ({o.status}) is unknown to "
                           f"execution") for o in before if o.client_order_id not in orders]
    out += [Violation(name, f"execution has {coid} as {o.status.value}, the venue never saw it")
            for coid, o in orders.items()
            if o.status in (OrderStatus.SUBMITTED, OrderStatus.FILLED) and coid not in after]
    return out


def _signed(side: str, quantity: float) -> float:
    return quantity if side == Side.BUY.value else -quantity


def _differences(name: str, held: Mapping[str, float], truth: Mapping[str, float],
                 what: str) -> list[Violation]:
    return [
        Violation(name, f"{instrument}: execution holds {held.get(instrument, 0.0):g}, "
                        f"{what} say {truth.get(instrument, 0.0):g}")
        for instrument in sorted(set(held) | set(truth))
        if abs(held.get(instrument, 0.0) - truth.get(instrument, 0.0)) > TOLERANCE
    ]


def fills_reflected_in_positions(state_dir: Path) -> list[Violation]:
    """Execution's persisted positions equal the sum of the fills per instrument.

    With a paper venue the fills are the venue's FILLED orders (call only when quiescent: the
    venue commits a fill before execution books it). Without one (shadow) they are execution's
    own RECORDED/FILLED records, which it commits with the position in one transaction, so the
    check holds at any moment.
    """
    name = "fills_reflected_in_positions"
    state = stores.execution_state(state_dir)
    held = state.book.portfolio.signed() if state.book is not None else {}
    truth: dict[str, float] = defaultdict(float)
    venue = stores.venue_orders(state_dir)
    if venue is not None:
        for o in venue:
            if o.status == OrderStatus.FILLED.value:
                truth[o.instrument] += _signed(o.side, o.quantity)
        return _differences(name, held, truth, "the venue's fills")
    for order in state.orders.values():
        if order.status in BOOKED:
            truth[order.instrument] += _signed(order.side.value, order.filled)
    return _differences(name, held, truth, "its booked orders")


def journal_verifies(state_dir: Path) -> list[Violation]:
    """The journal's chain holds, day tails match their anchors (``quantfund journal verify``)."""
    from supervisor.journal_check import journal_check

    check = journal_check(state_dir)
    out = [Violation("journal_verifies", c) for c in check.conflicts]
    if not check.report.ok:
        out.insert(0, Violation("journal_verifies",
                                f"broken at {check.report.first_break}: {check.report.problem}"))
    return out


def halts_verify(state_dir: Path) -> list[Violation]:
    """The halts store's hash chain and integrity hold (``quantfund halts verify``)."""
    from supervisor.halts import verify

    report = verify(state_dir / HALTS_FILE)
    if report.ok:
        return []
    where = f" at row {report.first_bad_seq}" if report.first_bad_seq else ""
    return [Violation("halts_verify", f"{report.problem}{where}")]


def _journal_entries(state_dir: Path) -> Iterable[Entry]:
    for day in list_days(state_dir):
        for line in read_lines(state_dir, day):
            entry = check_line(line)
            if isinstance(entry, Entry):  # a bad line is journal_verifies' to report
                yield entry


def red_events_in_outbox(state_dir: Path) -> list[Violation]:
    """Every RED event the journal recorded (``actors.alerter.severity``'s table) is in the
    alerter's outbox, matched by bus message id (the outbox's dedupe key).

    Entries without a message id (the journal's own records) never went to the alerter and are
    skipped, as are entries older than the outbox keeps delivered alerts. The alerter follows
    the bus a little behind the journal: a drill retries this for a moment before it counts.
    """
    name = "red_events_in_outbox"
    keys = stores.outbox_keys(state_dir)
    oldest = time.time() - OUTBOX_KEEP_S
    out: list[Violation] = []
    for entry in _journal_entries(state_dir):
        msg_id = entry.fields.get("msg_id")
        if not isinstance(msg_id, str) or _epoch(entry.at) < oldest:
            continue
        if severity_of(entry.event, entry.fields) is not Severity.RED:
            continue
        if keys is None or msg_id not in keys:
            where = "no outbox" if keys is None else "not in the outbox"
            out.append(Violation(name, f"RED {entry.event} (journal seq {entry.seq}, msg "
                                       f"{msg_id}): {where}"))
    return out


def _epoch(at: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


BREAKER_COUNTERS = ("marks", "trades", "trips", "halts", "resets")
"""The breaker's persisted counters that only ever grow (an operator reset re-bases the rules'
evidence, not these)."""


def breaker_snapshot(state_dir: Path) -> dict[str, float]:
    """The breaker's monotone counters from its state file (empty before its first write)."""
    st = stores.breaker_state(state_dir)
    if st is None:
        return {}
    return {key: float(getattr(st, key)) for key in BREAKER_COUNTERS}


def breaker_monotonic(before: dict[str, float], after: dict[str, float]) -> list[Violation]:
    """No breaker counter went down, and none of ``before`` disappeared (a reset breaker)."""
    name = "breaker_monotonic"
    out: list[Violation] = []
    for key, value in sorted(before.items()):
        if key not in after:
            out.append(Violation(name, f"{key} was {value:g}, now missing: breaker state lost"))
        elif after[key] < value:
            out.append(Violation(name, f"{key} went down from {value:g} to {after[key]:g}"))
    return out


def no_orphans(pids: Iterable[int]) -> list[Violation]:
    """None of ``pids`` still runs.

    A zombie counts as gone: it runs no code and holds no socket, lock or file, so it cannot
    trade; reaping it is its parent's job (systemd, or whatever restarts the tree), which a drill
    cannot do for it. A pid reused by an unrelated process would read as alive: pids are taken
    moments before, so reuse within a drill is not expected, and the detail names the process.
    """
    out: list[Violation] = []
    for pid in sorted(set(pids)):
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            what = " ".join(proc.cmdline()[:4]) or proc.name()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        except psutil.AccessDenied:
            what = "(not ours to inspect)"
        out.append(Violation("no_orphans", f"pid {pid} still runs: {what}"))
    return out
