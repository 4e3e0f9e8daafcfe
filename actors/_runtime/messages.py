"""Message base classes and the runtime's own messages (readiness, beats, drain, sync).

Commands are imperative (``Drain``), events past tense (``ChildStarted``). Every message is a
frozen msgspec struct that forbids unknown fields and carries its class name as the wire tag.
"""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag=True):
    """Base of every message that crosses a process boundary."""


class Event(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """A fact that happened; published on the event bus."""


class Command(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """An instruction to one actor; acknowledged by a reply carrying its id."""


# --- runtime <-> supervisor (control socket) ------------------------------------------------


class Ready(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """A child has loaded its persisted state and subscribed to the bus."""

    actor: str
    """Child name."""
    pid: int
    """Process id of the actor process."""
    restored: dict[str, int | float | str | bool]
    """Summary of the state loaded from disk (iterations, positions, counters)."""


class Drain(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """Supervisor to child: finish what is in flight, persist, then say ``Drained``."""

    source: str
    """Who asked for the drain."""
    reason: str
    """Why."""


class Drained(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """Child to supervisor: drain complete; state persisted; about to exit."""

    actor: str
    """Child name."""


class Ack(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """Generic acknowledgement of a command, matched by the envelope's correlation id."""

    ok: bool = True
    """False when the command was refused."""
    reason: str = ""
    """Why it was refused, when it was."""


# --- events every process may publish ---------------------------------------------------------


class Heartbeat(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """One actor is alive and its actor thread answered."""

    actor: str
    """Child name."""
    pid: int
    """Process id."""
    seq: int
    """Beat sequence number since the process started."""
    iterations: int
    """The actor's progress counter (orchestrator loop iterations; messages handled otherwise)."""
    state_age_s: float
    """Seconds since the actor last persisted its state."""
    wal_unsynced_s: float = 0.0
    """Seconds its oldest commit not yet fsynced has waited (a NORMAL store's WAL syncer; 0
    when every commit is on disk, and always for a FULL store, synced at each commit)."""
    gauges: dict[str, float] = msgspec.field(default_factory=dict)
    """Figures the actor reports for the metrics endpoint (``BaseActor.gauges``), by name."""


class SyncPing(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """Start-up handshake: a new subscriber waits to see its own ping (slow-joiner guard)."""

    actor: str
    """Child name."""
    nonce: str
    """Random value the subscriber waits for."""


class ChildStarted(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The supervisor saw a child's ``Ready``."""

    actor: str
    """Child name."""
    pid: int
    """Process id."""
    restarts: int
    """How many times this child has been restarted since the tree started."""


class ChildTerminated(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A child process ended."""

    actor: str
    """Child name."""
    pid: int
    """Process id."""
    reason: str
    """Exit reason (normal, shutdown, killed, ...)."""
    exit_status: int
    """Exit code, or the negative signal number."""


class TreeLiveness(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The heartbeat actor's verdict on the whole tree."""

    live: bool
    """True when every watched actor beat within its allowance."""
    stale: list[str]
    """Actors that missed their beats."""


class BadMessageSeen(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """Bytes that failed to decode arrived on a socket; they were dropped."""

    actor: str
    """Who received them."""
    socket: str
    """Which socket."""
    reason: str
    """Why decoding failed."""
    count: int
    """Total bad messages this process has seen on that socket."""


class TreeStopping(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The supervisor began an ordered stop of the whole tree."""

    source: str
    """Who asked (signal, operator, supervisor)."""
    reason: str
    """Why."""


class TradingStateAck(Message, frozen=True, forbid_unknown_fields=True, tag=True):
    """Child to supervisor: the trading state with this halts-store seq is applied."""

    actor: str
    """Child name."""
    seq: int
    """Halts-store sequence number of the transition."""
    state: str
    """The state applied."""


class TamperingDetected(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A tamper-evident store failed verification."""

    store: str
    """Which store (halts, journal)."""
    problem: str
    """What verification found."""


class StateLost(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """At start, a store was missing, empty, unreadable or behind where the state directory
    shows a tree with history: trading stays HALTED until an operator resumes."""

    problems: list[str]
    """Each failing store as ``path: what was found``."""
    history: list[str]
    """What showed that the tree had history."""
    remedy: str
    """What an operator can do."""


class StateWriteFailed(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """An actor could not write its state (disk full, read-only, permission): the write was
    rolled back, nothing it guarded was acknowledged, trading goes HALTED."""

    actor: str
    """The actor whose write failed."""
    path: str
    """The file (or the state directory) it was writing."""
    problem: str
    """The error, as the OS or SQLite gave it (``SQLITE_FULL: database or disk is full``)."""
    remedy: str = (
        "free space on (or make writable) the state directory; the actor starts again once it "
        "takes writes; then check with `quantfund state check` and resume with a reason"
    )
    """What an operator can do."""


class AdminCommandReceived(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """An operator command reached the supervisor (audit: who, why, and what came of it)."""

    command: str
    """halt, reduce or resume."""
    who: str
    """Who asked."""
    reason: str
    """Why."""
    result: str
    """What happened (the transition, ``no change``, or why it was refused)."""


class RequestTradingState(Command, frozen=True, forbid_unknown_fields=True, tag=True):
    """A child asks the supervisor for a trading-state change (heartbeat: HALTED; breaker:
    PAUSED, HALTED, or ACTIVE after its reset window). The supervisor checks the transition
    table, persists, publishes; it answers on the control channel with ``Ack``."""

    state: str
    """Target state (ACTIVE, REDUCING, PAUSED, HALTED)."""
    source: str
    """The asking actor's role, as the table knows it: heartbeat, breaker."""
    reason: str
    """Why (non-blank)."""


class JournalAnchored(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A finished journal day's final hash, published so it is kept outside the journal file
    (the supervisor writes it to the halts store; the alerter sends it as INFO)."""

    day: str
    """The day (YYYY-MM-DD, UTC)."""
    final_hash: str
    """Hash of the day's last entry."""
    last_seq: int
    """Sequence number of that entry."""


class RestartIntensityReached(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """More restarts than ``intensity`` within ``period_s``: the supervisor halts trading,
    drains the tree and exits non-zero."""

    child: str
    """The child whose restart was one too many."""
    intensity: int
    """The configured intensity."""
    period_s: float
    """The configured period."""
