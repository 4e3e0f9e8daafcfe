"""Read-only looks at a state directory's files: which stores it has, what they hold, whether
they show a tree with history. Nothing here creates, repairs or writes a file.

Used by the start check (``supervisor.state_check``) before any actor runs, and by
``quantfund state check`` offline; both must work on files that are missing, empty, garbage
or edited, so every reader answers with a value or a ``StoreUnreadable`` naming the problem,
never another exception.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import msgspec

from actors._runtime.halts_reader import HALTS_FILE
from actors._runtime.store import COLD_PREFIX, connect_readonly
from actors.journal.halts_seen import HALTS_SEEN_KEY, HaltsSeen
from actors.journal.layout import day_path, list_days

OUTBOX_FILE = "alerter-outbox.sqlite"
"""The alerter's outbox (``actors.alerter.actor`` names it; it imports python-telegram-bot)."""
VENUE_FILE = "paper-venue.sqlite"
"""The paper venue's book (``actors.execution.brokers.make_broker`` names it)."""
CONFIG_LAST = "config-last.json"
"""The configuration the last start ran with (``supervisor.config_audit``)."""
SQLITE_MAGIC = b"SQLite format 3\x00"


class StoreUnreadable(Exception):
    """A store exists but cannot be read as what it should be (the message says why)."""


@dataclass(frozen=True)
class KvContents:
    """What an actor's key-value state file holds (``actors._runtime.store``)."""

    rows: int
    """Keys in ``kv``, cold ones included."""
    values: dict[str, bytes]
    """The values read (all, or only those a start loads)."""


def file_problem(path: Path) -> str:
    """'' for a file that can be an SQLite database; else what is wrong with it at a glance."""
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "not a regular file"
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    if size == 0 and wal.is_file() and wal.stat().st_size > 0:
        return ""  # WAL mode: until the first checkpoint the pages live in the -wal file
    if size == 0:
        return "empty (0 bytes)"
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        return f"not an SQLite database ({size} bytes, header {head[:8]!r})"
    return ""


def integrity(con: sqlite3.Connection, *, full: bool) -> str:
    """'' when SQLite's own check passes (``integrity_check`` when ``full``, else the cheaper
    ``quick_check``, which skips index contents); else what it found."""
    pragma = "integrity_check" if full else "quick_check"
    found = [str(r[0]) for r in con.execute(f"PRAGMA {pragma}(5)")]
    return "" if found == ["ok"] else f"{pragma} failed: {' '.join(' '.join(found).split())}"


def tables(con: sqlite3.Connection) -> set[str]:
    """Names of the tables in the file."""
    return {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def open_checked(path: Path, *, full: bool) -> sqlite3.Connection:
    """A read-only connection to a file that passed ``file_problem`` and SQLite's check.

    Raises:
        StoreUnreadable: Missing, empty, not a database, or the check failed.
    """
    problem = file_problem(path)
    if problem:
        raise StoreUnreadable(problem)
    try:
        con = connect_readonly(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreUnreadable(f"cannot be opened: {exc}") from exc
    try:
        problem = integrity(con, full=full)
    except sqlite3.DatabaseError as exc:
        problem = f"not readable as a database: {exc}"
    if problem:
        con.close()
        raise StoreUnreadable(problem)
    return con


def read_kv(path: Path, *, full: bool) -> KvContents:
    """An actor's state file: every row counted, and each value a start loads (all when
    ``full``) decoded as msgpack, the encoding every actor writes.

    Raises:
        StoreUnreadable: As ``open_checked``, or no ``kv`` table, or a value that does not decode.
    """
    con = open_checked(path, full=full)
    try:
        if "kv" not in tables(con):
            raise StoreUnreadable("no kv table: not an actor's state file")
        rows = int(con.execute("SELECT count(*) FROM kv").fetchone()[0])
        query = "SELECT key, value FROM kv"
        if not full:
            query += f" WHERE key < '{COLD_PREFIX}' OR key >= '{COLD_PREFIX[:-1]}0'"
        values: dict[str, bytes] = {}
        for key, value in con.execute(query):
            raw = bytes(value) if isinstance(value, bytes | memoryview) else None
            if raw is None:
                raise StoreUnreadable(f"row {key!r} holds a {type(value).__name__}, not bytes")
            try:
                msgspec.msgpack.decode(raw)
            except msgspec.DecodeError as exc:
                raise StoreUnreadable(f"row {key!r} does not decode: {exc}") from exc
            values[str(key)] = raw
        return KvContents(rows=rows, values=values)
    except sqlite3.DatabaseError as exc:
        raise StoreUnreadable(f"not readable as a database: {exc}") from exc
    finally:
        con.close()


def count_rows(path: Path, table: str) -> int:
    """Rows of ``table`` in a database file; 0 when the file or the table is not there, or the
    file is unreadable (a reader of evidence, not a judge: the store's own check says why)."""
    if file_problem(path):
        return 0
    try:
        con = connect_readonly(path, isolation_level=None)
    except sqlite3.Error:
        return 0
    try:
        if table not in tables(con):
            return 0
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    except sqlite3.DatabaseError:
        return 0
    finally:
        con.close()


def journal_entries(state_dir: Path) -> list[str]:
    """Journal day files that hold at least one entry (a line past the day's header)."""
    found = []
    for day in list_days(state_dir):
        path = day_path(state_dir, day)
        try:
            with path.open("rb") as f:
                if any(line.startswith(b"- ") for line in f):
                    found.append(day)
        except OSError:
            continue
    return found


def history(state_dir: Path, kv_stores: list[str]) -> list[str]:
    """What shows that a tree ran on this state directory before, one phrase per store that
    does (empty for a fresh directory). ``kv_stores``: the actors' state-file names."""
    found: list[str] = []
    for name in kv_stores:
        rows = count_rows(state_dir / f"{name}.sqlite", "kv")
        if rows:
            found.append(f"{name}.sqlite has {rows} rows")
    halts = count_rows(state_dir / HALTS_FILE, "halts")
    if halts:
        found.append(f"{HALTS_FILE} has {halts} rows")
    days = journal_entries(state_dir)
    if days:
        found.append(f"journal has entries on {len(days)} day(s), the last {days[-1]}")
    for name, table in ((VENUE_FILE, "orders"), (OUTBOX_FILE, "alerts")):
        rows = count_rows(state_dir / name, table)
        if rows:
            found.append(f"{name} has {rows} {table}")
    if (state_dir / CONFIG_LAST).is_file():
        found.append(f"{CONFIG_LAST} exists")
    return found


def halts_seen(state_dir: Path) -> HaltsSeen | None:
    """The last halts row the journal recorded (its state file, read-only); None when it
    recorded none or cannot tell (the journal store's own check reports why)."""
    try:
        kv = read_kv(state_dir / "journal.sqlite", full=False)
    except StoreUnreadable:
        return None
    raw = kv.values.get(HALTS_SEEN_KEY)
    if raw is None:
        return None
    try:
        return msgspec.msgpack.decode(raw, type=HaltsSeen)
    except msgspec.DecodeError:  # ValidationError included
        return None


def venue_positions(state_dir: Path) -> dict[str, float]:
    """Net filled quantity by instrument at the paper venue (what it says we hold).

    Raises:
        StoreUnreadable: The venue's file is there but unreadable.
    """
    path = state_dir / VENUE_FILE
    con = open_checked(path, full=False)
    try:
        rows = con.execute(
            "SELECT instrument, side, sum(quantity) FROM orders WHERE status = 'FILLED' "
            "GROUP BY instrument, side"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreUnreadable(f"orders unreadable: {exc}") from exc
    finally:
        con.close()
    net: dict[str, float] = {}
    for instrument, side, qty in rows:
        sign = 1.0 if str(side).upper() == "BUY" else -1.0
        net[str(instrument)] = net.get(str(instrument), 0.0) + sign * float(qty)
    return {k: v for k, v in net.items() if abs(v) > 1e-12}


def venue_fills(state_dir: Path) -> dict[str, tuple[str, float]]:
    """Every filled order at the paper venue: client order id -> (instrument, signed quantity).

    Raises:
        StoreUnreadable: The venue's file is there but unreadable.
    """
    con = open_checked(state_dir / VENUE_FILE, full=False)
    try:
        rows = con.execute("SELECT client_order_id, instrument, side, quantity FROM orders "
                           "WHERE status = 'FILLED'").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreUnreadable(f"orders unreadable: {exc}") from exc
    finally:
        con.close()
    return {str(c): (str(i), (1.0 if str(s).upper() == "BUY" else -1.0) * float(q))
            for c, i, s, q in rows}


def open_order_ids(kv: KvContents) -> set[str]:
    """Client order ids execution still holds open (its ``order/`` keys: final ones are cold)."""
    return {k.removeprefix("order/") for k in kv.values if k.startswith("order/")}


def book_positions(kv: KvContents) -> dict[str, float] | None:
    """Execution's positions from its ``book`` row; None when it has no book."""
    raw = kv.values.get("book")
    if raw is None:
        return None
    book = msgspec.msgpack.decode(raw)
    positions = book.get("portfolio", {}).get("positions", {}) if isinstance(book, dict) else {}
    out: dict[str, float] = {}
    for name, pos in positions.items():
        qty = float(pos.get("quantity", 0.0)) if isinstance(pos, dict) else 0.0
        if abs(qty) > 1e-12:
            out[str(name)] = qty
    return out
