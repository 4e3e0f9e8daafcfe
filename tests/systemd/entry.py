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
    dev machines: pyenv); then only those paths are exposed, read-only. Production installs the
    interpreter outside home directories and needs none of this.
    """
    if exec_start is None:
        exec_start = f"{ctx.python} {HARNESS}/notify_service.py"
        env = f"QF_PROBE=1 QF_STATUS=probed {env}"
    home_binds = ctx.params.get("home_binds", [])
    expose = ""
    if home_binds:
        expose = "ProtectHome=tmpfs\nBindReadOnlyPaths=" + " ".join(home_binds) + "\n"
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
