"""The [fleet] config section, its credentials and its messages (supervisor/fleet/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supervisor import config as config_mod
from supervisor.errors import ConfigError
from supervisor.fleet.credentials import load_credentials
from supervisor.fleet.errors import FleetCredentialMissing, FleetMessageMalformed
from supervisor.fleet.messages import FleetAck, FleetChange, decode, encode


def _load(tmp_path: Path, text: str) -> config_mod.Config:
    f = tmp_path / "c.toml"
    f.write_text(text)
    return config_mod.load(f)


def test_no_fleet_section_means_no_fleet() -> None:
    """The embedded default joins no fleet: a single tree needs no NATS."""
    assert config_mod.load().fleet is None


def test_a_fleet_section_loads_with_its_defaults(tmp_path: Path) -> None:
    """Only servers and tree_id are needed; the rest has the issue's defaults."""
    cfg = _load(tmp_path, '[fleet]\nservers = ["nats://127.0.0.1:4222"]\ntree_id = "a-1"\n')
    assert cfg.fleet is not None
    assert cfg.fleet.on_lost == "reducing"
    assert cfg.fleet.unreachable_at_start == "reduce"
    assert cfg.fleet.replicas == 3


@pytest.mark.parametrize(("text", "key"), [
    ('servers = ["nats://h:1"]\npassword = "x"', "fleet.password"),
    ('servers = ["nats://h:1"]\non_lost = "paused"', "fleet"),
    ('servers = []', "fleet.servers"),
    ('servers = ["http://h:1"]', "fleet.servers[0]"),
    ('servers = ["nats://h:1"]\ntree_id = "a.b"', "fleet.tree_id"),
    ('servers = ["nats://h:1"]\nlost_after_s = 0', "fleet.lost_after_s"),
    ('servers = ["nats://h:1"]\nreplicas = 2', "fleet.replicas"),
    ('servers = ["nats://h:1"]\ntls_cert_file = "c.pem"', "fleet.tls_cert_file"),
])
def test_a_bad_fleet_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    """Unknown keys (a password included) and bad values fail the load naming the key."""
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}")):
        _load(tmp_path, f"[fleet]\n{text}\n")


def test_credentials_from_env_and_systemd(tmp_path: Path) -> None:
    """A credential file wins over the environment; its repr shows no secret."""
    env = {"QUANTFUND_FLEET_USER": "envuser", "QUANTFUND_FLEET_PASSWORD": "envpass"}
    assert load_credentials(env, None).user == "envuser"
    (tmp_path / "fleet-user").write_text("unituser\n")
    (tmp_path / "fleet-password").write_text("unitpass\n")
    creds = load_credentials(env, tmp_path)
    assert (creds.user, creds.password) == ("unituser", "unitpass")
    assert "unitpass" not in repr(creds)
    assert load_credentials({"QUANTFUND_FLEET_NKEY_SEED": "SUAXX"}, None).nkey_seed == "SUAXX"


@pytest.mark.parametrize("env", [{}, {"QUANTFUND_FLEET_USER": "u"}])
def test_missing_credentials_say_where_they_go(env: dict[str, str]) -> None:
    """No credentials: the error names the variables and the systemd credential names."""
    with pytest.raises(FleetCredentialMissing, match=r"QUANTFUND_FLEET_PASSWORD.*fleet-password"):
        load_credentials(env, None)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"seq": 1}', b"\xff\xfe",
                                 b'{"seq":1,"state":"PAUSED","who":"a","reason":"b","at":1,'
                                 b'"prev_hash":"0","hash":"1"}'])
def test_malformed_fleet_bytes_are_a_named_error(raw: bytes) -> None:
    """Garbage, a truncated or a wrong-state message is FleetMessageMalformed, naming the type."""
    with pytest.raises(FleetMessageMalformed, match="not a FleetChange"):
        decode(raw, FleetChange)


def test_fleet_messages_round_trip() -> None:
    """What a tree encodes, the CLI decodes to the same value."""
    ack = FleetAck(tree_id="a", seq=3, state="HALTED", changed=True, at=1.5)
    assert decode(encode(ack), FleetAck) == ack


def test_the_documented_fleet_example_loads() -> None:
    """config/examples/fleet.toml (docs/fleet.md) loads, joins a fleet, and holds no secret."""
    path = Path(__file__).parents[2] / "config" / "examples" / "fleet.toml"
    cfg = config_mod.load(path)
    assert cfg.fleet is not None
    assert cfg.fleet.tree_id == "tree-1"
    assert len(cfg.fleet.servers) == 3
