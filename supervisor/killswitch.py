"""The tree's trading state: checked against the table, persisted in the halts store, then
published, and followed until every actor has acknowledged it (DESIGN.md section 4).

Persisted means committed before the publish (it survives the death of any process, the
supervisor's included); the fsync that makes it survive a power loss as well runs on a thread
right after the publish, while the actors acknowledge, and the operator's reply waits for it
(``durable``; docs/adr/0006).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from actors._runtime import log
from actors._runtime.errors import unwritable_problem
from actors._runtime.halts_reader import HALTS_FILE
from actors._runtime.messages import Event, StateLost, TamperingDetected
from actors._runtime.trading import TradingState, TradingStateChanged
from supervisor import state_check
from supervisor.errors import HaltsStoreTampered, InvalidTransition
from supervisor.halts import HaltRow, HaltsStore, RowKind
from supervisor.trading_state import (
    STRICTNESS,
    Source,
    Transition,
    check_fleet_floor,
    transition,
)

Publish = Callable[[Event], None]

# With the halts store unwritable, only a stricter state takes effect before its row is
# written (held in memory, written as soon as the store takes writes).
_STRICTNESS = STRICTNESS


class KillSwitch:
    """Owns the halts store (one writer) and the current trading state."""

    def __init__(
        self, state_dir: Path, publish: Publish,
        expected: Callable[[], set[str]] = set, stores: Sequence[str] = (),
    ) -> None:
        """Prepare; ``open`` reads the store. ``expected``: children that must acknowledge;
        ``stores``: the actors whose state files the start check requires where there is
        history (``supervisor.state_check``)."""
        self.state_dir = state_dir
        self.stores = tuple(stores)
        self.lost: state_check.StateReport | None = None
        self.path = state_dir / HALTS_FILE
        self.publish = publish
        self.expected = expected
        self.waiting: dict[int, set[str]] = {}
        self.log = log.get()
        self.store: HaltsStore | None = None
        self.state = TradingState.HALTED
        self.seq = 0
        self.tampered: str | None = None
        self.unwritable: str | None = None
        """Why the halts store last refused a write (None: it takes writes)."""
        self.unpersisted: list[tuple[Transition, str, Mapping[str, Any] | None]] = []
        """Transitions in effect whose rows the store could not write yet, oldest first."""
        self.acks: dict[int, dict[str, float]] = {}
        self.changed_at: dict[int, float] = {}
        self.sent: dict[int, dict[str, float]] = {}
        self.persist_s: dict[int, float] = {}
        self.set_by: Source | None = None
        """Source of the transition that set the current state (None: none recorded)."""
        self.fleet_floor = TradingState.ACTIVE
        """The last fleet state this tree applied: no local source may go looser."""
        self.fleet_seq = 0
        """The last fleet change this tree applied (0: none; rows carry ``fleet_seq``)."""
        self._sync_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="halts-sync")
        self._syncing: asyncio.Future[None] | None = None

    def open(self) -> None:
        """Load the sticky state; a store failing verification keeps the tree HALTED, and so
        does any store lost or unreadable where the state directory shows history (checked
        before the halts store is opened, which would create a missing one)."""
        found = state_check.check(self.state_dir, self.stores)
        try:
            self.store = HaltsStore.open(self.path, synchronous="NORMAL")
        except HaltsStoreTampered as exc:
            self._tamper(str(exc))
            return
        report = self.store.verified()
        if not report.ok:
            where = f" at row {report.first_bad_seq}" if report.first_bad_seq else ""
            self._tamper(f"{report.problem}{where}")
            return
        try:
            self.state = self.store.current_state()
            rows = self.store.rows()
        except (sqlite3.Error, HaltsStoreTampered) as exc:
            self._tamper(f"unreadable: {exc}")
            return
        self.seq = rows[-1].seq if rows else 0
        self._load_fleet(rows)
        self.log.info("trading_state_loaded", state=self.state.value, seq=self.seq,
                      rows=len(rows), created=self.store.created)
        if not found.ok:
            self._state_lost(found)
        elif not rows:
            # A store with rows is never mistaken for a new one: this row says it was new.
            self.audit(RowKind.NOTE, source=Source.HALTS_STORE, who="supervisor",
                       reason="halts store started on a fresh state directory")

    def _load_fleet(self, rows: Sequence[HaltRow]) -> None:
        """Who set the state in force, and the last fleet state applied, from the rows."""
        for row in reversed(rows):
            if row.kind is RowKind.TRANSITION:
                self.set_by = row.source
                break
        for row in reversed(rows):
            if row.source is not Source.FLEET or '"fleet_seq"' not in row.payload:
                continue
            try:
                detail = json.loads(row.payload)
                floor, seq = TradingState(detail["fleet_state"]), int(detail["fleet_seq"])
            except (ValueError, KeyError, TypeError):
                continue
            self.fleet_floor, self.fleet_seq = floor, seq
            break

    def fleet_applied(self, floor: TradingState, seq: int) -> None:
        """The fleet's change ``seq`` (state ``floor``) is now applied (its row written)."""
        self.fleet_floor, self.fleet_seq = floor, seq

    def _state_lost(self, report: state_check.StateReport) -> None:
        """Stay (or go) HALTED with a reason naming every lost store, recorded and alerted."""
        self.lost = report
        reason = report.reason()
        remedy = "; ".join(dict.fromkeys(f.remedy for f in report.problems()))
        for finding in report.problems():
            self.log.error("state_lost", store=finding.store, path=finding.path,
                           problem=finding.detail, state="HALTED", remedy=finding.remedy)
        payload = {"problems": self.lost_problems(), "history": report.history}
        if self.state is TradingState.HALTED:
            self.audit(RowKind.NOTE, source=Source.HALTS_STORE, who="supervisor",
                       reason=reason, payload=payload)
        else:
            self.change(TradingState.HALTED, source=Source.HALTS_STORE, who="supervisor",
                        reason=reason, payload=payload)
        self.publish(StateLost(problems=payload["problems"], history=report.history,
                               remedy=remedy))

    def lost_problems(self) -> list[str]:
        """What the start check found (``path: what``); empty when every store held."""
        if self.lost is None:
            return []
        return [f"{f.path}: {f.detail}" for f in self.lost.problems()]

    def _tamper(self, problem: str) -> None:
        self.tampered = problem
        self.state = TradingState.HALTED
        self.log.error("halts_store_tampered", path=str(self.path), problem=problem,
                       state="HALTED", remedy="inspect with `quantfund halts verify`; move the "
                       "file aside to start a new chain")
        self.publish(TamperingDetected(store="halts", problem=problem))

    def change(
        self, target: TradingState, *, source: Source, who: str, reason: str,
        payload: Mapping[str, Any] | None = None,
    ) -> TradingStateChanged:
        """Move to ``target``: refuse per the table, persist, then publish."""
        if self.tampered is not None and target is not TradingState.HALTED:
            raise InvalidTransition(
                f"{self.state.value} -> {target.value} refused: the halts store failed "
                f"verification ({self.tampered}); only HALTED is allowed until it is replaced"
            )
        change = transition(self.state, target, source=source, reason=reason, at=time.time())
        check_fleet_floor(self.state, target, source=source, floor=self.fleet_floor)
        started = time.monotonic()
        row_hash = ""
        if self.store is not None and self.tampered is None:
            try:
                self.write_unpersisted()
                row = self.store.append_transition(change, who=who, payload=payload)
                self.seq, row_hash = row.seq, row.hash
            except (sqlite3.Error, OSError) as exc:
                self._hold(exc, target)
                self.unpersisted.append((change, who, payload))
                self.seq += 1  # the seq its row will get: rows are written in this order
        previous, self.state, self.set_by = self.state, target, source
        event = TradingStateChanged(
            previous=previous, state=target, source=source.value, reason=reason, seq=self.seq,
            row_hash=row_hash,
        )
        self.acks[self.seq] = {}
        self.changed_at[self.seq] = time.monotonic()
        self.persist_s[self.seq] = self.changed_at[self.seq] - started
        self.waiting[self.seq] = self.expected()
        for old in [s for s in self.acks if s < self.seq - 100]:  # keep memory bounded
            for table in (self.acks, self.changed_at, self.waiting, self.sent, self.persist_s):
                table.pop(old, None)
        # Published before it is logged: the line (rendered, written to a pipe) is not on the
        # kill switch's path; the row in the halts store, committed above, is.
        self.publish(event)
        self._sync_soon()
        self.log.warning("trading_state_changed", previous=previous.value, state=target.value,
                         source=source.value, who=who, reason=reason, seq=self.seq)
        return event

    def _hold(self, exc: BaseException, target: TradingState) -> None:
        """The halts store refused a write: a stricter ``target`` still takes effect (its row
        waits in memory); a looser one is refused, since only its row can make it stick."""
        problem = unwritable_problem(exc)
        if problem is None:
            raise exc
        self.unwritable = problem
        if _STRICTNESS[target] <= _STRICTNESS[self.state]:
            raise InvalidTransition(
                f"{self.state.value} -> {target.value} refused: the halts store cannot write "
                f"({problem}); a change that loosens trading takes effect only once it is "
                "recorded: free space on the state directory and try again"
            ) from exc
        self.log.error("halts_store_unwritable", problem=problem, state=target.value,
                       consequence="in effect now; its row is written once the store takes "
                                   "writes")

    def write_unpersisted(self) -> None:
        """Write the rows of transitions taken while the store refused writes (oldest first).

        Raises:
            sqlite3.Error, OSError: The store still refuses writes (the rows stay pending).
        """
        if self.store is None:
            return
        while self.unpersisted:
            change, who, payload = self.unpersisted[0]
            self.store.append_transition(change, who=who, payload=payload)
            self.unpersisted.pop(0)
            self.log.warning("halts_row_written_late", state=change.state.value,
                             reason=change.reason)
        self.unwritable = None

    def retry_unpersisted(self) -> None:
        """On the supervisor's clock: try again to write pending rows (a sticky halt must be
        on disk before anything could restart the supervisor)."""
        if not self.unpersisted:
            return
        try:
            self.write_unpersisted()
        except (sqlite3.Error, OSError) as exc:
            self.unwritable = unwritable_problem(exc) or str(exc)
        else:
            self._sync_soon()

    def audit(self, kind: RowKind, *, source: Source, who: str, reason: str,
              payload: Mapping[str, Any] | None = None) -> int:
        """Record an operator action that changes no state (seq of the row, 0 if not written)."""
        if self.store is None or self.tampered is not None:
            return 0
        try:
            self.write_unpersisted()
            seq = self.store.append(
                kind, source=source, who=who, reason=reason, payload=payload, at=time.time()
            ).seq
        except (sqlite3.Error, OSError) as exc:
            problem = unwritable_problem(exc)
            if problem is None:
                raise
            self.unwritable = problem
            self.log.error("halts_row_not_written", kind=kind.value, who=who, reason=reason,
                           problem=problem)
            return 0
        self._sync_soon()
        return seq

    def _sync_soon(self) -> None:
        """fsync what was just committed, on a thread: the loop goes on serving the acks."""
        if self.store is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a tool, a test): sync here
            self.store.sync()
            return
        self._syncing = loop.run_in_executor(self._sync_pool, self.store.sync)

    async def durable(self) -> None:
        """Return once every row written so far survives a power loss.

        Raises:
            OSError: The fsync failed (the rows are committed; a power loss could take them).
        """
        if self._syncing is not None:
            # The last sync started after the last commit; it covers every earlier one too.
            await asyncio.shield(self._syncing)

    def current(self) -> TradingStateChanged:
        """The current state as an event (sent to a child that has just become Ready)."""
        return TradingStateChanged(
            previous=self.state, state=self.state, source=Source.SUPERVISOR.value,
            reason="current state", seq=self.seq,
        )

    def ack(self, actor: str, seq: int, sent_mono_ns: int = 0) -> float | None:
        """Record that ``actor`` applied the state of ``seq`` (``sent_mono_ns``: when the actor
        sent its ack, on the host's monotonic clock; 0 if unknown). Returns the seconds from
        the change to this ack when it was the last one awaited, else None."""
        acks = self.acks.get(seq)
        if acks is None or actor in acks:
            return None
        acks[actor] = time.monotonic()
        if sent_mono_ns:
            self.sent.setdefault(seq, {})[actor] = sent_mono_ns / 1e9
        waiting = self.waiting.get(seq)
        if waiting is not None:
            waiting.discard(actor)
            if not waiting:
                del self.waiting[seq]
                self.log.info(
                    "trading_state_acked", seq=seq, state=self.state.value, actors=len(acks),
                    ack_ms=round((acks[actor] - self.changed_at[seq]) * 1000, 3),
                    persist_ms=round(self.persist_s.get(seq, 0.0) * 1000, 3),
                    by_actor_ms={a: round((t - self.changed_at[seq]) * 1000, 2)
                                 for a, t in acks.items()},
                    # When each actor sent its ack: the rest of by_actor_ms is the wait for
                    # the supervisor's own loop.
                    sent_by_actor_ms={a: round((t - self.changed_at[seq]) * 1000, 2)
                                      for a, t in self.sent.pop(seq, {}).items()},
                )
                return acks[actor] - self.changed_at[seq]
        return None

    def acked_by(self, seq: int) -> Mapping[str, float]:
        """Actors that acknowledged ``seq``, with the monotonic time of each ack."""
        return self.acks.get(seq, {})

    def close(self) -> None:
        """Finish the pending fsync and close the store."""
        self._sync_pool.shutdown(wait=True)
        if self.store is not None:
            self.store.close()
