"""Config-change audit: the effective config's hash and a readable diff against the last run's.

At start the supervisor calls :func:`check`; when the effective configuration differs from the
copy persisted by the previous run (``<state_dir>/config-last.json``), it gets a
``ConfigChanged`` event to publish (the alerter sends it as INFO, the journal records it), and
the new copy replaces the old one. The first run, and a run with an unchanged config, get None.

The diff is one line per changed key in dotted form (``breaker.max_drawdown_pct: 5.0 -> 3.0``).
Secrets never appear in it, nor in the persisted copy: a value whose key looks secret (it names
a token, secret, password, private key or credential) is stored as a digest and shown as
``***``; a change still shows (``*** -> *** (changed)``). The config is meant to hold no secrets
at all (the Telegram token comes from the environment); this is a second line of defence.

Pure functions (:func:`flatten`, :func:`diff_lines`, :func:`masked`) plus one small file read and
one atomic write in :func:`check`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from actors.alerter.messages import ConfigChanged
from supervisor.config import Config, digest

LAST_FILE = "config-last.json"
"""The last run's effective config (masked), under the state directory."""

MASK = "***"
"""Shown in place of a secret value."""

_SECRET_WORDS = ("token", "secret", "password", "passwd", "private", "credential", "key_file",
                 "api_key", "apikey")
_ABSENT = "(absent)"
_MAX_VALUE_CHARS = 200


class _Persisted(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``config-last.json`` holds."""

    hash: str
    """SHA-256 of the effective config (``supervisor.config.digest``)."""
    values: dict[str, Any]
    """Dotted key -> value, secrets replaced by a digest."""


def is_secret(key: str) -> bool:
    """Whether the value under dotted ``key`` must be masked (judged by its last part)."""
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in _SECRET_WORDS)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as ``{"dotted.key": value}``; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, dotted))
        else:
            out[dotted] = value
    return out


def masked(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every secret value replaced by a digest that only says "it changed"."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if is_secret(key) and value not in ("", None, [], {}):
            text = json.dumps(value, sort_keys=True)
            out[key] = "sha256:" + hashlib.sha256(b"quantfund-config\n" + text.encode()).hexdigest()
        else:
            out[key] = value
    return out


def _show(key: str, value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    if is_secret(key) and value not in ("", None, [], {}):
        return MASK
    text: str = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def diff_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per key that differs, sorted: ``key: old -> new`` (secrets masked)."""
    lines = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if before == after:
            continue
        line = f"{key}: {_show(key, before)} -> {_show(key, after)}"
        if is_secret(key) and MASK in line:
            line += " (changed)"
        lines.append(line)
    return lines


def _read_last(path: Path) -> _Persisted | str | None:
    """The last run's copy; None when there is none; a problem text when it is unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"last run's copy unreadable: {exc}"
    try:
        return msgspec.json.decode(data, type=_Persisted)
    except msgspec.DecodeError as exc:
        return f"last run's copy unreadable: {exc}"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check(config: Config, state_dir: Path) -> ConfigChanged | None:
    """Compare the effective config with the last run's, persist it, and say what changed.

    Args:
        config: The effective configuration of this run.
        state_dir: The state directory (``config-last.json`` lives there).

    Returns:
        ``ConfigChanged`` (old and new hash, readable masked diff) when the config differs from
        the last run's; None on the first run or when nothing changed.
    """
    new_hash = digest(config)
    values = masked(flatten(msgspec.to_builtins(config)))
    path = state_dir / LAST_FILE
    last = _read_last(path)
    if isinstance(last, _Persisted) and last.hash == new_hash:
        return None
    state_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, msgspec.json.encode(_Persisted(hash=new_hash, values=values)))
    if last is None:
        return None
    if isinstance(last, str):
        return ConfigChanged(old_hash="unknown", new_hash=new_hash, diff=[last])
    lines = diff_lines(last.values, values)
    if not lines:
        # Same values, different hash: a change in how the config is encoded (a new default
        # field, an upgrade); say so rather than stay silent.
        lines = ["(no key changed; the encoding of the config changed)"]
    return ConfigChanged(old_hash=last.hash, new_hash=new_hash, diff=lines)
