"""Run the requested scenarios against the container's systemd and record what they saw.

This file runs INSIDE the harness container, as the oneshot entry unit baked into the root
filesystem (``/usr/bin/python3 /harness/entry.py``), with the container's own Python (stdlib
only). It reads ``/results/params.json`` (written by ``harness.boot``), runs each named scenario,
writes ``/results/results.json`` after every scenario and per-scenario artifacts under
``/results/<scenario>/``, and exits with the number of failed checks, which becomes the
container's and nspawn's exit status (``SuccessAction=``/``FailureAction=exit``).

A scenario is one function decorated with ``@scenario`` that takes a :class:`Ctx` and records
checks with ``ctx.check(name, ok, detail)``. See tests/systemd/README.md for how to add one.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS = Path("/results")
HARNESS = Path("/harness")
UNIT_DIR = Path("/run/systemd/system")

SCENARIOS: dict[str, Callable[[Ctx], None]] = {}


def scenario(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    """Register ``fn`` under its own name."""
    SCENARIOS[fn.__name__] = fn
    return fn


class Ctx:
    """What a scenario gets: parameters, check recording, and systemd helpers."""

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        self.name = name
        self.params = params
        self.python: str = params["python"]
        self.project = Path(params["project"])
        self.unit_file = Path(params["unit"])
        self.checks: list[dict[str, Any]] = []
        self.dir = RESULTS / name
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- recording ---------------------------------------------------------------------------

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        """Record one assertion; returns ``ok`` so a scenario can stop early."""
        self.checks.append({"name": name, "ok": bool(ok), "detail": str(detail)})
        print(f"[{self.name}] {'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
        return bool(ok)

    def artifact(self, filename: str, text: str) -> None:
        """Keep ``text`` as ``/results/<scenario>/<filename>`` for the host to read."""
        (self.dir / filename).write_text(text)

    # -- commands ----------------------------------------------------------------------------

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command, capturing stdout and stderr separately; never raises on status."""
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def systemctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``systemctl --no-pager ARGS``."""
        return self.run("systemctl", "--no-pager", *args, timeout=timeout)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        """Return ``systemctl show`` properties of ``unit`` as a dict."""
        out = self.systemctl("show", unit, "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float, poll: float = 0.1
    ) -> tuple[bool, float]:
        """Poll ``predicate`` until it holds or ``timeout`` passes; return (held, seconds)."""
        start = time.monotonic()
        while True:
            if predicate():
                return True, time.monotonic() - start
            if time.monotonic() - start > timeout:
                return False, time.monotonic() - start
            time.sleep(poll)

    def install_unit(self, name: str, text: str, dropins: dict[str, str] | None = None) -> None:
        """Write ``name`` (and drop-ins) to /run/systemd/system and reload systemd."""
        UNIT_DIR.mkdir(parents=True, exist_ok=True)
        (UNIT_DIR / name).write_text(text)
        if dropins:
            d = UNIT_DIR / f"{name}.d"
            d.mkdir(exist_ok=True)
            for conf, body in dropins.items():
                (d / conf).write_text(body)
        self.systemctl("daemon-reload")

    def journal(self, unit: str) -> str:
        """Return the unit's journal so far (after a sync, so nothing is still in flight)."""
        self.run("journalctl", "--sync")
        return self.run("journalctl", "--no-pager", "-o", "short-monotonic", "-u", unit).stdout

    def venv_bin(self, script: str) -> str:
        """Path of a console script of the project's venv, e.g. ``venv_bin("quantfund")``."""
        return str(Path(self.python).parent / script)

    def python_env(self) -> str:
        """``Environment=`` lines that make the venv Python import this checkout's code."""
        return (
            f"Environment=PYTHONPATH={self.project} PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1\n"
        )


# -- helpers shared by scenarios -------------------------------------------------------------


def exec_start_binary(unit_text: str) -> str:
    """Return the executable of a unit's (last) ExecStart=, without systemd's prefixes."""
    lines = [ln for ln in unit_text.splitlines() if ln.startswith("ExecStart=") and ln[10:]]
    return shlex.split(lines[-1][len("ExecStart=") :])[0].lstrip("-@:+!")


def stub_exec_start(ctx: Ctx, unit_text: str) -> None:
    """Put an executable stub at the unit's ExecStart path, so verify checks the unit, not the
    installation (the container's overlay is thrown away after the run)."""
    binary = Path(exec_start_binary(unit_text))
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.write_text("#!/bin/sh\nexit 0\n")
        binary.chmod(0o755)
        ctx.artifact("stub.txt", f"stubbed {binary}\n")


def notify_unit(ctx: Ctx, *, env: str = "", extra: str = "") -> str:
    """A small Type=notify service running tests/systemd/notify_service.py on the venv Python.

    WatchdogSec=2 (not the real unit's 5) keeps watchdog scenarios short.
    """
    return f"""\
[Unit]
Description=Quantfund harness: Type=notify service using supervisor/notify.py

[Service]
Type=notify
NotifyAccess=main
ExecStart={ctx.python} {HARNESS}/notify_service.py
{ctx.python_env()}Environment=QF_READY_DELAY=1.0 PYTHONFAULTHANDLER=1 {env}
WatchdogSec=2
Restart=on-failure
RestartSec=100ms
LimitCORE=0
RuntimeDirectory=qf-notify
TimeoutStopSec=10
{extra}"""


def start_notify_unit(ctx: Ctx, env: str = "") -> str | None:
    """Install and start the notify test unit; return its MainPID if it came up active."""
    ctx.install_unit("qf-notify.service", notify_unit(ctx, env=env))
    started = ctx.systemctl("start", "qf-notify.service", timeout=30)
    props = ctx.show("qf-notify.service", "ActiveState", "MainPID", "NRestarts")
    ok = ctx.check(
        "started",
        started.returncode == 0 and props.get("ActiveState") == "active",
        f"rc={started.returncode} {props} {started.stderr.strip()}",
    )
    return props["MainPID"] if ok else None


def await_restart(ctx: Ctx, unit: str, old_pid: str, timeout: float) -> None:
    """Check that ``unit`` was restarted exactly once by its watchdog and came back up."""

    def restarted() -> bool:
        p = ctx.show(unit, "NRestarts", "ActiveState", "MainPID")
        return (
            p.get("NRestarts") == "1"
            and p.get("ActiveState") == "active"
            and (p.get("MainPID") not in ("0", old_pid))
        )

    held, waited = ctx.wait_until(restarted, timeout)
    props = ctx.show(unit, "NRestarts", "ActiveState", "SubState", "MainPID", "Result")
    ctx.check("restarted_once", held, f"after {waited:.1f} s: {props}")
    journal = ctx.journal(unit)
    ctx.artifact("journal.txt", journal)
    ctx.check("journal_says_watchdog_timeout", "Watchdog timeout" in journal, "see journal.txt")
    # PYTHONFAULTHANDLER=1 turns the watchdog's SIGABRT into a stack dump in the journal.
    ctx.check(
        "journal_has_python_stack", "Fatal Python error: Aborted" in journal, "see journal.txt"
    )
    ctx.check("old_pid_gone", not Path(f"/proc/{old_pid}").exists(), f"pid {old_pid}")


# -- scenarios -------------------------------------------------------------------------------


@scenario
def verify_unit(ctx: Ctx) -> None:
    """``systemd-analyze verify`` prints nothing for the unit, alone and with each example
    drop-in (it exits 0 on a misspelled key and only warns: pitfall 7)."""
    unit_text = ctx.unit_file.read_text()
    stub_exec_start(ctx, unit_text)
    # Canary: a misspelled key must be reported, or "prints nothing" would prove nothing.
    canary = Path("/tmp/verify/canary/quantfund.service")
    canary.parent.mkdir(parents=True, exist_ok=True)
    canary.write_text(unit_text.replace("[Service]\n", "[Service]\nWatchdogSecs=5\n", 1))
    done = ctx.run("systemd-analyze", "verify", str(canary))
    ctx.check(
        "canary_misspelling_reported",
        "WatchdogSecs" in done.stdout + done.stderr,
        repr(done.stdout + done.stderr),
    )
    examples = sorted((ctx.unit_file.parent / "examples").glob("*.conf"))
    for dropin in [None, *examples]:
        label = "unit" if dropin is None else f"with_{dropin.stem}"
        work = Path("/tmp/verify") / label
        (work / "quantfund.service.d").mkdir(parents=True, exist_ok=True)
        (work / "quantfund.service").write_text(unit_text)
        if dropin is not None:
            (work / "quantfund.service.d" / dropin.name).write_text(dropin.read_text())
            stub_exec_start(ctx, unit_text + "\n" + dropin.read_text())
        done = ctx.run("systemd-analyze", "verify", str(work / "quantfund.service"))
        output = done.stdout + done.stderr
        ctx.artifact(f"verify-{label}.txt", output)
        ctx.check(
            f"verify_{label}_silent",
            output == "" and done.returncode == 0,
            f"rc={done.returncode} output={output!r}",
        )


@scenario
def security_exposure(ctx: Ctx) -> None:
    """Record ``systemd-analyze security --offline=yes`` for the unit; the host parses it."""
    work = Path("/tmp/security")
    work.mkdir(parents=True, exist_ok=True)
    (work / "quantfund.service").write_text(ctx.unit_file.read_text())
    done = ctx.run(
        "systemd-analyze", "security", "--offline=yes", "--no-pager",
        str(work / "quantfund.service"),
    )  # fmt: skip
    ctx.artifact("security.txt", done.stdout)
    ctx.artifact("security-stderr.txt", done.stderr)
    ctx.check(
        "ran",
        done.returncode == 0 and "Overall exposure level" in done.stdout,
        f"rc={done.returncode}",
    )
    ctx.check("no_warnings", done.stderr == "", repr(done.stderr))


@scenario
def notify_ready_status(ctx: Ctx) -> None:
    """``systemctl start`` returns only after READY=1, and STATUS= shows as StatusText."""
    marker = Path("/run/qf-notify/ready-sent")
    started_at = time.monotonic()
    pid = start_notify_unit(ctx, env="QF_STATUS=serving-harness")
    took = time.monotonic() - started_at
    if pid is None:
        return
    # The service sleeps QF_READY_DELAY=1.0 s, writes the marker, then sends READY=1.
    ctx.check("start_waited_for_ready", took >= 1.0, f"systemctl start took {took:.2f} s")
    ctx.check("ready_marker_written_before_start_returned", marker.exists(), marker)
    props = ctx.show("qf-notify.service", "SubState", "StatusText", "WatchdogUSec", "Type")
    ctx.check("running", props.get("SubState") == "running", props)
    ctx.check("status_text", props.get("StatusText") == "serving-harness", props)
    ctx.check("watchdog_2s", props.get("WatchdogUSec") == "2s", props)
    stopped = ctx.systemctl("stop", "qf-notify.service", timeout=30)
    after = ctx.show("qf-notify.service", "ActiveState", "Result")
    ctx.check(
        "stopped_cleanly", stopped.returncode == 0 and after.get("Result") == "success", after
    )
    ctx.artifact("journal.txt", ctx.journal("qf-notify.service"))


@scenario
def notify_watchdog_sigstop(ctx: Ctx) -> None:
    """SIGSTOP of the main PID stops the pings: watchdog kill, then one restart."""
    pid = start_notify_unit(ctx)
    if pid is None:
        return
    os.kill(int(pid), signal.SIGSTOP)
    await_restart(ctx, "qf-notify.service", pid, timeout=10)
    ctx.systemctl("stop", "qf-notify.service")


@scenario
def notify_tree_not_live(ctx: Ctx) -> None:
    """A short not-live spell only pauses pings (no restart); a long one gets the tree killed.

    The service reads its simulated heartbeat verdict from ``$RUNTIME_DIRECTORY/not-live``; the
    runtime directory is recreated empty on restart, so the new instance is live again.
    """
    pid = start_notify_unit(ctx)
    if pid is None:
        return
    flag = Path("/run/qf-notify/not-live")
    flag.touch()
    time.sleep(0.5)  # well under WatchdogSec=2: pings pause, then resume
    flag.unlink()
    time.sleep(3.0)  # > WatchdogSec: a missed ping would have been fatal by now
    props = ctx.show("qf-notify.service", "NRestarts", "MainPID", "ActiveState")
    ctx.check(
        "short_spell_survived", props.get("NRestarts") == "0" and props.get("MainPID") == pid, props
    )
    flag.touch()
    await_restart(ctx, "qf-notify.service", pid, timeout=10)
    journal = (ctx.dir / "journal.txt").read_text()
    ctx.check(
        "withheld_for_tree_not_live",
        "watchdog_withheld reason=tree_not_live" in journal,
        "see journal.txt",
    )
    ctx.check("pings_resumed_after_spell", "watchdog_resumed" in journal, "see journal.txt")
    ctx.systemctl("stop", "qf-notify.service")


@scenario
def notify_verdict_stale(ctx: Ctx) -> None:
    """When the simulated heartbeat stops reporting, the verdict goes stale and pings stop."""
    pid = start_notify_unit(ctx)
    if pid is None:
        return
    Path("/run/qf-notify/silent").touch()
    await_restart(ctx, "qf-notify.service", pid, timeout=10)
    journal = (ctx.dir / "journal.txt").read_text()
    ctx.check(
        "withheld_for_verdict_stale",
        "watchdog_withheld reason=verdict_stale" in journal,
        "see journal.txt",
    )
    ctx.systemctl("stop", "qf-notify.service")


def hardened_dropin(ctx: Ctx, *, exec_start: str | None = None, env: str = "") -> str:
    """A drop-in for quantfund.service that keeps all its hardening and swaps only ExecStart=.

    Args:
        ctx: the scenario context.
        exec_start: the command to run; by default the notify test service with probes (a
            stand-in for ``quantfund up``). For the real tree pass
            ``f"{ctx.venv_bin('quantfund')} up"``.
        env: extra ``NAME=value`` words for an ``Environment=`` line.

    ProtectHome=yes would hide an interpreter that lives under /root or /home (as it does on the
    dev machines: pyenv), and PrivateTmp=yes a checkout under /tmp (a CI clone); then only those
    paths are exposed, read-only. Production installs under /opt and needs none of this.
    """
    if exec_start is None:
        exec_start = f"{ctx.python} {HARNESS}/notify_service.py"
        env = f"QF_PROBE=1 QF_STATUS=probed {env}"
    home_binds = ctx.params.get("home_binds", [])
    tmp_binds = ctx.params.get("tmp_binds", [])
    expose = ""
    if home_binds:
        expose = "ProtectHome=tmpfs\n"
    if home_binds or tmp_binds:
        # PrivateTmp= and ProtectHome= would hide a checkout or an interpreter living there
        # (a CI clone under /tmp, pyenv under /root): show exactly those paths, read-only.
        expose += "BindReadOnlyPaths=" + " ".join([*home_binds, *tmp_binds]) + "\n"
    extra_env = f"Environment={env}\n" if env.strip() else ""
    return f"[Service]\nExecStart=\nExecStart={exec_start}\n{ctx.python_env()}{extra_env}{expose}"


def start_quantfund(ctx: Ctx, label: str) -> dict[str, str]:
    """Start quantfund.service (as installed by the scenario) and return its properties."""
    # Scenarios start it several times; StartLimitBurst= must not be what they measure.
    ctx.systemctl("reset-failed", "quantfund.service")
    started = ctx.systemctl("start", "quantfund.service", timeout=90)
    props = ctx.show(
        "quantfund.service", "ActiveState", "SubState", "Result", "ExecMainStatus",
        "StatusText", "MainPID", "WatchdogUSec",
    )  # fmt: skip
    props["start_rc"] = str(started.returncode)
    ctx.artifact(f"journal-{label}.txt", ctx.journal("quantfund.service"))
    return props


@scenario
def hardened_unit_runs_python(ctx: Ctx) -> None:
    """The real unit's hardening lets the tree's Python stack run: ctypes prctl, fork and
    forkserver, ZeroMQ ipc+tcp, SQLite WAL in the state directory, msgspec, psutil, telegram
    import; and systemctl stop is clean. Writes the probe report to ``probe.json``."""
    ctx.install_unit(
        "quantfund.service", ctx.unit_file.read_text(), {"50-harness.conf": hardened_dropin(ctx)}
    )
    props = start_quantfund(ctx, "start")
    if not ctx.check("active", props.get("ActiveState") == "active", props):
        return
    ctx.check("status_text", props.get("StatusText") == "probed", props)
    ctx.check("watchdog_5s", props.get("WatchdogUSec") == "5s", props)
    report_path = Path("/var/lib/quantfund/probe.json")
    if ctx.check("probe_report_written", report_path.exists(), report_path):
        report = json.loads(report_path.read_text())
        ctx.artifact("probe.json", json.dumps(report, indent=2))
        for probe, outcome in report["probes"].items():
            if probe.startswith("info_"):  # recorded, not required
                continue
            ctx.check(f"probe_{probe}", outcome["ok"], outcome["detail"])
        ctx.check("runs_as_dynamic_user", report["uid"] != 0, f"uid={report['uid']}")
    stopped = ctx.systemctl("stop", "quantfund.service", timeout=60)
    after = ctx.show("quantfund.service", "ActiveState", "Result")
    ctx.check(
        "stopped_cleanly", stopped.returncode == 0 and after.get("Result") == "success", after
    )
    ctx.check("state_dir_kept", report_path.exists(), "StateDirectory survives a stop")
    ctx.check("runtime_dir_removed", not Path("/run/quantfund").exists(), "RuntimeDirectory")


@scenario
def credential_optional(ctx: Ctx) -> None:
    """The Telegram token credential: absent means start anyway with no token; present in
    /etc/credstore means delivered. With examples/telegram-token-path.conf the token is
    mandatory: a missing /etc/quantfund/telegram-token fails the start (243/CREDENTIALS)."""
    token = "123456:harness-test-token"

    def token_seen() -> str | None:
        report = json.loads(Path("/var/lib/quantfund/probe.json").read_text())
        return report["telegram_token"]  # type: ignore[no-any-return]

    ctx.install_unit(
        "quantfund.service", ctx.unit_file.read_text(), {"50-harness.conf": hardened_dropin(ctx)}
    )
    props = start_quantfund(ctx, "absent")
    if ctx.check("absent_starts", props.get("ActiveState") == "active", props):
        ctx.check("absent_no_token", token_seen() is None, token_seen())
    ctx.systemctl("stop", "quantfund.service")

    store = Path("/etc/credstore")
    store.mkdir(mode=0o700, exist_ok=True)
    (store / "telegram-token").write_text(token + "\n")
    props = start_quantfund(ctx, "credstore")
    if ctx.check("credstore_starts", props.get("ActiveState") == "active", props):
        ctx.check("credstore_token_delivered", token_seen() == token, token_seen())
    ctx.systemctl("stop", "quantfund.service")
    (store / "telegram-token").unlink()

    # The shipped drop-in for a mandatory token at /etc/quantfund/telegram-token: an absolute
    # LoadCredential= path, which systemd 252 makes fatal when the file is missing.
    example = ctx.unit_file.parent / "examples" / "telegram-token-path.conf"
    ctx.install_unit("quantfund.service", ctx.unit_file.read_text(), {
        "50-harness.conf": hardened_dropin(ctx),
        "60-telegram-token-path.conf": example.read_text(),
    })  # fmt: skip
    props = start_quantfund(ctx, "path-missing")
    ctx.artifact("path-missing.txt", json.dumps(props, indent=2))
    ctx.check(
        "path_missing_fails_243",
        props.get("ExecMainStatus") == "243" and props.get("ActiveState") != "active",
        props,
    )
    ctx.systemctl("stop", "quantfund.service")
    ctx.systemctl("reset-failed", "quantfund.service")
    Path("/etc/quantfund").mkdir(exist_ok=True)
    Path("/etc/quantfund/telegram-token").write_text(token + "\n")
    props = start_quantfund(ctx, "path-present")
    if ctx.check("path_present_starts", props.get("ActiveState") == "active", props):
        ctx.check("path_token_delivered", token_seen() == token, token_seen())
    ctx.systemctl("stop", "quantfund.service")


# -- the real tree: `quantfund up` under the project's unit -----------------------------------

QF_UNIT = "quantfund.service"
QF_RUN_DIR = "/run/quantfund"  # RuntimeDirectory=quantfund
QF_STATE_DIR = Path("/var/lib/quantfund")  # StateDirectory=quantfund
START_ORDER = ("journal", "alerter", "heartbeat", "breaker", "execution", "orchestrator")


def install_up(ctx: Ctx) -> None:
    """Install the project's unit with only ExecStart= swapped for this checkout's venv.

    The unit's own ExecStart (/opt/quantfund/.venv/bin/quantfund) does not exist in the
    container; the harness binds the venv at its host path, so the drop-in runs
    ``<venv>/bin/quantfund up``. Every other line of the unit (WatchdogSec=5, KillMode=mixed,
    TimeoutStopSec=30, the sandbox, DynamicUser=) is what is tested, unchanged.
    """
    ctx.install_unit(QF_UNIT, ctx.unit_file.read_text(), {
        "50-harness.conf": hardened_dropin(ctx, exec_start=f"{ctx.venv_bin('quantfund')} up"),
    })  # fmt: skip


def quantfund_cli(ctx: Ctx, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``<venv>/bin/quantfund ARGS --run-dir /run/quantfund`` as root from the entry.

    Root reaches the dynamic user's 0600 admin socket in its 0700 directory (CAP_DAC_OVERRIDE).
    ``--state-dir`` points at a scratch directory so that a ``halt`` the supervisor does not
    answer (exit 3) cannot write into the service's real halts store behind the test's back.
    """
    env = {**os.environ, "PYTHONPATH": str(ctx.project), "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [ctx.venv_bin("quantfund"), *args, "--run-dir", QF_RUN_DIR,
            "--state-dir", "/tmp/qf-cli-state"]  # fmt: skip
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def qf_status(ctx: Ctx) -> dict[str, Any] | None:
    """``quantfund status --json`` of the running tree, or None when it did not answer."""
    done = quantfund_cli(ctx, "status", "--json", "--timeout", "3")
    if done.returncode != 0:
        return None
    try:
        reply: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return None
    return reply


def actor(status: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """One actor's entry of a status reply ({} when absent)."""
    for a in (status or {}).get("actors", []):
        if a.get("name") == name:
            return a  # type: ignore[no-any-return]
    return {}


def wait_status(
    ctx: Ctx, predicate: Callable[[dict[str, Any]], bool], timeout: float, poll: float = 0.2
) -> tuple[dict[str, Any] | None, float]:
    """Poll ``status --json`` until ``predicate`` holds; return (last status, seconds)."""
    last: list[dict[str, Any] | None] = [None]

    def holds() -> bool:
        last[0] = qf_status(ctx)
        return last[0] is not None and predicate(last[0])

    held, waited = ctx.wait_until(holds, timeout, poll)
    return (last[0] if held else None), waited


def unit_cgroup_pids(ctx: Ctx, unit: str) -> tuple[set[int], str]:
    """Every pid in the unit's cgroup (and below), and the cgroup directory read ("" if none).

    The container may see a unified or a hybrid hierarchy; the first that has the unit's
    ControlGroup wins.
    """
    cgroup = ctx.show(unit, "ControlGroup").get("ControlGroup", "")
    if not cgroup:
        return set(), ""
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"):
        d = Path(root + cgroup)
        if (d / "cgroup.procs").exists():
            pids = {int(x) for procs in d.rglob("cgroup.procs") for x in procs.read_text().split()}
            return pids, str(d)
    return set(), ""


def proc_field(pid: int, field: str) -> str | None:
    """A field of ``/proc/<pid>/status`` (e.g. ``PPid``, ``Uid``), None if the pid is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    state = proc_field(pid, "State")
    return state is not None and not state.startswith("Z")


def journal_entries(ctx: Ctx, unit: str) -> list[dict[str, Any]]:
    """The unit's journal as journald's JSON entries (after a sync)."""
    ctx.run("journalctl", "--sync")
    out = ctx.run("journalctl", "--no-pager", "-o", "json", "-u", unit).stdout
    entries = []
    for line in out.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def tree_events(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tree's own JSON log lines (structlog), in journal order."""
    events = []
    for e in entries:
        msg = e.get("MESSAGE")
        if isinstance(msg, str) and msg.startswith("{"):
            try:
                events.append(json.loads(msg))
            except ValueError:
                continue
    return events


def start_up(ctx: Ctx) -> tuple[dict[str, str], str | None]:
    """Install and start the real tree; return its properties and MainPID (None if not up)."""
    install_up(ctx)
    props = start_quantfund(ctx, "start")
    ok = ctx.check(
        "started",
        props.get("start_rc") == "0" and props.get("ActiveState") == "active",
        props,
    )
    return props, (props["MainPID"] if ok else None)


@scenario
def up_starts(ctx: Ctx) -> None:
    """``quantfund up`` under the project's unit: ``systemctl start`` returns only after
    READY=1 (sent once all six children are Ready), StatusText is the supervisor's line, the
    unit's cgroup holds the supervisor, the zygote (and its spare) and six actors, every actor a
    direct child of the supervisor, and ``status --json`` shows six alive."""
    started_at = time.monotonic()
    props, main = start_up(ctx)
    took = time.monotonic() - started_at
    ctx.artifact("props.json", json.dumps(props, indent=2))
    if main is None:
        return
    ctx.check("start_took", True, f"systemctl start took {took:.2f} s")
    ctx.check(
        "status_text",
        props.get("StatusText", "").startswith("trading ACTIVE; 6/6 actors alive"),
        props.get("StatusText"),
    )
    ctx.check("watchdog_5s", props.get("WatchdogUSec") == "5s", props.get("WatchdogUSec"))
    cmdline = Path(f"/proc/{main}/cmdline").read_bytes().split(b"\0")
    ctx.check(
        "main_is_quantfund_up",
        any(a.endswith(b"/quantfund") for a in cmdline) and b"up" in cmdline,
        cmdline,
    )
    # The drop-in swaps only the venv's location: the unit's own command is "<venv>/bin/quantfund
    # up" too, so what runs here is what the unit runs once installed at /opt/quantfund/.venv.
    own = [ln for ln in ctx.unit_file.read_text().splitlines() if ln.startswith("ExecStart=")]
    own_argv = shlex.split(own[-1][len("ExecStart=") :]) if own else []
    ctx.check(
        "unit_exec_start_is_quantfund_up",
        len(own_argv) == 2 and own_argv[0].endswith("/.venv/bin/quantfund") and own_argv[1] == "up",
        own_argv,
    )
    uid = (proc_field(int(main), "Uid") or "0").split()[0]
    ctx.check("runs_as_dynamic_user", uid != "0", f"uid={uid}")
    # READY=1 after every child: the supervisor logs tree_started right before it sends READY=1
    # (with STATUS=), so the write time it stamped must precede journald's receipt of PID 1's
    # "Started" line, and all six child_started lines must come before tree_started.
    entries = journal_entries(ctx, QF_UNIT)
    ctx.artifact("journal.json", "\n".join(json.dumps(e) for e in entries))
    events = tree_events(entries)
    names = [ev.get("event") for ev in events]
    started_children = [ev.get("child") for ev in events if ev.get("event") == "child_started"]
    ctx.check("six_child_started", started_children == list(START_ORDER), started_children)
    ready_at = next(
        (ev.get("timestamp") for ev in events if ev.get("event") == "tree_started"), None
    )
    systemd_started = next(
        (
            int(e["__REALTIME_TIMESTAMP"])
            for e in entries
            if e.get("_PID") == "1" and str(e.get("MESSAGE", "")).startswith("Started ")
        ),
        None,
    )
    if ctx.check(
        "ready_logged_and_started_logged",
        ready_at is not None and systemd_started is not None,
        f"tree_started at {ready_at}, systemd 'Started' at {systemd_started}",
    ):
        ready_us = int(datetime.fromisoformat(str(ready_at)).timestamp() * 1_000_000)
        ctx.check(
            "systemd_started_after_tree_ready",
            ready_us <= int(systemd_started or 0)
            and names.index("tree_started")
            > max(i for i, n in enumerate(names) if n == "child_started"),
            f"tree_started {ready_us} us <= systemd Started {systemd_started} us",
        )
    status = qf_status(ctx)
    ctx.artifact("status.json", json.dumps(status, indent=2))
    if not ctx.check("status_answers", status is not None, "quantfund status --json"):
        return
    assert status is not None
    actors = status.get("actors", [])
    ctx.check(
        "status_six_alive",
        [a["name"] for a in actors] == list(START_ORDER) and all(a["alive"] for a in actors),
        [(a["name"], a["pid"], a["alive"]) for a in actors],
    )
    ctx.check(
        "status_supervisor_is_main_pid",
        str(status["supervisor"]["pid"]) == main,
        f"status pid {status['supervisor']['pid']} MainPID {main}",
    )
    pids, cgdir = unit_cgroup_pids(ctx, QF_UNIT)
    actor_pids = {a["pid"] for a in actors if a["pid"]}
    ctx.artifact("cgroup.txt", f"{cgdir}\n" + "\n".join(
        f"{p} ppid={proc_field(p, 'PPid')} name={proc_field(p, 'Name')}" for p in sorted(pids)
    ))  # fmt: skip
    ctx.check(
        "cgroup_holds_tree",
        len(pids) >= 8 and int(main) in pids and actor_pids <= pids and len(actor_pids) == 6,
        f"{len(pids)} pids in {cgdir}: {sorted(pids)}; actors {sorted(actor_pids)}",
    )
    ppids = {p: proc_field(p, "PPid") for p in actor_pids}
    ctx.check(
        "actors_are_children_of_supervisor",
        all(pp == main for pp in ppids.values()),
        ppids,
    )
    others = pids - actor_pids - {int(main)}
    ctx.check(
        "zygote_in_cgroup",
        any(proc_field(p, "PPid") == main for p in others),
        {p: proc_field(p, "PPid") for p in others},
    )
    ctx.systemctl("stop", QF_UNIT, timeout=60)


@scenario
def up_sigkill_actor(ctx: Ctx) -> None:
    """SIGKILL of one actor (breaker): the supervisor restarts it (new pid, restarts=1, a direct
    child again); systemd does not (MainPID unchanged, NRestarts=0 after more than
    WatchdogSec)."""
    _props, main = start_up(ctx)
    if main is None:
        return
    victim = "breaker"
    before = qf_status(ctx)
    old = actor(before, victim).get("pid")
    if not ctx.check("victim_pid_known", isinstance(old, int), actor(before, victim)):
        return
    assert isinstance(old, int)
    killed_at = time.monotonic()
    os.kill(old, signal.SIGKILL)
    after, waited = wait_status(
        ctx,
        lambda s: (
            actor(s, victim).get("alive") is True and actor(s, victim).get("pid") not in (None, old)
        ),
        timeout=15,
    )
    ctx.check("restarted_by_supervisor", after is not None, f"after {waited:.2f} s")
    if after is None:
        return
    new = actor(after, victim)
    ctx.check("restart_counted", new.get("restarts") == 1, new)
    ctx.check("new_pid_child_of_supervisor", proc_field(new["pid"], "PPid") == main, new["pid"])
    ctx.check("old_pid_gone", not pid_alive(old), f"pid {old}")
    # Past WatchdogSec=5: had the tree stopped pinging, systemd would have restarted it by now.
    time.sleep(max(0.0, 7.0 - (time.monotonic() - killed_at)))
    check_not_restarted(ctx, main)
    final = qf_status(ctx)
    ctx.artifact("status.json", json.dumps(final, indent=2))
    ctx.check(
        "six_alive",
        final is not None and all(a["alive"] for a in final["actors"]),
        [(a["name"], a["pid"], a["alive"]) for a in (final or {}).get("actors", [])],
    )
    events = tree_events(journal_entries(ctx, QF_UNIT))
    ctx.artifact("journal.txt", ctx.journal(QF_UNIT))
    ctx.check(
        "journal_child_terminated_killed",
        any(
            ev.get("event") == "child_terminated"
            and ev.get("child") == victim
            and ev.get("child_pid") == old
            and ev.get("reason") == "killed"
            for ev in events
        ),
        "see journal.txt",
    )
    ctx.systemctl("stop", QF_UNIT, timeout=60)


def check_not_restarted(ctx: Ctx, main: str) -> None:
    """systemd left the unit alone: same MainPID, NRestarts=0, still active."""
    props = ctx.show(QF_UNIT, "MainPID", "NRestarts", "ActiveState")
    ctx.check(
        "systemd_did_not_restart",
        props.get("MainPID") == main
        and props.get("NRestarts") == "0"
        and props.get("ActiveState") == "active",
        props,
    )


def drill(ctx: Ctx, *args: str) -> tuple[int, dict[str, Any], str]:
    """``quantfund drill ARGS --json`` as root against the service's real run and state dirs."""
    env = {**os.environ, "PYTHONPATH": str(ctx.project), "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [ctx.venv_bin("quantfund"), "drill", *args, "--json", "--timeout", "60",
            "--run-dir", QF_RUN_DIR, "--state-dir", str(QF_STATE_DIR)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=150, check=False, env=env)
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        report = {}
    return done.returncode, report, done.stdout + done.stderr


@scenario
def up_drills(ctx: Ctx) -> None:
    """The drills against the real tree under the project's unit: a crash of execution and the
    kill switch pass; kill-supervisor passes because systemd (Restart=on-failure) restarts the
    SIGKILLed supervisor: NRestarts=1, a new MainPID, the unit active again."""
    _props, main = start_up(ctx)
    if main is None:
        return
    serving, waited = wait_status(
        ctx, lambda s: all(a.get("alive") and a.get("last_heartbeat_age_s") is not None
                           for a in s.get("actors", [])), timeout=30)
    if not ctx.check("all_serving", serving is not None, f"after {waited:.2f} s"):
        return
    for args in (("crash", "--actor", "execution"), ("kill-switch",), ("kill-supervisor",)):
        code, report, text = drill(ctx, *args)
        ctx.artifact(f"drill-{args[0]}.txt", text)
        ctx.check(f"drill_{args[0].replace('-', '_')}_passes",
                  code == 0 and report.get("ok") is True,
                  f"exit {code}, violations {report.get('violations')}, notes "
                  f"{report.get('notes')}; see drill-{args[0]}.txt")
    props = ctx.show(QF_UNIT, "MainPID", "NRestarts", "ActiveState")
    ctx.check("systemd_restarted_the_supervisor",
              props.get("NRestarts") == "1" and props.get("MainPID") not in (None, "0", main)
              and props.get("ActiveState") == "active", props)
    ctx.systemctl("stop", QF_UNIT, timeout=60)


POSITION_KEYS = ("cash", "fills", "orders")


def book_of(status: dict[str, Any] | None) -> dict[str, Any]:
    """What execution loaded at its last start: positions, cash, fills, orders by status."""
    restored = actor(status, "execution").get("restored", {})
    return {
        k: v for k, v in restored.items()
        if k in POSITION_KEYS or k.startswith(("pos:", "orders:"))
    }  # fmt: skip


@scenario
def up_sigstop_supervisor(ctx: Ctx) -> None:
    """SIGSTOP of the supervisor (MainPID): systemd's watchdog kills the whole tree and
    restarts it (NRestarts=1, new MainPID), and it comes back with the positions and the
    trading state it had: halted before the restart, halted after it.

    Positions: after the halt nothing trades, so execution's persisted book is final; a SIGKILL
    of execution makes it reload that book (its ``restored``) before the supervisor is stopped;
    the restarted tree's execution must load the same book."""
    _props, main = start_up(ctx)
    if main is None:
        return
    time.sleep(3.0)  # let the strategy trade, so there are positions to keep
    halt = quantfund_cli(ctx, "halt", "--reason", "test", "--json")
    ctx.artifact("halt.txt", f"rc={halt.returncode}\n{halt.stdout}\n{halt.stderr}")
    if not ctx.check("halted", halt.returncode == 0, f"rc={halt.returncode} {halt.stdout}"):
        return
    halted, _ = wait_status(
        ctx,
        lambda s: (
            s["trading_state"] == "HALTED"
            and all(a.get("trading_state_seq") == s["trading_state_seq"] for a in s["actors"])
        ),
        timeout=10,
    )
    ctx.check("halt_acknowledged_by_every_actor", halted is not None, halted)
    time.sleep(1.0)
    old_exec = actor(halted, "execution").get("pid")
    if isinstance(old_exec, int):
        os.kill(old_exec, signal.SIGKILL)
    before, _ = wait_status(
        ctx,
        lambda s: (
            actor(s, "execution").get("alive") is True
            and actor(s, "execution").get("pid") not in (None, old_exec)
        ),
        timeout=15,
    )
    ctx.artifact("status-before.json", json.dumps(before, indent=2))
    if not ctx.check("execution_reloaded_book", before is not None, "after SIGKILL"):
        return
    assert before is not None
    book = book_of(before)
    ctx.check(
        "had_positions",
        any(k.startswith("pos:") and v for k, v in book.items()) or book.get("fills", 0) > 0,
        book,
    )
    props = ctx.show(QF_UNIT, "MainPID", "NRestarts")
    ctx.check("no_restart_yet", props == {"MainPID": main, "NRestarts": "0"}, props)
    old_pids, _ = unit_cgroup_pids(ctx, QF_UNIT)
    stopped_at = time.monotonic()
    os.kill(int(main), signal.SIGSTOP)
    await_restart(ctx, QF_UNIT, main, timeout=40)
    ctx.check("restart_took", True, f"{time.monotonic() - stopped_at:.1f} s after SIGSTOP")
    ctx.check(
        "whole_old_tree_killed",
        not any(pid_alive(p) for p in old_pids),
        [p for p in old_pids if pid_alive(p)],
    )
    after, _ = wait_status(ctx, lambda s: all(a["alive"] for a in s["actors"]), timeout=15)
    ctx.artifact("status-after.json", json.dumps(after, indent=2))
    if not ctx.check("status_after_restart", after is not None, "status --json answers"):
        return
    assert after is not None
    ctx.check(
        "halted_after_restart",
        after["trading_state"] == "HALTED"
        and after["trading_state_seq"] == before["trading_state_seq"],
        f"before {before['trading_state']}#{before['trading_state_seq']} "
        f"after {after['trading_state']}#{after['trading_state_seq']}",
    )
    ctx.check("positions_restored", book_of(after) == book, f"before {book} after {book_of(after)}")
    text = ctx.show(QF_UNIT, "StatusText").get("StatusText", "")
    ctx.check("status_text_halted", text.startswith("trading HALTED"), text)
    ctx.check("state_dir_kept", (QF_STATE_DIR / "halts.sqlite").exists(), QF_STATE_DIR)
    ctx.systemctl("stop", QF_UNIT, timeout=60)


@scenario
def up_sigstop_orchestrator(ctx: Ctx) -> None:
    """SIGSTOP of the orchestrator: the heartbeat actor sees it stop progressing and kills it,
    the supervisor restarts it (new pid), the tree is live again, and systemd never steps in
    (MainPID unchanged, NRestarts=0, 10 s after the stop: twice WatchdogSec)."""
    _props, main = start_up(ctx)
    if main is None:
        return
    old = actor(qf_status(ctx), "orchestrator").get("pid")
    if not ctx.check("orchestrator_pid_known", isinstance(old, int), old):
        return
    assert isinstance(old, int)
    stopped_at = time.monotonic()
    os.kill(old, signal.SIGSTOP)
    back, waited = wait_status(
        ctx,
        lambda s: (
            actor(s, "orchestrator").get("alive") is True
            and actor(s, "orchestrator").get("pid") not in (None, old)
            and str(s["supervisor"]["pid"]) == main
        ),
        timeout=12,
    )
    ctx.check(
        "orchestrator_killed_and_back", back is not None,
        f"new pid {actor(back, 'orchestrator').get('pid')} after {waited:.2f} s",
    )  # fmt: skip
    ctx.check("old_orchestrator_gone", not pid_alive(old), f"pid {old} {proc_field(old, 'State')}")
    time.sleep(max(0.0, 10.0 - (time.monotonic() - stopped_at)))
    check_not_restarted(ctx, main)
    final = qf_status(ctx)
    ctx.artifact("status.json", json.dumps(final, indent=2))
    ctx.check(
        "tree_live_again",
        final is not None
        and final["supervisor"]["tree_live"] is True
        and all(a["alive"] for a in final["actors"]),
        (final or {}).get("supervisor"),
    )
    ctx.artifact("journal.txt", ctx.journal(QF_UNIT))
    events = tree_events(journal_entries(ctx, QF_UNIT))
    actions = [
        ev.get("action") for ev in events
        if ev.get("event") == "heartbeat_action" and ev.get("target") == "orchestrator"
        and ev.get("target_pid") == old
    ]  # fmt: skip
    ctx.check(
        "killed_by_heartbeat_actor",
        any(a in ("sigterm", "sigkill") for a in actions),
        f"heartbeat_action for pid {old}: {actions}",
    )
    ctx.check(
        "supervisor_saw_it_killed",
        any(
            ev.get("event") == "child_terminated"
            and ev.get("child") == "orchestrator"
            and ev.get("child_pid") == old
            and ev.get("reason") == "killed"
            for ev in events
        ),
        "see journal.txt",
    )
    if pid_alive(old):  # leave no stopped process behind for the stop
        os.kill(old, signal.SIGCONT)
    ctx.systemctl("stop", QF_UNIT, timeout=60)


@scenario
def up_stop_drains(ctx: Ctx) -> None:
    """``systemctl stop``: the supervisor drains right to left (orchestrator first, journal
    last, each reason=shutdown), exits 0 well inside TimeoutStopSec=30 (Result=success), systemd
    has nothing left to SIGKILL, and the unit's cgroup is empty."""
    _props, main = start_up(ctx)
    if main is None:
        return
    time.sleep(1.0)
    pids, cgdir = unit_cgroup_pids(ctx, QF_UNIT)
    stop_at = time.monotonic()
    stopped = ctx.systemctl("stop", QF_UNIT, timeout=60)
    took = time.monotonic() - stop_at
    props = ctx.show(
        QF_UNIT, "ActiveState", "Result", "ExecMainCode", "ExecMainStatus", "NRestarts"
    )
    ctx.check("stop_rc", stopped.returncode == 0, f"rc={stopped.returncode} {stopped.stderr}")
    # systemd 252 zeroes ExecMainCode= once the unit is dead, so exit 0 is read from
    # ExecMainStatus=0 with Result=success (exit non-zero: "exit-code"; killed: "signal",
    # "timeout") and systemd's own "Deactivated successfully." line.
    journal = ctx.journal(QF_UNIT)
    ctx.artifact("journal.txt", journal)
    ctx.check(
        "result_success_exit_0",
        props.get("Result") == "success"
        and props.get("ExecMainStatus") == "0"
        and props.get("ActiveState") == "inactive"
        and "Deactivated successfully" in journal,
        props,
    )
    ctx.check("stopped_well_inside_timeout", took < 15.0, f"{took:.2f} s (TimeoutStopSec=30)")
    events = tree_events(journal_entries(ctx, QF_UNIT))
    terminated = [ev for ev in events if ev.get("event") == "child_terminated"]
    ctx.check(
        "drained_right_to_left",
        [ev.get("child") for ev in terminated] == list(reversed(START_ORDER)),
        [ev.get("child") for ev in terminated],
    )
    ctx.check(
        "every_child_reason_shutdown",
        len(terminated) == 6 and all(ev.get("reason") == "shutdown" for ev in terminated),
        [(ev.get("child"), ev.get("reason"), ev.get("exit_status")) for ev in terminated],
    )
    exits = [ev for ev in events if ev.get("event") == "supervisor_exit"]
    ctx.check(
        "supervisor_exit_clean",
        len(exits) == 1 and exits[0].get("exit_status") == 0 and exits[0].get("clean") is True,
        exits,
    )
    ctx.check("stopping_notified", "tree_stopping" in [ev.get("event") for ev in events], "")
    killing = [ln for ln in journal.splitlines() if "Killing process" in ln or "SIGKILL" in ln]
    ctx.check("nothing_left_for_systemd_to_kill", not killing, killing)
    left, _ = unit_cgroup_pids(ctx, QF_UNIT)
    ctx.check(
        "cgroup_empty",
        not left and not any(pid_alive(p) for p in pids),
        f"{cgdir}: left {sorted(left)}; alive {[p for p in pids if pid_alive(p)]}",
    )
    ctx.check("runtime_dir_removed", not Path(QF_RUN_DIR).exists(), QF_RUN_DIR)


# -- main ------------------------------------------------------------------------------------


def preflight(params: dict[str, Any]) -> str | None:
    """Return why the venv Python cannot run here, or None if it imports supervisor.notify."""
    done = subprocess.run(
        [params["python"], "-c", "import supervisor.notify"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": params["project"], "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    if done.returncode == 0:
        return None
    return f"{params['python']} cannot import supervisor.notify: {done.stderr.strip()[-2000:]}"


def main() -> int:
    """Run every requested scenario, saving results after each; return the failure count."""
    params = json.loads((RESULTS / "params.json").read_text())
    hosts = Path("/etc/hosts")
    if not hosts.exists():  # debootstrap's minbase ships none; every real host has one
        hosts.write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
    results: dict[str, Any] = {"scenarios": {}}
    failures = 0
    broken = preflight(params)
    for name in params["scenarios"]:
        started = time.monotonic()
        ctx = Ctx(name, params)
        error = broken
        fn = SCENARIOS.get(name)
        if error is None and fn is None:
            error = f"no scenario named {name!r}; known: {sorted(SCENARIOS)}"
        if error is None and fn is not None:
            try:
                fn(ctx)
            except Exception:  # one scenario's crash must not hide the others
                error = traceback.format_exc()
        if error is not None:
            print(f"[{name}] ERROR {error}", flush=True)
        failures += (error is not None) + sum(not c["ok"] for c in ctx.checks)
        results["scenarios"][name] = {
            "checks": ctx.checks,
            "error": error,
            "seconds": round(time.monotonic() - started, 2),
        }
        tmp = RESULTS / "results.json.tmp"
        tmp.write_text(json.dumps(results, indent=2))
        tmp.replace(RESULTS / "results.json")
    return min(failures, 200)


if __name__ == "__main__":
    sys.exit(main())
