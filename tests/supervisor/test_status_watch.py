"""``quantfund status --watch`` (``supervisor/status_watch.py``) and its arguments: bounded by
``--count``, drawn in place only on a terminal, a silent supervisor shown and not fatal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from supervisor.cli import EXIT_NO_ANSWER, EXIT_USAGE, main
from supervisor.status_watch import REDRAW, watch


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_silent_supervisor_is_shown_each_time_and_the_exit_says_no_answer(
    tmp_path: Path,
) -> None:
    """No supervisor behind the run directory: every snapshot says so (piped: plain lines;
    --json: an object with ``error``), ``count`` bounds it, the exit status is 3."""
    out = io.StringIO()
    code = watch(tmp_path, as_json=False, timeout=0.1, interval=0.01, count=2, out=out)
    assert code == EXIT_NO_ANSWER
    assert out.getvalue().count("quantfund:") == 2
    assert REDRAW not in out.getvalue()
    js = io.StringIO()
    watch(tmp_path, as_json=True, timeout=0.1, interval=0.01, count=3, out=js)
    assert [("error" in json.loads(line)) for line in js.getvalue().splitlines()] == [True] * 3


def test_on_a_terminal_each_snapshot_is_drawn_in_place(tmp_path: Path) -> None:
    """A terminal gets cursor-home-and-clear before each snapshot; --json never does."""
    tty = _Terminal()
    watch(tmp_path, as_json=False, timeout=0.1, interval=0.01, count=2, out=tty)
    assert tty.getvalue().count(REDRAW) == 2
    tty_json = _Terminal()
    watch(tmp_path, as_json=True, timeout=0.1, interval=0.01, count=1, out=tty_json)
    assert REDRAW not in tty_json.getvalue()


def test_bad_watch_arguments_are_refused_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """--count 0, a negative --interval, and --count without --watch: usage errors (2)."""
    run = ["--run-dir", str(tmp_path), "--state-dir", str(tmp_path)]
    for bad, named in ((["--watch", "--count", "0"], "--count"),
                       (["--watch", "--interval", "-1"], "--interval")):
        with pytest.raises(SystemExit) as exc:
            main(["status", *bad, *run])
        assert exc.value.code == EXIT_USAGE
        assert named in capsys.readouterr().err
    assert main(["status", "--count", "2", *run]) == EXIT_USAGE
    assert "--count needs --watch" in capsys.readouterr().err
