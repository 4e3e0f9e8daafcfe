"""``quantfund fleet halt|reduce|resume|status|verify``: the fleet's kill switch from any host
with the fleet's credentials."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import msgspec

from supervisor.fleet.config import FleetConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3
_STATES = {"halt": "HALTED", "reduce": "REDUCING", "resume": "ACTIVE"}


def add_parser(sub: Any) -> None:
    """The ``fleet`` subcommands, on the ``quantfund`` parser's subparsers."""
    grp = sub.add_parser("fleet", help="the fleet: every tree under one kill switch (NATS)")
    verbs = grp.add_subparsers(dest="verb", required=True)
    for name, text in (("halt", "halt every tree of the fleet until a fleet resume"),
                       ("reduce", "every tree of the fleet: only exposure-reducing orders"),
                       ("resume", "lift the fleet's halt or reduce (trees' own halts stay)")):
        cmd = verbs.add_parser(name, help=text)
        _common(cmd)
        cmd.add_argument("--reason", required=True, help="why (in the fleet's audit trail)")
        cmd.add_argument("--timeout", type=float, default=5.0,
                         help="seconds to wait for the trees' acknowledgements (default 5)")
    for name, text in (("status", "the fleet state, every tree's summary, which are stale, "
                        "and the audit trail's check"),
                       ("verify", "check the audit trail's hash chain; exit 0 only if it holds")):
        _common(verbs.add_parser(name, help=text))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML with a [fleet] section (servers)")
    p.add_argument("--server", action="append", default=[], metavar="URL",
                   help="a fleet NATS server (repeatable; default: [fleet] servers)")
    p.add_argument("--stale-after", type=float, default=5.0,
                   help="a tree whose summary is older than this many seconds is stale")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(  # noqa: PLR0911 - one exit status per outcome
    args: argparse.Namespace, fleet: FleetConfig | None, who: str
) -> int:
    """Run one ``fleet`` subcommand; the exit status."""
    import nats.errors

    from supervisor.fleet.credentials import load_credentials
    from supervisor.fleet.errors import (
        FleetChangeConflict,
        FleetCredentialMissing,
        FleetUnreachable,
    )

    if args.server:
        fleet = msgspec.structs.replace(fleet, servers=args.server) if fleet else FleetConfig(
            servers=args.server)
    if fleet is None:
        print("quantfund: fleet: no servers: give --server nats://HOST:4222 or a config with "
              "[fleet] servers", file=sys.stderr)
        return EXIT_USAGE
    where = os.environ.get("CREDENTIALS_DIRECTORY")
    try:
        creds = load_credentials(os.environ, Path(where) if where else None)
        if args.verb in _STATES:
            return asyncio.run(_change(args, fleet, creds, who))
        return asyncio.run(_view(args, fleet, creds))
    except FleetCredentialMissing as exc:
        print(f"quantfund: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FleetUnreachable as exc:
        print(f"quantfund: {exc}; nothing changed", file=sys.stderr)
        return EXIT_NO_ANSWER
    except (nats.errors.Error, TimeoutError, OSError) as exc:
        print(f"quantfund: fleet {args.verb}: the fleet stopped answering "
              f"({exc or type(exc).__name__}); check `quantfund fleet status`", file=sys.stderr)
        return EXIT_NO_ANSWER
    except FleetChangeConflict as exc:
        print(f"quantfund: {exc}", file=sys.stderr)
        return EXIT_FAILED


async def _change(args: argparse.Namespace, fleet: FleetConfig, creds: Any, who: str) -> int:
    from supervisor.fleet import commands

    if not args.reason.strip():
        print("quantfund: fleet: --reason must not be blank", file=sys.stderr)
        return EXIT_USAGE
    result = await commands.change(fleet, creds, _STATES[args.verb],  # type: ignore[arg-type]
                                   who=who, reason=args.reason, timeout_s=args.timeout,
                                   stale_after_s=args.stale_after)
    ch = result.change
    if args.json:
        print(msgspec.json.encode({
            "ok": not result.missing, "change": ch,
            "acked": dict(sorted(result.acked.items())),
            "missing": result.missing, "stale": result.stale,
            "elapsed_s": round(result.elapsed_s, 4)}).decode())
    else:
        print(f"fleet {args.verb}: fleet state {ch.state} (seq {ch.seq}); "
              f"{len(result.acked)} trees acknowledged in {result.elapsed_s * 1000:.1f} ms")
        for tree_id, ack in sorted(result.acked.items()):
            what = "changed" if ack.changed else "kept"
            print(f"  acknowledged  {tree_id}: {ack.state} ({what})")
        for tree_id in result.missing:
            print(f"  NO ACK        {tree_id}: did not acknowledge within {args.timeout} s")
        for tree_id in result.stale:
            print(f"  stale         {tree_id}: stopped or not heard from lately; no ack")
    return EXIT_OK if not result.missing else EXIT_FAILED


async def _view(args: argparse.Namespace, fleet: FleetConfig, creds: Any) -> int:
    from supervisor.fleet import commands

    found = await commands.view(fleet, creds, args.stale_after)
    ok = found.trail.ok and not found.bad
    if args.json:
        print(msgspec.json.encode({
            "ok": ok, "state": found.state.state if found.state else "ACTIVE",
            "change": found.state, "trail": found.trail, "bad": found.bad,
            "trees": [{**msgspec.to_builtins(v.summary), "age_s": round(v.age_s, 3),
                       "stale": v.stale} for v in found.trees]}).decode())
        return EXIT_OK if ok else EXIT_FAILED
    trail = found.trail
    check = (f"audit trail OK: {trail.rows_checked} changes, chain intact" if trail.ok else
             f"audit trail BROKEN at change {trail.first_bad_seq}: {trail.problem}")
    if args.verb == "verify":
        print(check)
        return EXIT_OK if trail.ok else EXIT_FAILED
    st = found.state
    print(f"fleet state {st.state} (seq {st.seq}, by {st.who}: {st.reason})" if st else
          "fleet state ACTIVE (never changed)")
    print(check)
    for v in found.trees:
        s = v.summary
        flag = "STOP" if s.stopped else "STALE" if v.stale else "ok"
        print(f"  {s.tree_id:<16} {s.trading_state:<9} fleet seq {s.fleet_seq:<4} {flag:<5} "
              f"age {v.age_s:.1f} s  live {s.live}  equity {s.equity}  "
              f"drawdown {s.drawdown_pct}%  positions {s.positions}  {s.host} pid {s.pid} "
              f"v{s.version}")
    for problem in found.bad:
        print(f"  MALFORMED {problem}")
    return EXIT_OK if ok else EXIT_FAILED
