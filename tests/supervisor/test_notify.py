"""Tests for supervisor/notify.py: sd_notify datagrams and the watchdog gate."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from supervisor.notify import (
    Notifier,
    NotifySocketInvalid,
    WatchdogDecision,
    WatchdogGate,
    parse_notify_socket,
)


class Listener:
    """A unix datagram socket owned by the test, standing in for systemd's notify socket."""

    def __init__(self, sock: socket.socket, env_value: str) -> None:
        self.sock = sock
        self.env_value = env_value  # what $NOTIFY_SOCKET would say

    def receive(self) -> str:
        """Return the next datagram (waits at most the socket timeout)."""
        return self.sock.recv(4096).decode()

    def drain(self) -> list[str]:
        """Return every datagram already queued, without waiting."""
        got: list[str] = []
        self.sock.setblocking(False)
        try:
            while True:
                got.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return got
        finally:
            self.sock.settimeout(2.0)


@pytest.fixture
def path_listener(tmp_path: Path) -> Iterator[Listener]:
    """A listener bound to a filesystem path."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        path = tmp_path / "notify"
        sock.bind(str(path))
        sock.settimeout(2.0)
        yield Listener(sock, str(path))


@pytest.fixture
def abstract_listener() -> Iterator[Listener]:
    """A listener bound to a unique abstract-namespace name."""
    name = f"quantfund-test-notify-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2.0)
        yield Listener(sock, "@" + name)


@pytest.fixture(params=["path", "abstract"])
def listener(request: pytest.FixtureRequest) -> Listener:
    """Each test that takes it runs once per socket kind systemd may hand out."""
    kind: str = request.param
    return request.getfixturevalue(f"{kind}_listener")  # type: ignore[no-any-return]


def notifier_for(listener: Listener, **env: str) -> Notifier:
    """A notifier built the way the supervisor builds it: from an environment."""
    return Notifier.from_environ({"NOTIFY_SOCKET": listener.env_value, **env})


# -- messages --------------------------------------------------------------------------------


def test_ready_sends_ready_1(listener: Listener) -> None:
    """ready() delivers exactly READY=1 to a path or an abstract socket."""
    assert notifier_for(listener).ready()
    assert listener.receive() == "READY=1"


def test_ready_with_status_sends_both_in_one_datagram(listener: Listener) -> None:
    """ready(status=...) puts READY=1 and STATUS= in one datagram, so systemd sees them at once."""
    notifier_for(listener).ready(status="6 children running")
    assert listener.receive() == "READY=1\nSTATUS=6 children running"


def test_status_sends_text(listener: Listener) -> None:
    """status() sends the free-form text that systemctl shows as StatusText."""
    assert notifier_for(listener).status("draining: execution")
    assert listener.receive() == "STATUS=draining: execution"


def test_status_newlines_cannot_inject_assignments(path_listener: Listener) -> None:
    """A newline in status text is flattened: it cannot smuggle in READY=1 or other lines."""
    notifier_for(path_listener).status("broker says:\nREADY=1")
    assert path_listener.receive() == "STATUS=broker says: READY=1"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda n: n.watchdog(), "WATCHDOG=1"),
        (lambda n: n.stopping(), "STOPPING=1"),
        (lambda n: n.stopping(status="draining"), "STOPPING=1\nSTATUS=draining"),
        (lambda n: n.extend_timeout(5_000_000), "EXTEND_TIMEOUT_USEC=5000000"),
    ],
    ids=["watchdog", "stopping", "stopping-status", "extend-timeout"],
)
def test_other_messages(path_listener: Listener, call: object, expected: str) -> None:
    """watchdog(), stopping() and extend_timeout() send the assignments systemd expects."""
    assert callable(call)
    assert call(notifier_for(path_listener)) is True
    assert path_listener.receive() == expected


def test_extend_timeout_rejects_non_positive(path_listener: Listener) -> None:
    """A zero or negative extension is a programming error, not a message to send."""
    with pytest.raises(ValueError, match="positive"):
        notifier_for(path_listener).extend_timeout(0)
    assert path_listener.drain() == []


# -- no socket, bad socket -------------------------------------------------------------------


def test_silent_without_notify_socket() -> None:
    """Outside systemd every call is a no-op that returns False and logs nothing."""
    with capture_logs() as logs:
        notifier = Notifier.from_environ({})
        sent = [
            notifier.ready(status="x"),
            notifier.status("x"),
            notifier.watchdog(),
            notifier.stopping(),
            notifier.extend_timeout(1),
        ]
    assert not notifier.enabled
    assert sent == [False] * 5
    assert logs == []


@pytest.mark.parametrize(
    "value",
    ["run/systemd/notify", "", "@", "vsock:2:1234", "/" + "x" * 200],
    ids=["relative", "empty", "bare-at", "vsock", "too-long"],
)
def test_bad_notify_socket_is_logged_not_raised(value: str) -> None:
    """A malformed NOTIFY_SOCKET logs notify_socket_invalid and disables the notifier."""
    with capture_logs() as logs:
        notifier = Notifier.from_environ({"NOTIFY_SOCKET": value})
        assert notifier.ready() is False
    assert not notifier.enabled
    assert [e["event"] for e in logs] == ["notify_socket_invalid"]
    assert logs[0]["value"] == value
    assert "NOTIFY_SOCKET" in logs[0]["reason"]


def test_parse_notify_socket_raises_a_named_error() -> None:
    """The parser itself raises NotifySocketInvalid naming the bad value."""
    with pytest.raises(NotifySocketInvalid, match="relative"):
        parse_notify_socket("relative")


def test_parse_notify_socket_addresses() -> None:
    """Paths pass through; '@name' becomes the abstract '\\0name'."""
    assert parse_notify_socket("/run/systemd/notify") == "/run/systemd/notify"
    assert parse_notify_socket("@sd-notify") == "\0sd-notify"


def test_unreachable_socket_logs_once_then_recovery(tmp_path: Path) -> None:
    """A socket that does not exist yet fails softly, logged once, and recovery is logged."""
    path = tmp_path / "later"
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": str(path)})
    with capture_logs() as logs:
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(path))
            sock.settimeout(2.0)
            assert notifier.watchdog() is True
            assert sock.recv(64) == b"WATCHDOG=1"
    assert [e["event"] for e in logs] == ["notify_send_failed", "notify_send_recovered"]
    assert "FileNotFoundError" in logs[0]["error"]


def test_full_receiver_does_not_block(path_listener: Listener) -> None:
    """When systemd stops reading, sends fail at once instead of blocking the event loop."""
    notifier = notifier_for(path_listener)
    with capture_logs() as logs:
        results = [notifier.status("x" * 1000) for _ in range(10_000)]
    assert results[0] is True
    assert results[-1] is False  # the queue filled up and sendto refused, not blocked
    assert [e["event"] for e in logs] == ["notify_send_failed"]


def test_unset_removes_variables_from_the_environment(path_listener: Listener) -> None:
    """unset=True strips the variables so forked children cannot notify or ping."""
    env = {"NOTIFY_SOCKET": path_listener.env_value, "WATCHDOG_USEC": "5000000",
           "WATCHDOG_PID": str(os.getpid()), "OTHER": "kept"}  # fmt: skip
    notifier = Notifier.from_environ(env, unset=True)
    assert env == {"OTHER": "kept"}
    assert notifier.ready()
    assert notifier.watchdog_interval() == 2.5


# -- watchdog interval -----------------------------------------------------------------------


def test_watchdog_interval_is_half_the_period() -> None:
    """WATCHDOG_USEC=5 s means pinging every 2.5 s, as sd_watchdog_enabled(3) advises."""
    assert Notifier.from_environ({"WATCHDOG_USEC": "5000000"}).watchdog_interval() == 2.5


def test_watchdog_interval_none_without_watchdog() -> None:
    """No WATCHDOG_USEC: no watchdog is configured, so no pings are needed."""
    assert Notifier.from_environ({}).watchdog_interval() is None


def test_watchdog_interval_honours_watchdog_pid() -> None:
    """WATCHDOG_PID naming this process keeps the watchdog; naming another disables it."""
    own = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    other = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier.from_environ(own).watchdog_interval() == 1.0
    assert Notifier.from_environ(other).watchdog_interval() is None


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_watchdog_interval_invalid_usec_is_logged(value: str) -> None:
    """A WATCHDOG_USEC that is not a positive integer is logged and means no watchdog."""
    with capture_logs() as logs:
        notifier = Notifier.from_environ({"WATCHDOG_USEC": value})
    assert notifier.watchdog_interval() is None
    assert [(e["event"], e["variable"]) for e in logs] == [
        ("watchdog_env_invalid", "WATCHDOG_USEC")
    ]


# -- the watchdog gate -----------------------------------------------------------------------


def test_gate_pings_while_tree_live() -> None:
    """Fresh live verdicts mean ping."""
    gate = WatchdogGate(max_verdict_age=3.0, armed_at=0.0)
    gate.observe(live=True, at=1.0)
    assert gate.decide(now=1.5) is WatchdogDecision.PING


def test_gate_stops_when_not_live_and_resumes_when_live() -> None:
    """A not-live verdict withholds pings at once; the next live verdict resumes them."""
    gate = WatchdogGate(max_verdict_age=3.0, armed_at=0.0)
    gate.observe(live=True, at=1.0)
    gate.observe(live=False, at=2.0)
    assert gate.decide(now=2.1) is WatchdogDecision.TREE_NOT_LIVE
    gate.observe(live=True, at=3.0)
    assert gate.decide(now=3.1) is WatchdogDecision.PING


def test_gate_stale_verdict_stops_pings() -> None:
    """A live verdict older than max_verdict_age no longer counts: the heartbeat went quiet."""
    gate = WatchdogGate(max_verdict_age=3.0, armed_at=0.0)
    gate.observe(live=True, at=1.0)
    assert gate.decide(now=4.0) is WatchdogDecision.PING  # exactly max age: still fresh
    assert gate.decide(now=4.01) is WatchdogDecision.VERDICT_STALE


def test_gate_grace_before_first_verdict() -> None:
    """Before any verdict, the tree counts as live for max_verdict_age after arming, no longer."""
    gate = WatchdogGate(max_verdict_age=3.0, armed_at=10.0)
    assert gate.decide(now=12.0) is WatchdogDecision.PING
    assert gate.decide(now=13.5) is WatchdogDecision.NO_VERDICT


def test_gate_ignores_an_older_verdict_arriving_late() -> None:
    """A verdict older than the one held cannot undo it (out-of-order delivery)."""
    gate = WatchdogGate(max_verdict_age=3.0, armed_at=0.0)
    gate.observe(live=False, at=5.0)
    gate.observe(live=True, at=4.0)
    assert gate.decide(now=5.5) is WatchdogDecision.TREE_NOT_LIVE


def test_gate_rejects_non_positive_max_age() -> None:
    """A zero max age would withhold every ping; it is refused at construction."""
    with pytest.raises(ValueError, match="positive"):
        WatchdogGate(max_verdict_age=0.0, armed_at=0.0)


@given(
    verdicts=st.lists(
        st.tuples(st.booleans(), st.floats(min_value=0, max_value=100, allow_nan=False)),
        max_size=20,
    ),
    now=st.floats(min_value=0, max_value=200, allow_nan=False),
)
def test_gate_pings_only_on_fresh_live_verdict(
    verdicts: list[tuple[bool, float]], now: float
) -> None:
    """Whatever the history, PING exactly when the newest verdict is live and fresh."""
    gate = WatchdogGate(max_verdict_age=3.0, armed_at=0.0)
    for live, at in verdicts:
        gate.observe(live, at)
    decision = gate.decide(now)
    if not verdicts:
        assert (decision is WatchdogDecision.PING) == (now <= 3.0)
        return
    newest = max(at for _, at in verdicts)
    held_live = [live for live, at in verdicts if at == newest][-1]  # equal age: last one wins
    assert (decision is WatchdogDecision.PING) == (held_live and now - newest <= 3.0)


def test_gate_drives_pings_over_a_real_socket(path_listener: Listener) -> None:
    """End to end: WATCHDOG=1 flows while live, stops when not live or stale, resumes after."""
    notifier = notifier_for(path_listener)
    gate = WatchdogGate(max_verdict_age=1.0, armed_at=0.0)

    def tick(now: float, verdict: bool | None) -> int:
        """One loop iteration: maybe a verdict arrives, then maybe a ping; return pings sent."""
        if verdict is not None:
            gate.observe(verdict, now)
        if gate.decide(now) is WatchdogDecision.PING:
            notifier.watchdog()
        return path_listener.drain().count("WATCHDOG=1")

    assert [tick(t, True) for t in (0.5, 1.0, 1.5)] == [1, 1, 1]
    assert [tick(t, False) for t in (2.0, 2.5)] == [0, 0]  # tree not live
    assert [tick(t, True) for t in (3.0, 3.5)] == [1, 1]  # resumed
    assert [tick(t, None) for t in (4.0, 4.6)] == [1, 0]  # heartbeat silent: stale after 1 s
    assert tick(5.0, True) == 1
