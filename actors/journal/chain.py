"""The hash chain's pure core: canonical encoding, entry hashing, and the one-line entry format.

An entry is exactly one ASCII line::

    - 000042 | 2026-11-23T22:31:58.123456Z | OrderFilled | {"qty":3} | prev=<hex> | hash=<hex>

* ``seq``: global, contiguous, starting at 1; written zero-padded to at least 6 digits.
* ``at``: the entry's time as RFC 3339 UTC text with exactly six fractional digits and a ``Z``.
  The text (not a float) is what is stored and hashed, so a line is recomputable from itself
  with no float formatting in the loop; writers turn an epoch float into it with `format_at`.
* ``event``: a name such as ``OrderFilled`` (letters, digits, ``_`` and ``.``; starts with a
  letter), so it can never contain the `` | `` separator.
* fields: canonical JSON (sorted keys, compact separators, ``ensure_ascii``, no NaN/Infinity).
  ``ensure_ascii`` escapes newlines and every non-ASCII character (including U+2028, which
  ``str.splitlines`` would split on), so an entry stays one ASCII line whatever the values hold.
* ``prev``: the hash of the previous entry (`GENESIS` for the first one); ``hash``: this entry's.

The hash is SHA-256 over `canonical_bytes`: a version tag and the five parts joined by ``\\n``,
none of which can contain a newline. Parsing is strict: a line whose JSON is valid but not in
canonical form, or whose ``seq`` has extra leading zeros, is malformed, so that every change to a
line's bytes either breaks its hash or makes it unparseable.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from actors.journal.errors import InvalidJournalValue, MalformedEntry

GENESIS = "0" * 64
"""The ``prev`` of the very first entry."""

HASH_DOMAIN = b"quantfund-journal-v1"
"""Prefix of every hashed encoding; a new encoding would get a new tag."""

SEPARATOR = " | "
"""Between the parts of a line."""

_SEQ_RE = re.compile(r"[0-9]{6,}")
_AT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_EVENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,79}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
_SEQ_MAX_DIGITS = 19
"""Longest ``seq`` text parsed (an int64 has 19 digits); longer is malformed, not a crash."""


class Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One journal entry, as written on (and parsed back from) its line."""

    seq: int
    """Global sequence number; the first entry is 1 and each next one is one more."""
    at: str
    """UTC time as RFC 3339 text with microseconds (``2026-11-23T22:31:58.123456Z``)."""
    event: str
    """What happened, past tense (``OrderFilled``)."""
    fields: dict[str, Any]
    """The event's data, exactly as it decodes from the line's canonical JSON."""
    prev: str
    """Hash of the previous entry, or `GENESIS`."""
    hash: str
    """SHA-256 (hex) of this entry's `canonical_bytes`."""

    @property
    def day(self) -> str:
        """The UTC date of the entry (``YYYY-MM-DD``), which names its day file."""
        return self.at[:10]


def format_at(epoch: float) -> str:
    """Render seconds since the epoch as the entry time text (UTC, microseconds, ``Z``).

    The time is rounded to the nearest microsecond (as ``datetime.fromtimestamp`` does).

    Raises:
        InvalidJournalValue: ``epoch`` is NaN, infinite or outside what a date can hold.
    """
    if not math.isfinite(epoch):
        raise InvalidJournalValue(f"entry time must be a finite epoch, got {epoch!r}")
    try:
        # isoformat is several times faster than strftime; "+00:00" becomes "Z".
        moment = datetime.fromtimestamp(epoch, tz=UTC)
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidJournalValue(f"entry time {epoch!r} is out of range: {exc}") from exc


def canonical_json(fields: Mapping[str, Any]) -> str:
    """Encode an event's fields as the single-line canonical JSON that is stored and hashed.

    Raises:
        InvalidJournalValue: a key is not a string, a value is NaN/Infinity, a value is of a type
            JSON cannot hold, or the structure is circular.
    """
    if not isinstance(fields, Mapping):
        raise InvalidJournalValue(f"fields must be a mapping, got {type(fields).__name__}")
    for key in fields:
        if not isinstance(key, str):
            raise InvalidJournalValue(f"field names must be strings, got {key!r}")
    try:
        return json.dumps(
            dict(fields),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
            allow_nan=False,
        )
    except ValueError as exc:
        # json says "Out of range float values are not JSON compliant" or "Circular reference".
        raise InvalidJournalValue(
            f"fields cannot be journaled ({exc}); NaN and Infinity are rejected on purpose"
        ) from exc
    except TypeError as exc:
        raise InvalidJournalValue(f"fields cannot be journaled: {exc}") from exc


def canonical_bytes(seq: int, at: str, event: str, fields_json: str, prev: str) -> bytes:
    """The exact bytes an entry's hash covers: a version tag and the parts, newline-separated."""
    return b"\n".join(
        (
            HASH_DOMAIN,
            str(seq).encode(),
            at.encode(),
            event.encode(),
            fields_json.encode(),
            prev.encode(),
        )
    )


def compute_hash(seq: int, at: str, event: str, fields_json: str, prev: str) -> str:
    """SHA-256 (hex) of `canonical_bytes` for these parts."""
    return hashlib.sha256(canonical_bytes(seq, at, event, fields_json, prev)).hexdigest()


def make_entry(seq: int, at: str, event: str, fields: Mapping[str, Any], prev: str) -> Entry:
    """Build the next entry of a chain: validate the parts, encode the fields, compute the hash.

    ``Entry.fields`` holds the fields as they decode from their canonical JSON (tuples become
    lists), so the returned entry equals what `parse_line` reads back.

    Raises:
        InvalidJournalValue: a part cannot be journaled (bad name, NaN, non-JSON value ...).
    """
    return make_line(seq, at, event, fields, prev)[0]


def make_line(
    seq: int, at: str, event: str, fields: Mapping[str, Any], prev: str
) -> tuple[Entry, str]:
    """`make_entry` and its `format_line`, encoding the fields once (the writer's hot path).

    Raises:
        InvalidJournalValue: as `make_entry`.
    """
    if seq < 1:
        raise InvalidJournalValue(f"seq must be >= 1, got {seq}")
    _check_at(at, InvalidJournalValue)
    if _EVENT_RE.fullmatch(event) is None:
        raise InvalidJournalValue(
            f"event name {event!r} must start with a letter and hold only letters, digits, "
            "'_' and '.' (at most 80 characters)"
        )
    if _HEX64_RE.fullmatch(prev) is None:
        raise InvalidJournalValue(f"prev must be 64 lowercase hex digits, got {prev!r}")
    fields_json = canonical_json(fields)
    digest = compute_hash(seq, at, event, fields_json, prev)
    entry = Entry(
        seq=seq, at=at, event=event, fields=json.loads(fields_json), prev=prev, hash=digest
    )
    return entry, _line(entry, fields_json)


def format_line(entry: Entry) -> str:
    """The entry's line, without the trailing newline."""
    return _line(entry, canonical_json(entry.fields))


def parse_line(line: str) -> Entry:
    """Parse one entry line (without its newline). The hash is not checked: see `hash_matches`.

    Raises:
        MalformedEntry: the line is not an entry; the message says which part is wrong.
    """
    return _parse(line)[0]


def read_entry(raw: bytes) -> tuple[Entry, bool]:
    """Parse a line as read from a file (bytes, no newline) and say whether its hash matches.

    Raises:
        MalformedEntry: as `parse_line`, or the bytes are not ASCII.
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise MalformedEntry(f"line holds non-ASCII bytes (at offset {exc.start})") from exc
    entry, fields_json = _parse(text)
    expected = compute_hash(entry.seq, entry.at, entry.event, fields_json, entry.prev)
    return entry, expected == entry.hash


def parse_raw(raw: bytes) -> Entry:
    """Parse one entry line as read from a file (bytes, without the newline).

    Raises:
        MalformedEntry: as `parse_line`, or the bytes are not ASCII.
    """
    return read_entry(raw)[0]


def hash_matches(entry: Entry) -> bool:
    """True when the entry's stored hash is the hash of its own parts."""
    expected = compute_hash(
        entry.seq, entry.at, entry.event, canonical_json(entry.fields), entry.prev
    )
    return expected == entry.hash


def _line(entry: Entry, fields_json: str) -> str:
    parts = (f"- {entry.seq:06d}", entry.at, entry.event, fields_json)
    return SEPARATOR.join((*parts, f"prev={entry.prev}", f"hash={entry.hash}"))


def _parse(line: str) -> tuple[Entry, str]:
    """The entry and its fields' JSON text, which is known canonical."""
    if not line.isascii():
        raise MalformedEntry("line holds non-ASCII characters")
    if not line.startswith("- "):
        raise MalformedEntry("line does not start with '- '")
    head = line[2:].split(SEPARATOR, 3)
    if len(head) != 4:
        raise MalformedEntry("line has fewer than 6 ' | '-separated parts")
    seq_text, at, event, rest = head
    tail = rest.rsplit(SEPARATOR, 2)
    if len(tail) != 3:
        raise MalformedEntry("line has fewer than 6 ' | '-separated parts")
    fields_json, prev_part, hash_part = tail
    seq = _seq_part(seq_text)
    _check_at(at, MalformedEntry)
    if _EVENT_RE.fullmatch(event) is None:
        raise MalformedEntry(f"event name {event!r} is not a valid event name")
    prev = _hex_part(prev_part, "prev")
    digest = _hex_part(hash_part, "hash")
    fields = _fields_part(fields_json)
    entry = Entry(seq=seq, at=at, event=event, fields=fields, prev=prev, hash=digest)
    return entry, fields_json


def _seq_part(text: str) -> int:
    if len(text) > _SEQ_MAX_DIGITS:  # int() refuses over 4,300 digits with a ValueError
        raise MalformedEntry(f"seq has {len(text)} characters; at most {_SEQ_MAX_DIGITS}")
    if _SEQ_RE.fullmatch(text) is None or f"{int(text):06d}" != text:
        raise MalformedEntry(f"seq {text!r} is not a decimal zero-padded to 6 digits")
    seq = int(text)
    if seq < 1:
        raise MalformedEntry("seq 0 is reserved for the genesis")
    return seq


def _fields_part(fields_json: str) -> dict[str, Any]:
    try:
        fields = json.loads(fields_json)
    except ValueError as exc:
        raise MalformedEntry(f"fields are not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedEntry("fields JSON nests arrays or objects too deeply") from exc
    if not isinstance(fields, dict):
        raise MalformedEntry("fields are not a JSON object")
    try:
        canonical = canonical_json(fields)
    except InvalidJournalValue as exc:
        # json.loads accepts NaN/Infinity literals; the journal never writes them.
        raise MalformedEntry(f"fields hold a value the journal never writes: {exc}") from exc
    except RecursionError as exc:  # decoded just under the limit, too deep to encode again
        raise MalformedEntry("fields JSON nests arrays or objects too deeply") from exc
    if canonical != fields_json:
        raise MalformedEntry("fields JSON is not in canonical form (sorted keys, compact)")
    return fields


def _hex_part(part: str, name: str) -> str:
    prefix = f"{name}="
    if not part.startswith(prefix) or _HEX64_RE.fullmatch(part[len(prefix) :]) is None:
        raise MalformedEntry(f"{name} part {part!r} is not '{name}=' and 64 lowercase hex digits")
    return part[len(prefix) :]


def _check_at(at: str, error: type[Exception]) -> None:
    if _AT_RE.fullmatch(at) is None:
        raise error(f"time {at!r} is not UTC RFC 3339 text like 2026-11-23T22:31:58.123456Z")
    try:
        # The pattern fixed the shape; this catches impossible dates (month 13, Feb 30).
        datetime.fromisoformat(at[:-1])
    except ValueError as exc:
        raise error(f"time {at!r} is not a real date and time: {exc}") from exc
