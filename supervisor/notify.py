"""Tell systemd about the supervisor's life over ``$NOTIFY_SOCKET`` (sd_notify without libsystemd).

Two pieces:

- :class:`Notifier` sends the sd_notify datagrams (``READY=1``, ``STATUS=``, ``WATCHDOG=1``,
  ``STOPPING=1``, ``EXTEND_TIMEOUT_USEC=``) to the socket systemd names in ``$NOTIFY_SOCKET``,
  a filesystem path or an abstract ``@name``. Without ``$NOTIFY_SOCKET`` (not under systemd) every
  call is a silent no-op. A malformed or unreachable socket is logged, never raised: losing a
  notification must not crash the root of the tree, and systemd's own timeouts then act.
- :class:`WatchdogGate` is the pure rule of design layer 6: ping systemd's watchdog only while the
  heartbeat actor's latest verdict says the tree is live and that verdict is fresh. It is called
  from the supervisor's loop, so a stuck loop stops the pings too.

Wiring, in the supervisor::

    notifier = Notifier.from_environ(unset=True)   # children must not inherit NOTIFY_SOCKET
    interval = notifier.watchdog_interval()        # None: no watchdog configured for this pid
    ... start the children ...
    notifier.ready(status="6 children running")
    gate = WatchdogGate(max_verdict_age=3.0, armed_at=clock())
    # on each heartbeat verdict:  gate.observe(verdict.live, clock())
    # on a loop timer, every interval / 2 or so:
    if gate.decide(clock()) is WatchdogDecision.PING:
        notifier.watchdog()
"""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import MutableMapping

import structlog

from supervisor.errors import SupervisorError

log = structlog.get_logger(__name__)

# sockaddr_un.sun_path is 108 bytes: a path needs a terminating NUL, an abstract name a leading
# one, so either way at most 107 bytes of name.
_SUN_PATH_MAX = 107


class NotifySocketInvalid(SupervisorError):
    """``$NOTIFY_SOCKET`` is neither an absolute path nor an ``@``-prefixed abstract name."""


def parse_notify_socket(value: str) -> str:
    """Turn a ``$NOTIFY_SOCKET`` value into an address for ``socket.sendto``.

    Args:
        value: ``/run/systemd/notify`` (a path) or ``@name`` (abstract namespace).

    Returns:
        The path unchanged, or ``"\\0name"`` for an abstract socket.

    Raises:
        NotifySocketInvalid: the value is empty, relative, ``@`` alone, too long, or another
            scheme (systemd 253+ also knows ``vsock:``; 252, our target, does not).
    """
    if value.startswith("/"):
        name = value
    elif value.startswith("@") and len(value) > 1:
        name = value[1:]
    else:
        raise NotifySocketInvalid(
            f"NOTIFY_SOCKET={value!r} is neither an absolute path nor an abstract '@name'"
        )
    if len(os.fsencode(name)) > _SUN_PATH_MAX:
        raise NotifySocketInvalid(
            f"NOTIFY_SOCKET={value!r} is longer than a unix socket address ({_SUN_PATH_MAX} bytes)"
        )
    return value if value.startswith("/") else "\0" + name


def _parse_positive_int(name: str, value: str | None) -> int | None:
    """Parse an environment integer that must be positive; log and drop anything else."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        log.warning("watchdog_env_invalid", variable=name, value=value)
        return None
    return number


class Notifier:
    """Sends sd_notify messages to one socket; a no-op when there is none.

    Each message goes out on a fresh non-blocking datagram socket: nothing stays open for forked
    children to inherit, and a wedged receiver can never block the supervisor's event loop.
    Every method returns whether the datagram was handed to the kernel.
    """

    def __init__(
        self,
        address: str | None,
        *,
        watchdog_usec: int | None = None,
        watchdog_pid: int | None = None,
    ) -> None:
        """Create a notifier.

        Args:
            address: as returned by :func:`parse_notify_socket`, or None to disable.
            watchdog_usec: ``$WATCHDOG_USEC``, systemd's watchdog period, if any.
            watchdog_pid: ``$WATCHDOG_PID``; when set, only that process may ping.
        """
        self._address = address
        self._watchdog_usec = watchdog_usec
        self._watchdog_pid = watchdog_pid
        self._failing: str | None = None  # last send error, logged once until a send succeeds

    @classmethod
    def from_environ(
        cls,
        environ: MutableMapping[str, str] | None = None,
        *,
        unset: bool = False,
    ) -> Notifier:
        """Build a notifier from ``$NOTIFY_SOCKET``, ``$WATCHDOG_USEC`` and ``$WATCHDOG_PID``.

        A malformed ``$NOTIFY_SOCKET`` is logged as ``notify_socket_invalid`` and yields a
        disabled notifier, so a misconfiguration shows in the journal instead of crashing.

        Args:
            environ: the environment to read; ``os.environ`` by default.
            unset: remove the three variables afterwards (like sd_notify's ``unset_environment``)
                so child processes neither inherit nor misuse them.

        Returns:
            The notifier.
        """
        env = os.environ if environ is None else environ
        raw_socket = env.get("NOTIFY_SOCKET")
        address: str | None = None
        if raw_socket is not None:
            try:
                address = parse_notify_socket(raw_socket)
            except NotifySocketInvalid as exc:
                # The reason says it all; a traceback would only add noise to the journal.
                log.error("notify_socket_invalid", value=raw_socket, reason=str(exc))
        notifier = cls(
            address,
            watchdog_usec=_parse_positive_int("WATCHDOG_USEC", env.get("WATCHDOG_USEC")),
            watchdog_pid=_parse_positive_int("WATCHDOG_PID", env.get("WATCHDOG_PID")),
        )
        if unset:
            for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
                env.pop(name, None)
        return notifier

    @property
    def enabled(self) -> bool:
        """Whether there is a socket to notify."""
        return self._address is not None

    def watchdog_interval(self) -> float | None:
        """Return how often to ping, in seconds: half of systemd's watchdog period.

        Returns:
            None when no watchdog is configured, or when ``$WATCHDOG_PID`` names another process
            (a forked child must not keep its parent's watchdog alive).
        """
        if self._watchdog_usec is None:
            return None
        if self._watchdog_pid is not None and self._watchdog_pid != os.getpid():
            return None
        return self._watchdog_usec / 2 / 1_000_000

    def ready(self, status: str | None = None) -> bool:
        """Say start-up is complete (``READY=1``), optionally with a status line."""
        return self._send("READY=1", status)

    def status(self, text: str) -> bool:
        """Set the free-form status shown by ``systemctl status`` (``STATUS=``)."""
        return self._send(None, text)

    def watchdog(self) -> bool:
        """Ping the watchdog (``WATCHDOG=1``). Call only when :class:`WatchdogGate` says so."""
        return self._send("WATCHDOG=1", None)

    def stopping(self, status: str | None = None) -> bool:
        """Say the drain has begun (``STOPPING=1``); systemd's stop timeout now runs."""
        return self._send("STOPPING=1", status)

    def extend_timeout(self, usec: int) -> bool:
        """Ask for ``usec`` more microseconds on the current start or stop timeout.

        Args:
            usec: the extension, counted from now; must be positive.

        Raises:
            ValueError: ``usec`` is not positive.
        """
        if usec <= 0:
            raise ValueError(f"extend_timeout needs a positive number of microseconds, got {usec}")
        return self._send(f"EXTEND_TIMEOUT_USEC={usec}", None)

    def _send(self, assignment: str | None, status: str | None) -> bool:
        """Send one datagram of newline-separated assignments."""
        if self._address is None:
            return False
        lines = [] if assignment is None else [assignment]
        if status is not None:
            # A newline would start a new assignment: "x\nREADY=1" must not say ready.
            lines.append("STATUS=" + " ".join(status.splitlines()))
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(lines).encode(), socket.MSG_DONTWAIT, self._address)
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
            if error != self._failing:
                log.warning("notify_send_failed", socket=self._printable_address, error=error)
                self._failing = error
            return False
        if self._failing is not None:
            log.info("notify_send_recovered", socket=self._printable_address)
            self._failing = None
        return True

    @property
    def _printable_address(self) -> str | None:
        """The address as ``$NOTIFY_SOCKET`` spells it (``@`` for the abstract NUL)."""
        if self._address is None or not self._address.startswith("\0"):
            return self._address
        return "@" + self._address[1:]


class WatchdogDecision(enum.Enum):
    """Whether to ping systemd's watchdog now, and if not, why not."""

    PING = "ping"
    """The latest verdict is fresh and says the tree is live."""
    TREE_NOT_LIVE = "tree_not_live"
    """The heartbeat actor's latest verdict says the tree is not live."""
    VERDICT_STALE = "verdict_stale"
    """The latest verdict is older than ``max_verdict_age``: the heartbeat actor went quiet."""
    NO_VERDICT = "no_verdict"
    """No verdict arrived within ``max_verdict_age`` of arming the gate."""


class WatchdogGate:
    """Decides whether the supervisor may ping systemd's watchdog (design layer 6).

    The supervisor calls :meth:`decide` from its own loop, so the loop having run is implied;
    the gate adds the other half: the heartbeat actor's latest verdict must say the tree is live
    and be younger than ``max_verdict_age``. Otherwise pings stop, systemd's ``WatchdogSec``
    expires, and systemd kills and restarts the whole tree.

    Pure: it holds the latest verdict and takes the time from its caller (a monotonic clock).

    Choose ``max_verdict_age`` a few heartbeat periods long, so one late beat is not a kill, and
    call :meth:`decide` more often than the ping interval (or on each verdict) so that pings
    resume promptly after a short not-live spell.
    """

    def __init__(self, *, max_verdict_age: float, armed_at: float) -> None:
        """Create a gate.

        Args:
            max_verdict_age: seconds after which a verdict no longer counts.
            armed_at: when the gate started waiting for verdicts (e.g. when ``READY=1`` was
                sent); the tree counts as live for ``max_verdict_age`` after it, until the first
                verdict arrives.

        Raises:
            ValueError: ``max_verdict_age`` is not positive.
        """
        if max_verdict_age <= 0:
            raise ValueError(f"max_verdict_age must be positive, got {max_verdict_age}")
        self._max_age = max_verdict_age
        self._armed_at = armed_at
        self._live: bool | None = None
        self._verdict_at: float | None = None

    def observe(self, live: bool, at: float) -> None:
        """Record a heartbeat verdict.

        Args:
            live: whether the heartbeat actor judged every actor alive.
            at: when the verdict was made (same clock as :meth:`decide`). A verdict older than
                the one held is ignored, so a late message cannot undo a newer one.
        """
        if self._verdict_at is not None and at < self._verdict_at:
            return
        self._live = live
        self._verdict_at = at

    def decide(self, now: float) -> WatchdogDecision:
        """Say whether to ping the watchdog at ``now``, and if not, why not."""
        if self._verdict_at is None:
            if now - self._armed_at <= self._max_age:
                return WatchdogDecision.PING
            return WatchdogDecision.NO_VERDICT
        if not self._live:
            return WatchdogDecision.TREE_NOT_LIVE
        if now - self._verdict_at > self._max_age:
            return WatchdogDecision.VERDICT_STALE
        return WatchdogDecision.PING
