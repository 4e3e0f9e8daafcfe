"""A stand-in for an actor under supervisord or circus: an actor's start-up work, then "ready".

Started by a peer process manager as a fresh ``python benchmarks/peer_child.py``, it does what a
Quantfund actor does before its ``Ready`` (FLOORS.md lists the costs): import zmq, zmq.asyncio,
pykka, aiosqlite and msgspec; connect a ZeroMQ socket; open its SQLite file in WAL mode and read
its table; start a pykka actor holding the rows; then it sends ``who``, its pid and the time to
the benchmark over ZeroMQ PUSH and idles until killed.

    python benchmarks/peer_child.py --who circus --db state.sqlite --ready ipc:///tmp/x/ready
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec
import pykka
import zmq
import zmq.asyncio


class PeerReady(msgspec.Struct, frozen=True):
    """The child's announcement that it is ready."""

    who: str
    """Which manager runs this child (a label chosen by the benchmark)."""
    pid: int
    """This process's pid, so that the benchmark knows what to kill next."""
    sent_at: float
    """``time.time()`` when the announcement was sent."""
    started_at: float
    """``time.time()`` when this process was created (the kernel's clock ticks: +-10 ms)."""


class Holder(pykka.ThreadingActor):
    """Holds the loaded rows, as an actor holds its state."""

    use_daemon_thread = True

    def __init__(self, rows: list[Any]) -> None:
        """Keep ``rows``."""
        super().__init__()
        self.rows = rows

    def on_receive(self, message: Any) -> Any:
        """Answer with the number of rows."""
        return len(self.rows)


def started_at() -> float:
    """When this process was created, from /proc (psutil would cost ~115 ms to import)."""
    ticks = int(Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


async def run(who: str, db: str, ready: str) -> None:
    """Start like an actor, announce, then wait forever."""
    ctx = zmq.asyncio.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 1000)
    push.connect(ready)
    con = await aiosqlite.connect(db)
    await con.execute("PRAGMA journal_mode=WAL")
    await con.execute("PRAGMA synchronous=FULL")
    async with con.execute("SELECT k, v FROM kv") as cur:
        rows = list(await cur.fetchall())
    ref = Holder.start(rows)
    ref.ask("count")
    await push.send(msgspec.msgpack.encode(PeerReady(who, os.getpid(), time.time(), started_at())))
    await asyncio.Event().wait()


def main() -> None:
    """Parse the arguments and run."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--who", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--ready", required=True, help="ZeroMQ endpoint the benchmark binds (PULL)")
    args = ap.parse_args()
    asyncio.run(run(args.who, args.db, args.ready))


if __name__ == "__main__":
    main()
