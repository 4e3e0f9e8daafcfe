"""A state directory on a small tmpfs fills while the tree trades on the paper venue: trading
goes HALTED with the reason, nothing that was not persisted is acknowledged, nothing loops, and
after space is freed an operator resumes and it trades again."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.execution.messages import OrderStatus
from supervisor.admin_messages import CommandReply, ErrorReply, ResumeRequest
from supervisor.client import request
from tests.support.tree import TreeRun
from tests.support.venue import PAPER, execution_orders, venue_ids, venue_total

TMPFS_MB = 48


@pytest.fixture
def small_state_dir(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/state`` as a tmpfs of ``TMPFS_MB`` MiB (needs root; skipped without)."""
    state = tmp_path / "state"
    state.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m,mode=0700", "tmpfs", str(state)],
        capture_output=True, text=True, timeout=10, check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {done.stderr.strip()}")
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], capture_output=True, timeout=10,
                       check=False)


def _fill(path: Path) -> int:
    """Write ``path`` until the file system has no room left; the bytes written."""
    written = 0
    chunk = b"\xaa" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                written += os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return written
                chunk = chunk[: len(chunk) // 2]  # the last pages too: full means full
    finally:
        os.close(fd)


def _journal_fills(state: Path) -> set[str]:
    """Client order ids of every ``OrderFilled`` the journal wrote (what the bus carried)."""
    ids: set[str] = set()
    for md in (state / "journal").glob("*.md"):
        for line in md.read_text(errors="replace").splitlines():
            parts = line.split(" | ")
            if len(parts) >= 4 and parts[2] == "OrderFilled":
                with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                    ids.add(json.loads(parts[3])["client_order_id"])
    return ids


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_full_disk_halts_acknowledges_nothing_unpersisted_and_resumes_by_operator(
    tmp_path: Path, small_state_dir: Path,
) -> None:
    """Fill the tmpfs under a trading tree: HALTED naming the cause, a RED alert in the log,
    the supervisor alive with its restart intensity untouched; every order at the venue and
    every fill on the bus is in execution's persisted book; space freed + resume: it trades."""
    tree = TreeRun(tmp_path, PAPER)
    filler = small_state_dir / "filler"
    try:
        tree.wait_started()
        _wait("orders at the paper venue", lambda: venue_total(small_state_dir) >= 20, 30)
        assert tree.status().trading_state == "ACTIVE"

        _fill(filler)
        halted = tree.wait_for(
            "trading_state_changed",
            lambda ln: ln.get("state") == "HALTED" and "unwritable" in ln.get("reason", ""),
            timeout=30,
        )
        assert "No space left" in halted["reason"] or "SQLITE_FULL" in halted["reason"], halted
        tree.wait_for("alert", lambda ln: ln.get("kind") == "StateWriteFailed", timeout=10)
        _wait("status naming what cannot write", lambda: tree.status().state_unwritable, 10)
        assert tree.status().trading_state == "HALTED"
        refused = request(tree.run_dir, ResumeRequest(reason="too early", who="pytest"),
                          timeout_s=5)
        assert isinstance(refused, ErrorReply), refused
        assert "cannot be written" in refused.error, refused.error
        starts = len(tree.events("child_started"))
        time.sleep(3.0)  # long enough for a crash loop to show, if there were one
        assert tree.proc.poll() is None, "the supervisor gave up"
        assert not tree.events("reached_max_restart_intensity")
        assert len(tree.events("child_started")) == starts, "actors restarted on a full disk"
        assert tree.status().trading_state == "HALTED"

        filler.unlink()
        _wait("every actor back", lambda: all(a.alive for a in tree.status().actors)
              and not tree.status().state_unwritable, 60)
        reply = request(tree.run_dir, ResumeRequest(reason="space freed", who="pytest"),
                        timeout_s=5)
        assert isinstance(reply, CommandReply), reply
        assert tree.status().trading_state == "ACTIVE"
        before = venue_total(small_state_dir)
        _wait("trading again", lambda: venue_total(small_state_dir) > before + 5, 30)
    finally:
        tree.stop()
    book, orders = execution_orders(small_state_dir)
    assert book is not None
    known = {o.client_order_id: o for o in orders}
    missing = [c for c in venue_ids(small_state_dir) if c not in known]
    assert not missing, f"orders at the venue execution never persisted: {missing[:5]}"
    filled_on_bus = _journal_fills(small_state_dir)
    assert filled_on_bus, "the journal recorded no fill"
    unpersisted = [c for c in filled_on_bus
                   if c not in known or known[c].status is not OrderStatus.FILLED]
    assert not unpersisted, f"fills published that execution did not persist: {unpersisted[:5]}"
