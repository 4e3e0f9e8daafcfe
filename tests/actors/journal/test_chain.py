"""Tests of actors/journal/chain.py: canonical encoding, hashing, the one-line entry format."""

from __future__ import annotations

import hashlib
import math

import pytest

from actors.journal.chain import (
    GENESIS,
    Entry,
    canonical_json,
    compute_hash,
    format_at,
    format_line,
    hash_matches,
    make_entry,
    parse_line,
    parse_raw,
)
from actors.journal.errors import InvalidJournalValue, MalformedEntry

AT = "2026-11-23T22:31:58.123456Z"
GOLDEN_HASH = "097974968ddbad07b550ad5be0390d30abb97783fb5739393bb89729cb1ed37f"


def _entry(**fields: object) -> Entry:
    return make_entry(42, AT, "OrderFilled", fields or {"qty": 3, "px": 101.5}, GENESIS)


def test_line_format_is_pinned() -> None:
    """The exact bytes of a line: zero-padded seq, time text, event, sorted compact JSON, hashes."""
    line = format_line(_entry())
    assert line == (
        f'- 000042 | {AT} | OrderFilled | {{"px":101.5,"qty":3}} | prev={GENESIS} '
        f"| hash={GOLDEN_HASH}"
    )


def test_hash_is_sha256_of_the_documented_encoding() -> None:
    """The hash is SHA-256 over the version tag and the five parts joined by newlines.

    Pinned with an independent computation and a golden value, so a change to the encoding
    (which would orphan every journal already written) cannot go unnoticed.
    """
    parts = [b"quantfund-journal-v1", b"42", AT.encode(), b"OrderFilled"]
    parts += [b'{"px":101.5,"qty":3}', GENESIS.encode()]
    expected = hashlib.sha256(b"\n".join(parts)).hexdigest()
    assert expected == GOLDEN_HASH
    assert compute_hash(42, AT, "OrderFilled", '{"px":101.5,"qty":3}', GENESIS) == GOLDEN_HASH
    assert _entry().hash == GOLDEN_HASH


def test_round_trip() -> None:
    """parse_line(format_line(entry)) gives the same entry back, and its hash checks out."""
    entry = _entry(qty=3, tags=["a", "b"], nested={"z": None, "a": True}, px=-0.0, big=10**30)
    parsed = parse_line(format_line(entry))
    assert parsed == entry
    assert hash_matches(parsed)


def test_values_that_could_split_a_line_stay_on_one_ascii_line() -> None:
    """Newlines, separators and non-ASCII (incl. U+2028, which splitlines splits on) are escaped."""
    tricky = "a\nb\r\nc | prev=x \u2028 \u0085 \x00 é 🙂"
    line = format_line(_entry(note=tricky))
    assert line.isascii()
    assert len(line.splitlines()) == 1
    assert parse_line(line).fields["note"] == tricky


def test_make_entry_fields_equal_what_parsing_reads_back() -> None:
    """Tuples become lists at append time, so the returned entry equals the parsed one."""
    entry = _entry(pair=(1, 2))
    assert entry.fields["pair"] == [1, 2]
    assert parse_line(format_line(entry)) == entry


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_rejected(bad: float) -> None:
    """NaN/Inf anywhere in the fields is refused with an error that names the cause."""
    with pytest.raises(InvalidJournalValue, match="NaN and Infinity"):
        make_entry(1, AT, "PriceSeen", {"deep": {"px": [1.0, bad]}}, GENESIS)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"when": object()}, "cannot be journaled"),
        ({1: "x"}, "field names must be strings"),
        (["not", "a", "dict"], "must be a mapping"),
    ],
)
def test_unjournalable_fields_are_rejected(fields: object, match: str) -> None:
    """Values JSON cannot hold, non-string keys and non-mappings are refused, not mangled."""
    with pytest.raises(InvalidJournalValue, match=match):
        canonical_json(fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("event", ["", "9Lives", "Order Filled", "A|B", "X" * 81, "Évent"])
def test_bad_event_names_are_rejected(event: str) -> None:
    """Event names are identifiers, so they can never contain the part separator."""
    with pytest.raises(InvalidJournalValue, match="event name"):
        make_entry(1, AT, event, {}, GENESIS)


def test_format_at_renders_utc_microseconds() -> None:
    """Epoch floats become UTC RFC 3339 text with six fractional digits; NaN is refused."""
    assert format_at(0.0) == "1970-01-01T00:00:00.000000Z"
    assert format_at(1795473118.5) == "2026-11-23T22:31:58.500000Z"
    with pytest.raises(InvalidJournalValue, match="finite"):
        format_at(math.nan)


GOOD = format_line(make_entry(42, AT, "OrderFilled", {"qty": 3, "px": 101.5}, GENESIS))


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("* " + GOOD[2:], "does not start with '- '"),
        (GOOD.replace(" | ", " ; ", 1), "fewer than 6"),
        (GOOD.replace("000042", "00042x"), "seq"),
        (GOOD.replace("000042", "0000042"), "seq"),
        (GOOD.replace("- 000042", "- 000000"), "genesis"),
        (GOOD.replace(AT, "2026-11-23 22:31:58Z"), "RFC 3339"),
        (GOOD.replace(AT, "2026-13-23T22:31:58.123456Z"), "not a real date"),
        (GOOD.replace("OrderFilled", "Order-Filled"), "event name"),
        (GOOD.replace('"qty":3', '"qty":'), "not valid JSON"),
        (GOOD.replace('{"px":101.5,"qty":3}', "[1]"), "not a JSON object"),
        (GOOD.replace('{"px":101.5,"qty":3}', '{"qty":3,"px":101.5}'), "canonical"),
        (GOOD.replace('{"px":101.5,"qty":3}', '{"px": 101.5,"qty":3}'), "canonical"),
        (GOOD.replace('"px":101.5', '"px":NaN'), "never writes"),
        (GOOD.replace("prev=0", "prev=X"), "prev part"),
        (GOOD.replace("hash=0", "hash=A"), "hash part"),
        (GOOD[:-1], "hash part"),
        (GOOD.replace("qty", "qt\u00e9"), "non-ASCII"),
    ],
)
def test_parse_errors_name_the_malformed_part(line: str, match: str) -> None:
    """Each way a line can be malformed gets an error that says which part is wrong."""
    with pytest.raises(MalformedEntry, match=match):
        parse_line(line)


def test_parse_raw_rejects_non_ascii_bytes() -> None:
    """Bytes that are not ASCII (a torn or corrupted line) are malformed, not a decode crash."""
    with pytest.raises(MalformedEntry, match="non-ASCII bytes"):
        parse_raw(GOOD.encode()[:30] + b"\xff\x00")


def test_hash_matches_notices_any_changed_part() -> None:
    """Changing seq, time, event, fields or prev of a parsed entry breaks its hash."""
    entry = parse_line(GOOD)
    variants = [
        GOOD.replace("000042", "000043"),
        GOOD.replace(AT, AT.replace("58.1", "58.2")),
        GOOD.replace("OrderFilled", "OrderFilleD"),
        GOOD.replace('"qty":3', '"qty":4'),
        GOOD.replace("prev=00", "prev=01"),
    ]
    assert hash_matches(entry)
    for variant in variants:
        assert not hash_matches(parse_line(variant)), variant
