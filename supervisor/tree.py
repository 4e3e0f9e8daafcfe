"""The supervision tree: start left to right, restart per spec and strategy, stop right to left.

Semantics are Erlang/OTP's (``supervisor.erl``): a child counts as started when it sent
``Ready``; a terminated child is restarted according to its ``restart`` type and the
supervisor's ``strategy``; more than ``intensity`` restarts within ``period`` seconds make the
supervisor give up (halt trading, stop every child, exit non-zero) so that whatever runs it
(systemd) decides. Stop sends ``Drain`` and waits for the exit within the child's ``shutdown``
budget, then kills.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from actors._runtime import log
from actors._runtime.messages import (
    ChildStarted,
    ChildTerminated,
    Drain,
    Event,
    RestartIntensityReached,
)
from actors._runtime.spawn import SpawnRequest
from supervisor.child import Child
from supervisor.config import Config
from supervisor.errors import (
    ChildStartError,
    ChildStartTimeout,
    ChildStartUnwritable,
    RestartIntensityExceeded,
)
from supervisor.intensity import RestartIntensity, backoff_delay
from supervisor.spec import ExitReason, Restart, Strategy
from supervisor.writable import wait_writable
from supervisor.zygote import Zygote

Publish = Callable[[Event], None]
SendControl = Callable[[str, Drain], None]


class Tree:
    """Owns the children; every structural change runs under one lock, one at a time."""

    def __init__(
        self,
        config: Config,
        zygote: Zygote,
        *,
        state_dir: Path,
        run_dir: Path,
        log_json: bool,
        publish: Publish,
        send_control: SendControl,
        on_give_up: Callable[[RestartIntensityExceeded], None],
        on_started: Callable[[str], None] = lambda _name: None,
        on_unwritable: Callable[[str], None] = lambda _name: None,
    ) -> None:
        """Prepare the children from the config (nothing starts yet)."""
        self.config = config
        self.zygote = zygote
        self.state_dir = state_dir
        self.run_dir = run_dir
        self.log_json = log_json
        self.publish = publish
        self.send_control = send_control
        self.on_give_up = on_give_up
        self.on_started = on_started
        self.on_unwritable = on_unwritable
        self.waiting_for_disk: set[str] = set()
        """Children down until the state directory takes writes (trading is HALTED)."""
        self.interrupted = asyncio.Event()
        """Set when the supervisor is asked to stop: a wait for the disk ends at once."""
        flags = config.supervisor
        self.flags = flags
        self.children = [Child(n, config.children[n]) for n in flags.children]
        self.by_name = {c.name: c for c in self.children}
        self.intensity = RestartIntensity(flags.intensity, flags.period_s)
        self.lock = asyncio.Lock()
        self.stopping = False
        self.log = log.get()
        self._tasks: set[asyncio.Task[None]] = set()
        # A Ready can arrive before the zygote has told us the new pid: keep it until then.
        self._early_ready: dict[tuple[str, int], dict[str, int | float | str | bool]] = {}

    # --- start -------------------------------------------------------------------------

    async def start_all(self) -> None:
        """Start every child in order; on a failure stop those started and re-raise."""
        async with self.lock:
            for child in self.children:
                try:
                    await self._start_when_writable(child)
                except (ChildStartError, ChildStartTimeout):
                    await self._stop_many(list(reversed(self.children)))
                    raise

    async def _start_when_writable(self, child: Child) -> None:
        """Start ``child``; while it cannot write its state, wait for the disk and try again
        (a full disk at start halts and waits; it does not fail the tree into a crash loop)."""
        while True:
            try:
                await self._start(child)
            except ChildStartUnwritable as exc:
                await self._await_disk(child, str(exc))
            else:
                return

    async def _await_disk(self, child: Child, problem: str) -> None:
        self.waiting_for_disk.add(child.name)
        self.on_unwritable(child.name)
        try:
            await wait_writable(self.state_dir, child=child.name, problem=problem,
                                interrupted=self.interrupted)
            # The directory may take the probe and still refuse this actor's file (one
            # read-only file): the usual backoff keeps that from spinning, intensity aside.
            await self._backoff(child)
        finally:
            self.waiting_for_disk.discard(child.name)
        if self.interrupted.is_set():
            raise ChildStartError(f"{child.name} not started: the supervisor is stopping")

    def _request(self, child: Child) -> SpawnRequest:
        section = self.config.section(child.name)
        if child.name == "heartbeat":
            section["heartbeat_interval_s"] = self.config.runtime.heartbeat_interval_s
        if (child.name == "execution" and self.config.execution.broker == "venue") or (
                child.name == "orchestrator" and self.config.orchestrator.feed.kind == "venue"):
            section["venue"] = msgspec.to_builtins(self.config.venue)
        runtime = self.config.runtime
        synchronous = runtime.sqlite_synchronous_by_actor.get(child.name)
        if synchronous is not None:
            runtime = msgspec.structs.replace(runtime, sqlite_synchronous=synchronous)
        return SpawnRequest(
            name=child.name,
            actor=child.spec.actor,
            config=section,
            run_dir=str(self.run_dir),
            state_dir=str(self.state_dir),
            supervisor_pid=os.getpid(),
            runtime=runtime,
            log_json=self.log_json,
            generation=child.restarts,
        )

    async def _start(self, child: Child) -> None:
        """Start one child and wait for its ``Ready`` (or its death, or the start timeout)."""
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        pid = await self.zygote.spawn(self._request(child))
        spawned = time.monotonic()
        child.attach(pid, loop)
        assert child.ready is not None
        assert child.exited is not None
        early = self._early_ready.pop((child.name, pid), None)
        if early is not None:
            self.on_ready(child.name, pid, early)
        exited = child.exited
        exited.add_done_callback(functools.partial(self._on_exit, child))
        waiting: set[asyncio.Future[Any]] = {child.ready, exited}
        done, _ = await asyncio.wait(
            waiting, timeout=child.spec.start_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if child.ready.done() and not child.ready.cancelled():
            child.ready_at = time.monotonic()
            self.log.info(
                "child_started", child=child.name, child_pid=pid, restarts=child.restarts,
                start_ms=round((child.ready_at - t0) * 1000, 3),
                spawn_ms=round((spawned - t0) * 1000, 3), restored=child.restored,
            )
            self.publish(ChildStarted(actor=child.name, pid=pid, restarts=child.restarts))
            self.on_started(child.name)
            return
        if not done:
            child.stop_requested = True
            child.kill()
            await exited
            self.log.error("start_error", child=child.name, reason="no Ready in time",
                           timeout_s=child.spec.start_timeout_s)
            raise ChildStartTimeout(
                f"{child.name} sent no Ready within {child.spec.start_timeout_s} s"
            )
        reason, code = exited.result()
        self.log.error("start_error", child=child.name, reason=reason.value, exit_status=code)
        if reason is ExitReason.UNWRITABLE:
            raise ChildStartUnwritable(f"{child.name} could not write its state before Ready")
        raise ChildStartError(f"{child.name} died before Ready ({reason.value}, {code})")

    def on_ready(self, name: str, pid: int, restored: dict[str, int | float | str | bool]) -> None:
        """A ``Ready`` arrived on the control socket (stale ones from old pids are ignored)."""
        child = self.by_name.get(name)
        if child is not None and child.pid != pid:
            self._early_ready[(name, pid)] = dict(restored)
            return
        if child is None or child.ready is None or child.ready.done():
            return
        child.restored = dict(restored)
        child.ready.set_result(None)

    def on_drained(self, name: str) -> None:
        """A ``Drained`` arrived on the control socket."""
        child = self.by_name.get(name)
        if child is not None and child.drained is not None and not child.drained.done():
            child.drained.set_result(None)

    # --- termination and restart --------------------------------------------------------

    def _on_exit(self, child: Child, exited: asyncio.Future[tuple[ExitReason, int]]) -> None:
        if exited.cancelled():
            return
        reason, code = exited.result()
        self.log.info(
            "child_terminated", child=child.name, child_pid=child.pid, reason=reason.value,
            exit_status=code,
        )
        self.publish(
            ChildTerminated(
                actor=child.name, pid=child.pid or 0, reason=reason.value, exit_status=code
            )
        )
        if child.stop_requested or self.stopping or child.ready_at is None:
            return  # an ordered stop, or a start in progress (its starter handles it)
        task = asyncio.get_running_loop().create_task(self._handle_exit(child, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _wants_restart(self, child: Child, reason: ExitReason) -> bool:
        restart = child.spec.restart
        if restart is Restart.PERMANENT:
            return True
        return restart is Restart.TRANSIENT and reason.abnormal

    async def _handle_exit(self, child: Child, reason: ExitReason) -> None:
        async with self.lock:
            if self.stopping or child.alive:
                return
            if not self._wants_restart(child, reason):
                self.log.info("child_not_restarted", child=child.name,
                              restart=child.spec.restart.value, reason=reason.value)
                return
            if reason is ExitReason.UNWRITABLE:
                # Not a crash of its own: halt, wait for the disk, start it again, without
                # spending restart intensity (a full disk must not become a silent loop).
                await self._await_disk(child, "its state could not be written")
                failed = await self._restart_members(child, [child])
                if failed is not None:  # it failed for another reason: the usual rules
                    await self._restart(failed)
                return
            await self._restart(child)

    def _affected(self, child: Child) -> list[Child]:
        strategy = self.flags.strategy
        if strategy is Strategy.ONE_FOR_ONE:
            return [child]
        if strategy is Strategy.ONE_FOR_ALL:
            return list(self.children)
        return self.children[self.children.index(child):]

    async def _restart(self, child: Child) -> None:
        """Restart ``child`` (and its siblings, per the strategy) until it starts or we give up."""
        while not self.stopping:
            if not self.intensity.allow(time.monotonic()):
                exc = RestartIntensityExceeded(
                    f"more than {self.flags.intensity} restarts within {self.flags.period_s} s "
                    f"(last: {child.name})"
                )
                self.log.error(
                    "reached_max_restart_intensity", child=child.name,
                    intensity=self.flags.intensity, period_s=self.flags.period_s,
                )
                self.publish(RestartIntensityReached(
                    child=child.name, intensity=self.flags.intensity,
                    period_s=self.flags.period_s,
                ))
                self.on_give_up(exc)
                return
            group = self._affected(child)
            siblings = [c for c in group if c is not child and c.alive]
            await self._stop_many(list(reversed(siblings)))
            await self._backoff(child)
            failed = await self._restart_members(child, group)
            if failed is None:
                return
            child = failed

    async def _backoff(self, child: Child) -> None:
        """Wait before a restart, longer after each quick one (reset once it stayed up)."""
        up_for = (child.ready_at and time.monotonic() - child.ready_at) or 0.0
        if up_for >= self.flags.backoff_reset_s:
            child.quick_restarts = 0
        delay = backoff_delay(
            child.quick_restarts, self.flags.backoff_initial_s, self.flags.backoff_max_s
        )
        child.quick_restarts += 1
        if delay:
            await asyncio.sleep(delay)

    async def _restart_members(self, child: Child, group: list[Child]) -> Child | None:
        """Start ``child`` and its stopped siblings; None, or the member that failed."""
        try:
            for member in group:
                # OTP: siblings stopped for the strategy come back unless temporary.
                if member is child or (
                    not member.alive and member.spec.restart is not Restart.TEMPORARY
                ):
                    member.restarts += 1
                    await self._start_when_writable(member)
        except (ChildStartError, ChildStartTimeout) as exc:
            self.log.warning("restart_failed", child=child.name, reason=str(exc))
            return next((m for m in group if not m.alive), child)
        return None

    # --- stop --------------------------------------------------------------------------

    async def stop_all(self, *, source: str, reason: str) -> bool:
        """Drain every child right to left; True when each drained within its budget."""
        self.stopping = True
        for task in list(self._tasks):
            task.cancel()
        async with self.lock:
            return await self._stop_many(
                list(reversed(self.children)), source=source, reason=reason
            )

    async def _stop_many(
        self, children: list[Child], *, source: str = "supervisor", reason: str = "restart"
    ) -> bool:
        clean = True
        for child in children:
            clean &= await self._stop(child, source=source, reason=reason)
        return clean

    async def _stop(self, child: Child, *, source: str, reason: str) -> bool:
        """Drain one child within its shutdown budget, then kill it; True when it drained."""
        if not child.alive or child.exited is None:
            return True
        child.stop_requested = True
        budget = child.spec.shutdown_s
        if budget <= 0:  # brutal_kill
            child.kill()
            await child.exited
            return True
        self.send_control(child.name, Drain(source=source, reason=reason))
        try:
            await asyncio.wait_for(asyncio.shield(child.exited), timeout=budget)
        except TimeoutError:
            pass
        else:
            return True
        self.log.error("shutdown_error", child=child.name, child_pid=child.pid,
                       reason="no exit within shutdown budget; killed", budget_s=budget)
        child.kill(signal.SIGKILL)
        await child.exited
        return False

    def kill_all(self) -> None:
        """Last resort: SIGKILL every child that is still alive."""
        for child in self.children:
            child.kill(signal.SIGKILL)
