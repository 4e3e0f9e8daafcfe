"""Pure liveness rules: missed beats, a hung or stalled loop, and the kill escalation.

Functions over beat records and a monotonic time the caller passes in; no sockets, no processes.
A *track* follows one process of one child: it is armed when the child starts (or when the
heartbeat actor starts, or a beat from a new pid arrives) and records the last beat and the last
time the iteration counter moved.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from actors.heartbeat.config import HangAction


@dataclass(frozen=True)
class Track:
    """What is known of one child's current process (times on the monotonic clock)."""

    pid: int
    """Process id; 0 while unknown (armed at start, no beat yet)."""
    armed_at: float
    """When watching this process began: silence is counted from here until a beat arrives."""
    beat_at: float | None = None
    """When its last beat arrived."""
    iterations: int | None = None
    """Its progress counter at its last beat."""
    progress_at: float | None = None
    """When its progress counter last changed (or its first beat)."""


def arm(pid: int, now: float) -> Track:
    """A fresh track for a process that just started (fresh grace: nothing heard yet)."""
    return Track(pid=pid, armed_at=now)


def started(track: Track | None, pid: int, now: float) -> Track:
    """The supervisor says ``pid`` started: keep what its early beats said, else arm afresh."""
    if track is not None and track.pid == pid:
        return track
    return arm(pid, now)


def beat(track: Track | None, pid: int, iterations: int, now: float) -> Track:
    """Record a beat; a beat from another pid means another process: its track starts here."""
    if track is None or track.pid != pid:
        base = Track(pid=pid, armed_at=now)
        return replace(base, beat_at=now, iterations=iterations, progress_at=now)
    moved = track.iterations is None or iterations != track.iterations
    return replace(
        track,
        beat_at=now,
        iterations=iterations,
        progress_at=now if moved or track.progress_at is None else track.progress_at,
    )


def beat_time(received: float, sent: float, *, tolerance: float) -> float:
    """When a beat proves life: its send time (the sender's monotonic clock, system-wide on
    Linux), so that the receiver's own delays (a busy loop, an fsync) do not stretch the
    timeout; its receipt time when the two differ by more than ``tolerance`` or the send time
    is in the future (a congested bus is not the sender's hang; a missing stamp is 0)."""
    lag = received - sent
    return sent if 0.0 <= lag <= tolerance else received


def deaf_limit(hang_timeout: float) -> float:
    """Silence of every other process after which this actor is deaf (the bus is down, or its
    own loop stalled), not the orchestrator hung: half the hang timeout. Healthy, another beat
    (at least its own, looped back through the hub) comes every beat interval; with a hang
    timeout of at least 2.5 intervals, a bus that went quiet is noticed at least half an interval
    before the orchestrator's timeout could expire because of it."""
    return hang_timeout / 2


def regrace(track: Track, now: float) -> Track:
    """The bus is heard again after a deaf spell: the track's silence counts afresh from now
    (nothing could be heard meanwhile, so nothing is held against it)."""
    return replace(track, armed_at=max(track.armed_at, now))


def silent_for(track: Track, now: float) -> float:
    """Seconds since the last sign of life (its last beat, or when it was armed)."""
    last = track.armed_at if track.beat_at is None else max(track.beat_at, track.armed_at)
    return now - last


def hang_due_in(track: Track | None, now: float, *, hang_timeout: float) -> float | None:
    """Seconds until ``track`` reaches its hang timeout if no beat comes (None: no track)."""
    if track is None:
        return None
    return hang_timeout - silent_for(track, now)


def nap(deadlines: Iterable[float | None], *, within: float) -> float:
    """How long to wait before checking, so that a deadline due before the next check is met
    on time rather than up to one check late: the nearest deadline in ``(0, within]``, else 0."""
    due = [d for d in deadlines if d is not None and 0.0 < d <= within]
    return min(due, default=0.0)


class Kind(enum.Enum):
    """What is wrong with a watched loop."""

    HANG = "hang"
    """No beat for ``hang_timeout_s``: the actor thread does not answer."""
    STALL = "stall"
    """Beats arrive, but the iteration counter has not moved for ``stall_timeout_s``."""


@dataclass(frozen=True)
class Incident:
    """A hung or stalled loop, as detected."""

    kind: Kind
    pid: int
    for_s: float
    """Seconds silent (hang) or without progress (stall)."""
    iterations: int
    """The last iteration count reported (-1: never beat)."""

    def describe(self, actor: str, timeout: float) -> str:
        """One line for events and logs."""
        what = "no beat" if self.kind is Kind.HANG else "beating but no progress"
        return (
            f"{actor} pid {self.pid} {self.kind.value}: {what} for {self.for_s:.3f} s "
            f"(timeout {timeout} s, last iterations {self.iterations})"
        )


def judge(track: Track | None, now: float, *, hang_timeout: float, stall_timeout: float
          ) -> Incident | None:
    """Hung, stalled, or neither; a hang wins (a silent process cannot be said to progress)."""
    if track is None:
        return None
    iterations = -1 if track.iterations is None else track.iterations
    silent = silent_for(track, now)
    if silent >= hang_timeout:
        return Incident(Kind.HANG, track.pid, silent, iterations)
    if track.progress_at is not None:
        still = now - track.progress_at
        if still >= stall_timeout:
            return Incident(Kind.STALL, track.pid, still, iterations)
    return None


def missed(
    tracks: Mapping[str, Track], watch: Iterable[str], now: float, *, since: float,
    allowance: float,
) -> dict[str, float]:
    """Watched actors silent beyond ``allowance``, with their silence in seconds.

    ``since``: when the caller started watching (an actor never heard from counts from there).
    """
    out: dict[str, float] = {}
    for name in watch:
        track = tracks.get(name)
        silent = now - since if track is None else silent_for(track, now)
        if silent > allowance:
            out[name] = silent
    return out


def respond(policy: Iterable[HangAction], *, stopping: bool, handled: bool) -> list[HangAction]:
    """What to do about an incident: nothing during a drain or twice for one episode; else the
    policy, halt first (trading stops before the process is touched)."""
    if stopping or handled:
        return []
    chosen = set(policy)
    return [a for a in (HangAction.HALT, HangAction.KILL) if a in chosen]


class Signal(enum.Enum):
    """Which signal the kill escalation sends now."""

    TERM = "sigterm"
    KILL = "sigkill"


def first_signal(*, stopped: bool, grace: float) -> Signal:
    """SIGTERM lets a running process drain; a stopped process cannot run its handler (and
    resuming code judged hung is worse), so it, or a zero grace, gets SIGKILL at once."""
    return Signal.KILL if stopped or grace <= 0 else Signal.TERM


def escalate(term_sent_at: float, now: float, *, grace: float) -> Signal | None:
    """After SIGTERM: SIGKILL once the grace is over, nothing before."""
    return Signal.KILL if now - term_sent_at >= grace else None
