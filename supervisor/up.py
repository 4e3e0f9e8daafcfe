"""``quantfund up``: run the tree in the foreground until a signal, a duration, or a give-up."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import zmq

from actors._runtime import endpoints, log
from actors._runtime.codec import Envelope
from actors._runtime.messages import (
    Ack,
    AdminCommandReceived,
    Drained,
    Event,
    Heartbeat,
    JournalAnchored,
    Message,
    Ready,
    RequestTradingState,
    StateWriteFailed,
    TradingStateAck,
    TreeLiveness,
    TreeStopping,
)
from actors._runtime.spawn import name_process
from actors._runtime.trading import TradingState
from actors.execution.messages import ExecutionSnapshot
from supervisor import config_audit
from supervisor.admin import AdminServer
from supervisor.admin_messages import (
    ActorStatus,
    AdminRequest,
    AnyReply,
    CommandReply,
    ErrorReply,
    HaltRequest,
    ReduceRequest,
    ResumeRequest,
    StatusReply,
    StatusRequest,
    SupervisorStatus,
)
from supervisor.config import Config, listen_address
from supervisor.errors import (
    ChildStartError,
    ChildStartTimeout,
    InvalidTransition,
    RestartIntensityExceeded,
)
from supervisor.halts import RowKind
from supervisor.hub import Hub, TapHook
from supervisor.killswitch import KillSwitch
from supervisor.metrics import Live, Metrics
from supervisor.notify import Notifier, WatchdogDecision, WatchdogGate
from supervisor.trading_state import Source
from supervisor.trading_view import TradingView
from supervisor.tree import Tree
from supervisor.zygote import PRELOAD, Zygote, become_subreaper

if TYPE_CHECKING:
    from supervisor.fleet.credentials import FleetCredentials
    from supervisor.fleet.link import FleetLink
    from supervisor.metrics_server import MetricsServer

# A liveness verdict older than this no longer keeps the watchdog fed (the heartbeat actor
# publishes one every check_interval_s, 0.25 s by default).
WATCHDOG_VERDICT_AGE_S = 3.0


@dataclass(frozen=True)
class Dirs:
    """Resolved directories of one run."""

    state: Path
    run: Path


def resolve_dirs(config: Config, state_flag: str | None, run_flag: str | None) -> Dirs:
    """Flags first, then systemd's ``$STATE_DIRECTORY``/``$RUNTIME_DIRECTORY``, then config."""
    state = Path(state_flag or os.environ.get("STATE_DIRECTORY") or config.paths.state_dir)
    state = state.absolute()
    run_text = run_flag or os.environ.get("RUNTIME_DIRECTORY") or config.paths.run_dir
    run = Path(run_text).absolute() if run_text else state / "run"
    return Dirs(state=state, run=run)


def log_json(config: Config) -> bool:
    """Whether log lines are JSON."""
    fmt = config.log.format
    return fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())


def run(config: Config, dirs: Dirs, duration: float | None = None) -> int:
    """Run the tree; returns the process exit status (0 only after a clean drain)."""
    missing = _missing_credential(config)
    if missing is not None:
        print(f"quantfund: {missing}", file=sys.stderr)
        return 2
    fleet_creds = _fleet_credentials(config)
    if isinstance(fleet_creds, str):
        print(f"quantfund: {fleet_creds}", file=sys.stderr)
        return 2
    json_lines = log_json(config)
    log.configure("supervisor", json_lines=json_lines)
    name_process("supervisor")  # before the zygote forks: it renames itself
    dirs.state.mkdir(parents=True, exist_ok=True)
    endpoints.prepare_run_dir(dirs.run)
    become_subreaper()
    # Taken out of the environment before anything forks: only the supervisor talks to systemd.
    notifier = Notifier.from_environ(unset=True)
    modules = tuple(spec.actor.partition(":")[0] for spec in config.children.values())
    if config.execution.broker == "venue" or config.orchestrator.feed.kind == "venue":
        # ccxt takes seconds to import: once, in the zygote, not in every (re)started child.
        modules += ("ccxt.async_support", "ccxt.pro", "actors.venue.broker", "actors.venue.feed")
    # Forked before any ZeroMQ context, thread or event loop exists in this process.
    zygote = Zygote(PRELOAD + modules)
    try:
        sup = Supervisor(config, dirs, zygote, json_lines, notifier)
        sup.fleet_creds = fleet_creds
        return asyncio.run(sup.run(duration))
    finally:
        zygote.close()
        _reap_leftovers()


def _missing_credential(config: Config) -> str | None:
    """``broker = "venue"`` refuses to start without its API key and secret: which is missing
    and where it goes (the environment or systemd credentials, never the config)."""
    if config.execution.broker != "venue":
        return None
    from actors.venue.credentials import load_credentials
    from actors.venue.errors import MissingCredential

    where = os.environ.get("CREDENTIALS_DIRECTORY")
    try:
        load_credentials(os.environ, Path(where) if where else None)
    except MissingCredential as exc:
        return str(exc)
    return None


def _fleet_credentials(config: Config) -> FleetCredentials | str | None:
    """A tree in a fleet needs its tree id and credentials before anything starts: them, or
    what is missing (None: no fleet)."""
    if config.fleet is None:
        return None
    if not config.fleet.tree_id:
        return "config key 'fleet.tree_id': a tree joining a fleet needs its name in the fleet"
    from supervisor.fleet.credentials import load_credentials
    from supervisor.fleet.errors import FleetCredentialMissing

    where = os.environ.get("CREDENTIALS_DIRECTORY")
    try:
        return load_credentials(os.environ, Path(where) if where else None)
    except FleetCredentialMissing as exc:
        return str(exc)


def _reap_leftovers(timeout: float = 2.0) -> None:
    """Reap the zygote's unused spare (our child by adoption) so nothing is left behind."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.005)


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("quantfund")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Supervisor:
    """The root process's event loop: hub, admin socket, tree, signals."""

    def __init__(
        self, config: Config, dirs: Dirs, zygote: Zygote, json_lines: bool,
        notifier: Notifier | None = None,
    ) -> None:
        """Prepare; sockets are opened in ``run``."""
        self.notifier = notifier or Notifier(None)
        self.execution_snapshot: ExecutionSnapshot | None = None
        self.trading = TradingView()
        self.gate: WatchdogGate | None = None
        self.config = config
        self.dirs = dirs
        self.zygote = zygote
        self.json_lines = json_lines
        self.log = log.get()
        self.started = time.monotonic()
        self.tree_live: bool | None = None
        self.gave_up: RestartIntensityExceeded | None = None
        self.stop_reason: tuple[str, str] | None = None
        self.unwritable_reported: set[str] = set()
        self.fleet_creds: FleetCredentials | None = None
        self.fleet: FleetLink | None = None
        self.metrics: Metrics | None = None
        if config.metrics.listen:
            self.metrics = Metrics(
                intensity=config.supervisor.intensity, period_s=config.supervisor.period_s,
                max_drawdown_pct=config.breaker.max_drawdown_pct,
            )

    async def run(self, duration: float | None) -> int:
        """Start the tree, serve, stop it in order; returns the exit status."""
        loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        endpoint = self._serve_metrics()
        if isinstance(endpoint, str):
            print(f"quantfund: {endpoint}", file=sys.stderr)
            return 2
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.hub = Hub(ctx, self.dirs.run, self._on_event, self._on_control,
                       tap=self._metrics_tap())
        self.hub.attach(loop)
        self.killswitch = KillSwitch(
            self.dirs.state, self.hub.publish,
            expected=lambda: {c.name for c in self.tree.children if c.alive},
            stores=list(self.config.children),
        )
        acfg = self.config.admin
        admin = AdminServer(
            ctx, self.dirs.run, self._on_admin, tcp=acfg.tcp,
            curve_key_file=acfg.curve_secret_key_file,
            allowed_clients=tuple(acfg.curve_allowed_clients),
        )
        admin.attach(loop)
        self.tree = Tree(
            self.config, self.zygote, state_dir=self.dirs.state, run_dir=self.dirs.run,
            log_json=self.json_lines, publish=self.hub.publish,
            send_control=self.hub.send_control, on_give_up=self._give_up,
            on_started=self._on_child_started, on_unwritable=self._on_unwritable,
        )
        self.killswitch.open()  # with the tree built: a halt at open counts its children
        refresh = self._follow_metrics(loop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop, "signal", signal.Signals(sig).name)
        self.log.info("supervisor_started", state_dir=str(self.dirs.state),
                      run_dir=str(self.dirs.run), zygote_pid=self.zygote.pid)
        try:
            # The fleet state is read (or its absence dealt with) before any child can trade.
            await self._join_fleet()
            try:
                await self.tree.start_all()
            except (ChildStartError, ChildStartTimeout) as exc:
                self.log.error("tree_start_failed", reason=str(exc))
                return 1
            self.log.info("tree_started", children=[c.name for c in self.tree.children])
            # What the start built lives as long as the supervisor: out of the collector, so a
            # full collection does not pause the hub or the kill switch for ~10 ms.
            gc.freeze()
            # After the start: the alerter and the journal are subscribed by now.
            change = config_audit.check(self.config, self.dirs.state)
            if change is not None:
                self.hub.publish(change)
            self.notifier.ready(status=self._status_line())
            self.gate = WatchdogGate(max_verdict_age=WATCHDOG_VERDICT_AGE_S,
                                     armed_at=time.monotonic())
            pinger = asyncio.get_running_loop().create_task(self._watchdog())
            if self.stop_reason is None and self.gave_up is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=duration)
            pinger.cancel()
            return await self._stop_tree()
        finally:
            if self.fleet is not None:
                await self.fleet.close()
            self.tree.kill_all()
            if refresh is not None:
                refresh.cancel()
            if endpoint is not None:
                endpoint.close()
            self.killswitch.close()
            admin.close()
            self.hub.close()
            ctx.term()

    async def _join_fleet(self) -> None:
        """With ``[fleet]``: start the link (it reads and applies the fleet state, bounded by
        ``fleet.connect_timeout_s``), then it follows the fleet from this loop."""
        if self.config.fleet is None or self.fleet_creds is None:
            return
        from supervisor.fleet.link import FleetLink

        self.fleet = FleetLink(self.config.fleet, self.fleet_creds, self.killswitch,
                               self._fleet_figures, _version())
        await self.fleet.start()

    def _fleet_figures(self) -> dict[str, object]:
        """What this tree's fleet summary carries besides its trading state."""
        status = self.trading.status()
        execution, breaker = status.execution, status.breaker
        return {
            "live": self.tree_live,
            "equity": execution.equity if execution else None,
            "drawdown_pct": breaker.drawdown_pct if breaker else None,
            "positions": sum(1 for b in execution.instruments.values() if b.position)
            if execution else 0,
        }

    async def _stop_tree(self) -> int:
        """Drain the tree right to left, saying why; the exit status (0: a clean drain)."""
        source, reason = self.stop_reason or ("supervisor", "duration elapsed")
        if self.gave_up is not None:
            source, reason = "supervisor", str(self.gave_up)
        self.log.info("tree_stopping", source=source, reason=reason)
        budget = sum(c.spec.shutdown_s for c in self.tree.children) + 5.0
        self.notifier.stopping(status=f"draining: {reason}")
        self.notifier.extend_timeout(int(budget * 1_000_000))
        self.hub.publish(TreeStopping(source=source, reason=reason))
        clean = await self.tree.stop_all(source=source, reason=reason)
        code = 0 if clean and self.gave_up is None else 1
        self.log.info("supervisor_exit", exit_status=code, clean=clean)
        return code

    def _serve_metrics(self) -> MetricsServer | str | None:
        """Start the metrics endpoint when configured (its own thread; after the zygote's
        fork): the server, None when off, or why it could not start."""
        if self.metrics is None:
            return None
        from supervisor.metrics_server import MetricsServer
        listen = self.config.metrics.listen
        host, port = listen_address(listen)
        try:
            server = MetricsServer(self.metrics, host, port)
        except OSError as exc:
            return f"metrics.listen {listen}: cannot serve there ({exc})"
        self.log.info("metrics_listening", listen=listen, port=server.port)
        return server

    def _metrics_tap(self) -> TapHook | None:
        if self.metrics is None:
            return None
        from supervisor.metrics_server import hub_tap

        return hub_tap(self.metrics)

    def _follow_metrics(self, loop: asyncio.AbstractEventLoop) -> asyncio.Task[None] | None:
        """The state in force now into the metrics, and their refresh from this loop."""
        if self.metrics is None:
            return None
        self.metrics.trading_state(self.killswitch.state)
        return loop.create_task(self._refresh_metrics(self.metrics))

    async def _refresh_metrics(self, metrics: Metrics) -> None:
        """What the supervisor holds itself (not on the bus), into the metrics each second."""
        while True:
            metrics.live(Live(
                intensity_restarts=self.tree.intensity.in_window(time.monotonic()),
                bad_messages=dict(self.hub.bad), dropped=self.hub.dropped,
            ))
            await asyncio.sleep(1.0)

    def _stop(self, source: str, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = (source, reason)
        self.tree.interrupted.set()  # a start waiting for the disk gives way to the drain
        self.wake.set()

    def _give_up(self, exc: RestartIntensityExceeded) -> None:
        self.gave_up = exc
        if self.killswitch.state is not TradingState.HALTED:
            self.killswitch.change(
                TradingState.HALTED, source=Source.SUPERVISOR, who="supervisor", reason=str(exc)
            )
        self.wake.set()

    def _on_child_started(self, name: str) -> None:
        # The state may have changed between the child's spawn and its Ready: say it again.
        self.unwritable_reported.discard(name)
        self.hub.send_control(name, self.killswitch.current())

    def _on_unwritable(
        self, actor: str, path: str = "", problem: str = "its state could not be written"
    ) -> None:
        """An actor could not write its state: RED (in the log at once, whatever else cannot
        write), on the bus for the alerter and the journal, and trading HALTED."""
        if actor in self.unwritable_reported:
            return
        self.unwritable_reported.add(actor)
        report = StateWriteFailed(actor=actor, path=path or str(self.dirs.state), problem=problem)
        text = (f"state not written, trading HALTED: {actor} could not write {report.path} "
                f"({problem}). Remedy: {report.remedy}")
        self.log.error("alert", severity="RED", kind="StateWriteFailed", channel="log", text=text)
        self.hub.publish(report)
        if self.killswitch.state is not TradingState.HALTED:
            try:
                self.killswitch.change(
                    TradingState.HALTED, source=Source.SUPERVISOR, who="supervisor",
                    reason=f"state unwritable: {actor} could not write {report.path} ({problem})",
                )
            except InvalidTransition as exc:  # never for HALTED; said, not raised, if it were
                self.log.error("halt_on_unwritable_failed", reason=str(exc))

    # --- hub callbacks -----------------------------------------------------------------

    def _on_event(self, env: Envelope[Message]) -> None:
        msg = env.payload
        if isinstance(msg, Event):
            self.trading.observe(msg)
        if isinstance(msg, Heartbeat):
            child = self.tree.by_name.get(msg.actor)
            if child is not None and child.pid == msg.pid:
                child.last_beat_at = time.monotonic()
                child.iterations = msg.iterations
        elif isinstance(msg, ExecutionSnapshot):
            self.execution_snapshot = msg
        elif isinstance(msg, TreeLiveness):
            self.tree_live = msg.live
            if self.gate is not None:
                self.gate.observe(msg.live, time.monotonic())
        elif isinstance(msg, JournalAnchored):
            # Kept outside the journal file, so a truncated tail of that day is detectable.
            self.killswitch.audit(
                RowKind.ANCHOR, source=Source.SUPERVISOR, who=env.sender,
                reason=f"journal day {msg.day} final hash",
                payload={"day": msg.day, "final_hash": msg.final_hash, "last_seq": msg.last_seq},
            )

    def _on_control(self, identity: str, env: Envelope[Message]) -> None:
        msg = env.payload
        if isinstance(msg, Ready):
            self.tree.on_ready(msg.actor, msg.pid, msg.restored)
        elif isinstance(msg, Drained):
            self.tree.on_drained(msg.actor)
        elif isinstance(msg, RequestTradingState):
            self._on_request_state(identity, env.msg_id, msg)
        elif isinstance(msg, StateWriteFailed):
            self._on_unwritable(msg.actor, msg.path, msg.problem)
        elif isinstance(msg, TradingStateAck):
            all_acked_s = self.killswitch.ack(msg.actor, msg.seq, env.sent_mono_ns)
            if all_acked_s is not None and self.metrics is not None:
                with contextlib.suppress(ValueError):
                    self.metrics.state_acked(TradingState(msg.state), all_acked_s)
            child = self.tree.by_name.get(msg.actor)
            if child is not None:
                child.trading_state_seq = max(child.trading_state_seq or 0, msg.seq)

    def _status_line(self) -> str:
        alive = sum(1 for c in self.tree.children if c.alive)
        restarts = sum(c.restarts for c in self.tree.children)
        return (f"trading {self.killswitch.state.value}; {alive}/{len(self.tree.children)} "
                f"actors alive; {restarts} restarts; tree live: {self.tree_live}")

    async def _watchdog(self) -> None:
        """Layer 6: ping systemd only while this loop runs and the heartbeat actor says the
        tree is live (a fresh verdict); refresh the status line on the same beat."""
        interval = self.notifier.watchdog_interval() or 2.0
        withheld: WatchdogDecision | None = None
        while True:
            assert self.gate is not None
            self.killswitch.retry_unpersisted()
            decision = self.gate.decide(time.monotonic())
            if decision is not WatchdogDecision.PING and self.tree.waiting_for_disk:
                # The tree is HALTED and waiting for the disk on purpose: this loop runs, so
                # systemd restarting it would only repeat the wait (and the alerts) in a loop.
                decision = WatchdogDecision.PING
            if decision is WatchdogDecision.PING:
                self.notifier.watchdog()
            if decision is not withheld and decision is not WatchdogDecision.PING:
                self.log.warning("watchdog_withheld", reason=decision.value)
            withheld = None if decision is WatchdogDecision.PING else decision
            self.notifier.status(self._status_line())
            await asyncio.sleep(interval)

    def _on_request_state(self, child: str, msg_id: str, msg: RequestTradingState) -> None:
        """A child (heartbeat, breaker) asks for a transition; the table decides."""
        ks = self.killswitch
        try:
            target = TradingState(msg.state)
            source = Source(msg.source)
            if ks.state is target:
                result = Ack(ok=True, reason=f"already {target.value}")
            else:
                ks.change(target, source=source, who=child, reason=msg.reason)
                result = Ack(ok=True)
        except (ValueError, InvalidTransition) as exc:
            self.log.warning("trading_state_request_refused", child=child, state=msg.state,
                             source=msg.source, reason=msg.reason, refused=str(exc))
            result = Ack(ok=False, reason=str(exc))
        self.hub.send_control(child, result, correlation_id=msg_id)

    # --- admin -------------------------------------------------------------------------

    def _on_admin(self, request: AdminRequest) -> AnyReply | Awaitable[AnyReply]:
        if isinstance(request, StatusRequest):
            return self.status()
        if isinstance(request, HaltRequest):
            return self._durable(self._operator(request, TradingState.HALTED))
        if isinstance(request, ReduceRequest):
            return self._durable(self._operator(request, TradingState.REDUCING))
        if isinstance(request, ResumeRequest):
            return self._durable(self._operator(request, TradingState.ACTIVE))
        return ErrorReply(error=f"unsupported request {type(request).__name__}")

    async def _durable(self, reply: AnyReply) -> AnyReply:
        """The operator's answer, once the rows behind it survive a power loss (ADR 0006)."""
        try:
            await self.killswitch.durable()
        except OSError as exc:
            self.log.error("halts_store_sync_failed", error=str(exc))
            return ErrorReply(error=f"took effect, but the halts store could not be forced to "
                                    f"disk ({exc}); a power loss could undo it")
        return reply

    def _operator(
        self, request: HaltRequest | ReduceRequest | ResumeRequest, target: TradingState
    ) -> AnyReply:
        """An operator command: audited (who, why), then the transition, or a clear refusal."""
        ks = self.killswitch
        command = type(request).__name__.removesuffix("Request").lower()

        def audit(result: str) -> None:
            self.hub.publish(AdminCommandReceived(
                command=command, who=request.who, reason=request.reason, result=result))

        if not request.reason.strip() or not request.who.strip():
            audit("refused: no reason or no who")  # the store takes no blank rows; the bus does
            return ErrorReply(error=f"{command} needs a non-blank reason and who")
        detail = {"command": command, "state_before": ks.state.value}
        stuck = self._unwritable_now()
        if stuck and target is not TradingState.HALTED:
            refusal = (f"{command} refused: state cannot be written ({'; '.join(stuck)}); free "
                       "space on (or make writable) the state directory first")
            ks.audit(RowKind.ADMIN, source=Source.OPERATOR, who=request.who,
                     reason=request.reason, payload={**detail, "refused": refusal})
            audit(f"refused: {refusal}")
            return ErrorReply(error=refusal)

        if ks.state is target:
            ks.audit(RowKind.ADMIN, source=Source.OPERATOR, who=request.who,
                     reason=request.reason, payload={**detail, "result": "no change"})
            audit("no change")
            return CommandReply(ok=True, state=ks.state.value, seq=0,
                                message=f"already {target.value}; nothing changed")
        try:
            event = ks.change(target, source=Source.OPERATOR, who=request.who,
                              reason=request.reason, payload=detail)
        except InvalidTransition as exc:
            ks.audit(RowKind.ADMIN, source=Source.OPERATOR, who=request.who,
                     reason=request.reason, payload={**detail, "refused": str(exc)})
            audit(f"refused: {exc}")
            return ErrorReply(error=str(exc))
        audit(f"{event.previous.value} -> {event.state.value} (seq {event.seq})")
        return CommandReply(ok=True, state=event.state.value, seq=event.seq,
                            message=f"{event.previous.value} -> {event.state.value}")

    def _unwritable_now(self) -> list[str]:
        found = [f"{name}: down, waiting for the state directory to take writes"
                 for name in sorted(self.tree.waiting_for_disk)]
        if self.killswitch.unwritable is not None:
            found.append(f"halts store: {self.killswitch.unwritable} "
                         f"({len(self.killswitch.unpersisted)} rows waiting)")
        return found

    def status(self) -> StatusReply:
        """The tree as the supervisor sees it now."""
        now = time.monotonic()
        actors = [
            ActorStatus(
                name=c.name,
                pid=c.pid if c.alive else None,
                alive=c.alive,
                restarts=c.restarts,
                last_heartbeat_age_s=(
                    None if c.last_beat_at is None else round(now - c.last_beat_at, 3)
                ),
                iterations=c.iterations,
                restored=c.restored,
                trading_state_seq=c.trading_state_seq,
            )
            for c in self.tree.children
        ]
        bad = dict(self.hub.bad)
        snap = self.execution_snapshot
        return StatusReply(
            trading_state=self.killswitch.state.value,
            trading_state_seq=self.killswitch.seq,
            halts_store_problem=self.killswitch.tampered,
            state_lost=self.killswitch.lost_problems(),
            state_unwritable=self._unwritable_now(),
            supervisor=SupervisorStatus(
                pid=os.getpid(), uptime_s=round(now - self.started, 3),
                strategy=self.config.supervisor.strategy.value, bus_seq=self.hub.seq,
                bad_messages=bad, tree_live=self.tree_live,
            ),
            actors=actors,
            positions=dict(snap.positions) if snap else {},
            orders=dict(snap.orders) if snap else {},
            trading=self.trading.status(),
        )
