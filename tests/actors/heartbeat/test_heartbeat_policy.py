"""Pure rules of the heartbeat actor (actors/heartbeat/policy.py): no processes, a given clock."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from actors.heartbeat import policy
from actors.heartbeat.config import HangAction, HeartbeatConfig
from actors.heartbeat.policy import Kind, Signal

HANG, STALL = 2.0, 10.0


def _judge(track: policy.Track | None, now: float) -> policy.Incident | None:
    return policy.judge(track, now, hang_timeout=HANG, stall_timeout=STALL)


def test_a_track_armed_at_start_hangs_exactly_at_the_timeout_if_it_never_beats() -> None:
    """A started process that never beats is hung at armed_at + hang_timeout, not before."""
    track = policy.arm(100, now=50.0)
    assert _judge(track, 51.999) is None
    incident = _judge(track, 52.0)
    assert incident is not None
    assert (incident.kind, incident.pid, incident.iterations) == (Kind.HANG, 100, -1)
    assert incident.for_s == pytest.approx(2.0)


@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=1.99), min_size=1, max_size=30),
    after=st.floats(min_value=0.0, max_value=5.0),
)
@example(gaps=[1.5, 1.7630930937821776, 1.7630930937821776, 1e-12, 1.0], after=2.0)
def test_hang_is_reported_iff_the_silence_since_the_last_beat_reaches_the_timeout(
    gaps: list[float], after: float
) -> None:
    """Beats with gaps below the timeout never hang (iterations advancing); after the last beat
    the verdict is a hang exactly when the silence reaches hang_timeout."""
    now = 0.0
    track = policy.arm(7, now)
    for i, gap in enumerate(gaps):
        assert _judge(track, now + gap) is None
        now += gap
        track = policy.beat(track, 7, i, now)
    at = now + after
    incident = _judge(track, at)
    # The silence the policy sees is the float ``at - now``, which can round below ``after``
    # (found by hypothesis: gaps summing to 6.263..., after=2.0).
    if at - now >= HANG:
        assert incident is not None
        assert incident.kind is Kind.HANG
        assert incident.iterations == len(gaps) - 1
    else:
        assert incident is None


def test_a_beating_process_whose_iterations_do_not_move_is_stalled_after_stall_timeout() -> None:
    """Beats every 0.5 s with a constant counter: stall at the first beat's time + stall_timeout."""
    track = policy.beat(None, 9, 41, now=0.0)
    t = 0.0
    while t < 9.5:
        t += 0.5
        track = policy.beat(track, 9, 41, t)
        assert _judge(track, t) is None
    track = policy.beat(track, 9, 41, 10.0)
    incident = _judge(track, 10.0)
    assert incident is not None
    assert (incident.kind, incident.iterations) == (Kind.STALL, 41)


def test_progress_resets_the_stall_clock() -> None:
    """An iteration change at t=9 means no stall at t=10 (but one at t=19)."""
    track = policy.beat(None, 9, 1, now=0.0)
    for t in range(1, 20):
        track = policy.beat(track, 9, 2 if t >= 9 else 1, float(t))
    assert track.progress_at == 9.0
    assert _judge(policy.beat(track, 9, 2, 18.9), 18.9) is None
    incident = _judge(policy.beat(track, 9, 2, 19.0), 19.0)
    assert incident is not None
    assert incident.kind is Kind.STALL


def test_hang_wins_over_stall() -> None:
    """Silent and without progress: reported as a hang (the process does not answer at all)."""
    track = policy.beat(None, 3, 5, now=0.0)
    incident = _judge(track, 30.0)
    assert incident is not None
    assert incident.kind is Kind.HANG


def test_a_beat_from_a_new_pid_starts_a_new_track() -> None:
    """A restarted process (new pid) starts with fresh silence and progress clocks."""
    old = policy.beat(None, 1, 100, now=0.0)
    new = policy.beat(old, 2, 100, now=50.0)
    assert (new.pid, new.armed_at, new.beat_at, new.progress_at) == (2, 50.0, 50.0, 50.0)
    assert _judge(new, 51.0) is None


def test_child_started_rearms_with_the_new_pid_and_a_fresh_grace() -> None:
    """ChildStarted for a new pid: silence counts from the start, not from the old beats."""
    old = policy.beat(None, 1, 5, now=0.0)
    rearmed = policy.started(old, 2, now=100.0)
    assert rearmed == policy.arm(2, 100.0)
    assert _judge(rearmed, 101.9) is None
    assert _judge(rearmed, 102.0) is not None


def test_child_started_for_the_pid_already_beating_keeps_its_beats() -> None:
    """A beat can arrive before the supervisor's ChildStarted for the same pid: keep it."""
    early = policy.beat(None, 5, 3, now=10.0)
    assert policy.started(early, 5, now=10.01) is early


def test_missed_counts_never_heard_actors_from_since_and_others_from_their_last_beat() -> None:
    """Silent beyond the allowance (strictly) is missed; unknown actors count from ``since``."""
    tracks = {"a": policy.beat(None, 1, 0, now=8.0), "b": policy.beat(None, 2, 0, now=9.5)}
    out = policy.missed(tracks, ["a", "b", "c"], 10.0, since=7.0, allowance=2.0)
    assert out == {"c": pytest.approx(3.0)}
    out = policy.missed(tracks, ["a", "b"], 10.001, since=7.0, allowance=2.0)
    assert set(out) == {"a"}


@given(
    policy_set=st.sets(st.sampled_from(list(HangAction))),
    stopping=st.booleans(),
    handled=st.booleans(),
)
def test_respond_never_acts_during_a_drain_or_twice_and_halts_before_killing(
    policy_set: set[HangAction], stopping: bool, handled: bool
) -> None:
    """Nothing while the tree stops or once handled; otherwise exactly the policy, halt first."""
    actions = policy.respond(policy_set, stopping=stopping, handled=handled)
    if stopping or handled:
        assert actions == []
    else:
        assert set(actions) == policy_set
        assert actions == sorted(actions, key=[HangAction.HALT, HangAction.KILL].index)


@pytest.mark.parametrize(
    ("stopped", "grace", "expected"),
    [(True, 0.5, Signal.KILL), (False, 0.0, Signal.KILL), (False, 0.5, Signal.TERM)],
)
def test_first_signal(stopped: bool, grace: float, expected: Signal) -> None:
    """A stopped process (it cannot run a SIGTERM handler) or no grace: SIGKILL at once."""
    assert policy.first_signal(stopped=stopped, grace=grace) is expected


def test_escalate_sends_sigkill_only_once_the_grace_is_over() -> None:
    """SIGTERM at t=1 with 0.5 s grace: nothing at 1.49, SIGKILL from 1.5."""
    assert policy.escalate(1.0, 1.49, grace=0.5) is None
    assert policy.escalate(1.0, 1.5, grace=0.5) is Signal.KILL


def test_incident_description_names_the_kind_pid_and_timeout() -> None:
    """The reason that ends up in the halts store and the journal says what happened."""
    text = policy.Incident(Kind.STALL, 42, 10.01, 7).describe("orchestrator", 10.0)
    assert "orchestrator pid 42 stall" in text
    assert "no progress" in text
    assert "timeout 10.0 s" in text


def test_config_rejects_timeouts_not_above_the_beat_interval() -> None:
    """A hang timeout at or below the beat interval would fire between two healthy beats."""
    with pytest.raises(msgspec.ValidationError, match="hang_timeout_s"):
        msgspec.convert({"hang_timeout_s": 0.5, "heartbeat_interval_s": 0.5}, HeartbeatConfig)
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value 'reboot'"):
        msgspec.convert({"on_orchestrator_hang": ["reboot"]}, HeartbeatConfig)
    cfg = msgspec.convert({"on_orchestrator_hang": ["halt"]}, HeartbeatConfig)
    assert cfg.on_orchestrator_hang == [HangAction.HALT]


@pytest.mark.parametrize(
    ("received", "sent", "expected"),
    [(10.0, 9.99, 9.99), (10.0, 9.75, 9.75), (10.0, 9.5, 10.0), (10.0, 10.2, 10.0),
     (10.0, 0.0, 10.0)],
)
def test_beat_time_is_the_send_time_unless_implausible(
    received: float, sent: float, expected: float
) -> None:
    """The sender's stamp counts when it lags the receipt by 0..tolerance; a late (congested
    bus), future or missing stamp falls back to the receipt time."""
    assert policy.beat_time(received, sent, tolerance=0.25) == expected


def test_nap_waits_only_for_a_deadline_due_before_the_next_check() -> None:
    """Deadlines in (0, within] are waited for (the nearest); past, far or absent ones not."""
    assert policy.nap((0.015, 0.005, None), within=0.02) == 0.005
    assert policy.nap((0.5, None), within=0.02) == 0.0
    assert policy.nap((-0.1, 0.0), within=0.02) == 0.0
    track = policy.beat(None, 1, 0, now=10.0)
    assert policy.hang_due_in(track, 11.99, hang_timeout=2.0) == pytest.approx(0.01)
    assert policy.hang_due_in(None, 11.99, hang_timeout=2.0) is None


@given(
    interval=st.floats(min_value=0.05, max_value=2.0),
    factor=st.floats(min_value=2.5, max_value=20.0),
    bus_stop_phase=st.floats(min_value=0.0, max_value=1.0),
)
def test_a_silent_bus_is_noticed_before_it_could_pass_for_a_hung_orchestrator(
    interval: float, factor: float, bus_stop_phase: float
) -> None:
    """Every process beats each ``interval``; the bus stops at a random phase after the
    orchestrator's last beat (before its next one). Others were last heard no later than the
    stop, so deafness (others quiet for deaf_limit) begins before the orchestrator's hang
    timeout expires: its silence is then not held against it. Healthy, the others' silence
    (at most one interval) stays below the limit."""
    hang = factor * interval
    last_orchestrator = 0.0
    bus_stop = last_orchestrator + bus_stop_phase * interval
    deaf_at = bus_stop + policy.deaf_limit(hang)  # at the latest (others last heard <= stop)
    hang_at = last_orchestrator + hang
    assert deaf_at < hang_at
    assert interval < policy.deaf_limit(hang)


def test_regrace_counts_silence_afresh_after_a_deaf_spell() -> None:
    """After the bus is heard again, an orchestrator silent meanwhile gets a full timeout."""
    track = policy.beat(None, 4, 10, now=0.0)
    assert _judge(track, 5.0) is not None
    again = policy.regrace(track, 5.0)
    assert _judge(again, 6.9) is None
    assert _judge(again, 7.0) is not None


def test_config_needs_a_hang_timeout_of_two_and_a_half_beat_intervals() -> None:
    """Below 2.5 beat intervals a silent bus could not be told apart from a hung loop."""
    with pytest.raises(msgspec.ValidationError, match=r"2\.5 x heartbeat_interval_s"):
        msgspec.convert({"hang_timeout_s": 1.2, "heartbeat_interval_s": 0.5}, HeartbeatConfig)
    ok = msgspec.convert({"hang_timeout_s": 1.25, "heartbeat_interval_s": 0.5}, HeartbeatConfig)
    assert ok.hang_timeout_s == 1.25
