"""Fuzzing the config loader: any file gives a Config or a ConfigError naming the file (and,
for a bad value or an unknown key, the dotted key); never another exception.

Covered: bytes that are not TOML or not UTF-8, arbitrary TOML documents, every key of the
effective config with a value of the wrong type, unknown keys in every table, NaN/Inf anywhere,
deep nesting. ``test_config.py`` pins the individual messages.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import example, given, settings
from hypothesis import strategies as st

from supervisor import config as config_mod
from supervisor.errors import ConfigError

# Values that are free-form on purpose: any table is accepted there.
_FREE_FORM = re.compile(r"^children\.[^.]+\.args$|^orchestrator\.strategy_params$")


Leaf = tuple[tuple[str, ...], Any]


def _leaves(value: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[Leaf]:
    for key, item in value.items():
        path = (*prefix, key)
        if isinstance(item, dict) and not _FREE_FORM.match(".".join(path)):
            yield from _leaves(item, path)
        elif item is not None:
            yield path, item


def _tables(value: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, item in value.items():
        path = (*prefix, key)
        if isinstance(item, dict) and not _FREE_FORM.match(".".join(path)):
            if path != ("children",):  # a new key there is a new child, not an unknown key
                yield path
            yield from _tables(item, path)


_EFFECTIVE: dict[str, Any] = msgspec.to_builtins(config_mod.load())
_LEAVES = sorted(_leaves(_EFFECTIVE))
_TABLES = sorted(_tables(_EFFECTIVE))


def _key(part: str) -> str:
    """A TOML key: bare when it can be, else a basic string."""
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part, ensure_ascii=False)


def _value(value: Any) -> str:
    """A TOML value (inline form)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # nan, inf, -inf, 1e+300: TOML spells them the same
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"


def _toml(table: tuple[str, ...], key: str, value: Any) -> str:
    """A document setting ``key`` in ``table`` to ``value``."""
    header = f"[{'.'.join(_key(p) for p in table)}]\n" if table else ""
    return f"{header}{_key(key)} = {_value(value)}\n"


def _load(data: bytes) -> tuple[Path, config_mod.Config | ConfigError]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_bytes(data)
        try:
            return path, config_mod.load(path)
        except ConfigError as exc:
            return path, exc


def _assert_clear(path: Path, err: ConfigError) -> str:
    """The message names the file, and says what kind of problem it is."""
    msg = str(err)
    assert str(path) in msg, msg
    assert re.search(r"key '.*'|not valid TOML|not UTF-8|too deeply|cannot be read", msg,
                     re.DOTALL), msg
    return msg


# Text TOML can hold in a basic string (json.dumps leaves DEL raw, which TOML refuses).
_text = st.text(st.characters(codec="utf-8", exclude_characters="\x7f"),
                max_size=20)
_scalars = (st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | _text
            | st.sampled_from(["x" * 10_000, "\U0001f600", "tcp://127.0.0.1:1", "one_for_all"]))
_values = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_text, kids, max_size=3),
    max_leaves=8,
)
_known_keys = st.sampled_from(sorted({p for path, _ in _LEAVES for p in path}))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
@example(data=b"x = '\xff'\n")  # found by fuzzing: UnicodeDecodeError escaped load
@example(data=b"x = " + b"[" * 2000 + b"]" * 2000 + b"\n")  # found: RecursionError escaped
def test_any_bytes_load_or_raise_config_error_naming_the_file(data: bytes) -> None:
    """Random bytes: a Config (the default, for an empty file) or a ConfigError that names
    the file and says whether it is unreadable, not UTF-8, not TOML or has a bad key."""
    path, result = _load(data)
    if isinstance(result, ConfigError):
        _assert_clear(path, result)


@settings(max_examples=150, deadline=None)
@given(
    doc=st.dictionaries(
        _known_keys | _text,
        st.dictionaries(_known_keys | _text, _values, max_size=4) | _values,
        max_size=4,
    )
)
def test_any_toml_document_loads_or_names_the_bad_key(doc: dict[str, Any]) -> None:
    """Arbitrary TOML built from the real key names and random ones, holding values of every
    type (NaN and Inf included): a Config whose numbers are all finite, or a ConfigError
    naming the file and a key whose first part is in the document or a config section."""
    text = "".join(_toml((), k, v) for k, v in doc.items())
    path, result = _load(text.encode())
    if isinstance(result, ConfigError):
        msg = _assert_clear(path, result)
        _, found, named = msg.partition(" key '")
        if found:
            assert any(named.startswith(k) for k in [*doc, *_EFFECTIVE, "(top level)"]), msg
    else:
        floats = [v for _, v in _leaves(msgspec.to_builtins(result)) if isinstance(v, float)]
        assert all(math.isfinite(v) for v in floats)


def _wrong_for(default: Any) -> st.SearchStrategy[Any]:
    """Values of a type the key cannot take (ints are fine where floats are)."""
    if isinstance(default, bool):
        return st.sampled_from([1, "yes", 1.5, [True]])
    if isinstance(default, int):
        return st.sampled_from([1.5, "10", True, [1], {"a": 1}])
    if isinstance(default, float):
        return st.sampled_from(["1.0", True, [1.0], {"a": 1.0}, math.nan, math.inf, -math.inf])
    if isinstance(default, str):
        return st.sampled_from([1, 1.5, True, ["x"], {"a": "x"}])
    if isinstance(default, list):
        return st.sampled_from(["x", 1, True, {"a": 1}])
    return st.sampled_from(["x", 1, True, [1]])  # a free-form table


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_wrong_type_for_any_key_names_that_key_and_the_file(data: st.DataObject) -> None:
    """Every key of the effective config (children's specs included, which msgspec itself
    calls ``children[...]``) given a value of the wrong type, or NaN/Inf for a number: the
    error names exactly that dotted key and the file."""
    path_parts, default = data.draw(st.sampled_from(_LEAVES), label="key")
    wrong = data.draw(_wrong_for(default), label="value")
    text = _toml(path_parts[:-1], path_parts[-1], wrong)
    path, result = _load(text.encode())
    assert isinstance(result, ConfigError), text
    msg = _assert_clear(path, result)
    dotted = ".".join(path_parts)
    assert f"key '{dotted}'" in msg or f"key '{dotted}[" in msg, msg


@settings(max_examples=150, deadline=None)
@given(table=st.sampled_from(_TABLES), key=_text.filter(bool), value=_values)
@example(table=("supervisor",), key="a`b", value=1)  # was reported as key 'a'
@example(table=("children", "journal"), key="bogus", value=1)  # was 'children[...].bogus'
def test_an_unknown_key_in_any_table_is_named_with_its_table(
    table: tuple[str, ...], key: str, value: Any
) -> None:
    """A key no table declares, whatever its text (quotes, backticks, newlines, emoji), is an
    error naming ``<table>.<key>`` and the file (before the fix, a backtick in the key cut
    the name short: ``[supervisor] "a`b" = 1`` was reported as key 'a')."""
    known = _EFFECTIVE
    for part in table:
        known = known[part]
    if key in known:
        return
    path, result = _load(_toml(table, key, value).encode())
    assert isinstance(result, ConfigError)
    msg = _assert_clear(path, result)
    # A NaN or Inf in the value may be named first, inside the same key.
    assert f"key '{'.'.join(table)}.{key}" in msg, msg


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(st.sampled_from(["[supervisor]", "intensity = 3", "", "# comment",
                                    "[orchestrator.feed]", "seed = 1"]), max_size=8),
    at=st.integers(0, 8),
    bad=st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe\xff"]),
)
def test_bytes_that_are_not_utf8_are_named_with_their_line(
    lines: list[str], at: int, bad: bytes
) -> None:
    """A byte that is not UTF-8 on line N: 'not UTF-8 text' with that line number."""
    at = min(at, len(lines))
    text = "\n".join(lines[:at]).encode() + (b"\n" if at else b"") + b"# " + bad + b"\n"
    path, result = _load(text)
    assert isinstance(result, ConfigError)
    msg = _assert_clear(path, result)
    assert "not UTF-8" in msg, msg
    assert msg.endswith(f"at line {at + 1}"), msg


@settings(max_examples=100, deadline=None)
@given(key=_text, index=st.integers(0, 2))
@example(key="~" * 40, index=0)  # found by fuzzing: passed load, then KeyError at `up`
def test_an_allowed_client_that_is_not_a_z85_key_is_named(key: str, index: int) -> None:
    """``admin.curve_allowed_clients`` entries must be Z85 public keys (40 characters): any
    other text is refused at load, naming the entry, instead of failing `up` later."""
    good = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    clients = [good] * index + [key]
    text = ('[admin]\ntcp = "tcp://127.0.0.1:7700"\ncurve_secret_key_file = "k"\n'
            f"curve_allowed_clients = {_value(clients)}\n")
    path, result = _load(text.encode())
    if len(key) == 40 and re.fullmatch(r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]*", key):
        assert isinstance(result, config_mod.Config)
        return
    assert isinstance(result, ConfigError)
    assert f"key 'admin.curve_allowed_clients[{index}]'" in _assert_clear(path, result)
