"""A real Prometheus scrapes a running tree: figures read back through its query API, the
example rules (docs/prometheus/) loaded and checked by promtool, a halt seen within two scrapes.

Skips when Debian's ``prometheus`` package (``prometheus`` and ``promtool``) is not installed,
unless ``QUANTFUND_PROMETHEUS_REQUIRED=1`` (CI: ``.ci/run`` installs it and sets that).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from supervisor.admin_messages import CommandReply, HaltRequest
from supervisor.client import request
from tests.support.prometheus import REQUIRED_ENV, PrometheusRun, binaries, free_port
from tests.support.tree import TreeRun

RULES = Path(__file__).parents[2] / "docs" / "prometheus" / "quantfund-rules.yml"
INTERVAL_S = 1.0
ALERTS = {"QuantfundTargetDown", "QuantfundTreeNotLive", "QuantfundHalted", "QuantfundPaused",
          "QuantfundDrawdownNearLimit", "QuantfundAlertOutboxStuck", "QuantfundFeedStale",
          "QuantfundActorRestarting"}

# Buys only, and a position limit of 3: a few fills, then every intent refused by the gate
# with its typed reason (max_position).
TREE = """
[metrics]
listen = "127.0.0.1:{port}"
[execution]
broker = "paper"
paper_latency_s = 0.02
[execution.gate]
max_position = 3.0
[orchestrator]
interval_s = 0.05
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 1
quantity = 1.0
side = "BUY"
[orchestrator.feed]
instruments = ["BTC-USD"]
"""


@pytest.fixture
def tools() -> tuple[str, str]:
    """``prometheus`` and ``promtool``, or a skip (a failure when they are required)."""
    found = binaries()
    if isinstance(found, str):
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{REQUIRED_ENV}=1 but {found}")
        pytest.skip(found)
    return found


@pytest.fixture
def prometheus(tmp_path: Path, tools: tuple[str, str]) -> Iterator[Callable[[str],
                                                                         PrometheusRun]]:
    """Start Prometheus on a target; it is killed (and its group gone) at the end."""
    runs: list[PrometheusRun] = []

    def start(target: str) -> PrometheusRun:
        (tmp_path / "prom").mkdir()
        run = PrometheusRun(tools[0], tmp_path / "prom", target, RULES, INTERVAL_S)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.stop()
        assert run.proc.poll() is not None


def test_promtool_accepts_the_example_rules(tools: tuple[str, str]) -> None:
    """The rules file parses and every expression is valid PromQL (promtool check rules)."""
    done = subprocess.run([tools[1], "check", "rules", str(RULES)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


def test_promtool_accepts_the_example_scrape_config(tools: tuple[str, str]) -> None:
    """docs/prometheus/prometheus.example.yml is a valid config whose rule file loads."""
    example = RULES.parent / "prometheus.example.yml"
    done = subprocess.run([tools[1], "check", "config", str(example)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


def test_promtool_unit_tests_of_the_rules_pass(tools: tuple[str, str]) -> None:
    """Each example alert fires on the series it is for, with its labels and text, and not
    before (``promtool test rules`` over docs/prometheus/quantfund-rules.test.yml)."""
    done = subprocess.run([tools[1], "test", "rules", RULES.with_suffix(".test.yml").name],
                          capture_output=True, text=True, timeout=60, check=False,
                          cwd=RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _first_halted_at(prom: PrometheusRun) -> float:
    """Prometheus's timestamp of the first scrape that read HALTED = 1 (last 60 s)."""
    result = prom.query('quantfund_trading_state{state="HALTED"}[60s]')
    assert len(result) == 1, result
    return min(float(ts) for ts, value in result[0]["values"] if value == "1")


def _wait_alert(prom: PrometheusRun, name: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alerts = prom.api("alerts")["alerts"]
        if any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts):
            return
        time.sleep(0.2)
    raise AssertionError(f"alert {name} not firing after {timeout} s: {alerts}")


def test_prometheus_scrapes_the_tree_and_sees_a_halt_within_two_scrapes(
    tree_factory: Callable[..., TreeRun], prometheus: Callable[[str], PrometheusRun],
    tools: tuple[str, str],
) -> None:
    """Trading state, fills and rejections by reason, restarts, latency histograms: queried
    back from Prometheus; a halt is in the first or second scrape after it, and the example
    QuantfundHalted rule fires."""
    port = free_port()
    tree = tree_factory(TREE.format(port=port))
    tree.wait_started()
    prom = prometheus(f"127.0.0.1:{port}")
    checked = subprocess.run([tools[1], "check", "config", str(prom.config)],
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    prom.wait_ready()

    rules = {r["name"] for g in prom.api("rules")["groups"] for r in g["rules"]}
    assert rules == ALERTS
    prom.wait_value('up{job="quantfund"}', 1.0)
    prom.wait_value('quantfund_trading_state{state="ACTIVE"}', 1.0)
    prom.wait_value("quantfund_tree_live", 1.0)
    prom.wait_value('quantfund_fills_total{instrument="BTC-USD",side="BUY"}', 3.0)
    prom.wait_value('quantfund_position{instrument="BTC-USD"}', 3.0)
    prom.wait_value('quantfund_orders_rejected_total{code="max_position"} > bool 0', 1.0)
    prom.wait_value("quantfund_tick_to_order_seconds_count >= bool 3", 1.0)
    prom.wait_value("sum(quantfund_bus_lag_seconds_count) > bool 0", 1.0)
    prom.wait_value('quantfund_actor_heartbeat_age_seconds{actor="orchestrator"} < bool 5', 1.0)

    os.kill(tree.child_pid("breaker"), signal.SIGKILL)
    prom.wait_value('quantfund_actor_restarts_total{actor="breaker"}', 1.0)
    prom.wait_value('quantfund_actor_exits_total{actor="breaker",reason="killed"}', 1.0)
    prom.wait_value('quantfund_actor_up{actor="breaker"}', 1.0)
    assert prom.scalar("quantfund_restart_intensity_limit") == 10.0

    halted_at = time.time()
    reply = request(tree.run_dir, HaltRequest(reason="prometheus test", who="pytest"),
                    timeout_s=5)
    assert isinstance(reply, CommandReply), reply
    prom.wait_value('quantfund_trading_state{state="HALTED"}', 1.0, timeout=10)
    assert prom.scalar('quantfund_trading_state{state="ACTIVE"}') == 0.0
    seen_after = _first_halted_at(prom) - halted_at
    assert seen_after <= 2 * INTERVAL_S, f"HALTED first scraped {seen_after:.3f} s after"
    prom.wait_value('quantfund_trading_state_changes_total{state="HALTED",source="operator"}',
                    1.0)
    prom.wait_value('quantfund_trading_state_ack_seconds_count{state="HALTED"}', 1.0)
    _wait_alert(prom, "QuantfundHalted")
