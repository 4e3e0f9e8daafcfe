"""Supervision matrix on real processes: restart type x exit reason, strategies, start timeout,
shutdown budget, restart intensity (OTP semantics, DESIGN.md section 1)."""

from __future__ import annotations

import os
import signal

import pytest

from tests.support.tree import assert_gone

PROBE = "tests.support.probe:ProbeActor"


def _config(strategy: str = "one_for_one", children: dict[str, str] | None = None,
            intensity: int = 10, extra: str = "") -> str:
    children = children or {"a": "permanent", "b": "transient", "c": "temporary"}
    names = ", ".join(f'"{n}"' for n in children)
    text = (f'[supervisor]\nchildren = [{names}]\nstrategy = "{strategy}"\n'
            f"intensity = {intensity}\nperiod_s = 30\n")
    for name, restart in children.items():
        text += f'[children.{name}]\nactor = "{PROBE}"\nrestart = "{restart}"\nshutdown_s = 2\n'
    return text + extra


# exit reason -> how to cause it; OTP restarts: permanent always, transient unless normal,
# temporary never.
CAUSES = {"normal": signal.SIGUSR1, "crashed": signal.SIGUSR2, "killed": signal.SIGKILL}
EXPECTED = {
    ("permanent", "normal"): True, ("permanent", "crashed"): True, ("permanent", "killed"): True,
    ("transient", "normal"): False, ("transient", "crashed"): True, ("transient", "killed"): True,
    ("temporary", "normal"): False, ("temporary", "crashed"): False, ("temporary", "killed"): False,
}


@pytest.mark.parametrize("reason", list(CAUSES))
def test_restart_type_by_exit_reason(tree_factory, reason: str) -> None:
    """Each restart type is restarted, or not, per OTP for normal, crashed and killed exits."""
    tree = tree_factory(_config())
    tree.wait_started()
    for name, restart in (("a", "permanent"), ("b", "transient"), ("c", "temporary")):
        mark = tree.mark()
        pid = tree.child_pid(name)
        os.kill(pid, CAUSES[reason])
        term = tree.wait_for("child_terminated", lambda ln, n=name: ln["child"] == n, after=mark)
        assert term["reason"] == reason
        if EXPECTED[(restart, reason)]:
            started = tree.wait_for(
                "child_started", lambda ln, n=name: ln["child"] == n, after=mark
            )
            assert started["child_pid"] != pid
        else:
            tree.wait_for("child_not_restarted", lambda ln, n=name: ln["child"] == n, after=mark)
            status = {a.name: a for a in tree.status().actors}
            assert not status[name].alive


def _pids(tree) -> dict[str, int | None]:
    return {a.name: a.pid for a in tree.status().actors}


@pytest.mark.parametrize(
    ("strategy", "changed"),
    [("one_for_one", {"b"}), ("one_for_all", {"a", "b", "c"}), ("rest_for_one", {"b", "c"})],
)
def test_strategies_restart_the_right_siblings(tree_factory, strategy: str, changed: set) -> None:
    """Killing the middle child restarts it alone, all three, or it and those after it."""
    children = {"a": "permanent", "b": "permanent", "c": "permanent"}
    tree = tree_factory(_config(strategy, children))
    tree.wait_started()
    before = _pids(tree)
    mark = tree.mark()
    os.kill(before["b"], signal.SIGKILL)
    for name in sorted(changed):
        tree.wait_for("child_started", lambda ln, n=name: ln["child"] == n, after=mark)
    after = _pids(tree)
    assert {n for n in before if before[n] != after[n]} == changed
    if strategy != "one_for_one":
        # Siblings were stopped in reverse start order, then everything restarted in order.
        starts = [ln["child"] for ln in tree.events("child_started")[3:]]
        assert starts == sorted(changed)


def test_child_that_never_sends_ready_fails_the_start(tree_factory) -> None:
    """A child hanging before Ready is killed at its start timeout; the tree exits non-zero."""
    extra = '[children.b.args]\nnever_ready = true\n'
    text = _config(children={"a": "permanent", "b": "permanent", "c": "permanent"}, extra=extra)
    text = text.replace('[children.b]\n', '[children.b]\nstart_timeout_s = 1.0\n')
    tree = tree_factory(text)
    line = tree.wait_for("start_error", lambda ln: ln["child"] == "b")
    assert line["reason"] == "no Ready in time"
    assert tree.wait_exit() == 1
    assert not tree.events("child_started") or all(
        ln["child"] == "a" for ln in tree.events("child_started")
    )
    assert_gone(tree.logged_pids())


def test_child_that_ignores_its_drain_is_killed_after_its_budget(tree_factory) -> None:
    """shutdown_s is a budget: a child that never drains is SIGKILLed; the exit is non-zero."""
    extra = '[children.c.args]\nignore_drain = true\n'
    text = _config(children={"a": "permanent", "b": "permanent", "c": "permanent"}, extra=extra)
    text = text.replace('[children.c]\nactor = "tests.support.probe:ProbeActor"\nrestart = '
                        '"permanent"\nshutdown_s = 2\n',
                        '[children.c]\nactor = "tests.support.probe:ProbeActor"\nrestart = '
                        '"permanent"\nshutdown_s = 0.5\n')
    tree = tree_factory(text)
    tree.wait_started()
    tree.signal(signal.SIGTERM)
    assert tree.wait_exit() == 1
    err = tree.wait_for("shutdown_error")
    assert err["child"] == "c"
    assert err["budget_s"] == 0.5
    terms = {ln["child"]: ln for ln in tree.events("child_terminated")}
    assert terms["c"]["reason"] == "killed"
    assert terms["a"]["reason"] == terms["b"]["reason"] == "shutdown"
    assert [ln["child"] for ln in tree.events("child_terminated")] == ["c", "b", "a"]


def test_restart_intensity_exceeded_halts_trading_stops_children_exits_non_zero(
    tree_factory,
) -> None:
    """A child crashing in a loop: after `intensity` restarts the supervisor gives up."""
    extra = '[children.b.args]\ncrash_after_s = 0.05\n'
    text = _config(children={"a": "permanent", "b": "permanent"}, intensity=3, extra=extra)
    text = text.replace("backoff", "backoff")
    tree = tree_factory(text)
    assert tree.wait_exit(timeout=60) == 1
    tree.wait_for("reached_max_restart_intensity")
    halted = tree.wait_for("trading_state_changed")
    assert halted["state"] == "HALTED"
    assert halted["source"] == "supervisor"
    starts_b = [ln for ln in tree.events("child_started") if ln["child"] == "b"]
    assert len(starts_b) == 1 + 3  # the first start and exactly `intensity` restarts
    assert tree.events("child_terminated")[-1]["child"] == "a"
    assert_gone(tree.logged_pids())
