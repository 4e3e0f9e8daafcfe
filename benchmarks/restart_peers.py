"""Restart latency side by side, in one run: a Quantfund actor, supervisord and circus.

SIGKILL -> the replacement is ready, for (a) the six actors of the default tree restarted by our
supervisor (``benchmarks/restart.py``'s tree and clock: kill -> the ``child_started`` line logged
when the replacement's ``Ready`` arrives), (b) supervisord and (c) circus each managing
``benchmarks/peer_child.py``, a fresh Python that does an actor's start-up work and then
announces itself over ZeroMQ (kill -> the announcement received here). circus runs at its config
file's default ``check_delay`` (5 s), at its API default (1 s) and at the quickest sensible
setting (0.1 s). All managers run at once and the kills are shuffled together, so that the
machine's changing load falls on every row alike.

    uv run python benchmarks/restart_peers.py --kills 120
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import psutil
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.peer_child import PeerReady
from benchmarks.restart import CONFIG, SIX, _ts, pct
from tests.support.tree import TreeRun

CHILD = Path(__file__).with_name("peer_child.py")
PEERS = ("supervisor==4.3.0", "circus==0.19.0")
"""The peers, pinned. They live in a venv of their own: PyPI's ``supervisor`` (supervisord) is
a top-level package named like ours and would shadow it in the project's environment."""
PEERS_VENV = Path(tempfile.gettempdir()) / "quantfund-bench-peers"


def peers_bin() -> Path:
    """The bin directory of a venv holding the pinned peers (created once, with uv)."""
    bin_dir = PEERS_VENV / "bin"
    marker = PEERS_VENV / ("-".join(PEERS) + ".ok")
    if not marker.exists():
        subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(PEERS_VENV)],
                       check=True)
        subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(bin_dir / "python"),
                        *PEERS], check=True)
        marker.touch()
    return bin_dir
OURS = "quantfund"


@dataclass
class Peer:
    """One peer manager and the child it keeps alive."""

    who: str
    kills: int
    argv: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    pid: int = 0
    results: list[float] = field(default_factory=list)
    own: list[float] = field(default_factory=list)
    """The child's own part: process created -> announcement sent (ms)."""


def _die_with_parent() -> None:
    """In a daemon: SIGTERM when the benchmark dies, even by SIGKILL (it then stops its child)."""
    ctypes.CDLL(None).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


def _child_cmd(who: str, tmp: Path, ready: str) -> list[str]:
    db = tmp / f"{who}.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)")
    con.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)",
                    [(f"key{i}", os.urandom(64)) for i in range(50)])
    con.commit()
    con.close()
    return [sys.executable, str(CHILD), "--who", who, "--db", str(db), "--ready", ready]


def supervisord_peer(tmp: Path, ready: str, kills: int) -> Peer:
    """supervisord 4 with its defaults, except ``startsecs = 0``.

    With the default ``startsecs = 1`` a kill within 1 s of a start counts as a failed start
    (BACKOFF, then FATAL); a kill after it is a plain restart. ``0`` makes every kill the latter
    and does not change how soon supervisord restarts.
    """
    who = "supervisord"
    conf = tmp / "supervisord.conf"
    conf.write_text(f"""
[supervisord]
nodaemon = true
logfile = {tmp}/supervisord.log
pidfile = {tmp}/supervisord.pid
childlogdir = {tmp}

[program:peer]
command = {" ".join(_child_cmd(who, tmp, ready))}
autorestart = true
startsecs = 0
redirect_stderr = true
stdout_logfile = {tmp}/peer-supervisord.log
""")
    return Peer(who, kills, [str(peers_bin() / "supervisord"), "-c", str(conf)])


def circus_peer(tmp: Path, ready: str, kills: int, check_delay: float) -> Peer:
    """circusd with its defaults, except ``check_delay`` and private ipc endpoints."""
    who = f"circus-{check_delay:g}s"
    conf = tmp / f"{who}.ini"
    cmd = _child_cmd(who, tmp, ready)
    conf.write_text(f"""
[circus]
check_delay = {check_delay}
endpoint = ipc://{tmp}/{who}.ctl
pubsub_endpoint = ipc://{tmp}/{who}.pub
statsd = false

[watcher:peer]
cmd = {cmd[0]}
args = {" ".join(cmd[1:])}
numprocesses = 1
""")
    return Peer(who, kills, [str(peers_bin() / "circusd"), "--log-output", str(tmp / f"{who}.log"),
                             str(conf)])


def _recv(pull: zmq.Socket[bytes], peers: dict[str, Peer], timeout: float) -> PeerReady | None:
    if not pull.poll(int(timeout * 1000)):
        return None
    msg = msgspec.msgpack.decode(pull.recv(), type=PeerReady)
    peers[msg.who].pid = msg.pid
    return msg


def kill_peer(peer: Peer, pull: zmq.Socket[bytes], peers: dict[str, Peer]) -> None:
    """SIGKILL the peer's child; wait for its replacement's announcement."""
    old = peer.pid
    t_kill = time.time()
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = _recv(pull, peers, deadline - time.monotonic())
        if msg is not None and msg.who == peer.who and msg.pid != old:
            peer.results.append((time.time() - t_kill) * 1000)
            peer.own.append((msg.sent_at - msg.started_at) * 1000)
            return
    raise TimeoutError(f"{peer.who}: no replacement within 30 s")


def kill_ours(tree: TreeRun, name: str, results: list[float]) -> None:
    """SIGKILL actor ``name``; the latency to its replacement's ``child_started`` line."""
    pid = tree.child_pid(name)
    mark = tree.mark()
    t_kill = time.time()
    os.kill(pid, signal.SIGKILL)
    line = tree.wait_for("child_started", lambda ln: ln["child"] == name, after=mark)
    results.append((_ts(line) - t_kill) * 1000)


def stop_all(peers: list[Peer], seen: set[int]) -> None:
    """Stop every daemon (SIGTERM, then SIGKILL to its process group) and any child left."""
    for p in peers:
        if p.proc is not None and p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
    for p in peers:
        if p.proc is None:
            continue
        try:
            p.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.proc.pid, signal.SIGKILL)
            p.proc.wait(timeout=5)
    for pid in seen:  # supervisord puts its child in a process group of its own
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if str(CHILD) in proc.cmdline():
                proc.kill()


def report(ours: list[float], peers: list[Peer], load: float) -> None:
    """Print the table and the ratios to ours."""
    med, p99 = statistics.median(ours), pct(ours, 99)
    print(f"SIGKILL -> ready, one run, kills shuffled together; {os.cpu_count()} CPUs, "
          f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    print(f"{'who':<24}{'median ms':>10}{'p99 ms':>10}{'max ms':>10}{'n':>5}"
          f"{'median/ours':>13}{'p99/ours':>10}{'child own ms':>14}")
    print(f"{'quantfund (6 actors)':<24}{med:>10.1f}{p99:>10.1f}{max(ours):>10.1f}"
          f"{len(ours):>5}{1:>13.1f}{1:>10.1f}{'':>14}")
    for p in peers:
        m, q = statistics.median(p.results), pct(p.results, 99)
        print(f"{p.who:<24}{m:>10.1f}{q:>10.1f}{max(p.results):>10.1f}{len(p.results):>5}"
              f"{m / med:>13.1f}{q / p99:>10.1f}{statistics.median(p.own):>14.1f}")
    print("child own ms: median of the peer child's exec -> announcement (its /proc start "
          "time, +-10 ms), the part a manager cannot speed up")


def main() -> int:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=120, help="kills of our actors (round-robin)")
    ap.add_argument("--circus-kills", type=int, default=50, help="kills per circus setting")
    ap.add_argument("--supervisord-kills", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(args.seed)
    load = os.getloadavg()[0]
    ours: list[float] = []
    seen: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="qfp") as tmp_name:
        tmp = Path(tmp_name)
        ready = f"ipc://{tmp}/ready"
        ctx = zmq.Context()
        pull = ctx.socket(zmq.PULL)
        pull.bind(ready)
        peers = [supervisord_peer(tmp, ready, args.supervisord_kills)]
        peers += [circus_peer(tmp, ready, args.circus_kills, d) for d in (5.0, 1.0, 0.1)]
        by_who = {p.who: p for p in peers}
        tree: TreeRun | None = None
        try:
            for p in peers:
                p.proc = subprocess.Popen(p.argv, start_new_session=True,
                                          preexec_fn=_die_with_parent,  # noqa: PLW1509
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            (tmp / "tree").mkdir()
            tree = TreeRun(tmp / "tree", CONFIG)
            tree.wait_started()
            while not all(p.pid for p in peers):
                if _recv(pull, by_who, 30) is None:
                    raise TimeoutError("a peer's child never announced itself")
            seen.update(p.pid for p in peers)
            time.sleep(1.0)
            plan = [OURS] * args.kills + [p.who for p in peers for _ in range(p.kills)]
            rng.shuffle(plan)
            n_ours = 0
            for who in plan:
                time.sleep(rng.uniform(0.02, 0.2))  # no phase lock with anyone's poll tick
                if who == OURS:
                    kill_ours(tree, SIX[n_ours % len(SIX)], ours)
                    n_ours += 1
                else:
                    kill_peer(by_who[who], pull, by_who)
                    seen.update(p.pid for p in peers)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this
            if tree is not None:
                tree.stop()
            stop_all(peers, seen)
            pull.close(linger=0)
            ctx.term()
    report(ours, peers, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
