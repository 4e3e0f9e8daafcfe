"""The generic actor process: sockets, state load/save, heartbeat, drain; behaviour lives elsewhere.

Order of a start: bind to the supervisor (parent-death signal), open the state file, load it,
start the pykka actor with it, complete the bus handshake, then send ``Ready``. Each message is
handled to the end before the next: the actor thread computes effects, the writes are committed,
and only then are the reply, the events and the commands sent.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import math
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any, cast

import msgspec
import zmq

from actors._runtime import endpoints, log
from actors._runtime.actor import BaseActor, Bridge, CallKind, Effects
from actors._runtime.codec import BadMessage, Codec, Envelope, new_id
from actors._runtime.errors import StateUnreadable, StoreUnwritable, unwritable_problem
from actors._runtime.messages import (
    Ack,
    BadMessageSeen,
    ChildStarted,
    Command,
    Drain,
    Drained,
    Event,
    Heartbeat,
    Message,
    Ready,
    StateWriteFailed,
    SyncPing,
    TradingStateAck,
)
from actors._runtime.ready import Readiness, Sock, has_input
from actors._runtime.replay import (
    POSITION_KEY,
    BusEventsLost,
    BusPosition,
    BusReplay,
    ReplayRequest,
)
from actors._runtime.spawn import (
    ExitCode,
    SpawnRequest,
    bind_to_parent,
    import_actor,
    name_process,
)
from actors._runtime.store import SEEN_KEEP, StateStore
from actors._runtime.trading import TradingGate, TradingStateChanged

_OUTBOX = "_out/"
_PHASES: dict[str, float] = {}
_DRAIN_RETRY_S = 0.02
_BAD_EVENT_EVERY_S = 1.0
# A replaying actor's bus position is saved with its own writes, and otherwise at most this
# often: a crash then replays a little more (handled idempotently), at no fsync per event.
_POSITION_EVERY_S = 0.2
_CHUNK = 64
"""Messages of one socket handled between two group commits (and two looks at the commands)."""
_BUS_PER_TURN = 1000
"""Bus events handled before the loop looks at its timers again (beats, ticks, retries)."""
_BACKLOG_MAX = 10_000
"""Bus events read ahead (to find a trading-state change) and not yet handled, at most."""
_CONTROL_BLOCKED_S = 10.0
"""How long a message to the supervisor may wait for room (it has stopped reading) before the
process gives up (and is restarted, or dies with the supervisor)."""


_UNREADABLE_REMEDY = (
    "restore the file from a backup of this state directory, or move it aside to start this "
    "actor anew (the tree then starts HALTED: `quantfund state check` says what is missing)"
)


class _Outgoing(msgspec.Struct, frozen=True):
    """A sent, not yet acknowledged command (persisted so a restart resends it)."""

    target: str
    data: bytes
    sent_at: float


def main(req: SpawnRequest, codec: Codec, *, bound: bool = False) -> int:
    """Entry point of a freshly forked actor process; returns its exit status.

    ``codec``: every message type of the tree (``actors.wire.codec()``, handed down by the
    zygote, so that the runtime knows no actor's messages). ``bound``: the process already
    bound its parent-death signal to the supervisor (a spare).
    """
    if not bound:
        bind_to_parent(req.supervisor_pid)
    name_process(req.name)
    nice = req.runtime.nice_of(req.name)
    if nice:
        os.nice(nice)  # lowering one's own priority needs no privilege
    # Ctrl-C in a terminal reaches the whole process group; only the supervisor may act on it,
    # so that the drain keeps its order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    log.configure(req.name, json_lines=req.log_json)
    try:
        cls = import_actor(req.actor)
    except ValueError as exc:
        log.get().error("start_error", reason=str(exc))
        return ExitCode.START_FAILED
    return asyncio.run(Runtime(req, cls, codec).run())


class Runtime:
    """One actor process's event loop."""

    def __init__(self, req: SpawnRequest, cls: type[BaseActor], codec: Codec) -> None:
        """Prepare (nothing is opened until ``run``)."""
        self.req = req
        self.cls = cls
        self.name = req.name
        self.codec = codec
        self.log = log.get()
        self.run_dir = Path(req.run_dir)
        self.outbox: dict[str, _Outgoing] = {}
        self._sent_mono: dict[str, float] = {}
        """When each outbox command was last sent, on the monotonic clock: a wall-clock step
        neither floods the targets with resends nor holds them back (ADR 0010)."""
        self.seen: dict[str, bytes] = {}
        self.bad: dict[str, int] = {}
        self._bad_published: dict[str, float] = {}
        self.drain_requested: Drain | None = None
        self.beat_seq = 0
        self._acked: set[int] = set()
        self.bus_pos = BusPosition(epoch="", seq=0)
        self._pos_saved = self.bus_pos
        self._pos_saved_at = 0.0
        # Plain sockets, never blocking the loop (sends are NOBLOCK), waited for by
        # ``Readiness``: zmq.asyncio's per-wait registrations cost a fifth of the CPU.
        self.ctx: zmq.Context[Sock] = zmq.Context()
        self.dealers: dict[str, Sock] = {}
        self.router: Sock | None = None
        self._bus_backlog: collections.deque[tuple[list[bytes], Envelope[Message]]] = (
            collections.deque()
        )
        self._in_bus = False
        self._tick_now = False
        """Set by the actor's ``wake`` (any thread): run the next tick without waiting."""
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- set-up ------------------------------------------------------------------------

    def _sockets(self) -> None:
        ctx, run_dir = self.ctx, self.run_dir
        self.push = ctx.socket(zmq.PUSH)
        self.push.setsockopt(zmq.SNDHWM, 100_000)
        self.push.connect(endpoints.bus_in(run_dir))
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 100_000)
        for t in ("SyncPing", "ChildStarted", "TradingStateChanged", *self.topics):
            self.sub.setsockopt(zmq.SUBSCRIBE, b"" if t == "*" else t.encode() + b".")
        self.sub.connect(endpoints.bus_out(run_dir))
        self.control = ctx.socket(zmq.DEALER)
        self.control.setsockopt(zmq.IDENTITY, self.name.encode())
        self.control.connect(endpoints.control(run_dir))
        if self.cls.accepts_commands:
            self.router = ctx.socket(zmq.ROUTER)
            path = endpoints.commands(run_dir, self.name)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path.removeprefix("ipc://"))
            self.router.bind(path)
        for target in self.cls.command_targets:
            dealer = ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.IDENTITY, f"{self.name}.{os.getpid()}".encode())
            dealer.connect(endpoints.commands(run_dir, target))
            self.dealers[target] = dealer
        for sock in (self.push, self.sub, self.control, self.router, *self.dealers.values()):
            if sock is not None:
                sock.setsockopt(zmq.LINGER, 1000)
                sock.setsockopt(zmq.RECONNECT_IVL, 10)
                sock.setsockopt(zmq.RECONNECT_IVL_MAX, 200)

    async def _handshake(self) -> int:
        """Slow-joiner guard: publish pings until our own comes back through the hub; returns
        its bus sequence number (everything after it arrives live)."""
        nonce = new_id()
        deadline = time.monotonic() + self.req.runtime.sync_timeout_s
        ping = self.codec.encode(self.name, SyncPing(actor=self.name, nonce=nonce))
        while time.monotonic() < deadline:
            with contextlib.suppress(zmq.Again):  # sent again in a millisecond
                self.push.send(ping, flags=zmq.NOBLOCK)
            if await self.ready.wait([self.sub], 1):
                while has_input(self.sub):
                    frames = self.sub.recv_multipart(flags=zmq.NOBLOCK)
                    with contextlib.suppress(BadMessage, IndexError):
                        msg = self.codec.decode(frames[-1]).payload
                        if isinstance(msg, SyncPing) and msg.nonce == nonce:
                            return int.from_bytes(frames[1], "big")
        raise TimeoutError(f"no bus handshake within {self.req.runtime.sync_timeout_s} s")

    # --- run ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Start, serve until drained, tear down; returns the exit status."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)
        t = time.monotonic()
        try:
            config = self._open_sockets(loop)
            _PHASES["sockets"] = time.monotonic() - t
            ref = await self._load(config, t)
            _PHASES["actor"] = time.monotonic() - t
        except Exception as exc:
            if unwritable_problem(exc) is not None:
                return await self._unwritable(exc, started=False)
            if isinstance(exc, StateUnreadable):
                # One line an operator can act on, not a traceback; the supervisor's start
                # check has already kept the tree HALTED where it could see the problem.
                self.log.error("state_unreadable", path=exc.path, problem=exc.problem,
                               remedy=exc.remedy, action="refusing to start")
            else:
                self.log.exception("start_error", reason=str(exc))
            self._close_sockets()
            return ExitCode.START_FAILED
        self.bridge = Bridge(ref, loop)
        try:
            # What the runtime and the actor share: its trading gate, our commit (``flush``).
            self.gate: TradingGate = (
                await self.bridge.call(CallKind.BIND, self.store.commit_now)
            ).result
            self._loop = loop
            await self.bridge.call(CallKind.WAKER, self._request_tick)
            ping_seq = await self._handshake()
            _PHASES["handshake"] = time.monotonic() - t
            if self.cls.replays_bus:
                await self._request_replay(ping_seq)
            summary = (await self.bridge.call(CallKind.SUMMARY)).result
            await self._send_control(Ready(actor=self.name, pid=os.getpid(), restored=summary))
            _PHASES["ready"] = time.monotonic() - t
            self.log.info(
                "actor_ready", restored=summary, generation=self.req.generation,
                start_phases_ms={k: round(v * 1000, 2) for k, v in _PHASES.items()},
            )
            await self._apply(await self.bridge.call(CallKind.READY))
            if self.cls.replays_bus:
                await self._replay(ping_seq)
            await self._resend_all()
            await self._serve()
        except Exception as exc:
            if unwritable_problem(exc) is not None:
                return await self._unwritable(exc, started=True)
            self.log.exception("actor_crashed", reason=repr(exc))
            return ExitCode.CRASHED
        finally:
            with contextlib.suppress(Exception):
                self.bridge.stop()
            with contextlib.suppress(Exception):
                await self.store.close()
            self._close_sockets()
        return ExitCode.NORMAL

    async def _unwritable(self, exc: Exception, *, started: bool) -> int:
        """A write the disk refused: it was rolled back and nothing it guarded was sent. Say
        so in one line and to the supervisor (which halts trading), then exit: the process's
        memory may hold what the disk does not, and a restart loads only what was persisted."""
        problem = unwritable_problem(exc) or str(exc)
        path = exc.path if isinstance(exc, StoreUnwritable) else str(
            Path(self.req.state_dir) / f"{self.name}.sqlite")
        report = StateWriteFailed(actor=self.name, path=path, problem=problem)
        self.log.error("state_unwritable", path=path, problem=problem, remedy=report.remedy,
                       action="exiting; nothing unpersisted was acknowledged")
        with contextlib.suppress(Exception):
            self.control.send(self.codec.encode(self.name, report), flags=zmq.NOBLOCK)
        if not started:
            self._close_sockets()
        return ExitCode.STORE_UNWRITABLE

    async def _load(self, config: Any, started: float) -> Any:
        """Open the state file, load it, build the actor from it; returns the actor's ref.

        Raises:
            StateUnreadable: The file is not a database SQLite can read, or a row does not
                decode (the actor refuses to start from it).
        """
        path = Path(self.req.state_dir) / f"{self.name}.sqlite"
        try:
            self.store = await StateStore.open(
                path, synchronous=self.req.runtime.sqlite_synchronous
            )
            kv, self.seen = await self.store.load()
        except sqlite3.DatabaseError as exc:
            if (problem := unwritable_problem(exc)) is not None:  # a full disk, not a bad file
                raise StoreUnwritable(path, problem) from exc
            raise StateUnreadable(path, f"not readable as a database ({exc})",
                                  _UNREADABLE_REMEDY) from exc
        _PHASES["load"] = time.monotonic() - started
        snapshot = {k: v for k, v in kv.items() if not k.startswith("_")}
        try:
            if POSITION_KEY in kv:
                self.bus_pos = msgspec.msgpack.decode(kv[POSITION_KEY], type=BusPosition)
                self._pos_saved = self.bus_pos
            self.outbox = {
                k.removeprefix(_OUTBOX): msgspec.msgpack.decode(v, type=_Outgoing)
                for k, v in kv.items()
                if k.startswith(_OUTBOX)
            }
            ref = self.cls.start(self.name, config, snapshot, Path(self.req.state_dir),
                                 self.run_dir)
        except msgspec.DecodeError as exc:  # ValidationError included
            raise StateUnreadable(path, f"a row does not decode ({exc})",
                                  _UNREADABLE_REMEDY) from exc
        except sqlite3.DatabaseError as exc:  # a store of the actor's own (the paper venue)
            if (problem := unwritable_problem(exc)) is not None:
                raise StoreUnwritable(self.req.state_dir, problem) from exc
            raise StateUnreadable(self.req.state_dir, f"a store {self.name} opens is not "
                                  f"readable as a database ({exc})", _UNREADABLE_REMEDY) from exc
        return ref

    def _open_sockets(self, loop: asyncio.AbstractEventLoop) -> Any:
        """Decode the config, open the sockets (subscribed to the actor's topics), register
        them for reading; returns the config."""
        config: Any = self.req.config
        if self.cls.config_type is not None:
            config = msgspec.convert(self.req.config, self.cls.config_type)
        self.topics = self.cls.bus_topics(config)
        self._sockets()
        self.ready = Readiness(loop, self._readable())
        return config

    def _readable(self) -> list[Sock]:
        return [s for s in (self.control, self.router, *self.dealers.values(), self.sub)
                if s is not None]

    def _close_sockets(self) -> None:
        if hasattr(self, "ready"):
            self.ready.close()
        self.ctx.destroy(linger=1000)

    def _on_sigterm(self) -> None:
        if self.drain_requested is None:
            self.drain_requested = Drain(source="signal", reason="SIGTERM")

    async def _serve(self) -> None:
        # Handled in this order when several are ready: the bus (prices, fills) comes last, so
        # an intent does not queue behind a backlog of market data (see ``_drain_ready``).
        sockets: dict[Sock, str] = {self.control: "control"}
        if self.router is not None:
            sockets[self.router] = "commands"
        for target, dealer in self.dealers.items():
            sockets[dealer] = f"replies:{target}"
        sockets[self.sub] = "bus"
        order = list(sockets)
        tick_every: float | None = (await self.bridge.call(CallKind.INTERVAL)).result
        # Everything built during the start (modules imported after the fork, the restored
        # state) lives as long as the process: keep it out of the collector, so that a full
        # collection (~10 ms on these machines) never lands on the path of a message.
        gc.freeze()
        now = time.monotonic()
        next_tick = now + tick_every if tick_every else float("inf")
        next_beat = now
        next_retry = now + self.req.runtime.command_retry_s
        while True:
            if self.drain_requested is not None and await self._drain_step():
                return
            self.store.checkpoint_if_due()  # between messages, not inside a commit
            now = time.monotonic()
            deadline = min(next_tick, next_beat, next_retry)
            if self.drain_requested is not None:
                deadline = min(deadline, now + _DRAIN_RETRY_S)
            # Rounded up: a deadline 0.9 ms away is waited for, not polled for in a spin.
            timeout_ms = 0 if self._bus_backlog or self._tick_now else max(
                0, math.ceil((deadline - now) * 1000))
            ready = await self.ready.wait(order, timeout_ms)
            await self._drain_ready([(s, sockets[s]) for s in ready])
            now = time.monotonic()
            if now >= next_beat:
                await self._beat()
                next_beat = now + self.req.runtime.heartbeat_interval_s
            woken = self._tick_now
            if tick_every and (now >= next_tick or woken) and self.drain_requested is None:
                self._tick_now = False  # a wake from now on asks for another tick
                await self._apply(await self.bridge.call(CallKind.TICK, time.time()))
                if not woken or now >= next_tick:
                    next_tick = max(next_tick + tick_every, now)
            if now >= next_retry:
                await self._resend_due()
                next_retry = now + self.req.runtime.command_retry_s

    def _request_tick(self) -> None:
        """The actor's ``wake``, from any thread: the next tick runs at once (coalesced)."""
        if not self._tick_now and self._loop is not None:
            self._tick_now = True
            self._loop.call_soon_threadsafe(self.ready._wake)

    async def _drain_step(self) -> bool:
        fx = await self.bridge.call(CallKind.DRAIN)
        await self._apply(fx)
        if not fx.result or self.outbox:
            return False  # not drained while a command we sent is unacknowledged
        await self._save_position()
        await self._send_control(Drained(actor=self.name))
        assert self.drain_requested is not None
        self.log.info(
            "actor_drained", source=self.drain_requested.source, reason=self.drain_requested.reason
        )
        return True

    # --- inbound -----------------------------------------------------------------------

    async def _drain_ready(self, ready: list[tuple[Sock, str]]) -> None:
        """Handle everything queued on the ready sockets (bounded, so timers still run).

        Everything waiting is read first, and a trading-state change is applied and
        acknowledged as soon as it is read, so that one queued behind a backlog takes effect at
        once (a kill switch must not wait for the work it stops). The rest is handled socket by
        socket in ``ready``'s order (commands before the bus), each socket in arrival order, in
        chunks that end with a group commit; between two chunks of the bus, commands that
        arrived meanwhile go first (an intent must not wait behind a thousand price ticks and
        the fills they trigger). Between any two messages the bus is looked at again
        (``_look_for_trading_state``): a change published while a batch is being handled waits
        for one message, not for the rest of the batch.
        """
        # The sockets that can carry a trading-state change are read first; ``_read`` applies
        # and acknowledges one as soon as it is decoded, ahead of everything read with it.
        batches: dict[str, list[tuple[list[bytes], Envelope[Message]]]] = {}
        for sock, label in sorted(ready, key=lambda r: r[1] not in ("control", "bus")):
            if label == "bus":
                self._bus_backlog.extend(await self._read(sock, label))
            else:
                batches[label] = await self._read(sock, label)
        for _sock, label in ready:
            if label == "bus":
                continue  # last, below: it is last in ``ready`` too
            batch = batches[label]
            for start in range(0, len(batch), _CHUNK):
                for frames, env in batch[start:start + _CHUNK]:
                    await self._dispatch(label, frames, env)
                    await self._look_for_trading_state()
                await self._batch_end(label)
        if not self._in_bus:
            await self._dispatch_bus()

    async def _dispatch_bus(self) -> None:
        """Handle the bus events read so far, in order, including those read meanwhile."""
        self._in_bus = True
        try:
            handled = 0
            while self._bus_backlog and handled < _BUS_PER_TURN:
                if handled and self.router is not None:
                    await self._drain_ready([(self.router, "commands")])
                n = min(_CHUNK, len(self._bus_backlog))
                handled += n
                for _ in range(n):
                    frames, env = self._bus_backlog.popleft()
                    await self._dispatch("bus", frames, env)
                    await self._look_for_trading_state()
                await self._batch_end("bus")
        finally:
            self._in_bus = False

    async def _look_for_trading_state(self) -> None:
        """Between two messages: read what the bus has brought meanwhile (a few microseconds
        when nothing has), so that a trading-state change in it is applied and acknowledged
        now; the events read are handled after those read before them."""
        if (len(self._bus_backlog) < _BACKLOG_MAX
                and cast(int, self.sub.get(zmq.EVENTS)) & zmq.POLLIN):
            self._bus_backlog.extend(await self._read(self.sub, "bus"))

    async def _read(
        self, sock: Sock, label: str
    ) -> list[tuple[list[bytes], Envelope[Message]]]:
        batch: list[tuple[list[bytes], Envelope[Message]]] = []
        for _ in range(1000):
            try:
                frames = sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                break
            try:
                env = self.codec.decode(frames[-1])
            except BadMessage as exc:
                await self._bad(label, str(exc))
                continue
            if isinstance(env.payload, TradingStateChanged):
                await self._on_trading_state(env)  # not after the rest of a backlog
            batch.append((frames, env))
        return batch

    async def _batch_end(self, label: str) -> None:
        # Most actors have no group-commit hook: skip the round trip to their thread.
        if self.cls.on_batch_end is not BaseActor.on_batch_end:
            await self._apply(await self.bridge.call(CallKind.BATCH_END))
        if label == "bus" and time.monotonic() - self._pos_saved_at >= _POSITION_EVERY_S:
            await self._save_position()

    async def _dispatch(self, label: str, frames: list[bytes], env: Envelope[Message]) -> None:
        if label == "bus":
            if self.cls.replays_bus and len(frames) == 3 and len(frames[1]) == 8:
                # Set before handling: the event's own commit records it as handled.
                self.bus_pos = BusPosition(self.bus_pos.epoch, int.from_bytes(frames[1], "big"))
            await self._on_bus(env)
        elif label == "control":
            await self._on_control(env)
        elif label == "commands":
            await self._on_command(frames[0], env)
        else:
            await self._on_reply(env)

    async def _bad(self, label: str, reason: str) -> None:
        count = self.bad[label] = self.bad.get(label, 0) + 1
        self.log.warning("bad_message", socket=label, reason=reason, count=count)
        now = time.monotonic()
        if now - self._bad_published.get(label, -1e9) >= _BAD_EVENT_EVERY_S:
            self._bad_published[label] = now
            await self._publish(
                BadMessageSeen(actor=self.name, socket=label, reason=reason[:200], count=count)
            )

    async def _on_bus(self, env: Envelope[Message]) -> None:
        msg = env.payload
        if isinstance(msg, SyncPing):
            return
        if isinstance(msg, TradingStateChanged):
            # Applied and acknowledged ahead of the batch; an actor that records every event
            # (the journal) still gets it here, in bus order.
            if "*" in self.cls.subscriptions:
                await self._apply(await self.bridge.call(CallKind.EVENT, env))
            return
        if isinstance(msg, ChildStarted) and msg.actor in self.dealers:
            await self._resend_all(msg.actor)
            if "ChildStarted" not in self.cls.subscriptions:
                return
        await self._apply(await self.bridge.call(CallKind.EVENT, env))

    async def _on_control(self, env: Envelope[Message]) -> None:
        msg = env.payload
        if isinstance(msg, Drain) and self.drain_requested is None:
            self.drain_requested = msg
        elif isinstance(msg, Ack) and not msg.ok:
            self.log.warning("supervisor_refused", reason=msg.reason, request=env.correlation_id)

    async def _on_trading_state(self, env: Envelope[Message]) -> None:
        """Layer 4: the actor's gate follows the state, then the ack says so (docs/adr/0005).

        No hook is running while the loop is here (it awaits every call into the actor thread),
        so every decision after the ack sees the new state. The actor's own handler (persisting,
        cancelling what rests at the venue, recording) runs after the ack, not before it.
        """
        msg = env.payload
        assert isinstance(msg, TradingStateChanged)
        if msg.seq in self._acked and msg.seq != 0:
            return  # the same change by the bus and by the control channel
        self._acked.add(msg.seq)
        followed = self.gate.apply(msg)
        ack = TradingStateAck(actor=self.name, seq=msg.seq, state=self.gate.state.value)
        await self._send_control(ack)
        # Every actor woke for this change at once, on a few cores: let the others send their
        # acks before this one goes on to its handler (a cancel, an fsync, a Telegram call).
        os.sched_yield()
        if followed and "TradingStateChanged" in self.cls.subscriptions:
            await self._apply(await self.bridge.call(CallKind.EVENT, env))

    async def _on_command(self, identity: bytes, env: Envelope[Message]) -> None:
        assert self.router is not None
        if not isinstance(env.payload, Command):
            await self._bad("commands", f"{type(env.payload).__name__} is not a command")
            return
        stored = self.seen.get(env.msg_id)
        if stored is not None:
            # A retry of a command already applied: answer again, change nothing.
            self.router.send_multipart([identity, stored], flags=zmq.NOBLOCK)
            return
        fx = await self.bridge.call(CallKind.COMMAND, env)
        reply = self.codec.encode(
            self.name, fx.reply if fx.reply is not None else Ack(), correlation_id=env.msg_id
        )
        self.seen[env.msg_id] = reply
        while len(self.seen) > SEEN_KEEP:  # as the store prunes: memory stays bounded
            del self.seen[next(iter(self.seen))]
        deferred, fx.deferred = fx.deferred, []
        await self._apply(fx, seen={env.msg_id: reply})
        # A ROUTER never blocks: an answer to a sender that is gone is dropped (it resends).
        self.router.send_multipart([identity, reply], flags=zmq.NOBLOCK)
        await self._run_deferred(deferred)

    async def _on_reply(self, env: Envelope[Message]) -> None:
        pending = self.outbox.pop(env.correlation_id, None)
        self._sent_mono.pop(env.correlation_id, None)
        if pending is None:
            return  # a duplicate answer to a retried command: already handled
        # An actor with no reply hook: no round trip to its thread, only the outbox's commit.
        fx = Effects()
        if self.cls.on_reply is not BaseActor.on_reply:
            command = self.codec.decode(pending.data).payload
            fx = await self.bridge.call(CallKind.REPLY, (env, command))
        fx.writes[_OUTBOX + env.correlation_id] = None
        await self._apply(fx)

    # --- bus replay (see _runtime.replay) ----------------------------------------------

    async def _request_replay(self, ping_seq: int) -> None:
        req = ReplayRequest(
            actor=self.name, epoch=self.bus_pos.epoch, after=self.bus_pos.seq, until=ping_seq,
            topics=self.topics,
        )
        await self._send_control(req)

    async def _replay(self, ping_seq: int) -> None:
        """Handle the missed events (asked for before Ready) ahead of anything live."""
        timeout_s = self.req.runtime.sync_timeout_s
        deadline = time.monotonic() + timeout_s
        answer: BusReplay | None = None
        while answer is None:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0 or not await self.ready.wait([self.control], left_ms):
                raise TimeoutError(f"no bus replay within {timeout_s} s")
            try:
                env = self.codec.decode(self.control.recv(flags=zmq.NOBLOCK))
            except BadMessage as exc:
                await self._bad("control", str(exc))
                continue
            if isinstance(env.payload, BusReplay):
                answer = env.payload
            else:
                await self._on_control(env)
        if answer.evicted:
            self.log.error("bus_events_lost", after=self.bus_pos.seq, evicted=answer.evicted)
            await self._publish(
                BusEventsLost(actor=self.name, after=self.bus_pos.seq, evicted=answer.evicted)
            )
        for item in answer.events:
            try:
                env = self.codec.decode(item.data)
            except BadMessage as exc:  # the hub checked it once; never expected
                await self._bad("replay", str(exc))
                continue
            self.bus_pos = BusPosition(answer.epoch, item.seq)
            await self._on_replayed(env)
        self.bus_pos = BusPosition(answer.epoch, ping_seq)
        await self._apply(await self.bridge.call(CallKind.BATCH_END))
        await self._save_position()
        self.log.info("bus_replay_done", events=len(answer.events), up_to=ping_seq)

    async def _on_replayed(self, env: Envelope[Message]) -> None:
        # A replayed TradingStateChanged is history: it reaches the handler (a recorder, an
        # alerter) but never the gate, which has the current state from the supervisor.
        await self._apply(await self.bridge.call(CallKind.EVENT, env))

    async def _save_position(self) -> None:
        if self.cls.replays_bus and self.bus_pos != self._pos_saved:
            await self.store.commit({POSITION_KEY: msgspec.msgpack.encode(self.bus_pos)})
            self._pos_saved = self.bus_pos
        self._pos_saved_at = time.monotonic()

    # --- outbound ----------------------------------------------------------------------

    async def _run_deferred(self, tokens: list[Any]) -> None:
        while tokens:
            await self._apply(await self.bridge.call(CallKind.DEFERRED, tokens.pop(0)))

    async def _apply(self, fx: Effects, seen: dict[str, bytes] | None = None) -> None:
        """Persist, then send and publish: nothing leaves before the state that caused it."""
        sends: list[tuple[str, str, bytes]] = []
        now = time.time()
        for target, command in fx.commands:
            msg_id = new_id()
            data = self.codec.encode(self.name, command, msg_id=msg_id)
            out = _Outgoing(target=target, data=data, sent_at=now)
            self.outbox[msg_id] = out
            self._sent_mono[msg_id] = time.monotonic()
            fx.writes[_OUTBOX + msg_id] = msgspec.msgpack.encode(out)
            sends.append((target, msg_id, data))
        if fx.writes and self.bus_pos != self._pos_saved:
            fx.writes[POSITION_KEY] = msgspec.msgpack.encode(self.bus_pos)
            self._pos_saved, self._pos_saved_at = self.bus_pos, time.monotonic()
        await self.store.commit(fx.writes, seen)
        # Commands first: an intent is on its way before the events of the same step (the
        # orchestrator's price ticks) wake the hub and every subscriber on these few cores.
        for target, _msg_id, data in sends:
            self._send_command(target, data)
        for event in fx.events:
            await self._publish(event)
        for message in fx.control:
            await self._send_control(message)
        if fx.deferred:
            await self._run_deferred(list(fx.deferred))

    async def _publish(self, event: Event) -> None:
        try:
            self.push.send(self.codec.encode(self.name, event), flags=zmq.NOBLOCK)
        except zmq.Again:
            self.log.error("bus_full_event_dropped", event_type=type(event).__name__)

    async def _beat(self) -> None:
        iterations, gauges = (await self.bridge.call(CallKind.BEAT)).result
        self.beat_seq += 1
        now = time.monotonic()
        await self._publish(
            Heartbeat(
                actor=self.name,
                pid=os.getpid(),
                seq=self.beat_seq,
                iterations=int(iterations),
                state_age_s=round(now - self.store.last_commit, 6),
                wal_unsynced_s=round(self.store.wal_unsynced_s(now), 6),
                gauges=gauges,
            )
        )

    async def _resend_all(self, target: str | None = None) -> None:
        now = time.monotonic()
        for msg_id, out in list(self.outbox.items()):
            if target is None or out.target == target:
                self._sent_mono[msg_id] = now
                self._send_command(out.target, out.data)

    async def _resend_due(self) -> None:
        now = time.monotonic()
        cutoff = now - self.req.runtime.command_retry_s
        for msg_id, out in list(self.outbox.items()):
            if self._sent_mono.get(msg_id, 0.0) <= cutoff:
                self._sent_mono[msg_id] = now
                self._send_command(out.target, out.data)

    def _send_command(self, target: str, data: bytes) -> None:
        """Send a command (already in the outbox): if the target's queue is full (it stopped
        reading), the outbox's retry sends it again later; the loop never waits for it."""
        try:
            self.dealers[target].send(data, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.log.warning("command_send_deferred", target=target,
                             reason="the target's queue is full; retried from the outbox")

    async def _send_control(self, message: Message) -> None:
        """Send to the supervisor; if its queue is full, wait for room (without blocking the
        loop), at most ``_CONTROL_BLOCKED_S``."""
        data = self.codec.encode(self.name, message)
        deadline = time.monotonic() + _CONTROL_BLOCKED_S
        while True:
            try:
                self.control.send(data, flags=zmq.NOBLOCK)
            except zmq.Again:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"the supervisor has read nothing for {_CONTROL_BLOCKED_S} s"
                    ) from None
                await asyncio.sleep(0.001)
            else:
                return
