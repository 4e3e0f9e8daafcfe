"""The ``quantfund`` command line: run the tree, ask it, steer the kill switch, verify stores."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from pathlib import Path
from typing import Any

import msgspec

# Exit statuses scripts can rely on.
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and said no (error reply, broken chain)
EXIT_USAGE = 2  # bad config, bad arguments
EXIT_NO_ANSWER = 3  # the supervisor did not answer (halt: written to the store instead)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quantfund", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the supervised tree in the foreground")
    _dirs(up)
    up.add_argument("--duration", type=float, help="stop (drain) after this many seconds")
    st = sub.add_parser("status", help="ask the running supervisor for the tree's status "
                        "and its trading (positions, PnL, limits, breaker, orders, feeds)")
    _dirs(st, json_flag=True)
    st.add_argument("--watch", action="store_true",
                    help="ask again every --interval seconds: redrawn in place on a terminal, "
                    "one snapshot after another when piped (--json: one object a line); "
                    "Ctrl-C ends it")
    st.add_argument("--interval", type=_positive, default=1.0,
                    help="seconds between two snapshots of --watch (default 1)")
    st.add_argument("--count", type=_positive_int,
                    help="with --watch: stop after this many snapshots (default: until Ctrl-C)")
    for name, text in (("halt", "stop all new trading until an operator resumes"),
                       ("reduce", "allow only exposure-reducing orders"),
                       ("resume", "back to ACTIVE")):
        cmd = sub.add_parser(name, help=text)
        _dirs(cmd, json_flag=True)
        cmd.add_argument("--reason", required=True, help="why (recorded in the halts store)")
    for store in ("halts", "journal"):
        grp = sub.add_parser(store, help=f"the {store} store")
        verbs = grp.add_subparsers(dest="verb", required=True)
        check = verbs.add_parser("verify", help="check the hash chain; exit 0 only if it holds")
        _dirs(check, json_flag=True)
        if store == "journal":
            check.add_argument("--anchor", action="append", default=[], metavar="DAY=HASH",
                               help="also check DAY's tail against HASH (the anchor a daily "
                                    "report left in the chat); repeatable")
    grp = sub.add_parser("state", help="every store of the state directory")
    verbs = grp.add_subparsers(dest="verb", required=True)
    _dirs(verbs.add_parser("check", help="check every store offline (integrity, rows, chains, "
                           "halts against journal); exit 0 only if all hold"), json_flag=True)
    grp = sub.add_parser("shadow", help="what shadow mode recorded")
    verbs = grp.add_subparsers(dest="verb", required=True)
    rep = verbs.add_parser("report", help="orders recorded (none sent), the market then, and "
                           "what each would have cost 1/10/60 s later")
    _dirs(rep)
    rep.add_argument("--since", help="epoch seconds or ISO 8601 (UTC when naive)")
    rep.add_argument("--json", action="store_true", help="machine-readable output")
    rep = sub.add_parser("report", help="a day's report from the journal (P&L, trades, "
                         "rejections, trips, halts, restarts, latency, the day's anchor)")
    _dirs(rep)
    rep.add_argument("--day", help="YYYY-MM-DD (UTC); default: the last finished day")
    rep.add_argument("--json", action="store_true", help="machine-readable output")
    rep.add_argument("--png", type=Path, help="also write the equity/drawdown chart here")
    _drill_parser(sub)
    from supervisor.fleet.cli import add_parser as fleet_parser

    fleet_parser(sub)
    return p


def _drill_parser(sub: Any) -> None:
    """``drill {crash,hang,kill-supervisor,kill-switch}``; exit 0 only if every invariant held."""
    drill = sub.add_parser("drill", help="run a crash-recovery drill against the running tree")
    kinds = drill.add_subparsers(dest="scenario", required=True)
    for name, text in (("crash", "SIGKILL a child; it must be restarted"),
                       ("hang", "SIGSTOP a child until the heartbeat actor kills it"),
                       ("kill-supervisor", "SIGKILL the supervisor; whatever runs it restarts it"),
                       ("kill-switch", "halt through the admin socket, timed")):
        cmd = kinds.add_parser(name, help=text)
        _dirs(cmd)
        cmd.add_argument("--json", action="store_true", help="the report as one JSON object")
        cmd.add_argument("--timeout", type=float, default=30.0,
                         help="seconds to wait for detection and for recovery (default 30)")
        if name in ("crash", "hang"):
            cmd.add_argument("--actor", required=True, help="the child to act on")
        if name in ("hang", "kill-switch"):
            cmd.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                             help="resume trading if the drill halted it (default: resume)")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def _dirs(p: argparse.ArgumentParser, *, json_flag: bool = False) -> None:
    p.add_argument("--config", type=Path, help="TOML with the keys to change from the default")
    p.add_argument("--state-dir", help="state directory (default: $STATE_DIRECTORY or config)")
    p.add_argument("--run-dir", help="socket directory (default: $RUNTIME_DIRECTORY or config)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer")


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one return per command
    """Entry point of the ``quantfund`` console script."""
    args = _parser().parse_args(argv)
    from actors._runtime.endpoints import EndpointError
    from supervisor import config as config_mod
    from supervisor.errors import SupervisorError
    from supervisor.up import resolve_dirs

    try:
        config = config_mod.load(args.config)
        if args.command == "fleet":  # no state or run directory: it speaks to NATS only
            from supervisor.fleet.cli import run as fleet_run

            return fleet_run(args, config.fleet, _who())
        dirs = resolve_dirs(config, args.state_dir, args.run_dir)
        if args.command == "up":
            from supervisor.up import run

            return run(config, dirs, args.duration)
        if args.command == "status":
            return _status(dirs.run, args)
        if args.command in ("halt", "reduce", "resume"):
            return _operator(args.command, args.reason, dirs, args.json, args.timeout)
        if args.command == "drill":
            return _drill(args, config, dirs)
        return _offline(args, dirs.state, list(config.children))
    except (SupervisorError, EndpointError) as exc:
        print(f"quantfund: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _offline(args: argparse.Namespace, state_dir: Path, stores: list[str]) -> int:
    """The commands that read the state directory's files, with no tree needed."""
    command, as_json = args.command, args.json
    if command == "report":
        return _report(state_dir, args.day, as_json, args.png)
    if command == "shadow":
        from supervisor.shadow_report import report

        return report(state_dir, args.since, as_json)
    if command == "state":
        return _state_check(state_dir, stores, as_json)
    if command == "halts":
        return _halts_verify(state_dir, as_json)
    return _journal_verify(state_dir, as_json, args.anchor)


def _print_json(obj: Any) -> None:
    data = msgspec.to_builtins(obj)
    if isinstance(data, dict):
        data.pop("type", None)
    print(msgspec.json.encode(data).decode())


def _status(run_dir: Path, args: argparse.Namespace) -> int:
    """``status``: one answer, or ``--watch``: one every interval."""
    from supervisor.status_text import render
    from supervisor.status_watch import ask, json_line, watch

    if args.watch:
        return watch(run_dir, as_json=args.json, timeout=args.timeout, interval=args.interval,
                     count=args.count)
    if args.count is not None:
        print("quantfund: --count needs --watch", file=sys.stderr)
        return EXIT_USAGE
    reply, problem, code = ask(run_dir, args.timeout)
    if reply is None:
        print(f"quantfund: {problem}", file=sys.stderr)
        return code
    print(json_line(reply) if args.json else render(reply))
    return EXIT_OK


def _who() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def _operator(command: str, reason: str, dirs: Any, as_json: bool, timeout: float) -> int:
    from supervisor.admin_messages import (
        CommandReply,
        HaltRequest,
        ReduceRequest,
        ResumeRequest,
    )
    from supervisor.client import request
    from supervisor.errors import AdminUnavailable

    kinds = {"halt": HaltRequest, "reduce": ReduceRequest, "resume": ResumeRequest}
    try:
        reply = request(dirs.run, kinds[command](reason=reason, who=_who()), timeout_s=timeout)
    except AdminUnavailable as exc:
        if command != "halt":
            print(f"quantfund: {exc}; nothing changed", file=sys.stderr)
            return EXIT_NO_ANSWER
        return _halt_in_store(dirs.state, reason, str(exc), as_json)
    if as_json:
        _print_json(reply)
    if not isinstance(reply, CommandReply):
        if not as_json:
            print(f"quantfund: {command} refused: {getattr(reply, 'error', reply)}",
                  file=sys.stderr)
        return EXIT_FAILED
    if not as_json:
        print(f"{command}: {reply.message} (trading state {reply.state}, seq {reply.seq})")
    return EXIT_OK


def _halt_in_store(state_dir: Path, reason: str, why: str, as_json: bool) -> int:
    """Layer 3 by hand: the supervisor is silent, so write HALTED straight into the store."""
    from supervisor.halt_fallback import halt_in_store

    seq = halt_in_store(state_dir, reason=reason, who=_who(), why=why, via="halts store")
    result = {"ok": True, "state": "HALTED", "seq": seq, "via": "halts_store",
              "message": f"supervisor did not answer ({why}); HALTED written to the halts "
                         f"store, which execution checks before every order"}
    if as_json:
        print(msgspec.json.encode(result).decode())
    else:
        print(f"quantfund: {result['message']}", file=sys.stderr)
    return EXIT_NO_ANSWER


def _halts_verify(state_dir: Path, as_json: bool) -> int:
    """``halts verify``: the chain, then the store against the last row the journal recorded."""
    from actors._runtime.halts_reader import HALTS_FILE
    from supervisor.halts import verify
    from supervisor.state_check import behind_journal
    from supervisor.state_files import halts_seen

    path = state_dir / HALTS_FILE
    report = verify(path)
    seen = halts_seen(state_dir)
    behind = behind_journal(path, seen) if report.ok else ""
    if as_json:
        data = msgspec.to_builtins(report)
        data["journal"] = {"ok": not behind, "problem": behind,
                           "seen_seq": None if seen is None else seen.seq}
        print(msgspec.json.encode(data).decode())
    elif not report.ok:
        print(f"halts store BROKEN at row {report.first_bad_seq}: {report.problem} "
              f"({report.rows_checked} rows checked)")
    elif behind:
        print(f"halts store chain intact ({report.rows_checked} rows) but {behind}")
    else:
        against = "no trading-state change recorded by the journal" if seen is None else (
            f"holds row {seen.seq}, the last the journal recorded")
        print(f"halts store OK: {report.rows_checked} rows, chain intact, {against}")
    return EXIT_OK if report.ok and not behind else EXIT_FAILED


def _state_check(state_dir: Path, stores: list[str], as_json: bool) -> int:
    """``state check``: one line per store; exit 0 only when every store holds."""
    from supervisor import state_check

    report = state_check.check(state_dir, stores, full=True)
    if as_json:
        print(msgspec.json.encode({"ok": report.ok, "history": report.history,
                                   "stores": report.findings}).decode())
    else:
        print(state_check.render(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def _journal_verify(state_dir: Path, as_json: bool, given: list[str]) -> int:
    """``journal verify``: print ``journal_check``'s findings; exit 0 only if the chain holds."""
    from supervisor.journal_check import journal_check

    anchors: dict[str, str] = {}
    for text in given:
        day, sep, final = text.partition("=")
        if not sep or len(day) != 10 or len(final) != 64:
            print(f"quantfund: --anchor {text!r} is not DAY=HASH (2026-11-23=<64 hex digits>)",
                  file=sys.stderr)
            return EXIT_USAGE
        anchors[day] = final.lower()
    check = journal_check(state_dir, anchors)
    report, ok, anchors = check.report, check.ok, check.anchors
    conflicts, note = check.conflicts, check.note
    if as_json:
        data = msgspec.to_builtins(report)
        data.update(ok=ok, anchors_checked=len(anchors), anchor_conflicts=conflicts, note=note)
        print(msgspec.json.encode(data).decode())
        return EXIT_OK if ok else EXIT_FAILED
    counts = (f"{report.entries_checked} entries checked over {report.days_checked} days, "
              f"{len(anchors)} anchors")
    if report.ok:
        print(f"journal OK: {counts}" if not conflicts else f"journal chain OK: {counts}")
    else:
        print(f"journal BROKEN at {report.first_break}: {report.problem}")
        print(f"  ({counts}; checked up to the break)")
    for torn in report.torn_entries:
        print(f"  torn line recorded at {torn} (preserved by a TornEntryDetected entry)")
    for conflict in conflicts:
        print(f"  ANCHORS DISAGREE: {conflict}")
    if note:
        print(f"  note: {note}")
    return EXIT_OK if ok else EXIT_FAILED


def _report(state_dir: Path, day: str | None, as_json: bool, png: Path | None) -> int:
    """``report``: the day's report, built from its journal file alone (read-only)."""
    from actors.journal import daily
    from actors.journal.daily_text import render_text

    try:
        report = daily.report_for(state_dir, daily.pick_day(state_dir, day))
    except (ValueError, FileNotFoundError) as exc:
        print(f"quantfund: report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if png is not None:
        from actors.journal.daily_chart import render_png

        png.write_bytes(render_png(report))
    if as_json:
        data = msgspec.to_builtins(report)
        data["equity_change"] = report.equity_change
        print(msgspec.json.encode(data).decode())
    else:
        print(render_text(report))
    return EXIT_OK


def _drill(args: argparse.Namespace, config: Any, dirs: Any) -> int:
    """``drill SCENARIO``: run it, print the report; exit 0 only if every invariant held."""
    from supervisor.drill import scenarios
    from supervisor.drill.report import render, to_json

    drill = scenarios.Drill(run_dir=dirs.run, state_dir=dirs.state, config=config,
                            timeout_s=args.timeout, resume=getattr(args, "resume", True))
    if args.scenario == "crash":
        report = scenarios.crash(drill, args.actor)
    elif args.scenario == "hang":
        report = scenarios.hang(drill, args.actor)
    elif args.scenario == "kill-supervisor":
        report = scenarios.kill_supervisor(drill)
    else:
        report = scenarios.kill_switch(drill)
    print(to_json(report) if args.json else render(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def entry() -> int:
    """Console-script entry: ``main`` plus a quiet exit when stdout is closed (``| head``)."""
    try:
        return main()
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(entry())
