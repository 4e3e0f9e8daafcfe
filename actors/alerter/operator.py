"""What an accepted Telegram command does to the tree: the admin socket, as ``quantfund`` uses it.

Blocking (a ZeroMQ request with a timeout, a SQLite write): the poller runs these on a thread.
``/halt`` falls back to writing HALTED into the halts store when the supervisor does not answer,
exactly as ``quantfund halt`` does (layer 3); ``/reduce`` and ``/resume`` change nothing then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from actors._runtime.trading import TradingState
from actors.alerter.commands import Verb

if TYPE_CHECKING:
    from actors.execution.messages import InstrumentBook
    from supervisor.admin_messages import StatusReply

ADMIN_TIMEOUT_S = 2.0
"""How long the supervisor may take to answer (as ``quantfund``'s default)."""
MAX_POSITIONS_SHOWN = 30
"""Instruments listed in ``/positions``; the rest are counted."""


@dataclass(frozen=True)
class Outcome:
    """What a command did: the reply for the chat, and the line for the journal."""

    reply: str
    """Answer sent back in the chat."""
    result: str
    """Short result for the journal (``ACTIVE -> HALTED (seq 7)``, ``refused: ...``)."""


def change_state(
    run_dir: Path, state_dir: Path, verb: Verb, reason: str, who: str,
    *, timeout_s: float = ADMIN_TIMEOUT_S,
) -> Outcome:
    """Ask the supervisor for ``verb`` (halt, reduce, resume) as ``who``; for a halt it does not
    answer, write HALTED into the halts store instead."""
    from supervisor.admin_messages import (
        CommandReply,
        HaltRequest,
        ReduceRequest,
        ResumeRequest,
    )
    from supervisor.client import request
    from supervisor.errors import AdminUnavailable

    kinds = {Verb.HALT: HaltRequest, Verb.REDUCE: ReduceRequest, Verb.RESUME: ResumeRequest}
    try:
        reply = request(run_dir, kinds[verb](reason=reason, who=who), timeout_s=timeout_s)
    except AdminUnavailable as exc:
        if verb is not Verb.HALT:
            return Outcome(f"Not done: the supervisor did not answer ({exc}). Nothing changed.",
                           f"supervisor silent: {exc}")
        return _halt_in_store(state_dir, reason, who, str(exc))
    if isinstance(reply, CommandReply):
        return Outcome(f"/{verb.value}: {reply.message} (trading state {reply.state}, "
                       f"seq {reply.seq}).", reply.message)
    error = getattr(reply, "error", repr(reply))
    return Outcome(f"/{verb.value} refused by the supervisor: {error}", f"refused: {error}")


def _halt_in_store(state_dir: Path, reason: str, who: str, why: str) -> Outcome:
    from supervisor.halt_fallback import halt_in_store

    try:
        seq = halt_in_store(state_dir, reason=reason, who=who, why=why, via="telegram")
    except Exception as exc:  # noqa: BLE001 - the operator must hear that the halt failed
        return Outcome(f"HALT FAILED: the supervisor did not answer ({why}) and the halts store "
                       f"could not be written ({exc}). Halt from the host now.",
                       f"failed: supervisor silent, store unwritable: {exc}")
    done = f"HALTED written (seq {seq})" if seq else "the store said HALTED already"
    return Outcome(f"/halt: the supervisor did not answer ({why}); {done} in the halts store, "
                   "which execution checks before every order.",
                   f"via halts store: {done}")


def stored_state(state_dir: Path) -> TradingState:
    """The trading state the halts store holds (HALTED when it cannot be read: fail safe)."""
    from actors._runtime.halts_reader import HaltsReader

    reader = HaltsReader(state_dir)
    try:
        return reader.state()[0]
    finally:
        reader.close()


def status_text(run_dir: Path, *, timeout_s: float = ADMIN_TIMEOUT_S) -> Outcome:
    """``/status``: the trading state and each actor's health, as ``quantfund status`` shows."""
    reply = _status(run_dir, timeout_s)
    if isinstance(reply, str):
        return Outcome(reply, "no answer")
    sv = reply.supervisor
    lines = [f"Trading state: {reply.trading_state} (seq {reply.trading_state_seq})",
             f"Tree live: {sv.tree_live}; supervisor up {sv.uptime_s:.0f} s"]
    if reply.halts_store_problem:
        lines.append(f"HALTS STORE FAILED VERIFICATION: {reply.halts_store_problem}")
    lines += [f"STATE LOST AT START: {lost}" for lost in reply.state_lost]
    lines += [f"CANNOT WRITE: {stuck}" for stuck in reply.state_unwritable]
    for a in reply.actors:
        age = "-" if a.last_heartbeat_age_s is None else f"{a.last_heartbeat_age_s:.1f}s"
        lines.append(f"{a.name}: {'up' if a.alive else 'DOWN'}, restarts {a.restarts}, "
                     f"beat {age}")
    if reply.trading is not None:  # execution's and the breaker's own figures, as reported
        from supervisor.status_text import account_lines

        lines += account_lines(reply.trading)
    return Outcome("\n".join(lines), reply.trading_state)


def positions_text(run_dir: Path, *, timeout_s: float = ADMIN_TIMEOUT_S) -> Outcome:
    """``/positions``: execution's positions and orders by status, as it last reported them."""
    reply = _status(run_dir, timeout_s)
    if isinstance(reply, str):
        return Outcome(reply, "no answer")
    held = sorted((k, v) for k, v in reply.positions.items() if v)
    books = reply.trading.execution.instruments if (
        reply.trading is not None and reply.trading.execution is not None) else {}
    lines = [f"Positions ({reply.trading_state}):"]
    lines += [_position_line(name, qty, books.get(name)) for name, qty in
              held[:MAX_POSITIONS_SHOWN]]
    if len(held) > MAX_POSITIONS_SHOWN:
        lines.append(f"... and {len(held) - MAX_POSITIONS_SHOWN} more")
    if not held:
        lines.append("flat (no open position)")
    if reply.orders:
        lines.append("Orders: " + ", ".join(f"{k} {v}" for k, v in sorted(reply.orders.items())))
    return Outcome("\n".join(lines), f"{len(held)} positions")


def _position_line(name: str, qty: float, book: InstrumentBook | None) -> str:
    """``BTC/USDT: 0.002 @ 50000.00, last 50010.00, unrealised 0.02, realised 1.20``."""
    if book is None:
        return f"{name}: {qty:g}"
    last = "-" if book.last_price is None else f"{book.last_price:.2f}"
    return (f"{name}: {qty:g} @ {book.avg_price:.2f}, last {last}, unrealised "
            f"{book.unrealized_pnl:.2f}, realised {book.realized_pnl:.2f}")


def _status(run_dir: Path, timeout_s: float) -> StatusReply | str:
    """The supervisor's ``StatusReply``, or a sentence saying why there is none."""
    from supervisor.admin_messages import StatusReply, StatusRequest
    from supervisor.client import request
    from supervisor.errors import AdminUnavailable

    try:
        reply = request(run_dir, StatusRequest(), timeout_s=timeout_s)
    except AdminUnavailable as exc:
        return f"No status: the supervisor did not answer ({exc})."
    if not isinstance(reply, StatusReply):
        return f"No status: {getattr(reply, 'error', reply)}"
    return reply
