"""``quantfund shadow report``: every order shadow mode recorded, the market at that moment, and
what it would have cost against the prices that followed (read offline from execution's file)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from actors._runtime.store import connect_readonly
from actors.execution.markouts import HORIZONS_S, KEY_PREFIX, ShadowRecord, cost, horizon_key


def records(state_dir: Path, since: float = -math.inf) -> list[ShadowRecord]:
    """Shadow orders recorded at or after ``since`` (epoch seconds), oldest first."""
    path = state_dir / "execution.sqlite"
    if not path.exists():
        return []
    con = connect_readonly(path)
    try:
        rows = con.execute("SELECT value FROM kv WHERE key >= ? AND key < ?",
                           (KEY_PREFIX, KEY_PREFIX[:-1] + chr(ord(KEY_PREFIX[-1]) + 1))).fetchall()
    finally:
        con.close()
    out = [msgspec.msgpack.decode(bytes(v), type=ShadowRecord) for (v,) in rows]
    return sorted((r for r in out if r.at >= since), key=lambda r: (r.at, r.client_order_id))


def summary(recs: list[ShadowRecord]) -> dict[str, Any]:
    """Totals: orders, notional, and the cost at each horizon over the orders that reached it."""
    out: dict[str, Any] = {"orders": len(recs),
                           "notional": round(sum(r.price * r.quantity for r in recs), 6)}
    for h in HORIZONS_S:
        key = horizon_key(h)
        marked = [cost(r, r.marks[key]) for r in recs if key in r.marks]
        out[f"cost_{key}"] = round(sum(marked), 6)
        out[f"marked_{key}"] = len(marked)
    return out


def parse_since(text: str | None) -> float:
    """``--since``: epoch seconds, or ISO 8601 (naive means UTC); None: everything."""
    if not text:
        return -math.inf
    try:
        return float(text)
    except ValueError:
        pass
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r} is neither epoch seconds nor ISO 8601") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def report(state_dir: Path, since: str | None, as_json: bool) -> int:
    """Print the report; 0, or 2 for a bad ``--since``."""
    try:
        start = parse_since(since)
    except ValueError as exc:
        print(f"quantfund: {exc}", file=sys.stderr)
        return 2
    recs = records(state_dir, start)
    totals = summary(recs)
    if as_json:
        print(msgspec.json.encode({
            "orders": [{**msgspec.to_builtins(r),
                        **{f"cost_{k}": round(cost(r, m), 6) for k, m in r.marks.items()}}
                       for r in recs],
            "summary": totals,
        }).decode())
        return 0
    heads = "".join(f"{'cost ' + horizon_key(h):>12}" for h in HORIZONS_S)
    print(f"{'recorded (UTC)':<21}{'instrument':<12}{'side':<5}{'qty':>10}{'price':>12}"
          f"{'market':>12}{heads}")
    for r in recs:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.at))
        marks = "".join(
            f"{cost(r, r.marks[horizon_key(h)]):>12.4f}" if horizon_key(h) in r.marks
            else f"{'-':>12}" for h in HORIZONS_S)
        print(f"{when:<21}{r.instrument:<12}{r.side.value:<5}{r.quantity:>10g}{r.price:>12g}"
              f"{r.market:>12g}{marks}")
    costs = "  ".join(f"{horizon_key(h)} {totals[f'cost_{horizon_key(h)}']:g} over "
                      f"{totals[f'marked_{horizon_key(h)}']}" for h in HORIZONS_S)
    print(f"{totals['orders']} orders recorded, none sent; notional {totals['notional']:g}; "
          f"would have cost: {costs}")
    return 0
