"""Config loading: embedded default, partial overrides, errors naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor import config as config_mod
from supervisor.errors import ConfigError


def test_embedded_default_loads_with_six_children_in_start_order() -> None:
    """The default needs no file and no secret."""
    cfg = config_mod.load()
    assert cfg.supervisor.children == [
        "journal", "alerter", "heartbeat", "breaker", "execution", "orchestrator",
    ]
    assert cfg.execution.broker == "shadow"


def test_a_file_with_only_changed_keys_is_merged_over_the_default(tmp_path: Path) -> None:
    """Keys not in the file keep their default values."""
    f = tmp_path / "c.toml"
    f.write_text("[supervisor]\nintensity = 2\n[orchestrator.feed]\nseed = 7\n")
    cfg = config_mod.load(f)
    assert cfg.supervisor.intensity == 2
    assert cfg.orchestrator.feed.seed == 7
    assert cfg.orchestrator.feed.instruments == ["BTC-USD", "ETH-USD"]
    assert cfg.supervisor.period_s == config_mod.load().supervisor.period_s


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[supervisor]\nbogus = 1\n", "supervisor.bogus", "unknown key"),
        ("nonsense = true\n", "nonsense", "unknown key"),
        ("[orchestrator.feed]\ncolour = 'red'\n", "orchestrator.feed.colour", "unknown key"),
        ("[supervisor]\nintensity = 'ten'\n", "supervisor.intensity", "Expected `int`"),
        ("[orchestrator]\ninterval_s = -1\n", "orchestrator.interval_s", "> 0"),
        ("[supervisor]\nstrategy = 'one_for_some'\n", "supervisor.strategy", "Invalid enum"),
        ("[supervisor]\nchildren = ['ghost']\n", "supervisor.children", "ghost"),
        ("[heartbeat]\nhang_timeout_s = 0.6\n", "heartbeat", "hang_timeout_s must be at least"),
        ("[heartbeat]\nstall_timeout_s = 3.0\n", "heartbeat.stall_timeout_s", "shutdown_s"),
        ("[runtime]\nchild_nice = -5\n", "runtime.child_nice", ">= 0"),
        ("[runtime]\nchild_nice = 20\n", "runtime.child_nice", "<= 19"),
        ("[runtime.child_nice_by_actor]\nexecution = -1\n",
         "runtime.child_nice_by_actor.execution", ">= 0"),
        ("[runtime.child_nice_by_actor]\nexecutor = 0\n", "runtime.child_nice_by_actor",
         "'executor' is not a child"),
        ("[runtime.sqlite_synchronous_by_actor]\njournl = 'FULL'\n",
         "runtime.sqlite_synchronous_by_actor", "'journl' is not a child"),
    ],
)
def test_bad_config_names_the_key_and_the_file(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    """Unknown keys and bad values are errors that say which key, in which file, and why."""
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        config_mod.load(f)
    msg = str(err.value)
    assert str(f) in msg
    assert f"'{key}'" in msg
    assert problem in msg


def test_broken_toml_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    """Syntax errors and absent files name the file."""
    f = tmp_path / "broken.toml"
    f.write_text("[supervisor\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_mod.load(f)
    with pytest.raises(ConfigError, match="does not exist"):
        config_mod.load(tmp_path / "absent.toml")


def test_cli_reports_config_error_without_a_traceback(tmp_path: Path) -> None:
    """`quantfund up --config bad.toml` exits 2 with one clear line."""
    import subprocess
    import sys

    f = tmp_path / "bad.toml"
    f.write_text("[supervisor]\nbogus = 1\n")
    out = subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "up", "--config", str(f),
         "--state-dir", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 2
    assert "supervisor.bogus" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("name", ["local-exchange-shadow", "local-exchange-venue"])
def test_the_documented_venue_examples_load(name: str) -> None:
    """The README's two venue commands use these files: they load, on a venue feed, with
    the broker each promises, and carry no credential."""
    path = Path(__file__).parents[2] / "config" / "examples" / f"{name}.toml"
    cfg = config_mod.load(path)
    assert cfg.orchestrator.feed.kind == "venue"
    assert cfg.execution.broker == ("shadow" if name.endswith("shadow") else "venue")
    assert cfg.venue.rest_url.startswith("http://127.0.0.1")
    assert "secret" not in path.read_text().split("[venue]")[1].split("[")[0]


def test_metrics_endpoint_is_off_by_default_and_takes_host_port(tmp_path: Path) -> None:
    """``[metrics] listen`` is empty in the default (no endpoint); an IPv6 host is bracketed."""
    assert config_mod.load().metrics.listen == ""
    f = tmp_path / "m.toml"
    f.write_text('[metrics]\nlisten = "127.0.0.1:9464"\n')
    assert config_mod.load(f).metrics.listen == "127.0.0.1:9464"
    assert config_mod.listen_address("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert config_mod.listen_address("[::1]:9464") == ("::1", 9464)


@pytest.mark.parametrize(
    ("listen", "problem"),
    [("9464", "not host:port"), (":9464", "not host:port"), ("localhost:http", "port 'http'"),
     ("127.0.0.1:70000", "1 to 65535"), ("::1:9464", "in brackets")],
)
def test_a_bad_metrics_listen_names_the_key_and_what_is_wrong(
    tmp_path: Path, listen: str, problem: str,
) -> None:
    """A listen address that cannot be served fails the load, naming the key and the value."""
    f = tmp_path / "m.toml"
    f.write_text(f'[metrics]\nlisten = "{listen}"\n')
    with pytest.raises(ConfigError, match=r"metrics\.listen") as err:
        config_mod.load(f)
    assert problem in str(err.value)
