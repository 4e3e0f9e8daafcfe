"""Config of the heartbeat actor: how liveness is judged and what is done about a stuck loop."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0)]


class HangAction(enum.Enum):
    """What the heartbeat actor does about a hung or stalled orchestrator."""

    KILL = "kill"
    """SIGTERM, then SIGKILL after ``kill_grace_s`` (at once if the process is stopped)."""
    HALT = "halt"
    """Ask the supervisor to move trading to HALTED (only an operator resumes)."""


class HeartbeatConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How liveness is judged and what is done about a hung orchestrator.

    Defaults, for the runtime's 0.5 s beat: a check every 20 ms (~5 % of one core, against
    ~2.6 % at 250 ms), and a deadline falling between two checks is waited for, so a hang is
    acted on within ~1 ms of its timeout (the target is timeout + 50 ms to the process's death;
    see benchmarks/hang_detection.py). ``hang_timeout_s`` = 2.0 is four beat
    intervals: three late or lost beats in a row are tolerated (scheduling noise on two cores is
    tens of ms), and a loop that runs every 0.1 s is not left hung for more than ~20 bars.
    ``stall_timeout_s`` = 10.0 is above the orchestrator's drain budget (``shutdown_s`` 5 s): a
    drain ordered by the supervisor stops the loop while the beats go on, and must not be
    mistaken for a stall.
    """

    check_interval_s: Seconds = 0.02
    """Seconds between checks. A hang or SIGKILL deadline due before the next check is waited
    for on the actor thread, so it is met within about a millisecond, not one check late."""
    verdict_interval_s: Seconds = 0.25
    """Seconds between ``TreeLiveness`` verdicts (one is also published at once on a change)."""
    missed_beats: Annotated[int, msgspec.Meta(ge=1)] = 4
    """An actor silent for this many heartbeat intervals is stale (``HeartbeatMissed``)."""
    heartbeat_interval_s: Seconds = 0.5
    """The actors' beat interval (the runtime's setting; copied here by the supervisor)."""
    watch: list[str] = msgspec.field(
        default_factory=lambda: ["journal", "alerter", "breaker", "execution", "orchestrator"]
    )
    """Actors whose beats make the tree live."""
    orchestrator: str = "orchestrator"
    """The child whose loop is watched for hangs and stalls (and may be killed)."""
    hang_timeout_s: Seconds = 2.0
    """The orchestrator is hung when no beat came for this long (SIGSTOP, deadlock, busy loop:
    a beat needs a round trip through its actor thread)."""
    stall_timeout_s: Seconds = 10.0
    """The orchestrator is stalled when it beats but its iterations did not advance this long."""
    kill_grace_s: Annotated[float, msgspec.Meta(ge=0)] = 0.5
    """Seconds between SIGTERM and SIGKILL (a stopped process gets SIGKILL at once)."""
    on_orchestrator_hang: list[HangAction] = msgspec.field(
        default_factory=lambda: [HangAction.KILL, HangAction.HALT]
    )
    """What to do about a hung or stalled orchestrator: any subset of ``kill``, ``halt``. Both by
    default: the restart brings the loop back, and trading waits for an operator's ``resume``
    (a loop that hung once is suspect)."""

    on_feed_stale: Literal["reduce", "halt", "alert"] = "reduce"
    """A market-data symbol stale past ``[venue] stale_after_s`` (``FeedStale``): trading goes
    REDUCING (only exposure-reducing orders), HALTED, or it is only alerted. Either way an
    operator resumes: a feed that went quiet once is checked before trading goes on."""

    def __post_init__(self) -> None:
        """A stall timeout within a beat interval would fire between two healthy beats; a hang
        timeout under 2.5 intervals could not tell a silent bus from a silent orchestrator."""
        if self.stall_timeout_s <= self.heartbeat_interval_s:
            raise ValueError(
                f"stall_timeout_s must exceed heartbeat_interval_s ({self.heartbeat_interval_s} s)"
            )
        if self.hang_timeout_s < 2.5 * self.heartbeat_interval_s:
            raise ValueError(
                "hang_timeout_s must be at least 2.5 x heartbeat_interval_s "
                f"({2.5 * self.heartbeat_interval_s} s)"
            )
