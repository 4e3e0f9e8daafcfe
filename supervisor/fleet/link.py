"""The tree's fleet link: a task in the supervisor's loop that follows the fleet state.

It reads the fleet state at start (before ``READY=1`` and before the tree starts), watches it,
applies every change through the tree's own kill switch with source ``fleet`` and acknowledges
it on NATS, publishes the tree's summary at a bounded rate, and moves the tree to
``fleet.on_lost`` when the fleet has not answered for ``fleet.lost_after_s``. It is never on the
order path: the kill switch's ``change`` is synchronous and local; only the ack and the summary
that follow it touch NATS (docs/adr/0015).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import nats.errors
import nats.js.errors

from actors._runtime import log
from actors._runtime.trading import TradingState
from supervisor.errors import InvalidTransition
from supervisor.fleet.config import FleetConfig
from supervisor.fleet.connect import Planes, connect, open_planes
from supervisor.fleet.credentials import FleetCredentials
from supervisor.fleet.errors import FleetMessageMalformed, FleetUnreachable
from supervisor.fleet.messages import (
    ACK_PREFIX,
    STATE_KEY,
    FleetAck,
    FleetChange,
    TreeSummary,
    decode,
    encode,
)
from supervisor.fleet.rules import follow, tighten
from supervisor.halts import RowKind
from supervisor.killswitch import KillSwitch
from supervisor.trading_state import Source

Summary = Callable[[], dict[str, Any]]
"""The tree's figures for its summary: live, equity, drawdown_pct, positions."""

_NATS_ERRORS = (nats.errors.Error, nats.js.errors.Error, OSError, TimeoutError)


class FleetLink:
    """Follows the fleet for one tree; ``start`` once, then it runs until ``close``."""

    def __init__(
        self, cfg: FleetConfig, creds: FleetCredentials, killswitch: KillSwitch,
        summary: Summary, version: str,
    ) -> None:
        """Prepare; nothing connects before ``start``."""
        self.cfg = cfg
        self.creds = creds
        self.ks = killswitch
        self.summary = summary
        self.version = version
        self.log = log.get()
        self.planes: Planes | None = None
        self.last_ok = time.monotonic()
        self.lost = False
        self.bad = 0
        """Malformed fleet messages seen (counted, logged, never applied)."""
        self.acked = 0
        self._last_bad = b""
        self._tasks: list[asyncio.Task[None]] = []
        self._read_now = asyncio.Event()
        """Set to read the fleet state at once (after a reconnect)."""
        self._rewatch = asyncio.Event()
        """Set after a reconnect: the watch is made again (its consumer may be gone)."""
        self._summary_due = asyncio.Event()
        """Set after a change: the summary goes out soon, not at the next interval."""
        self._applying = asyncio.Lock()
        """One change at a time: the watch and the probe may read the same change together,
        and the second must find it applied and acked (not ack it again as "kept")."""
        self._probe_s = min(0.5, cfg.lost_after_s / 4)

    # --- start --------------------------------------------------------------------------

    async def start(self) -> None:
        """Read and apply the fleet state, or apply ``unreachable_at_start``; then run."""
        try:
            await self._connect()
            await self._read_and_apply("start")
        except (FleetUnreachable, *_NATS_ERRORS) as exc:
            self._unreachable_at_start(exc)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._keep_connected()),
                       loop.create_task(self._watch_lost()),
                       loop.create_task(self._publish_summaries())]

    def _unreachable_at_start(self, exc: BaseException) -> None:
        self.lost = True
        wanted = self.cfg.at_start_state()
        target = tighten(self.ks.state, wanted)
        self.log.error("fleet_unreachable_at_start", problem=str(exc) or type(exc).__name__,
                       unreachable_at_start=self.cfg.unreachable_at_start,
                       state=(target or self.ks.state).value,
                       fleet_state_last_known=self.ks.fleet_floor.value)
        if target is not None:
            self._change(target, who="fleet-link", reason=(
                f"fleet unreachable at start ({exc}); fleet.unreachable_at_start = "
                f"{self.cfg.unreachable_at_start!r}"))

    async def _connect(self) -> None:
        deadline = time.monotonic() + self.cfg.connect_timeout_s
        nc = await connect(self.cfg, self.creds, name=f"quantfund-tree-{self.cfg.tree_id}",
                           disconnected=self._on_disconnected, reconnected=self._on_reconnected)
        try:
            self.planes = await open_planes(nc, self.cfg.replicas, deadline)
        except BaseException:
            await nc.close()
            raise
        self.last_ok = time.monotonic()
        self.log.info("fleet_connected", url=str(nc.connected_url.geturl())
                      if nc.connected_url else "", tree_id=self.cfg.tree_id)

    async def _on_disconnected(self) -> None:
        self.log.warning("fleet_disconnected", tree_id=self.cfg.tree_id)

    async def _on_reconnected(self) -> None:
        self.log.info("fleet_reconnected", tree_id=self.cfg.tree_id)
        self._read_now.set()  # read at once: something may have changed while away
        self._rewatch.set()

    # --- following the fleet state -------------------------------------------------------

    async def _read_and_apply(self, why: str) -> None:
        """One read of the fleet state (the probe and the catch-up after a reconnect)."""
        assert self.planes is not None
        try:
            entry = await self.planes.state.get(STATE_KEY)
        except nats.js.errors.KeyNotFoundError:
            entry = None
        self._answered()
        if entry is not None and entry.value is not None:
            await self._apply_raw(entry.value, why)
        elif self.ks.set_by is Source.FLEET and self.ks.fleet_seq == 0:
            # No fleet command was ever given: the fleet is ACTIVE. What the link set on its
            # own (unreachable at start, lost) is lifted, as a fleet resume would.
            target = follow(self.ks.state, self.ks.set_by, TradingState.ACTIVE)
            if target is not None:
                self._change(target, who="fleet-link", reason=(
                    "fleet reached: no fleet state was ever set, the fleet is ACTIVE"))

    def _answered(self) -> None:
        self.last_ok = time.monotonic()
        if self.lost:
            self.lost = False
            self.log.warning("fleet_regained", tree_id=self.cfg.tree_id)

    async def _apply_raw(self, raw: bytes, why: str) -> None:
        try:
            change = decode(raw, FleetChange)
        except FleetMessageMalformed as exc:
            if raw == self._last_bad:
                return  # the same bad value read again by the probe: said once
            self._last_bad = raw
            self.bad += 1
            self.log.error("fleet_message_malformed", problem=str(exc), count=self.bad,
                           bytes=len(raw), consequence="ignored; the tree keeps its state")
            return
        await self.apply(change, why)

    async def apply(self, change: FleetChange, why: str) -> None:
        """Take ``change`` through the kill switch (per ``rules.follow``), then ack it; one
        change at a time (the watch and the probe can deliver the same one)."""
        async with self._applying:
            await self._apply(change, why)

    async def _apply(self, change: FleetChange, why: str) -> None:
        ks = self.ks
        if change.seq < ks.fleet_seq:
            return  # an older read overtaken by a newer change already applied
        received = time.time()
        wanted = TradingState(change.state)
        target = follow(ks.state, ks.set_by, wanted)
        new = change.seq != ks.fleet_seq or wanted is not ks.fleet_floor
        payload = {"fleet_seq": change.seq, "fleet_state": change.state,
                   "fleet_hash": change.hash, "via": why}
        who, reason = f"fleet:{change.who}", f"fleet {change.state}: {change.reason}"
        changed = False
        if target is not None:
            changed = self._change(target, who=who, reason=reason, payload=payload)
        elif new:
            ks.audit(RowKind.NOTE, source=Source.FLEET, who=who, payload=payload,
                     reason=f"{reason} (kept {ks.state.value}: at least as strict, or set "
                            "locally)")
        ks.fleet_applied(wanted, change.seq)
        if change.seq > self.acked:
            applied = time.time()
            with contextlib.suppress(OSError):
                await ks.durable()  # the ack means the row survives a power loss (ADR 0006)
            durable = time.time()
            await self._ack(change.seq, changed, timing={
                # Wall clocks: "command_to_tree_ms" spans two hosts' clocks on a real fleet.
                "command_to_tree_ms": round((received - change.at) * 1000, 2),
                "apply_ms": round((applied - received) * 1000, 2),
                "durable_ms": round((durable - applied) * 1000, 2),
                "via": why,
            })

    def _change(self, target: TradingState, *, who: str, reason: str,
                payload: dict[str, Any] | None = None) -> bool:
        try:
            self.ks.change(target, source=Source.FLEET, who=who, reason=reason, payload=payload)
        except InvalidTransition as exc:
            self.log.error("fleet_change_refused", state=target.value, refused=str(exc))
            return False
        self._summary_due.set()
        return True

    async def _ack(self, seq: int, changed: bool, timing: dict[str, Any]) -> None:
        if self.planes is None:
            return
        ack = FleetAck(tree_id=self.cfg.tree_id, seq=seq, state=self.ks.state.value,
                       changed=changed, at=time.time())
        try:
            # No flush: nats-py's flusher writes it at the loop's next turn; a flush would
            # wait a PING/PONG round trip for nothing the ack needs.
            await self.planes.nc.publish(f"{ACK_PREFIX}.{seq}.{self.cfg.tree_id}", encode(ack))
        except _NATS_ERRORS as exc:
            self.log.warning("fleet_ack_not_sent", seq=seq, problem=str(exc))
            return
        self.acked = seq
        self.log.info("fleet_change_acked", seq=seq, state=ack.state, changed=changed, **timing)

    async def _keep_connected(self) -> None:
        """Connect (again) when needed; watch the state; probe it on a short clock."""
        while True:
            if self.planes is None:
                try:
                    await self._connect()
                    await self._read_and_apply("reconnect")
                except (FleetUnreachable, *_NATS_ERRORS):
                    await asyncio.sleep(0.5)
                    continue
            watcher = asyncio.get_running_loop().create_task(self._watch())
            try:
                await self._probe()
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError, *_NATS_ERRORS):
                    await watcher

    async def _watch(self) -> None:
        """Push: each update of the state key, applied as it comes (re-armed on errors)."""
        while self.planes is not None:
            try:
                watcher = await self.planes.state.watch(STATE_KEY)
                try:
                    async for entry in watcher:
                        if entry is not None and entry.value:
                            self._answered()
                            await self._apply_raw(entry.value, "watch")
                finally:
                    with contextlib.suppress(*_NATS_ERRORS):
                        await watcher.stop()  # type: ignore[no-untyped-call]
            except _NATS_ERRORS:
                await asyncio.sleep(0.25)

    async def _probe(self) -> None:
        """Pull, as a backstop and the liveness test: a read every ``_probe_s`` (or at once
        after a reconnect); any answer counts as the fleet being there."""
        while not self._rewatch.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._read_now.wait(), timeout=self._probe_s)
            self._read_now.clear()
            with contextlib.suppress(*_NATS_ERRORS):
                await self._read_and_apply("probe")
        self._rewatch.clear()

    async def _watch_lost(self) -> None:
        """``lost_after_s`` without an answer: ``on_lost`` (only ever stricter), and say so."""
        while True:
            await asyncio.sleep(min(0.1, self.cfg.lost_after_s / 10))
            silent = time.monotonic() - self.last_ok
            if self.lost or silent < self.cfg.lost_after_s:
                continue
            self.lost = True
            target = tighten(self.ks.state, self.cfg.on_lost_state())
            self.log.error("fleet_lost", tree_id=self.cfg.tree_id, silent_s=round(silent, 2),
                           on_lost=self.cfg.on_lost, state=(target or self.ks.state).value,
                           fleet_state_last_known=self.ks.fleet_floor.value)
            if target is not None:
                self._change(target, who="fleet-link", reason=(
                    f"fleet lost: no answer from NATS for {silent:.1f} s "
                    f"(fleet.lost_after_s = {self.cfg.lost_after_s}); fleet.on_lost"))

    # --- summaries ---------------------------------------------------------------------

    def tree_summary(self, *, stopped: bool = False) -> TreeSummary:
        """This tree as the fleet sees it."""
        figures = self.summary()
        return TreeSummary(
            tree_id=self.cfg.tree_id, host=socket.gethostname(), pid=os.getpid(),
            version=self.version, trading_state=self.ks.state.value,
            fleet_seq=self.ks.fleet_seq, live=figures.get("live"),
            equity=figures.get("equity"), drawdown_pct=figures.get("drawdown_pct"),
            positions=int(figures.get("positions", 0)), at=time.time(), stopped=stopped,
        )

    async def _publish_summaries(self) -> None:
        """Every ``summary_interval_s``, and soon after each change (at most 10 a second)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._summary_due.wait(),
                                       timeout=self.cfg.summary_interval_s)
            self._summary_due.clear()
            if self.planes is not None:
                with contextlib.suppress(*_NATS_ERRORS):
                    await self.planes.trees.put(self.cfg.tree_id, encode(self.tree_summary()))
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        """Stop the tasks and the connection (bounded: never holds up the drain)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, *_NATS_ERRORS):
                await task
        if self.planes is not None:
            with contextlib.suppress(*_NATS_ERRORS):  # a command then does not wait for it
                await asyncio.wait_for(self.planes.trees.put(
                    self.cfg.tree_id, encode(self.tree_summary(stopped=True))), timeout=1.0)
            with contextlib.suppress(*_NATS_ERRORS):
                await asyncio.wait_for(self.planes.nc.close(), timeout=2.0)
            self.planes = None
