"""Chaos test of the journal: a writer process SIGKILLed at random moments, many times over."""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import actors.journal
from actors.journal.verify import verify
from actors.journal.writer import FsyncPolicy, JournalWriter

from .helpers import DAY1, at

REPO = Path(actors.journal.__file__).resolve().parents[2]

# The child appends until killed. With a chunk size it writes each line in small pieces with
# a pause between them, the way a slow disk or a signal-interrupted write could, so that the
# kill usually lands mid-line and recovery of a torn line is really exercised; without one it
# runs the writer unmodified (one write() per line), the realistic case.
CHILD = """
import os, sys, time
from pathlib import Path
import actors.journal.writer as w

root, policy, chunk, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if chunk:
    def chunked(fd, data):
        for i in range(0, len(data), chunk):
            os.write(fd, data[i : i + chunk])
            time.sleep(0.0002)
    w._write_all = chunked
journal = w.JournalWriter(root, fsync=w.FsyncPolicy(policy))
journal.open(at=start)
print("ready", flush=True)
i = 0
while True:
    i += 1
    journal.append("TickSeen", {"i": i, "note": "x" * (i % 50), "px": i / 7}, at=start + i)
    if policy == "batch" and i % 10 == 0:
        journal.flush()
"""


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes the test starts; each is killed and reaped, and checked gone, at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)
        assert proc.returncode is not None


def _wait_ready(proc: subprocess.Popen[bytes], timeout: float) -> None:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            pytest.fail(f"writer child not ready within {timeout}s")
    assert proc.stdout.readline() == b"ready\n"


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_sigkill_mid_write_never_breaks_the_chain(
    tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    """20 times: a child appends in a loop and is SIGKILLed at a random moment; the parent
    reopens (recording a torn line if the kill left one) and verifies. The journal always
    verifies, its only anomalies are the torn lines the reopen recorded, and torn lines did
    occur (so recovery was exercised, not just clean kills)."""
    rng = random.Random(20261123)  # fixed seed: a failure replays the same kill moments
    root = tmp_path / "state"
    recorded: list[str] = []
    policies = list(FsyncPolicy)
    for iteration in range(20):
        # 5 hours apart, so the run crosses several midnights (day rollover under crashes).
        start = at(DAY1, 20) + iteration * 5 * 3600
        chunk = 16 if iteration % 2 else 0
        policy = policies[iteration % len(policies)]
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), policy.value, str(chunk), str(start)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
        )
        children.append(proc)
        _wait_ready(proc, timeout=10)
        # Wait on the process itself (it never exits on its own) as the random delay.
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=rng.uniform(0.005, 0.06))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=5) == -signal.SIGKILL

        journal = JournalWriter(root)
        record = journal.open(at=start + 10_000)
        journal.close()
        if record is not None:
            new = [item["location"] for item in record.fields["torn"]]
            assert len(new) == 1, new  # a kill leaves at most one torn line
            recorded += new
        report = verify(root)
        assert report.ok, f"iteration {iteration}: {report.first_break}: {report.problem}"
        assert report.torn_entries == recorded
    assert recorded, "no kill landed mid-line: torn-line recovery was not exercised"
