"""Tests for the harness's pure helpers (no container needed, run in the default suite)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.systemd import entry, harness


def test_parse_exposure_reads_the_overall_line() -> None:
    """The figure comes from systemd-analyze's 'Overall exposure level' line."""
    output = "✗ PrivateNetwork=  0.5\n\n→ Overall exposure level for quantfund.service: 1.2 OK\n"
    assert harness.parse_exposure(output) == 1.2


def test_parse_exposure_refuses_output_without_a_figure() -> None:
    """Output without the summary line is an error, never a silent 0.0 that would pass."""
    with pytest.raises(ValueError, match="Overall exposure"):
        harness.parse_exposure("Failed to load unit")


def test_exec_start_binary_strips_prefixes_and_takes_the_last() -> None:
    """The stub goes where the effective ExecStart= points: last non-empty one, no prefixes."""
    text = "ExecStart=/opt/a up\nExecStart=\nExecStart=-/srv/b/quantfund up --x\n"
    assert entry.exec_start_binary(text) == "/srv/b/quantfund"


def test_interpreter_binds_cover_the_running_python(tmp_path: Path) -> None:
    """The binds include the project, the venv and the real interpreter, none nested in another."""
    binds = harness.interpreter_binds(rootfs=tmp_path)
    for needed in (harness.PROJECT_ROOT, Path(sys.prefix), Path(sys.executable)):
        resolved = needed.resolve()
        if resolved.parent.parent != Path("/usr"):  # a system Python is not bound (next test)
            assert any(resolved.is_relative_to(b) for b in binds), needed
    for b in binds:
        assert not any(b != other and b.is_relative_to(other) for other in binds)


def test_system_interpreter_missing_from_container_is_a_skip_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A venv on /usr/bin/python3.X that the container lacks cannot run inside: say so."""
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    with pytest.raises(harness.HarnessUnavailable, match="cannot be bound"):
        harness.interpreter_binds(rootfs=tmp_path)


def test_check_privileges_requires_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not root is a skip reason naming root, not an obscure nspawn failure later."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(harness.HarnessUnavailable, match="root"):
        harness.check_privileges()


def test_rootfs_version_changes_with_the_entry_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing the baked-in entry unit changes the cache key, so the rootfs is rebuilt."""
    before = harness.rootfs_version()
    monkeypatch.setattr(harness, "ENTRY_UNIT", harness.ENTRY_UNIT + "# changed\n")
    assert harness.rootfs_version() != before
