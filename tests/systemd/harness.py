"""Boot a real systemd 252 in a throwaway nspawn container and run named scenarios inside it.

The recipe is the one measured in ``systemd-in-a-container.md``: a Debian bookworm ``minbase``
root filesystem built once by debootstrap and cached under ``/var/tmp`` (keyed by a version
string), booted with ``--volatile=overlay`` so runs never change it and can share it, one oneshot
entry unit that runs ``/harness/entry.py`` and makes the container exit with its status, and a
results directory bind-mounted at ``/results``. The project, its virtual environment and the
interpreter the environment points to are bind-mounted read-only at the paths they have on the
host, so services inside run this checkout's code with this checkout's Python.

Use from pytest (``tests/systemd/test_unit.py``) or by hand::

    python -m tests.systemd.harness prepare            # install tools, build/cache the rootfs
    python -m tests.systemd.harness run verify_unit    # boot once, print the results

Everything that can be missing (root, namespaces, cgroups, ``systemd-nspawn``, ``debootstrap``)
raises :class:`HarnessUnavailable` with the reason, which the tests turn into a skip.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HARNESS_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = HARNESS_DIR.parents[1]
UNIT_PATH = PROJECT_ROOT / "systemd" / "quantfund.service"

SUITE = "bookworm"
ROOTFS_PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "procps")
# Bump when the build recipe below changes in a way the hash cannot see.
ROOTFS_RECIPE = 1
CACHE_DIR = Path(os.environ.get("QUANTFUND_SYSTEMD_CACHE", "/var/tmp/quantfund-systemd-rootfs"))
# Host command -> Debian package that provides it.
HOST_TOOLS = {"systemd-nspawn": "systemd-container", "debootstrap": "debootstrap"}

ENTRY_UNIT_NAME = "quantfund-harness-entry.service"
# SuccessAction=/FailureAction= must sit in [Unit] (pitfall 1): in [Service] SuccessAction is an
# unknown key and the container never exits. The entry's exit status becomes nspawn's.
ENTRY_UNIT = """\
[Unit]
Description=Quantfund systemd harness entry (/harness/entry.py)
After=multi-user.target
SuccessAction=exit
FailureAction=exit

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /harness/entry.py
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
"""

# Paths a read-only bind must never cover: they would replace the container's own OS.
_SYSTEM_DIRS = frozenset(
    Path(p)
    for p in (
        "/", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/var", "/run", "/tmp",
        "/proc", "/sys", "/dev", "/boot", "/opt", "/home", "/root",
    )
)  # fmt: skip


class HarnessUnavailable(Exception):
    """This machine cannot boot the harness container; the message says why."""


# -- host preparation ------------------------------------------------------------------------


def rootfs_version() -> str:
    """Return the cache key of the root filesystem: suite, packages, recipe and entry unit.

    Returns:
        A directory name such as ``bookworm-minbase-1-3f2a9c0d1e2b``.
    """
    digest = hashlib.sha256(
        "\n".join([SUITE, *ROOTFS_PACKAGES, str(ROOTFS_RECIPE), ENTRY_UNIT]).encode()
    ).hexdigest()[:12]
    return f"{SUITE}-minbase-{ROOTFS_RECIPE}-{digest}"


def check_privileges() -> None:
    """Raise :class:`HarnessUnavailable` unless this process can boot a container.

    Raises:
        HarnessUnavailable: not root, or no mount/pid namespaces, or no writable cgroup tree.
    """
    if os.geteuid() != 0:
        raise HarnessUnavailable("needs root (systemd-nspawn, cgroups, debootstrap)")
    if _cgroup_roots() == []:
        raise HarnessUnavailable("no cgroup hierarchy found under /sys/fs/cgroup")
    if shutil.which("unshare") is None:
        raise HarnessUnavailable("util-linux 'unshare' missing: cannot probe namespaces")
    probe = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise HarnessUnavailable(f"cannot create mount/pid namespaces: {probe.stderr.strip()}")


def ensure_host_tools() -> None:
    """Install ``systemd-container`` and ``debootstrap`` with apt-get if they are missing.

    Idempotent: does nothing when both commands are on PATH.

    Raises:
        HarnessUnavailable: a tool is missing and apt-get is absent or fails.
    """
    missing = sorted({pkg for cmd, pkg in HOST_TOOLS.items() if shutil.which(cmd) is None})
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise HarnessUnavailable(f"missing {', '.join(missing)} and no apt-get to install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip()[-2000:]
            raise HarnessUnavailable(f"{' '.join(argv)} failed ({done.returncode}): {tail}")
    still = [cmd for cmd in HOST_TOOLS if shutil.which(cmd) is None]
    if still:
        raise HarnessUnavailable(f"apt-get ran but {', '.join(still)} is still missing")


def ensure_rootfs(cache_dir: Path = CACHE_DIR) -> Path:
    """Return the cached root filesystem, building it with debootstrap if it is not there yet.

    Concurrent callers serialise on a lock file; the build goes to a temporary directory that is
    renamed into place only when complete, so a crash never leaves a half-built cache entry.

    Args:
        cache_dir: where versioned root filesystems live.

    Returns:
        The root filesystem directory, ready for ``systemd-nspawn -D``.

    Raises:
        HarnessUnavailable: debootstrap failed (no network, no mirror, ...).
    """
    root = cache_dir / rootfs_version()
    if (root / ".complete").exists():
        return root
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").exists():  # another run built it while we waited
            return root
        for stale in cache_dir.glob(f"{root.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        building = cache_dir / f"{root.name}.tmp-{os.getpid()}"
        argv = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(ROOTFS_PACKAGES)}",
            SUITE,
            str(building),
        ]
        if mirror := os.environ.get("QUANTFUND_DEBOOTSTRAP_MIRROR"):
            argv.append(mirror)
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            tail = (done.stdout + done.stderr).strip()[-2000:]
            raise HarnessUnavailable(f"debootstrap failed ({done.returncode}): {tail}")
        _install_entry_unit(building)
        (building / ".complete").write_text(rootfs_version() + "\n")
        building.rename(root)
    return root


def _install_entry_unit(root: Path) -> None:
    """Bake the enabled entry unit into a freshly built root filesystem."""
    units = root / "etc" / "systemd" / "system"
    (units / ENTRY_UNIT_NAME).write_text(ENTRY_UNIT)
    wants = units / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / ENTRY_UNIT_NAME).symlink_to(f"/etc/systemd/system/{ENTRY_UNIT_NAME}")
    # An empty machine-id lets systemd generate a fresh one in the volatile overlay each boot.
    (root / "etc" / "machine-id").write_text("")


def prepare() -> Path:
    """Do everything a run needs that can be done once: privileges, tools, root filesystem.

    Returns:
        The root filesystem directory.
    """
    check_privileges()
    ensure_host_tools()
    return ensure_rootfs()


# -- what to bind into the container ---------------------------------------------------------


def interpreter_binds(rootfs: Path) -> list[Path]:
    """Return the host directories to bind read-only so the venv's Python runs inside.

    The project root (for this checkout's code), ``sys.prefix`` (the virtual environment) and the
    resolved base prefix (the interpreter the venv's ``bin/python`` symlink points to). Paths
    already inside another bind are dropped. A system interpreter (base prefix ``/usr``) cannot
    be bound over the container's OS; it is left out when the container has the very same
    executable (a bookworm host's ``/usr/bin/python3.11``), since that is what the venv runs.

    Args:
        rootfs: the container's root filesystem, to look for a system interpreter in.

    Raises:
        HarnessUnavailable: the interpreter is a system one the container does not have.
    """
    executable = Path(sys.executable).resolve()
    wanted = [PROJECT_ROOT, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    wanted.append(executable.parent.parent)
    binds: list[Path] = []
    for path in sorted(set(wanted), key=lambda p: len(p.parts)):
        if path in _SYSTEM_DIRS:
            if not (rootfs / executable.relative_to("/")).exists():
                raise HarnessUnavailable(
                    f"the venv's interpreter {executable} lives under {path}, which cannot be"
                    f" bound over the container's OS, and the {SUITE} container has no such"
                    " interpreter; use a pyenv- or uv-managed Python outside system directories"
                )
            continue
        if not any(path.is_relative_to(b) for b in binds):
            binds.append(path)
    return binds


# -- reading what systemd printed -------------------------------------------------------------

_EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")


def parse_exposure(security_output: str) -> float:
    """Return the overall exposure figure from ``systemd-analyze security`` output.

    Raises:
        ValueError: the output has no "Overall exposure level" line.
    """
    match = _EXPOSURE.search(security_output)
    if match is None:
        raise ValueError("no 'Overall exposure level' line in systemd-analyze security output")
    return float(match.group(1))


# -- one run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One assertion made inside the container."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ScenarioResult:
    """What one scenario recorded inside the container."""

    name: str
    checks: tuple[Check, ...]
    error: str | None
    seconds: float
    artifacts: dict[str, str]

    @property
    def failures(self) -> list[Check]:
        """Checks that did not hold."""
        return [c for c in self.checks if not c.ok]


@dataclass(frozen=True)
class Run:
    """The outcome of one container boot."""

    exit_code: int
    results_dir: Path
    console: str
    seconds: float
    raw: dict[str, Any]

    def scenario(self, name: str) -> ScenarioResult:
        """Return what scenario ``name`` recorded, or raise if it never reported.

        Raises:
            AssertionError: with the console tail, when the scenario left no result (the entry
                never ran, crashed, or the container timed out).
        """
        data = self.raw.get("scenarios", {}).get(name)
        if data is None:
            raise AssertionError(
                f"scenario {name!r} left no result (exit {self.exit_code}); console tail:\n"
                + self.console[-4000:]
            )
        artifacts = {
            p.name: p.read_text(errors="replace")
            for p in sorted((self.results_dir / name).glob("*"))
            if p.is_file()
        }
        return ScenarioResult(
            name=name,
            checks=tuple(Check(**c) for c in data["checks"]),
            error=data["error"],
            seconds=data["seconds"],
            artifacts=artifacts,
        )


def boot(scenarios: Sequence[str], results_dir: Path, *, timeout: float = 180.0) -> Run:
    """Boot the container once and run ``scenarios`` (names of entry.py functions) in order.

    Args:
        scenarios: scenario names, as registered in ``entry.py``.
        results_dir: an empty directory; bind-mounted at ``/results``; keeps every artifact.
        timeout: wall-clock budget for the whole boot; nspawn gets SIGTERM then, SIGKILL 10 s
            later, and the run's cgroup is emptied in any case.

    Returns:
        The run, whose :meth:`Run.scenario` gives each scenario's checks and artifacts.
    """
    rootfs = prepare()
    binds = interpreter_binds(rootfs)
    results_dir.mkdir(parents=True, exist_ok=True)
    params = {
        "scenarios": list(scenarios),
        "python": sys.executable,  # the venv's bin/python, unresolved: that is what units run
        "project": str(PROJECT_ROOT),
        "unit": str(UNIT_PATH),
        "home_binds": [str(b) for b in binds if _under_home(b)],
        "tmp_binds": [str(b) for b in binds if _under_tmp(b)],
    }
    (results_dir / "params.json").write_text(json.dumps(params, indent=2))
    machine = f"qf-{uuid.uuid4().hex[:12]}"
    nspawn = [
        "systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit",
        "--volatile=overlay", "--private-network", "--console=read-only",
        f"--machine={machine}", "-D", str(rootfs),
        f"--bind-ro={HARNESS_DIR}:/harness", f"--bind={results_dir}:/results",
        *(f"--bind-ro={b}" for b in binds),
    ]  # fmt: skip
    # SIGTERM (not SIGKILL) shuts the container's systemd down cleanly (pitfall 4).
    argv = ["timeout", "-k", "10", str(int(timeout)), *nspawn]
    started = time.monotonic()
    with _run_cgroup(machine) as procs_files, (results_dir / "console.log").open("w+") as console:
        # The shell moves itself into the run's own cgroup(s) before exec'ing nspawn, so whatever
        # nspawn leaves behind is found and killed afterwards (pitfall 3).
        script = "".join(f'echo $$ > "{p}" && ' for p in procs_files) + 'exec "$@"'
        proc = subprocess.Popen(
            ["sh", "-c", script, "sh", *argv],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            exit_code = proc.wait(timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            exit_code = proc.wait()
        console.seek(0)
        console_text = console.read()
    results_file = results_dir / "results.json"
    raw = json.loads(results_file.read_text()) if results_file.exists() else {}
    return Run(exit_code, results_dir, console_text, time.monotonic() - started, raw)


def _under_home(path: Path) -> bool:
    """Whether ``ProtectHome=`` hides ``path`` (so a unit needs ``BindReadOnlyPaths=`` for it)."""
    return any(path.is_relative_to(h) for h in (Path("/home"), Path("/root"), Path("/run/user")))


def _under_tmp(path: Path) -> bool:
    """Whether ``PrivateTmp=`` hides ``path`` (a checkout in /tmp, as a CI clone may be)."""
    return any(path.is_relative_to(t) for t in (Path("/tmp"), Path("/var/tmp")))


def _cgroup_roots() -> list[Path]:
    """Return the cgroup hierarchies a run must get its own directory in.

    On a hybrid host (this one): the named v1 ``systemd`` hierarchy and the v2 ``unified`` one.
    On a pure v2 host: ``/sys/fs/cgroup`` alone.
    """
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").exists():
        return [base]
    return [p for p in (base / "systemd", base / "unified") if (p / "cgroup.procs").exists()]


@contextlib.contextmanager
def _run_cgroup(machine: str) -> Iterator[list[Path]]:
    """Create the run's cgroup in every hierarchy; on exit kill what is left and remove it.

    Yields:
        The ``cgroup.procs`` files the launching shell must write its PID to.
    """
    dirs = [root / f"quantfund-harness-{machine}" for root in _cgroup_roots()]
    for d in dirs:
        d.mkdir()
    try:
        yield [d / "cgroup.procs" for d in dirs]
    finally:
        for d in dirs:
            _empty_and_remove(d)


def _empty_and_remove(cgroup: Path, grace: float = 10.0) -> None:
    """Kill every process left in ``cgroup`` and below, then rmdir it depth-first."""
    if (cgroup / "cgroup.kill").exists():
        (cgroup / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + grace
    while True:
        pids = [
            int(line)
            for procs in cgroup.rglob("cgroup.procs")
            for line in procs.read_text().split()
        ]
        if not pids or time.monotonic() > deadline:
            break
        for pid in pids:  # v1 hierarchies have no cgroup.kill
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    for dirpath, _dirs, _files in sorted(os.walk(cgroup), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the host or boot once, for CI set-up and for debugging a scenario by hand."""
    parser = argparse.ArgumentParser(prog="python -m tests.systemd.harness")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="install host tools and build/cache the root filesystem")
    run = sub.add_parser("run", help="boot once and run the named scenarios")
    run.add_argument("scenarios", nargs="+")
    run.add_argument("--results", type=Path, default=None, help="results directory")
    run.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            started = time.monotonic()
            print(prepare(), f"({time.monotonic() - started:.1f} s)")
            return 0
        results = args.results or Path(f"/var/tmp/quantfund-harness-run-{uuid.uuid4().hex[:8]}")
        done = boot(args.scenarios, results, timeout=args.timeout)
    except HarnessUnavailable as exc:
        print(f"unavailable: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(done.raw, indent=2))
    print(f"exit {done.exit_code} in {done.seconds:.1f} s; results in {results}")
    return done.exit_code


if __name__ == "__main__":
    sys.exit(main())
