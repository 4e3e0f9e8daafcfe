"""Exercise, under the unit's hardening, every OS facility the tree's Python stack relies on.

Imported by notify_service.py when ``QF_PROBE=1``; runs inside quantfund.service (with a drop-in
that swaps ExecStart), so MemoryDenyWriteExecute=, SystemCallFilter=, RestrictAddressFamilies=,
ProtectProc=, DynamicUser= and the rest are in force. Writes ``$STATE_DIRECTORY/probe.json``:
each probe's ``ok`` and ``detail``, plus the environment variables systemd set. Probes named
``info_*`` record facts the unit does not promise (the harness does not fail on them).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2

# Variables systemd sets for the service that the integrator needs to know about.
SYSTEMD_VARIABLES = (
    "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "STATE_DIRECTORY", "RUNTIME_DIRECTORY",
    "CREDENTIALS_DIRECTORY", "INVOCATION_ID", "JOURNAL_STREAM", "HOME", "USER", "LOGNAME",
    "SHELL", "PATH", "LANG",
)  # fmt: skip


def _pdeathsig_roundtrip() -> str:
    """Set and read back the parent-death signal with ctypes, as the supervisor's children do."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    got = ctypes.c_int(0)
    if libc.prctl(PR_GET_PDEATHSIG, ctypes.byref(got), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_GET_PDEATHSIG)")
    if got.value != signal.SIGTERM:
        raise RuntimeError(f"PDEATHSIG read back {got.value}")
    return f"pdeathsig={got.value}"


def _child_target(queue: object) -> None:
    """Run in a multiprocess child: set PDEATHSIG and report back."""
    queue.put(_pdeathsig_roundtrip())  # type: ignore[attr-defined]


def probe_ctypes_prctl() -> str:
    """ctypes call into libc (no callback): what the supervisor's PDEATHSIG code does."""
    return _pdeathsig_roundtrip()


def info_ctypes_callback() -> str:
    """A ctypes callback needs a libffi closure: may need W+X memory under MDWE."""
    callback = ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 7)
    return f"callback returned {callback()}"


def _multiprocess_child(method: str) -> str:
    import multiprocess

    mp = multiprocess.get_context(method)
    queue = mp.Queue()
    child = mp.Process(target=_child_target, args=(queue,))
    child.start()
    got = queue.get(timeout=20)
    child.join(timeout=20)
    if child.exitcode != 0:
        raise RuntimeError(f"{method} child exit code {child.exitcode}")
    return f"{method}: {got}"


def probe_multiprocess_fork() -> str:
    """A fork child (the restart path the floors measured fastest) runs and sets PDEATHSIG."""
    return _multiprocess_child("fork")


def probe_multiprocess_forkserver() -> str:
    """A forkserver child (the planned start method) runs and sets PDEATHSIG."""
    return _multiprocess_child("forkserver")


def probe_zmq(runtime: Path) -> str:
    """ZeroMQ over ipc in the runtime directory and over tcp on loopback."""
    import zmq

    ctx = zmq.Context()
    try:
        details = []
        for kind in ("ipc", "tcp"):
            server, client = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
            server.linger = client.linger = 0
            if kind == "ipc":
                endpoint = f"ipc://{runtime}/probe.ipc"
                server.bind(endpoint)
            else:
                port = server.bind_to_random_port("tcp://127.0.0.1")
                endpoint = f"tcp://127.0.0.1:{port}"
            client.connect(endpoint)
            client.send(b"ping")
            if not server.poll(5000):
                raise TimeoutError(f"no message over {endpoint}")
            details.append(f"{endpoint}: {server.recv()!r}")
            server.close()
            client.close()
        return "; ".join(details)
    finally:
        ctx.term()


def probe_metrics_http() -> str:
    """The supervisor's Prometheus endpoint ([metrics] listen) on IPv4 loopback: served from
    its thread and scraped over HTTP (RestrictAddressFamilies= keeps AF_INET)."""
    import urllib.request

    from actors._runtime.trading import TradingState
    from supervisor.metrics import Metrics
    from supervisor.metrics_server import MetricsServer

    metrics = Metrics()
    metrics.trading_state(TradingState.HALTED)
    server = MetricsServer(metrics, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = resp.read().decode()
    finally:
        server.close()
    line = 'quantfund_trading_state{state="HALTED"} 1.0'
    if line not in body:
        raise RuntimeError(f"{url} did not serve {line!r}")
    return f"{url}: {line}"


def probe_sqlite_wal(state: Path) -> str:
    """SQLite in WAL mode in the state directory, as the journal and halts store use it."""
    with contextlib.closing(sqlite3.connect(state / "probe.db")) as db:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        if mode != "wal":
            raise RuntimeError(f"journal_mode={mode}")
        return f"journal_mode={mode}"


def probe_msgspec() -> str:
    """msgspec encode/decode of a frozen struct (every message on the bus)."""
    import msgspec

    class Ping(msgspec.Struct, frozen=True):
        seq: int

    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(Ping(3)), type=Ping)
    return repr(decoded)


def probe_psutil() -> str:
    """psutil identifies and lists a child process (needs /proc/stat: no ProcSubset=pid)."""
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        proc = psutil.Process(child.pid)
        listed = [c.pid for c in psutil.Process().children()]
        if child.pid not in listed:
            raise RuntimeError(f"child {child.pid} not in {listed}")
        return f"create_time={proc.create_time():.0f} status={proc.status()}"
    finally:
        child.kill()
        child.wait()


def probe_telegram_import() -> str:
    """python-telegram-bot imports and builds its TLS context (only the alerter does this)."""
    import ssl

    import telegram

    ssl.create_default_context()
    return f"telegram {telegram.__version__}"


def probe_asyncio() -> str:
    """An asyncio loop with a signal handler, as the supervisor's root loop runs."""
    import asyncio

    async def main() -> str:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, lambda: None)
        await asyncio.sleep(0)
        loop.remove_signal_handler(signal.SIGUSR1)
        return "ok"

    return asyncio.run(main())


def probe_getaddrinfo() -> str:
    """Name resolution as httpx/anyio does it (no AI_ADDRCONFIG)."""
    return str(socket.getaddrinfo("localhost", 443, type=socket.SOCK_STREAM)[0][4])


def info_getaddrinfo_addrconfig() -> str:
    """With AI_ADDRCONFIG glibc asks netlink, which RestrictAddressFamilies= does not allow."""
    return str(socket.getaddrinfo("localhost", 443, flags=socket.AI_ADDRCONFIG)[0][4])


def info_raise_nofile() -> str:
    """Raising the soft fd limit from inside (setrlimit); LimitNOFILE= in the unit is the way."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return f"{soft} -> {hard}"


def run(environ: dict[str, str], state: Path, runtime: Path) -> None:
    """Run every probe and write ``state/probe.json``.

    Args:
        environ: the environment as the service received it (before NOTIFY_SOCKET was unset).
        state: ``$STATE_DIRECTORY``.
        runtime: ``$RUNTIME_DIRECTORY``.
    """
    probes: dict[str, Callable[[], str]] = {
        "ctypes_prctl": probe_ctypes_prctl,
        "multiprocess_fork": probe_multiprocess_fork,
        "multiprocess_forkserver": probe_multiprocess_forkserver,
        "zmq": lambda: probe_zmq(runtime),
        "metrics_http": probe_metrics_http,
        "sqlite_wal": lambda: probe_sqlite_wal(state),
        "msgspec": probe_msgspec,
        "psutil": probe_psutil,
        "telegram_import": probe_telegram_import,
        "asyncio": probe_asyncio,
        "getaddrinfo": probe_getaddrinfo,
        "info_ctypes_callback": info_ctypes_callback,
        "info_getaddrinfo_addrconfig": info_getaddrinfo_addrconfig,
        "info_raise_nofile": info_raise_nofile,
    }
    outcomes: dict[str, dict[str, object]] = {}
    for name, probe in probes.items():
        try:
            outcomes[name] = {"ok": True, "detail": probe()}
        except BaseException as exc:  # a probe's failure is the finding, whatever it raises
            outcomes[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    token_file = Path(environ.get("CREDENTIALS_DIRECTORY", "/nonexistent")) / "telegram-token"
    report = {
        "uid": os.getuid(),
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "umask": oct(os.umask(0o077)),
        "environ": {k: environ[k] for k in SYSTEMD_VARIABLES if k in environ},
        "telegram_token": token_file.read_text().strip() if token_file.exists() else None,
        "probes": outcomes,
    }
    (state / "probe.json").write_text(json.dumps(report, indent=2))
