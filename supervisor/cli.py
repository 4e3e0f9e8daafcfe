"""The ``quantfund`` command line: ``up`` runs the tree; ``status`` asks a running one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quantfund", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the supervised tree in the foreground")
    up.add_argument("--config", type=Path, help="TOML with the keys to change from the default")
    up.add_argument("--state-dir", help="state directory (default: $STATE_DIRECTORY or config)")
    up.add_argument("--run-dir", help="socket directory (default: $RUNTIME_DIRECTORY or config)")
    up.add_argument("--duration", type=float, help="stop (drain) after this many seconds")
    st = sub.add_parser("status", help="ask the running supervisor for the tree's status")
    _dirs(st)
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer")
    return p


def _dirs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="config file (to find the default directories)")
    p.add_argument("--state-dir", help="state directory")
    p.add_argument("--run-dir", help="socket directory")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``quantfund`` console script."""
    args = _parser().parse_args(argv)
    from supervisor import config as config_mod
    from supervisor.errors import SupervisorError

    try:
        config = config_mod.load(args.config)
        from supervisor.up import resolve_dirs

        dirs = resolve_dirs(config, args.state_dir, args.run_dir)
        if args.command == "up":
            from supervisor.up import run

            return run(config, dirs, args.duration)
        return _status(dirs.run, args.json, args.timeout)
    except SupervisorError as exc:
        print(f"quantfund: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from actors._runtime.endpoints import EndpointError

        if isinstance(exc, EndpointError):
            print(f"quantfund: {exc}", file=sys.stderr)
            return 2
        raise


def _status(run_dir: Path, as_json: bool, timeout: float) -> int:
    from supervisor.admin_messages import ErrorReply, StatusRequest
    from supervisor.client import request

    reply = request(run_dir, StatusRequest(), timeout_s=timeout)
    if isinstance(reply, ErrorReply):
        print(f"quantfund: {reply.error}", file=sys.stderr)
        return 1
    if as_json:
        data = msgspec.to_builtins(reply)
        data.pop("type", None)
        print(msgspec.json.encode(data).decode())
        return 0
    print(f"trading state: {reply.trading_state}   supervisor pid {reply.supervisor.pid}  "
          f"up {reply.supervisor.uptime_s:.1f} s  tree live: {reply.supervisor.tree_live}")
    print(f"{'actor':<14}{'pid':>8}  {'alive':<6}{'restarts':>9}{'beat age':>10}{'iterations':>12}")
    for a in reply.actors:
        age = "-" if a.last_heartbeat_age_s is None else f"{a.last_heartbeat_age_s:.2f}s"
        print(f"{a.name:<14}{a.pid or '-':>8}  {a.alive!s:<6}{a.restarts:>9}{age:>10}"
              f"{a.iterations if a.iterations is not None else '-':>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
