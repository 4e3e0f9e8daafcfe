"""The heartbeat actor: judges every actor's beats, publishes whether the tree is live, and acts
on a hung or stalled orchestrator (kill and/or halt, per ``on_orchestrator_hang``).

The rules are pure (``policy.py``); this module feeds them beats, bus events and the clock, and
carries out what they decide. It never acts once the tree is stopping (``TreeStopping``) or
while it drains itself: the supervisor then owns every process's end. Nor while it is *deaf*:
when no other process's beat (its own included, looped back through the hub) has come for half
the hang timeout, the bus or this process was frozen, and the orchestrator's silence says
nothing about the orchestrator; it gets a fresh grace once beats are heard again.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import msgspec

from actors._runtime import log
from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.messages import (
    ChildStarted,
    ChildTerminated,
    Heartbeat,
    Message,
    TreeLiveness,
    TreeStopping,
)
from actors.heartbeat import policy, procs
from actors.heartbeat.config import HangAction, HeartbeatConfig
from actors.heartbeat.messages import HangDetected, HeartbeatAction, HeartbeatMissed
from actors.heartbeat.state import BeatRecord, Beats
from actors.venue.messages import FeedStale

_SIGNALS = {policy.Signal.TERM: signal.SIGTERM, policy.Signal.KILL: signal.SIGKILL}
_DEAD_PIDS_KEPT = 64
_BEAT_LAG_TOLERANCE_S = 0.25  # a beat older than this on arrival counts from its arrival
_PERSIST_EVERY_S = 5.0  # the records are for status only: no fsync per verdict


@dataclass
class _PendingKill:
    """SIGTERM sent; SIGKILL follows after the grace unless the process is gone."""

    identity: procs.Identity
    term_sent_at: float
    reason: str


class HeartbeatActor(BaseActor):
    """Judges liveness from beats; a silent actor makes the tree not live."""

    config_type: ClassVar[type[msgspec.Struct] | None] = HeartbeatConfig
    subscriptions: ClassVar[tuple[str, ...]] = (
        "Heartbeat", "ChildStarted", "ChildTerminated", "TreeStopping", "FeedStale",
    )

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the beat records; arrival times start afresh (monotonic clocks do not persist)."""
        raw = snapshot.get("beats")
        self.beats = msgspec.msgpack.decode(raw, type=Beats) if raw else Beats()
        self.iterations = self.beats.verdicts
        self.started = time.monotonic()
        self.tracks: dict[str, policy.Track] = {}
        self.identities: dict[int, procs.Identity] = {}
        self.dead_pids: dict[int, None] = {}  # ordered set: late beats of dead processes
        self.missing: set[str] = set()
        self.last_live: bool | None = None
        self.next_verdict = self.started
        self.next_persist = self.started
        self.stopping = False
        self.handled: set[int] = set()  # pids whose current incident was acted on
        self.pending: _PendingKill | None = None
        self.bus_heard_at = self.started  # last beat of any process but the orchestrator
        self.deaf = False
        self.log = log.get("heartbeat")

    def summary(self) -> Summary:
        """Verdicts published, actors known, actions taken."""
        return {
            "iterations": self.beats.verdicts,
            "actors_seen": len(self.beats.actors),
            "actions": self.beats.actions,
        }

    def tick_interval(self) -> float | None:
        """Check pace (a deadline due between two checks is waited for, see ``_nap``)."""
        interval: float = self.config.check_interval_s
        return interval

    # --- inputs ------------------------------------------------------------------------

    def on_event(self, env: Envelope[Message]) -> None:
        """Record a beat; follow starts, deaths and the tree's stop."""
        msg = env.payload
        now = time.monotonic()
        if isinstance(msg, Heartbeat):
            if msg.actor != self.config.orchestrator:
                self._heard(now)
            sent = env.sent_mono_ns / 1e9
            self._on_beat(msg, policy.beat_time(now, sent, tolerance=_BEAT_LAG_TOLERANCE_S))
        elif isinstance(msg, ChildStarted):
            self.dead_pids.pop(msg.pid, None)
            self.tracks[msg.actor] = policy.started(self.tracks.get(msg.actor), msg.pid, now)
            if msg.actor == self.config.orchestrator:
                self.handled.discard(msg.pid)
                self._remember(msg.pid)
        elif isinstance(msg, ChildTerminated):
            self.dead_pids[msg.pid] = None
            while len(self.dead_pids) > _DEAD_PIDS_KEPT:
                del self.dead_pids[next(iter(self.dead_pids))]
            self.identities.pop(msg.pid, None)
            self.handled.discard(msg.pid)
            if self.pending is not None and self.pending.identity.pid == msg.pid:
                self.pending = None
        elif isinstance(msg, TreeStopping):
            self._stop_acting(f"tree stopping ({msg.source}: {msg.reason})")
        elif isinstance(msg, FeedStale):
            self._on_feed_stale(msg)

    def _on_feed_stale(self, msg: FeedStale) -> None:
        """The stale-state rule for market data: the configured state, with why."""
        action = self.config.on_feed_stale
        reason = (f"feed stale: {msg.symbol} had no update for {msg.age_s:.1f} s "
                  f"(threshold {msg.threshold_s:g} s)")
        self.log.warning("feed_stale", symbol=msg.symbol, age_s=msg.age_s, action=action)
        if action == "alert" or self.stopping:
            return
        state = "REDUCING" if action == "reduce" else "HALTED"
        self.beats.actions += 1
        self.put("beats", self.beats)
        self.request_trading_state(state, source="heartbeat", reason=reason)

    def _on_beat(self, msg: Heartbeat, now: float) -> None:
        if msg.pid in self.dead_pids:
            return  # a late beat of a process already reaped
        rec = self.beats.actors.setdefault(msg.actor, BeatRecord())
        rec.pid, rec.seq, rec.iterations = msg.pid, msg.seq, msg.iterations
        rec.beats += 1
        self.tracks[msg.actor] = policy.beat(self.tracks.get(msg.actor), msg.pid,
                                             msg.iterations, now)
        if msg.actor == self.config.orchestrator:
            self._remember(msg.pid)

    def _heard(self, now: float) -> None:
        """Another process's beat came through: the bus works and so does this loop."""
        self.bus_heard_at = now
        if self.deaf:
            self.deaf = False
            name = self.config.orchestrator
            track = self.tracks.get(name)
            if track is not None:
                self.tracks[name] = policy.regrace(track, now)
            self.log.info("heartbeat_hearing_again", orchestrator_regraced=track is not None)

    def _deafness(self, cfg: HeartbeatConfig, mono: float) -> bool:
        """True while no other process has been heard for the deaf limit: then the silence of
        the orchestrator says nothing about it (the hub or this process was stopped)."""
        quiet = mono - self.bus_heard_at
        if not self.deaf and quiet > policy.deaf_limit(cfg.hang_timeout_s):
            self.deaf = True
            self.log.warning("heartbeat_deaf", quiet_s=round(quiet, 3),
                             reason="no beat from any other process; not judging hangs")
        return self.deaf

    def _remember(self, pid: int) -> None:
        """Take the process's identity the first time its pid is heard of."""
        if pid not in self.identities:
            identity = procs.identify(pid)
            if identity is not None:
                self.identities[pid] = identity

    def _stop_acting(self, why: str) -> None:
        if not self.stopping:
            self.stopping = True
            self.pending = None
            self.log.info("heartbeat_actions_off", reason=why)

    def on_drain(self) -> bool:
        """Act no more: the supervisor owns every process's end from here."""
        self._stop_acting("heartbeat draining")
        return True

    # --- checks ------------------------------------------------------------------------

    def on_tick(self, now: float) -> None:
        """One check: the orchestrator's loop, the kill in progress, missed beats, the verdict."""
        cfg: HeartbeatConfig = self.config
        mono = time.monotonic()
        if not self.stopping:
            if not self._deafness(cfg, mono):
                mono = self._nap(cfg, mono)
                if not self._deafness(cfg, mono):
                    self._check_orchestrator(cfg, mono)
            self._escalate(cfg, mono)
        stale = policy.missed(
            self.tracks, cfg.watch, mono, since=self.started,
            allowance=cfg.missed_beats * cfg.heartbeat_interval_s,
        )
        if not self.stopping:
            for name, silent in stale.items():
                if name not in self.missing:
                    self.publish(HeartbeatMissed(actor=name, silent_s=round(silent, 3)))
        self.missing = set(stale)
        live = not stale
        if live != self.last_live or mono >= self.next_verdict:
            self.next_verdict = mono + cfg.verdict_interval_s
            self.beats.verdicts += 1
            self.iterations = self.beats.verdicts
            self.publish(TreeLiveness(live=live, stale=sorted(stale)))
            if live != self.last_live or mono >= self.next_persist:
                self.next_persist = mono + _PERSIST_EVERY_S
                self.put("beats", self.beats)
            self.last_live = live

    def _nap(self, cfg: HeartbeatConfig, mono: float) -> float:
        """Wait on this thread for a deadline due before the next check (at most one check
        interval, and only when a hang or a SIGKILL is imminent), so that it is met within
        about a millisecond instead of up to one check late; returns the time after it."""
        track = self.tracks.get(cfg.orchestrator)
        hang: float | None = None
        if track is not None and track.pid not in self.dead_pids and track.pid not in self.handled:
            hang = policy.hang_due_in(track, mono, hang_timeout=cfg.hang_timeout_s)
        kill = None
        if self.pending is not None:
            kill = self.pending.term_sent_at + cfg.kill_grace_s - mono
        wait = policy.nap((hang, kill), within=cfg.check_interval_s)
        if wait <= 0:
            return mono
        time.sleep(wait)
        return time.monotonic()

    def _check_orchestrator(self, cfg: HeartbeatConfig, mono: float) -> None:
        name = cfg.orchestrator
        track = self.tracks.get(name)
        incident = policy.judge(track, mono, hang_timeout=cfg.hang_timeout_s,
                                stall_timeout=cfg.stall_timeout_s)
        if track is None or track.pid in self.dead_pids:
            # Gone: nothing to kill; its restart (ChildStarted) re-arms the watch. The track
            # stays, so that missed beats go on counting from its last beat meanwhile.
            return
        if incident is None:
            if self.pending is None:
                self.handled.discard(track.pid)  # recovered: a later incident counts anew
            return
        handled = track.pid in self.handled
        actions = policy.respond(cfg.on_orchestrator_hang, stopping=self.stopping,
                                 handled=handled)
        if handled:
            return
        timeout = cfg.hang_timeout_s if incident.kind is policy.Kind.HANG else cfg.stall_timeout_s
        self.handled.add(track.pid)
        reason = incident.describe(name, timeout)
        self.log.warning("hang_detected", target=name, target_pid=track.pid,
                         kind=incident.kind.value, for_s=round(incident.for_s, 4),
                         timeout_s=timeout)
        self.publish(HangDetected(actor=name, pid=track.pid, kind=incident.kind.value,
                                  for_s=round(incident.for_s, 4), iterations=incident.iterations))
        for action in actions:
            if action is HangAction.HALT:
                self._act("halt", name, track.pid, reason)
                self.request_trading_state("HALTED", source="heartbeat", reason=reason)
            else:
                self._kill(cfg, name, track.pid, reason, mono)

    def _kill(self, cfg: HeartbeatConfig, name: str, pid: int, reason: str, mono: float) -> None:
        identity = self.identities.get(pid)
        if identity is None:
            self._act("skipped", name, pid, f"{reason}; kill not done: identity unknown")
            return
        sig = policy.first_signal(stopped=procs.is_stopped(identity), grace=cfg.kill_grace_s)
        outcome = procs.send(identity, _SIGNALS[sig])
        if outcome is not procs.Outcome.SENT:
            self._act("skipped", name, pid, f"{reason}; kill not done: {outcome.value}")
            return
        if sig is policy.Signal.TERM:
            self.pending = _PendingKill(identity, mono, reason)
            self._act(sig.value, name, pid, f"{reason}; SIGKILL after {cfg.kill_grace_s} s")
        else:
            self._act(sig.value, name, pid, f"{reason}; process stopped or no grace")

    def _escalate(self, cfg: HeartbeatConfig, mono: float) -> None:
        pending = self.pending
        if pending is None:
            return
        if policy.escalate(pending.term_sent_at, mono, grace=cfg.kill_grace_s) is None:
            return
        self.pending = None
        identity = pending.identity
        outcome = procs.send(identity, signal.SIGKILL)
        if outcome is procs.Outcome.SENT:
            self._act("sigkill", cfg.orchestrator, identity.pid,
                      f"{pending.reason}; still alive {cfg.kill_grace_s} s after SIGTERM")

    def _act(self, action: str, target: str, pid: int, reason: str) -> None:
        """Every action (or a kill not done) is published: the journal and alerter record it."""
        self.beats.actions += 1
        self.put("beats", self.beats)
        self.log.warning("heartbeat_action", action=action, target=target, target_pid=pid,
                         reason=reason)
        self.publish(HeartbeatAction(action=action, target=target, pid=pid, reason=reason))
