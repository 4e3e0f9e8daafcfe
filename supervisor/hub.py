"""The supervisor's sockets to its children: the event bus hub and the control channel.

Every process pushes its events to ``bus-in``; the hub checks each one, stamps it with a bus
sequence number and republishes it on ``bus-out`` under its type as topic. So there is one bus,
one order of events, and bad bytes are dropped at one gate before any subscriber sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Callable
from pathlib import Path

import zmq

from actors import wire
from actors._runtime import endpoints, log, replay
from actors._runtime.codec import BadMessage, Envelope, new_id
from actors._runtime.messages import Event, Message, SyncPing
from supervisor.zmqloop import Watch

EventHook = Callable[[Envelope[Message]], None]
ControlHook = Callable[[str, Envelope[Message]], None]
TapHook = Callable[[Envelope[Message] | None, Event], None]
"""Sees every event the hub forwards: with its envelope (an actor's), or None (the
supervisor's own, published from this process)."""

REPLAY_KEEP = 20_000
"""Recent events kept for replay to restarted subscribers (a few MB; minutes of traffic)."""
_PING_TOPIC = SyncPing.__name__.encode() + b"."


def _bind(sock: zmq.Socket[bytes], endpoint: str) -> None:
    # A stale socket file from a killed predecessor would make bind fail; we own the run dir.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(endpoint.removeprefix("ipc://"))
    sock.bind(endpoint)


class Hub:
    """Bus fan-in/fan-out and the ROUTER that children's control DEALERs connect to."""

    def __init__(
        self,
        ctx: zmq.Context[zmq.Socket[bytes]],
        run_dir: Path,
        on_event: EventHook,
        on_control: ControlHook,
        *,
        replay_keep: int = REPLAY_KEEP,
        tap: TapHook | None = None,
    ) -> None:
        """Bind the three sockets under ``run_dir``; ``tap`` (the metrics) sees every event."""
        self.codec = wire.codec()
        self.log = log.get()
        self.on_event = on_event
        self.on_control = on_control
        self.tap = tap
        self.seq = 0
        self.epoch = new_id()[:16]
        self.ring: deque[tuple[int, bytes, bytes]] = deque(maxlen=replay_keep)
        self.evicted_upto = 0
        self.bad: dict[str, int] = {}
        self.dropped = 0
        """Events not forwarded because subscribers' queues were full."""
        self.bus_in = ctx.socket(zmq.PULL)
        self.bus_in.setsockopt(zmq.RCVHWM, 100_000)
        _bind(self.bus_in, endpoints.bus_in(run_dir))
        self.bus_out = ctx.socket(zmq.PUB)
        self.bus_out.setsockopt(zmq.SNDHWM, 100_000)
        _bind(self.bus_out, endpoints.bus_out(run_dir))
        self.control = ctx.socket(zmq.ROUTER)
        self.control.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a restarted child takes over its name
        _bind(self.control, endpoints.control(run_dir))
        for sock in (self.bus_in, self.bus_out, self.control):
            sock.setsockopt(zmq.LINGER, 0)
        self._watches: list[Watch] = []

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving from ``loop``."""
        self._watches = [Watch(loop, self.bus_in, self.pump_bus)]
        self._control_watch = Watch(loop, self.control, self.pump_control)
        self._watches.append(self._control_watch)

    def publish(self, event: Event, *, sender: str = "supervisor") -> None:
        """Publish one of the supervisor's own events."""
        self._forward(self.codec.encode(sender, event), event)
        if self.tap is not None:
            self.tap(None, event)

    def _forward(self, data: bytes, msg: Message) -> None:
        self.seq += 1
        topic = wire.topic(msg)
        if topic != _PING_TOPIC:
            if len(self.ring) == self.ring.maxlen:
                self.evicted_upto = self.ring[0][0]
            self.ring.append((self.seq, topic, data))
        try:
            self.bus_out.send_multipart(
                [topic, self.seq.to_bytes(8, "big"), data], flags=zmq.NOBLOCK
            )
        except zmq.Again:
            self.dropped += 1
            self.log.error("bus_full_event_dropped", event_type=type(msg).__name__, seq=self.seq)

    def _replay(self, identity: bytes, msg_id: str, req: replay.ReplayRequest) -> None:
        """Answer a restarted subscriber with the events it missed (see ``replay``)."""
        after = req.after if req.epoch == self.epoch else 0
        events, evicted = replay.select(
            self.ring, after, req.until, req.topics, self.evicted_upto
        )
        answer = replay.BusReplay(epoch=self.epoch, events=events, evicted=evicted)
        self.log.info(
            "bus_replayed", child=req.actor, after=after, until=req.until,
            events=len(events), evicted=evicted, same_epoch=req.epoch == self.epoch,
        )
        self.send_control(identity.decode(errors="replace"), answer, correlation_id=msg_id)

    def send_control(self, child: str, message: Message, *, correlation_id: str = "") -> None:
        """Send a control message (``Drain``) to one child; dropped if it is not connected."""
        data = self.codec.encode("supervisor", message, correlation_id=correlation_id)
        with contextlib.suppress(zmq.ZMQError):
            self.control.send_multipart([child.encode(), data], flags=zmq.NOBLOCK)
        if self._watches:
            self._control_watch.poke()

    def _count_bad(self, socket: str, reason: str) -> None:
        count = self.bad[socket] = self.bad.get(socket, 0) + 1
        self.log.warning("bad_message", socket=socket, reason=reason, count=count)

    def pump_bus(self) -> None:
        """Forward everything waiting on ``bus-in`` (bounded per call)."""
        for _ in range(2000):
            try:
                frames = self.bus_in.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            data = frames[-1]
            try:
                env = self.codec.decode(data)
            except BadMessage as exc:
                self._count_bad("bus-in", str(exc))
                continue
            if not isinstance(env.payload, Event):
                self._count_bad("bus-in", f"{type(env.payload).__name__} is not an event")
                continue
            self._forward(data, env.payload)
            if self.tap is not None:
                self.tap(env, env.payload)
            self.on_event(env)

    def pump_control(self) -> None:
        """Dispatch everything waiting on the control socket."""
        for _ in range(1000):
            try:
                frames = self.control.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 2:
                self._count_bad("control", f"expected 2 frames, got {len(frames)}")
                continue
            try:
                env = self.codec.decode(frames[1])
            except BadMessage as exc:
                self._count_bad("control", str(exc))
                continue
            if isinstance(env.payload, replay.ReplayRequest):
                self._replay(frames[0], env.msg_id, env.payload)
                continue
            self.on_control(frames[0].decode(errors="replace"), env)

    def close(self) -> None:
        """Close the sockets."""
        for watch in self._watches:
            watch.close()
        for sock in (self.bus_in, self.bus_out, self.control):
            sock.close(linger=0)
