"""``quantfund drill`` against real trees: every drill passes on a healthy tree (shadow, paper),
kill-supervisor needs a restarter, and a broken invariant makes a drill fail naming it."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from actors._runtime.halts_reader import HALTS_FILE
from supervisor.drill import observe
from supervisor.drill.stores import VENUE_FILE
from tests.supervisor.test_halts import _tamper
from tests.support.restarter import Restarter
from tests.support.tree import TreeRun, assert_gone
from tests.support.venue import PAPER, venue_counts

REPO = Path(__file__).parents[2]


def _drill(tree_dir: Path, *args: str, as_json: bool = True, timeout: float = 60
           ) -> tuple[int, dict[str, Any], str]:
    """Run ``quantfund drill ARGS`` against the tree in ``tree_dir``: (exit, report, output)."""
    argv = [sys.executable, "-m", "supervisor.cli", "drill", *args,
            "--config", str(tree_dir / "test.toml"), "--state-dir", str(tree_dir / "state"),
            "--run-dir", str(tree_dir / "run")]
    if as_json:
        argv.append("--json")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          cwd=str(REPO))
    report = json.loads(done.stdout) if as_json and done.stdout.strip() else {}
    return done.returncode, report, done.stdout + done.stderr


def _passes(tree_dir: Path, *args: str) -> dict[str, Any]:
    code, report, out = _drill(tree_dir, *args)
    assert code == 0, out
    assert report["ok"] is True
    assert report["violations"] == []
    assert report["recovery_ms"] is not None
    assert report["detection_ms"] is not None
    return report


def _comparison(report: dict[str, Any], field: str) -> dict[str, Any]:
    return next(c for c in report["comparisons"] if c["field"] == field)


def _started(run_dir: Path, timeout: float = 30.0) -> None:
    found = observe.poll(
        lambda: (r := observe.status(run_dir, 0.5)) is not None
        and all(observe.serving(a) for a in r.actors), timeout)
    assert found, f"tree at {run_dir} did not start within {timeout} s"


@pytest.mark.timeout(120)
def test_every_drill_passes_against_the_default_shadow_tree(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """On the embedded default (shadow broker, simulated feed): crash of execution and of the
    journal, a hung orchestrator (killed and, per [heartbeat], halted, then resumed by the
    drill) and the kill switch each exit 0 with every invariant checked and held."""
    tree = tree_factory("")
    tree.wait_started()
    _started(tree.run_dir)
    for actor in ("execution", "journal"):
        report = _passes(tree.tmp, "crash", "--actor", actor)
        assert _comparison(report, f"pid of {actor}")["holds"]
        assert _comparison(report, "trading_state")["after"] == "ACTIVE"
        assert {"no_duplicate_client_order_ids", "journal_verifies", "halts_verify",
                "red_events_in_outbox", "fills_reflected_in_positions", "breaker_monotonic",
                "no_orphans"} <= set(report["invariants_checked"])
    hang = _passes(tree.tmp, "hang", "--actor", "orchestrator")
    assert _comparison(hang, "trading_state after the hang")["after"] == "HALTED"
    assert hang["state_after"]["trading_state"] == "ACTIVE"  # resumed: left as found
    switch = _passes(tree.tmp, "kill-switch")
    assert _comparison(switch, "trading_state while halted")["after"] == "HALTED"
    assert switch["state_after"]["trading_state"] == "ACTIVE"
    assert tree.status().trading_state == "ACTIVE"


@pytest.mark.timeout(120)
def test_drills_pass_on_a_paper_tree_and_a_ghost_venue_order_fails_them(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """On a paper venue: crash of execution, a hung orchestrator and the kill switch pass (the
    kill switch compares fills and positions while HALTED); then an order planted at the venue
    that execution never wrote makes the next drill exit 1 naming no_lost_orders."""
    tree = tree_factory(PAPER)
    tree.wait_started()
    _started(tree.run_dir)
    deadline = time.monotonic() + 20
    while venue_counts(tree.state_dir).get("FILLED", 0) < 3:
        assert time.monotonic() < deadline, "no fills at the paper venue"
        time.sleep(0.05)
    _passes(tree.tmp, "crash", "--actor", "execution")
    _passes(tree.tmp, "hang", "--actor", "orchestrator")
    switch = _passes(tree.tmp, "kill-switch")
    assert "fills_reflected_in_positions" in switch["invariants_checked"]
    con = sqlite3.connect(tree.state_dir / VENUE_FILE, timeout=10)
    con.execute("INSERT INTO orders (client_order_id, instrument, side, quantity, status, "
                "accepted_at, fill_after) VALUES ('QF-ghost', 'BTC-USD', 'BUY', 1, 'SUBMITTED', "
                "0, 1e12)")
    con.commit()
    con.close()
    code, report, out = _drill(tree.tmp, "crash", "--actor", "orchestrator")
    assert code == 1, out
    assert report["ok"] is False
    assert any(v["invariant"] == "no_lost_orders" and "QF-ghost" in v["detail"]
               for v in report["violations"]), out


@pytest.mark.timeout(90)
def test_a_forged_halts_row_makes_the_drill_fail_naming_the_invariant(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """A halts-store row edited behind the supervisor's back (triggers dropped, as an attacker
    would) makes a drill exit 1, its human report naming halts_verify."""
    tree = tree_factory("")
    tree.wait_started()
    _started(tree.run_dir)
    _passes(tree.tmp, "kill-switch")  # leaves two rows: the halt and the resume
    _tamper(tree.state_dir / HALTS_FILE, ("UPDATE halts SET reason = 'forged' WHERE seq = 1", ()))
    code, _, out = _drill(tree.tmp, "crash", "--actor", "orchestrator", as_json=False)
    assert code == 1, out
    assert "FAILED" in out
    assert "VIOLATED halts_verify" in out


def _report_pids(*reports: dict[str, Any]) -> set[int]:
    pids: set[int] = set()
    for report in reports:
        for key in ("state_before", "state_after"):
            view = report.get(key) or {}
            pids.add(view.get("supervisor_pid", 0))
            pids |= {p for p in view.get("pids", {}).values() if p}
    return pids - {0}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("config_text", ["", PAPER], ids=["shadow", "paper"])
def test_kill_supervisor_drill_passes_when_something_restarts_the_tree(
    tmp_path: Path, config_text: str,
) -> None:
    """With a restarter (Restart=on-failure), SIGKILL of the supervisor takes its children with
    it, a new supervisor comes back with every child beating in the same trading state, and the
    drill exits 0, on the default tree and on a paper one; nothing of either tree is left."""
    restarter = Restarter(tmp_path, config_text)
    report: dict[str, Any] = {}
    try:
        _started(tmp_path / "run")
        code, report, out = _drill(tmp_path, "kill-supervisor")
        assert code == 0, out
        assert report["ok"] is True
        assert _comparison(report, "supervisor pid")["holds"]
        assert _comparison(report, "trading_state")["holds"]
        assert "no_orphans" in report["invariants_checked"]
        assert len(restarter.procs) == 2
    finally:
        restarter.stop()
        assert_gone(restarter.logged_pids() | _report_pids(report))


@pytest.mark.timeout(90)
def test_kill_supervisor_drill_fails_clearly_when_nothing_restarts_the_tree(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """Without a restarter the drill waits --timeout, then exits 1 saying that nothing restarted
    ``quantfund up``; the killed tree's children are gone (no orphans)."""
    tree = tree_factory("")
    tree.wait_started()
    _started(tree.run_dir)
    code, report, out = _drill(tree.tmp, "kill-supervisor", "--timeout", "3")
    assert code == 1, out
    assert "nothing restarted `quantfund up`" in report["failure"]
    assert report["violations"] == []
    assert tree.wait_exit(timeout=10) == -signal.SIGKILL


@pytest.mark.timeout(90)
def test_a_hang_nothing_acts_on_fails_and_the_process_is_continued(
    tree_factory: Callable[..., TreeRun],
) -> None:
    """The heartbeat actor kills only a hung orchestrator: a hung breaker is not replaced, so
    the drill exits 1 after --timeout, says why, and SIGCONTs the breaker, which runs on."""
    tree = tree_factory("")
    tree.wait_started()
    _started(tree.run_dir)
    pid = tree.child_pid("breaker")
    code, report, out = _drill(tree.tmp, "hang", "--actor", "breaker", "--timeout", "3")
    assert code == 1, out
    assert "was not killed within 3.0 s of its SIGSTOP; SIGCONT sent" in report["failure"]
    assert any("kills only a hung 'orchestrator'" in n for n in report["notes"])
    assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
    assert tree.child_pid("breaker") == pid
