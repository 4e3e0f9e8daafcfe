"""The clock readings the rules are handed: the system clock and carrying a persisted reading."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from actors._runtime.clock import BOOT_ID_PATH, Instant, SystemClock, carry


@pytest.mark.skipif(
    not BOOT_ID_PATH.exists() or not hasattr(time, "CLOCK_BOOTTIME"),
    reason="needs Linux's CLOCK_BOOTTIME and boot id",
)
def test_the_system_clock_reads_boottime_on_the_named_boot() -> None:
    """On Linux the elapsed reading is CLOCK_BOOTTIME and the boot is the kernel's boot id."""
    before = time.clock_gettime(time.CLOCK_BOOTTIME)
    now = SystemClock()()
    after = time.clock_gettime(time.CLOCK_BOOTTIME)
    assert before <= now.elapsed <= after
    assert now.boot == BOOT_ID_PATH.read_text(encoding="ascii").strip()
    assert abs(now.wall - time.time()) < 5.0


def test_without_a_boot_id_no_other_process_shares_the_boot(tmp_path: Path) -> None:
    """With no boot id to read, each clock names a boot of its own, so nothing persisted by
    another process is trusted (and its readings still never go back)."""
    first = SystemClock(tmp_path / "missing")
    second = SystemClock(tmp_path / "missing")
    assert first.boot != second.boot
    a, b = first(), first()
    assert a.boot == b.boot == first.boot
    assert b.elapsed >= a.elapsed


def test_carry_keeps_a_reading_of_this_boot_and_forgets_another_boots() -> None:
    """A reading from this boot is kept (one in the future is brought back to now); one from
    another boot, or an unknown one, counts as taken now."""
    now = Instant(wall=1e9, elapsed=500.0, boot="b")
    assert carry(120.0, "b", now) == 120.0
    assert carry(900.0, "b", now) == 500.0
    assert carry(120.0, "a", now) == 500.0
    assert carry(120.0, "", now) == 500.0
