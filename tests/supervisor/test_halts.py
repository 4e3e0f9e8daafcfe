"""The halts store (supervisor/halts.py) and its hash chain (supervisor/halts_chain.py)."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from actors._runtime.trading import TradingState
from supervisor.errors import HaltsStoreTampered
from supervisor.halts import HaltRow, HaltsStore, RowKind, verify
from supervisor.halts_chain import (
    COLUMNS,
    GENESIS_HASH,
    VerifyReport,
    canonical_payload,
    check_chain,
    row_hash,
)
from supervisor.trading_state import Source, transition

N = 6  # rows written by _fill; tests refer to seqs inside it


def _fill(store: HaltsStore, n: int = N, pad: int = 0) -> list[HaltRow]:
    """Append ``n`` rows mixing state-changing and note rows; ``pad`` bulks up the payload."""
    states = [TradingState.PAUSED, None, TradingState.ACTIVE, TradingState.HALTED, None]
    out = []
    for i in range(n):
        state = states[i % len(states)]
        out.append(
            store.append(
                RowKind.TRANSITION if state else RowKind.NOTE,
                source=Source.BREAKER if state else Source.SUPERVISOR,
                who="breaker" if state else "supervisor",
                reason=f"reason number {i + 1:03d}",
                state=state,
                payload={"i": i + 1, "pad": "x" * pad},
                at=1_700_000_000.25 + i,
            )
        )
    return out


def _raw(path: Path) -> sqlite3.Connection:
    """A plain connection with the defensive triggers dropped, as an attacker would."""
    conn = sqlite3.connect(path, isolation_level=None)
    for name in ("halts_no_update", "halts_no_delete", "halts_next_seq_only"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    return conn


def _tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = _raw(path)
    try:
        for sql, args in statements:
            conn.execute(sql, args)
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A closed (checkpointed) store with N rows."""
    path = tmp_path / "state" / "halts.sqlite"
    store = HaltsStore.open(path)
    _fill(store)
    store.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HaltsStore]:
    """An open, empty store, closed at teardown."""
    s = HaltsStore.open(tmp_path / "halts.sqlite")
    yield s
    s.close()


# --- writing and reading ---------------------------------------------------------------------


def test_append_and_read_back(store: HaltsStore) -> None:
    """Appended rows come back in order, numbered from 1, each chained to the one before."""
    written = _fill(store)
    rows = store.rows()
    assert rows == written
    assert [r.seq for r in rows] == list(range(1, N + 1))
    assert rows[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
    for r in rows:
        content = [r.seq, r.at, r.kind.value, r.state and r.state.value, r.source.value]
        content += [r.who, r.reason, r.payload, r.prev_hash]
        assert r.hash == row_hash(content)
    assert rows[1].state is None
    assert rows[1].kind is RowKind.NOTE
    assert store.verified() == VerifyReport(ok=True, rows_checked=N)


def test_payload_is_canonical_json(store: HaltsStore) -> None:
    """The payload is stored with sorted keys and no spaces, None as {}."""
    row = store.append(
        RowKind.ADMIN,
        source=Source.OPERATOR,
        who="ops",
        reason="status",
        payload={"b": 1, "a": [1, "é"]},
        at=1.0,
    )
    assert row.payload == '{"a":[1,"é"],"b":1}'
    bare = store.append(RowKind.NOTE, source=Source.OPERATOR, who="ops", reason="x", at=2.0)
    assert bare.payload == "{}"
    assert canonical_payload({"z": {"y": 1, "x": 2}}) == '{"z":{"x":2,"y":1}}'


def test_current_state_is_last_row_with_a_state(store: HaltsStore) -> None:
    """The trading state is the last state-carrying row's; note rows do not change it."""
    assert store.current_state() is TradingState.ACTIVE
    store.append(
        RowKind.TRANSITION,
        source=Source.HEARTBEAT,
        who="heartbeat",
        reason="orchestrator hung",
        state=TradingState.HALTED,
        at=10.0,
    )
    store.append(RowKind.NOTE, source=Source.SUPERVISOR, who="sup", reason="restarted", at=11.0)
    assert store.current_state() is TradingState.HALTED


def test_append_transition_records_the_table_decision(store: HaltsStore) -> None:
    """A Transition from the table becomes a transition row carrying its state, source, reason
    and the previous state."""
    change = transition(
        TradingState.ACTIVE,
        TradingState.PAUSED,
        source=Source.BREAKER,
        reason="daily loss",
        at=5.5,
    )
    row = store.append_transition(change, who="breaker", payload={"rule": "daily_loss"})
    assert (row.kind, row.state, row.source, row.reason, row.at) == (
        RowKind.TRANSITION,
        TradingState.PAUSED,
        Source.BREAKER,
        "daily loss",
        5.5,
    )
    assert row.payload == '{"previous":"ACTIVE","rule":"daily_loss"}'
    assert store.current_state() is TradingState.PAUSED


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reason": "  "}, "reason"),
        ({"who": ""}, "who"),
        ({"at": float("nan")}, "finite"),
        ({"at": float("inf")}, "finite"),
        ({"state": None}, "state"),
        ({"payload": {"x": float("nan")}}, "JSON|Out of range"),
    ],
    ids=["blank-reason", "blank-who", "nan-at", "inf-at", "transition-without-state", "nan"],
)
def test_append_refuses_bad_rows(store: HaltsStore, kwargs: dict[str, object], match: str) -> None:
    """A row without a reason, who, finite time, transition state or JSON payload is refused
    and nothing is written."""
    args: dict[str, object] = {
        "source": Source.OPERATOR,
        "who": "ops",
        "reason": "why",
        "state": TradingState.HALTED,
        "at": 1.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        store.append(RowKind.TRANSITION, **args)  # type: ignore[arg-type]
    assert store.rows() == []


def test_halt_is_sticky_across_reopen(tmp_path: Path) -> None:
    """A halt written, then the store closed and reopened, reads back HALTED, and appends carry
    on the same chain."""
    path = tmp_path / "deep" / "dir" / "halts.sqlite"
    first = HaltsStore.open(path)
    assert first.created
    _fill(first, n=4)  # the 4th row halts
    before = first.rows()
    first.close()

    again = HaltsStore.open(path)
    try:
        assert not again.created
        assert again.current_state() is TradingState.HALTED
        assert again.rows() == before
        row = again.append(RowKind.NOTE, source=Source.SUPERVISOR, who="s", reason="up", at=9.0)
        assert (row.seq, row.prev_hash) == (5, before[-1].hash)
        assert again.verified().ok
    finally:
        again.close()
    assert verify(path) == VerifyReport(ok=True, rows_checked=5)


def test_store_runs_wal_with_full_sync(store: HaltsStore) -> None:
    """The store's connection uses WAL and synchronous=FULL (2), so a returned append is on disk."""
    conn = store._conn  # the pragmas are per connection; only the store's own one tells
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_a_normal_store_syncs_when_asked(tmp_path: Path) -> None:
    """NORMAL (1) for the supervisor, which calls ``sync`` itself; nothing else is accepted."""
    store = HaltsStore.open(tmp_path / "h.sqlite", synchronous="NORMAL")
    try:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1
        _fill(store, 3)
        store.sync()  # an fsync of the WAL that holds the rows: it must not raise
        assert (tmp_path / "h.sqlite-wal").stat().st_size > 0
    finally:
        store.close()
    assert verify(tmp_path / "h.sqlite").ok
    with pytest.raises(ValueError, match="synchronous must be FULL or NORMAL, not 'OFF'"):
        HaltsStore.open(tmp_path / "other.sqlite", synchronous="OFF")


# --- triggers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE halts SET reason = 'edited' WHERE seq = 2",
        "DELETE FROM halts WHERE seq = 2",
        "DELETE FROM halts",
        "INSERT OR REPLACE INTO halts SELECT * FROM halts WHERE seq = 2",
        "INSERT INTO halts SELECT seq + 10, at, kind, state, source, who, reason, payload, "
        "prev_hash, hash FROM halts WHERE seq = 2",
        "INSERT INTO halts SELECT * FROM halts WHERE seq = 2 "
        "ON CONFLICT(seq) DO UPDATE SET reason = 'edited'",
    ],
    ids=["update", "delete-one", "delete-all", "insert-or-replace", "forged-seq", "upsert"],
)
def test_sql_tampering_is_refused_by_triggers(db: Path, sql: str) -> None:
    """UPDATE, DELETE, REPLACE and an INSERT with any seq but the next are refused by triggers,
    leaving the store verified."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    assert verify(db) == VerifyReport(ok=True, rows_checked=N)


# --- tampering that bypasses the triggers ---------------------------------------------------


def test_changed_row_is_found(db: Path) -> None:
    """A reason edited after the triggers are dropped is reported as a hash mismatch at its row."""
    _tamper(db, ("UPDATE halts SET reason = 'nothing to see' WHERE seq = 3", ()))
    report = verify(db)
    assert (report.ok, report.first_bad_seq, report.rows_checked) == (False, 3, 2)
    assert report.problem.startswith("hash mismatch at row 3")


def test_open_store_sees_tampering_by_another_connection(tmp_path: Path) -> None:
    """A tampered store still opens and reads; verified() reports the row, so the supervisor can
    decide to stay halted."""
    path = tmp_path / "halts.sqlite"
    store = HaltsStore.open(path)
    try:
        _fill(store)
        assert store.current_state() is TradingState.PAUSED
        _tamper(path, ("UPDATE halts SET state = 'ACTIVE' WHERE seq = ?", (N,)))
        assert store.current_state() is TradingState.ACTIVE  # the forged value is what is read
        report = store.verified()
        assert (report.ok, report.first_bad_seq) == (False, N)
        assert f"hash mismatch at row {N}" in report.problem
    finally:
        store.close()
    reopened = HaltsStore.open(path)
    try:
        assert reopened.verified() == report
        assert len(reopened.rows()) == N
    finally:
        reopened.close()


def test_unknown_state_value_reads_as_halted(db: Path) -> None:
    """A state value no append writes makes current_state() HALTED and rows() refuse to decode."""
    _tamper(db, ("UPDATE halts SET state = 'YOLO' WHERE seq = ?", (N,)))
    store = HaltsStore.open(db)
    try:
        assert store.current_state() is TradingState.HALTED
        with pytest.raises(HaltsStoreTampered, match=f"row {N}"):
            store.rows()
    finally:
        store.close()


@pytest.mark.parametrize("seq", [3, N - 1], ids=["middle", "last-but-one"])
def test_deleted_row_is_a_gap(db: Path, seq: int) -> None:
    """A deleted row (middle or last-but-one) is reported as missing, by its seq."""
    _tamper(db, ("DELETE FROM halts WHERE seq = ?", (seq,)))
    report = verify(db)
    assert (report.ok, report.first_bad_seq, report.rows_checked) == (False, seq, seq - 1)
    assert report.problem.startswith(f"missing row {seq} (gap")


def test_deleted_last_row_is_not_seen_documented_limitation(db: Path) -> None:
    """Pins the documented limitation: deleting the last row leaves a valid shorter chain; only
    an anchor kept elsewhere (journal) can see it."""
    _tamper(db, ("DELETE FROM halts WHERE seq = ?", (N,)))
    assert verify(db) == VerifyReport(ok=True, rows_checked=N - 1)


def test_reordered_rows_are_named(db: Path) -> None:
    """Swapping the contents of two seqs is reported as reordered rows at the first of them."""
    cols = ", ".join(c for c in COLUMNS if c != "seq")
    _tamper(
        db,
        ("UPDATE halts SET seq = -2 WHERE seq = 2", ()),
        ("UPDATE halts SET seq = 2 WHERE seq = 5", ()),
        ("UPDATE halts SET seq = 5 WHERE seq = -2", ()),
    )
    conn = sqlite3.connect(db)
    assert conn.execute(f"SELECT {cols} FROM halts WHERE seq = 2").fetchone()[5] == (
        "reason number 005"
    )
    conn.close()
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert report.problem == "reordered rows: row 2 holds the content written as row 5"


def test_rewritten_row_breaks_the_next_link(db: Path) -> None:
    """A row edited and re-hashed by someone who knows the encoding still breaks the next row's
    prev-hash link, reported at that next row."""
    conn = _raw(db)
    try:
        row = list(conn.execute("SELECT * FROM halts WHERE seq = 3").fetchone())
        row[6] = "forged reason"
        row[9] = row_hash(row[:9])
        conn.execute("DELETE FROM halts WHERE seq = 3")
        conn.execute("INSERT INTO halts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    finally:
        conn.close()
    report = verify(db)
    assert (report.ok, report.first_bad_seq, report.rows_checked) == (False, 4, 3)
    assert report.problem.startswith("prev-hash link broken at row 4")


@pytest.mark.parametrize(
    ("forged_seq", "bad", "problem"),
    [
        (N + 2, N + 1, f"missing row {N + 1} (gap: the next row is {N + 2})"),
        (0, 0, "unexpected seq 0 where 1 was due (forged seq)"),
        (-7, -7, "unexpected seq -7 where 1 was due (forged seq)"),
    ],
    ids=["beyond-the-end", "zero", "negative"],
)
def test_row_inserted_with_forged_seq(db: Path, forged_seq: int, bad: int, problem: str) -> None:
    """A copied row inserted under a seq that breaks 1..n contiguity is reported."""
    _tamper(
        db,
        (
            "INSERT INTO halts SELECT ?, at, kind, state, source, who, reason, payload, "
            "prev_hash, hash FROM halts WHERE seq = 2",
            (forged_seq,),
        ),
    )
    report = verify(db)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, bad, problem)


def test_appended_row_with_made_up_hash(db: Path) -> None:
    """A row added at the next seq with the right link but a made-up hash fails at that seq."""
    last_hash = sqlite3.connect(db).execute("SELECT hash FROM halts WHERE seq = ?", (N,))
    prev = last_hash.fetchone()[0]
    _tamper(
        db,
        (
            "INSERT INTO halts VALUES (?, 1.0, 'transition', 'ACTIVE', 'operator', 'x', 'y', "
            "'{}', ?, ?)",
            (N + 1, prev, "f" * 64),
        ),
    )
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, N + 1)
    assert report.problem.startswith(f"hash mismatch at row {N + 1}")


def test_file_edited_outside_sqlite(db: Path) -> None:
    """Bytes of a reason changed in the file itself (no SQLite involved) show as a hash mismatch;
    SQLite's own integrity check cannot see it."""
    data = db.read_bytes()
    assert data.count(b"reason number 002") == 1
    db.write_bytes(data.replace(b"reason number 002", b"reason number 00\xff"))
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert report.problem.startswith("hash mismatch at row 2")


def test_integrity_check_failure_is_reported(db: Path) -> None:
    """A corrupt database header (freelist count) fails PRAGMA integrity_check, which is named."""
    with db.open("r+b") as f:
        f.seek(36)  # header field: total number of freelist pages
        f.write(struct.pack(">I", 7))
    report = verify(db)
    assert (report.ok, report.first_bad_seq, report.rows_checked) == (False, None, 0)
    assert report.problem.startswith("integrity_check failed:")
    assert "freelist" in report.problem


@pytest.fixture
def big_db(tmp_path: Path) -> Path:
    """A closed store spanning several pages, so cuts land inside the table."""
    path = tmp_path / "big.sqlite"
    store = HaltsStore.open(path)
    _fill(store, n=40, pad=300)
    store.close()
    return path


@pytest.mark.parametrize("cut", [50, 4096, 0.5, -100], ids=["header", "page1", "half", "tail"])
def test_truncated_checkpointed_file(big_db: Path, cut: float) -> None:
    """A checkpointed store file cut short fails verification, whichever check sees it."""
    size = big_db.stat().st_size
    keep = int(size * cut) if isinstance(cut, float) else (cut if cut > 0 else size + cut)
    with big_db.open("r+b") as f:
        f.truncate(keep)
    report = verify(big_db)
    assert not report.ok
    # Where the cut lands decides which check sees it first; a cut inside the last page can
    # leave the b-tree sound and zero a row's bytes, which only its hash shows.
    assert report.problem.startswith(
        ("file truncated or not a database", "integrity_check failed", "hash mismatch")
    ), report


def test_emptied_file_is_reported_and_open_says_created(big_db: Path) -> None:
    """A store truncated to zero bytes has no halts table; opening it again starts afresh and
    says so through ``created``, the supervisor's cue that the history is gone."""
    big_db.write_bytes(b"")
    assert verify(big_db) == VerifyReport(
        ok=False, rows_checked=0, problem="file truncated or not a database: no halts table"
    )
    store = HaltsStore.open(big_db)
    try:
        assert store.created
        assert store.current_state() is TradingState.ACTIVE
    finally:
        store.close()


def test_garbage_file(tmp_path: Path) -> None:
    """A file that is not SQLite fails verify() with a report and open() with HaltsStoreTampered."""
    path = tmp_path / "halts.sqlite"
    path.write_bytes(b"definitely not sqlite " * 300)
    report = verify(path)
    assert (report.ok, report.first_bad_seq) == (False, None)
    assert report.problem.startswith("file truncated or not a database:")
    with pytest.raises(HaltsStoreTampered, match="not a database"):
        HaltsStore.open(path)


def test_missing_file_is_reported_not_created(tmp_path: Path) -> None:
    """verify() of a missing file says so and does not create it."""
    path = tmp_path / "nowhere" / "halts.sqlite"
    assert verify(path) == VerifyReport(ok=False, rows_checked=0, problem=f"file missing: {path}")
    assert not path.exists()


def _snapshot(store_path: Path, dest: Path) -> Path:
    """Copy an open store's file and WAL as a crash would leave them (no checkpoint)."""
    dest.mkdir()
    shutil.copy(store_path, dest / "halts.sqlite")
    shutil.copy(store_path.with_name(store_path.name + "-wal"), dest / "halts.sqlite-wal")
    return dest / "halts.sqlite"


def test_uncheckpointed_store_truncation(tmp_path: Path) -> None:
    """With rows still in the WAL: an intact copy verifies; the main file cut to zero fails;
    the WAL cut in half silently drops trailing rows (documented limitation, like a deleted
    last row)."""
    live = HaltsStore.open(tmp_path / "live" / "halts.sqlite")
    try:
        _fill(live, n=40, pad=300)
        intact = _snapshot(live.path, tmp_path / "intact")
        main_cut = _snapshot(live.path, tmp_path / "main_cut")
        wal_cut = _snapshot(live.path, tmp_path / "wal_cut")
    finally:
        live.close()
    assert verify(intact) == VerifyReport(ok=True, rows_checked=40)

    main_cut.write_bytes(b"")
    assert not verify(main_cut).ok

    wal = wal_cut.with_name(wal_cut.name + "-wal")
    with wal.open("r+b") as f:
        f.truncate(wal.stat().st_size // 2)
    report = verify(wal_cut)
    assert report.ok
    assert 0 < report.rows_checked < 40


# --- the pure chain -------------------------------------------------------------------------


def test_check_chain_on_values() -> None:
    """check_chain works on plain tuples: an empty chain is fine, a bad genesis link is named."""
    assert check_chain([]) == VerifyReport(ok=True, rows_checked=0)
    content = [1, 1.0, "note", None, "operator", "ops", "why", "{}", "1" * 64]
    report = check_chain([(*content, row_hash(content))])
    assert (report.ok, report.first_bad_seq) == (False, 1)
    assert report.problem == (
        "prev-hash link broken at row 1: its prev_hash is not the hash of the genesis"
    )


def test_row_hash_covers_type_and_rejects_wrong_arity() -> None:
    """The hash tells 1.0 from "1.0" and a blob from text, and needs exactly nine values."""
    base = [1, 1.0, "note", None, "operator", "ops", "why", "{}", GENESIS_HASH]
    assert row_hash(base) != row_hash([1, "1.0", *base[2:]])
    assert row_hash(base) != row_hash([*base[:6], b"why", *base[7:]])
    with pytest.raises(ValueError, match="has 9 values, not 8"):
        row_hash(base[:8])


# --- any single-field mutation ---------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One closed store copied by every hypothesis example (one per example would be slow)."""
    path = tmp_path_factory.mktemp("template") / "halts.sqlite"
    store = HaltsStore.open(path)
    _fill(store)
    store.close()
    return path


_HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_ANY = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),  # SQLite's INTEGER range
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.binary(max_size=8),
)
_PLAUSIBLE = {
    "at": st.floats(min_value=1.6e9, max_value=1.8e9),
    "kind": st.sampled_from([k.value for k in RowKind]),
    "state": st.sampled_from([None, *(s.value for s in TradingState)]),
    "source": st.sampled_from([s.value for s in Source]),
    "payload": st.sampled_from(['{"i":1,"pad":""}', '{"i": 1, "pad": ""}', "{}"]),
    "prev_hash": _HEX64,
    "hash": _HEX64,
}


@st.composite
def _mutations(draw: st.DrawFn) -> tuple[int, str, object]:
    seq = draw(st.integers(1, N))
    field = draw(st.sampled_from(COLUMNS))
    if field == "seq":
        value: object = draw(st.integers(-5, 0) | st.integers(N + 1, N + 50))
    else:
        value = draw(_PLAUSIBLE.get(field, _ANY) | _ANY)
    return seq, field, value


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutation=_mutations())
def test_any_single_field_mutation_is_detected(
    template: Path, tmp_path_factory: pytest.TempPathFactory, mutation: tuple[int, str, object]
) -> None:
    """Changing any one stored field of any one row, to any value, fails verification at that
    row (at the negative seq itself when a row is moved before 1)."""
    seq, field, value = mutation
    path = tmp_path_factory.mktemp("mut") / "halts.sqlite"
    shutil.copy(template, path)
    conn = _raw(path)
    try:
        # Identify the row by its stored hash: it survives a change of seq.
        ident = conn.execute("SELECT hash FROM halts WHERE seq = ?", (seq,)).fetchone()[0]
        before = conn.execute(f"SELECT typeof({field}), {field} FROM halts WHERE seq = ?", (seq,))
        old = before.fetchone()
        try:
            conn.execute(f"UPDATE halts SET {field} = ? WHERE seq = ?", (value, seq))
        except sqlite3.IntegrityError:
            assume(False)  # NOT NULL refused the value: not a mutation that could be stored
        key = value if field == "hash" else ident
        after = conn.execute(f"SELECT typeof({field}), {field} FROM halts WHERE hash = ?", (key,))
        new = after.fetchone()
    finally:
        conn.close()
    # Column affinity may turn the value back into what was there (1.0 for "1.0"): no change.
    assume(old != new)  # rows are (typeof, value): 1 and 1.0 differ
    report = verify(path)
    assert not report.ok, (field, value)
    expected = value if field == "seq" and isinstance(value, int) and value < 1 else seq
    assert report.first_bad_seq == expected, report
