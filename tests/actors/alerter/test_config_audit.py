"""Tests of the config-change audit (supervisor/config_audit.py).

They live beside the alerter's tests because the alerter is what turns ``ConfigChanged`` into a
message; the module itself is the supervisor's.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from actors.alerter.messages import ConfigChanged
from actors.alerter.severity import Severity, severity_of
from supervisor import config_audit
from supervisor.config import Config, digest, load

pytestmark = pytest.mark.timeout(30)


def _with(config: Config, **sections: dict[str, object]) -> Config:
    raw = msgspec.to_builtins(config)
    for name, values in sections.items():
        raw[name] = {**raw[name], **values}
    return msgspec.convert(raw, Config)


def test_first_run_persists_and_reports_nothing(tmp_path: Path) -> None:
    """No earlier copy: nothing to compare, so no alert; the copy is written for next time."""
    config = load()
    assert config_audit.check(config, tmp_path) is None
    saved = json.loads((tmp_path / config_audit.LAST_FILE).read_text())
    assert saved["hash"] == digest(config)
    assert saved["values"]["breaker.max_drawdown_pct"] == config.breaker.max_drawdown_pct


def test_unchanged_config_reports_nothing(tmp_path: Path) -> None:
    """The same effective config on the next run raises no alert."""
    config = load()
    config_audit.check(config, tmp_path)
    assert config_audit.check(load(), tmp_path) is None


def test_a_change_is_reported_with_a_readable_diff_once(tmp_path: Path) -> None:
    """A changed value is reported as ``dotted.key: old -> new`` with both hashes; the run after
    it (same config again) reports nothing, since the new copy was persisted."""
    before = load()
    config_audit.check(before, tmp_path)
    after = _with(before, breaker={"max_drawdown_pct": 3.0}, alerter={"chat_id": "4242"})
    change = config_audit.check(after, tmp_path)
    assert isinstance(change, ConfigChanged)
    assert change.old_hash == digest(before)
    assert change.new_hash == digest(after)
    assert change.diff == [
        'alerter.chat_id: "" -> "4242"',
        "breaker.max_drawdown_pct: 5.0 -> 3.0",
    ]
    assert severity_of("ConfigChanged", msgspec.structs.asdict(change)) is Severity.INFO
    assert config_audit.check(after, tmp_path) is None


def test_secret_values_are_masked_in_the_diff_and_on_disk(tmp_path: Path) -> None:
    """A key that looks secret keeps its name, never its value: in the diff (``***``, marked
    changed) and in the persisted copy (a digest)."""
    before = _with(load(), admin={"curve_secret_key_file": "/etc/qf/old-server.key_secret"})
    config_audit.check(before, tmp_path)
    after = _with(before, admin={"curve_secret_key_file": "/etc/qf/new-server.key_secret"})
    change = config_audit.check(after, tmp_path)
    assert change is not None
    assert change.diff == ["admin.curve_secret_key_file: *** -> *** (changed)"]
    on_disk = (tmp_path / config_audit.LAST_FILE).read_text()
    assert "new-server" not in on_disk
    assert "old-server" not in on_disk


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("alerter.bot_token", True),
        ("db.password", True),
        ("admin.curve_secret_key_file", True),
        ("x.api_key", True),
        ("breaker.max_drawdown_pct", False),
        ("admin.curve_allowed_clients", False),
        ("token_bucket.rate", False),  # only the last part of the key is judged
    ],
)
def test_is_secret(key: str, secret: bool) -> None:
    """Secrets are recognised by the last part of the dotted key."""
    assert config_audit.is_secret(key) is secret


def test_added_and_removed_keys_and_nested_tables() -> None:
    """Nested tables flatten to dotted keys; added and removed keys show ``(absent)``."""
    old = config_audit.flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "gone": "x"})
    new = config_audit.flatten({"a": {"b": 2, "c": {"d": [1, 2]}}, "new": True})
    assert config_audit.diff_lines(old, new) == [
        "a.b: 1 -> 2",
        'gone: "x" -> (absent)',
        "new: (absent) -> true",
    ]


def test_an_unreadable_last_copy_is_reported_not_fatal(tmp_path: Path) -> None:
    """A corrupted ``config-last.json`` does not stop the start: the change is reported with the
    reason, and a good copy replaces it."""
    (tmp_path / config_audit.LAST_FILE).write_text("{not json")
    change = config_audit.check(load(), tmp_path)
    assert change is not None
    assert change.old_hash == "unknown"
    assert change.diff[0].startswith("last run's copy unreadable")
    assert config_audit.check(load(), tmp_path) is None
