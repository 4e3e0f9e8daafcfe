"""The pykka actor base: behaviour only, effects collected per message, no I/O of its own.

The process runtime (``process.py``) owns sockets and the state file. It hands each message to the
actor thread through ``Bridge.call``; the actor's handler records effects (state writes, events,
commands, a reply) with the helpers below, and the runtime persists the writes before it sends
anything, so nothing is acknowledged that a restart could forget.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pykka

from actors._runtime.codec import Envelope
from actors._runtime.messages import Command, Event, Message
from actors._runtime.trading import TradingGate

Summary = dict[str, int | float | str | bool]


@dataclass
class Effects:
    """What one handler call asks the runtime to do, in order: persist, reply, publish, send."""

    writes: dict[str, bytes | None] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    commands: list[tuple[str, Command]] = field(default_factory=list)
    reply: Message | None = None
    result: Any = None
    deferred: list[Any] = field(default_factory=list)
    control: list[Message] = field(default_factory=list)


class CallKind(enum.Enum):
    """Which behaviour hook a bridge call runs."""

    EVENT = "event"
    COMMAND = "command"
    REPLY = "reply"
    TICK = "tick"
    BEAT = "beat"
    DRAIN = "drain"
    SUMMARY = "summary"
    INTERVAL = "interval"
    DEFERRED = "deferred"
    READY = "ready"
    BATCH_END = "batch_end"
    BIND = "bind"
    WAKER = "waker"


@dataclass(frozen=True)
class _Call:
    kind: CallKind
    arg: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Effects]


def _settle(
    future: asyncio.Future[Effects], effects: Effects | None, exc: BaseException | None
) -> None:
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(effects if effects is not None else Effects())


class BaseActor(pykka.ThreadingActor):
    """Base of every Quantfund actor. Subclasses override the ``on_*`` hooks; all hooks run on
    the actor's own thread, which alone touches its state.
    """

    config_type: ClassVar[type[msgspec.Struct] | None] = None
    """Type of the actor's config section, decoded by the runtime."""
    subscriptions: ClassVar[tuple[str, ...]] = ()
    """Bus topics (event class names) this actor receives; ``("*",)`` for all."""
    accepts_commands: ClassVar[bool] = False
    """Whether the actor binds a command socket (``cmd-<name>``)."""
    command_targets: ClassVar[tuple[str, ...]] = ()
    """Actors this one sends acknowledged commands to."""
    replays_bus: ClassVar[bool] = False
    """Whether a restart replays the events missed while down (see ``_runtime.replay``); for
    actors that must see every event. Such an actor may see an event twice after a crash (its
    position is persisted with its own writes, or lazily): handling must be idempotent."""

    def __init__(
        self, name: str, config: Any, snapshot: Mapping[str, bytes], state_dir: Path,
        run_dir: Path | None = None,
    ) -> None:
        """Build the actor from its config and the state loaded from disk (``run_dir``: the
        tree's socket directory; None when built outside a running tree)."""
        super().__init__()
        self.name = name
        self.config = config
        self.state_dir = state_dir
        self.run_dir = run_dir
        self.iterations = 0
        self._fx = Effects()
        self._flusher: Callable[[dict[str, bytes | None]], None] | None = None
        self._waker: Callable[[], None] | None = None
        self.trading_gate = TradingGate()
        """The trading state to decide by: set by the runtime before it acknowledges a change
        (an actor that gates orders reads ``trading_gate.state``, never a copy of its own)."""
        self.restore(snapshot)

    @classmethod
    def bus_topics(cls, config: Any) -> tuple[str, ...]:
        """Topics the process's bus socket subscribes to (``config``: the decoded section):
        ``subscriptions`` unless an actor narrows them by its config. The hub's socket filters
        by topic, so an event of any other type never reaches, nor wakes, the process."""
        return cls.subscriptions

    # --- hooks for subclasses -----------------------------------------------------------

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Rebuild state from the persisted key-value snapshot (called before ``Ready``)."""

    def summary(self) -> Summary:
        """A small summary of the state for ``Ready`` and ``status``."""
        return {"iterations": self.iterations}

    def gauges(self) -> dict[str, float]:
        """Figures for the metrics endpoint, sent with each heartbeat (cheap: read at every
        beat on the actor thread); none by default."""
        return {}

    def tick_interval(self) -> float | None:
        """Seconds between ``on_tick`` calls; None for no tick."""
        return None

    def on_event(self, env: Envelope[Message]) -> None:
        """An event from the bus, on one of ``subscriptions``."""

    def on_command(self, env: Envelope[Message]) -> None:
        """A command addressed to this actor; must call ``reply``."""
        self.reply_ack(ok=False, reason=f"{self.name} accepts no {type(env.payload).__name__}")

    def on_reply(self, env: Envelope[Message], command: Command) -> None:
        """The reply to a command this actor sent."""

    def on_tick(self, now: float) -> None:
        """Periodic work (the orchestrator's iteration loop)."""

    def on_deferred(self, token: Any) -> None:
        """Second step of work asked for with ``defer``, run after the first step's writes are
        committed and its messages sent (e.g. reach a broker only after the order is on disk).
        """

    def on_batch_end(self) -> None:
        """A batch of messages was handled (group commit point: e.g. one fsync for many)."""

    def on_ready(self) -> None:
        """Runs once, right after ``Ready`` was sent (reconcile with the outside world)."""

    def on_drain(self) -> bool:
        """Stop taking new work and settle what is open; True once drained."""
        return True

    # --- effect helpers, used by hooks --------------------------------------------------

    def put(self, key: str, value: msgspec.Struct | bytes | Any) -> None:
        """Persist ``value`` under ``key`` before anything from this call is sent."""
        if key.startswith("_"):
            raise ValueError(f"keys starting with '_' belong to the runtime: {key!r}")
        data = value if isinstance(value, bytes) else msgspec.msgpack.encode(value)
        self._fx.writes[key] = data

    def delete(self, key: str) -> None:
        """Delete ``key`` from the persisted state."""
        self._fx.writes[key] = None

    def publish(self, event: Event) -> None:
        """Publish ``event`` on the bus (after the writes are committed)."""
        self._fx.events.append(event)

    def send(self, target: str, command: Command) -> None:
        """Send an acknowledged ``command`` to actor ``target`` (persisted, retried)."""
        if target not in self.command_targets:
            raise ValueError(f"{self.name} does not declare {target!r} in command_targets")
        self._fx.commands.append((target, command))

    def request_trading_state(self, state: str, *, source: str, reason: str) -> None:
        """Ask the supervisor for a trading-state change (sent after this call's writes)."""
        from actors._runtime.messages import RequestTradingState

        self._fx.control.append(RequestTradingState(state=state, source=source, reason=reason))

    def flush(self) -> None:
        """Commit this call's writes so far, now, before the hook goes on (before it reaches a
        broker, say): as durable as the runtime's own commit after the hook, without a second
        call into this thread. The call's events, reply and commands still leave only after the
        hook returns and the rest of its writes are committed. Hooks driven without a runtime
        (unit tests) have nothing to commit to: the writes stay with the call's effects."""
        if self._flusher is not None and self._fx.writes:
            self._flusher(self._fx.writes)
            self._fx.writes = {}

    def wake(self) -> None:
        """Ask for the next ``on_tick`` now rather than at its interval; callable from any
        thread (a live feed's, when an update arrives). Requests made before the tick runs
        make one tick. Does nothing outside a running process."""
        if self._waker is not None:
            self._waker()

    def defer(self, token: Any) -> None:
        """Ask for ``on_deferred(token)`` once this call's effects are committed and sent."""
        self._fx.deferred.append(token)

    def reply(self, message: Message) -> None:
        """Answer the command being handled."""
        self._fx.reply = message

    def reply_ack(self, *, ok: bool = True, reason: str = "") -> None:
        """Answer the command being handled with a plain ``Ack``."""
        from actors._runtime.messages import Ack

        self._fx.reply = Ack(ok=ok, reason=reason)

    # --- pykka entry --------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        """Run one bridge call on this thread and hand the effects back to the event loop."""
        if not isinstance(message, _Call):
            return None
        self._fx = Effects()
        try:
            self._fx.result = self._dispatch(message.kind, message.arg)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the runtime
            message.loop.call_soon_threadsafe(_settle, message.future, None, exc)
            return None
        fx, self._fx = self._fx, Effects()
        message.loop.call_soon_threadsafe(_settle, message.future, fx, None)
        return None

    def _dispatch(self, kind: CallKind, arg: Any) -> Any:  # noqa: PLR0911 - one branch per hook
        if kind is CallKind.EVENT:
            return self.on_event(arg)
        if kind is CallKind.COMMAND:
            return self.on_command(arg)
        if kind is CallKind.REPLY:
            return self.on_reply(*arg)
        if kind is CallKind.TICK:
            return self.on_tick(arg)
        if kind is CallKind.DRAIN:
            return self.on_drain()
        if kind is CallKind.BEAT:
            return self.iterations, self.gauges()
        if kind is CallKind.INTERVAL:
            return self.tick_interval()
        if kind is CallKind.DEFERRED:
            return self.on_deferred(arg)
        if kind is CallKind.READY:
            return self.on_ready()
        if kind is CallKind.BATCH_END:
            return self.on_batch_end()
        if kind is CallKind.BIND:
            self._flusher = arg  # the runtime's commit, for ``flush``
            return self.trading_gate
        if kind is CallKind.WAKER:
            self._waker = arg  # the runtime's "tick now", for ``wake``
            return None
        return self.summary()


class Bridge:
    """Awaitable calls from the runtime's event loop into the actor thread."""

    def __init__(self, ref: pykka.ActorRef[BaseActor], loop: asyncio.AbstractEventLoop) -> None:
        """Wrap a started actor."""
        self._ref = ref
        self._loop = loop

    async def call(self, kind: CallKind, arg: Any = None) -> Effects:
        """Run hook ``kind`` on the actor thread; the loop stays free while it runs."""
        future: asyncio.Future[Effects] = self._loop.create_future()
        self._ref.tell(_Call(kind, arg, self._loop, future))
        return await future

    def stop(self) -> None:
        """Stop the actor thread (after a drain)."""
        self._ref.stop(block=True, timeout=2.0)
