"""Configuration: the embedded default TOML, a user file merged over it, decoded once into
frozen structs that reject unknown keys with an error naming the key and the file.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from actors._runtime.spawn import RuntimeSettings
from actors.alerter.config import AlerterConfig
from actors.breaker.config import BreakerActorConfig
from actors.execution.config import ExecutionConfig
from actors.heartbeat.config import HeartbeatConfig
from actors.journal.config import JournalConfig
from actors.orchestrator.config import OrchestratorConfig
from actors.venue.config import SECRET_KEYS, VenueConfig
from supervisor.errors import ConfigError
from supervisor.fleet.config import FleetConfig
from supervisor.fleet.config import problems as fleet_problems
from supervisor.spec import ChildSpec, SupervisorFlags


class PathsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where state and sockets live (flags and systemd's variables take precedence)."""

    state_dir: str = "state"
    """State directory, relative to the working directory unless absolute."""
    run_dir: str = ""
    """Socket directory; empty means ``<state_dir>/run``."""


class AdminConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The admin socket: always ``ipc://<run-dir>/admin``; TCP only when asked, with CURVE."""

    tcp: str = ""
    """Extra TCP endpoint (``tcp://127.0.0.1:7700``); empty for none."""
    curve_secret_key_file: str = ""
    """File with the server's CURVE key pair (``zmq.auth.create_certificates`` format);
    required with ``tcp``. A path, never the key itself: secrets stay out of config."""
    curve_allowed_clients: list[str] = msgspec.field(default_factory=list)
    """Z85 public keys of the clients allowed over TCP; required with ``tcp``."""


class MetricsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The Prometheus endpoint the supervisor serves (``/metrics``; README, Metrics)."""

    listen: str = ""
    """``host:port`` to serve on (``127.0.0.1:9464``, ``[::1]:9464``); empty: no endpoint."""


class LogConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Log output."""

    format: Literal["auto", "json", "console"] = "auto"
    """``auto``: console rendering on a terminal, JSON lines otherwise."""


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole effective configuration."""

    supervisor: SupervisorFlags = msgspec.field(default_factory=SupervisorFlags)
    """Supervision flags and the start order."""
    children: dict[str, ChildSpec] = msgspec.field(default_factory=dict)
    """Child specs by name."""
    runtime: RuntimeSettings = msgspec.field(default_factory=RuntimeSettings)
    """Process-runtime knobs shared by every actor."""
    paths: PathsConfig = msgspec.field(default_factory=PathsConfig)
    """Directories."""
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    """Logging."""
    admin: AdminConfig = msgspec.field(default_factory=AdminConfig)
    """Admin socket."""
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    """Prometheus metrics endpoint."""
    orchestrator: OrchestratorConfig = msgspec.field(default_factory=OrchestratorConfig)
    """Orchestrator section."""
    execution: ExecutionConfig = msgspec.field(default_factory=ExecutionConfig)
    """Execution section."""
    heartbeat: HeartbeatConfig = msgspec.field(default_factory=HeartbeatConfig)
    """Heartbeat section."""
    breaker: BreakerActorConfig = msgspec.field(default_factory=BreakerActorConfig)
    """Breaker section."""
    journal: JournalConfig = msgspec.field(default_factory=JournalConfig)
    """Journal section."""
    alerter: AlerterConfig = msgspec.field(default_factory=AlerterConfig)
    """Alerter section."""
    venue: VenueConfig = msgspec.field(default_factory=VenueConfig)
    """The real venue (``broker = "venue"`` / ``feed.kind = "venue"``)."""
    fleet: FleetConfig | None = None
    """The fleet this tree joins (NATS JetStream; docs/adr/0015); None: a tree on its own."""

    def section(self, child: str) -> dict[str, Any]:
        """Config handed to a child: its typed section, or its spec's ``args``."""
        typed = getattr(self, child, None) if child in _ACTOR_SECTIONS else None
        if typed is not None:
            out: dict[str, Any] = msgspec.to_builtins(typed)
            return out
        return dict(self.children[child].args)


_ACTOR_SECTIONS = ("orchestrator", "execution", "heartbeat", "breaker", "journal", "alerter")


def default_path() -> Path:
    """The embedded default: shipped inside the package, or ``config/`` of a checkout."""
    packaged = Path(__file__).with_name("default.toml")
    return packaged if packaged.exists() else Path(__file__).parents[1] / "config" / "default.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except RecursionError as exc:  # tomllib's parser recurses once per nesting level
        raise ConfigError(f"config file {path} nests arrays or tables too deeply") from exc
    _check_finite(doc, path)
    return doc


def _check_finite(doc: dict[str, Any], path: Path) -> None:
    """Refuse ``nan`` and ``inf`` anywhere: every comparison with NaN is False, so a NaN limit
    or period would silently switch its rule off, and no setting means "infinite"."""
    stack: list[tuple[str, object]] = list(doc.items())
    while stack:  # iterative: a deeply nested document must not overflow the stack here
        key, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(
                f"config error in {path}: key '{key}': {value} is not a finite number"
            )
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v) for i, v in enumerate(value))


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in ``over`` replaces the one in ``base``."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# A key may hold backticks and newlines: match the field lazily up to the end of the text.
_UNKNOWN = re.compile(
    r"Object contains unknown field `(?P<field>.*?)`(?: - at `\$(?P<at>[^`]*)`)?\Z", re.DOTALL
)
_AT = re.compile(r"(?P<msg>.*?)(?: - at `\$(?P<at>[^`]*)`)?\Z", re.DOTALL)


def _describe(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(dotted key, what is wrong) from a msgspec validation message."""
    text = str(exc)
    m = _UNKNOWN.match(text)
    if m:
        at = (m["at"] or "").lstrip(".")
        key = f"{at}.{m['field']}" if at else m["field"]
        return key, "unknown key"
    m = _AT.match(text)
    assert m is not None
    return (m["at"] or "").lstrip(".") or "(top level)", m["msg"]


def _name_entry(raw: dict[str, Any], key: str) -> str:
    """msgspec writes a dict key as ``[...]``: find which entry of that table is the bad one
    (``children[...].actor`` -> ``children.journal.actor``), by validating with that table cut
    down to one entry at a time."""
    if "[...]" not in key:
        return key
    prefix, rest = key.split("[...]", 1)
    parts = prefix.split(".")
    table: Any = raw
    for part in parts:
        table = table.get(part) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        return key
    for name, value in table.items():
        trial = copy.deepcopy(raw)
        holder = trial
        for part in parts[:-1]:
            holder = holder[part]
        holder[parts[-1]] = {name: value}
        try:
            msgspec.convert(trial, Config)
        except msgspec.ValidationError as exc:
            if _describe(exc)[0] == key:
                return f"{prefix}.{name}{rest}"
    return key


def load(path: Path | None = None) -> Config:
    """The effective config: the default, with ``path`` (keys it changes only) merged over it."""
    base_path = default_path()
    raw = _read(base_path)
    source = base_path
    if path is not None:
        raw = merge(raw, _read(path))
        source = path
    _refuse_secrets(raw, source)
    try:
        config = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        key, problem = _describe(exc)
        key = _name_entry(raw, key)
        raise ConfigError(f"config error in {source}: key '{key}': {problem}") from exc
    _check(config, source)
    return config


def _refuse_secrets(raw: dict[str, Any], source: Path) -> None:
    """A credential in ``[venue]`` fails the load with where it belongs (not just "unknown key")."""
    venue = raw.get("venue")
    if not isinstance(venue, dict):
        return
    for key in sorted(set(venue) & SECRET_KEYS):
        raise ConfigError(
            f"config error in {source}: key 'venue.{key}': venue credentials never come from a "
            "config file: set $QUANTFUND_VENUE_KEY / $QUANTFUND_VENUE_SECRET, or the systemd "
            "credentials 'venue-key' / 'venue-secret' ($CREDENTIALS_DIRECTORY)"
        )


def _check_venue(config: Config, source: Path) -> None:
    """A tree that trades or watches the venue needs at least one venue symbol."""
    users = []
    if config.execution.broker == "venue":
        users.append('execution.broker = "venue"')
    if config.orchestrator.feed.kind == "venue":
        users.append('orchestrator.feed.kind = "venue"')
    if users and not config.venue.symbols:
        raise ConfigError(
            f"config error in {source}: key 'venue.symbols': empty, but "
            f"{' and '.join(users)} needs at least one market (e.g. [\"BTC/USDT\"])"
        )


def _check_fleet(config: Config, source: Path) -> None:
    """A ``[fleet]`` section that cannot work fails the load, naming its first bad key."""
    if config.fleet is not None:
        for key, problem in fleet_problems(config.fleet):
            raise ConfigError(f"config error in {source}: key 'fleet.{key}': {problem}")


def _check(config: Config, source: Path) -> None:
    """Cross-field rules msgspec cannot express."""
    names = config.supervisor.children
    if len(set(names)) != len(names):
        raise ConfigError(f"config error in {source}: key 'supervisor.children': duplicate names")
    for name in names:
        if name not in config.children:
            raise ConfigError(
                f"config error in {source}: key 'supervisor.children': {name!r} has no "
                f"[children.{name}] spec"
            )
    for key in ("sqlite_synchronous_by_actor", "child_nice_by_actor"):
        for name in getattr(config.runtime, key):
            if name not in config.children:
                raise ConfigError(
                    f"config error in {source}: key 'runtime.{key}': {name!r} is not a child "
                    f"(children: {', '.join(sorted(config.children))})"
                )
    hb, beat = config.heartbeat, config.runtime.heartbeat_interval_s
    if hb.hang_timeout_s < 2.5 * beat:
        raise ConfigError(
            f"config error in {source}: key 'heartbeat.hang_timeout_s': {hb.hang_timeout_s} s "
            f"is under 2.5 x runtime.heartbeat_interval_s ({beat} s): a late beat would look "
            "like a hang"
        )
    orch = config.children.get("orchestrator")
    if orch is not None and hb.stall_timeout_s <= orch.shutdown_s:
        raise ConfigError(
            f"config error in {source}: key 'heartbeat.stall_timeout_s': must exceed "
            f"children.orchestrator.shutdown_s ({orch.shutdown_s} s), or a drain looks like a stall"
        )
    _check_admin(config.admin, source)
    if config.metrics.listen:
        try:
            listen_address(config.metrics.listen)
        except ValueError as exc:
            raise ConfigError(f"config error in {source}: key 'metrics.listen': {exc}") from exc
    _check_venue(config, source)
    _check_fleet(config, source)
    if config.supervisor.intensity < 0 or config.supervisor.period_s <= 0:
        raise ConfigError(
            f"config error in {source}: key 'supervisor.intensity'/'period_s': need "
            "intensity >= 0 and period_s > 0"
        )


def listen_address(text: str) -> tuple[str, int]:
    """``host:port`` (an IPv6 host in brackets) as (host, port), or ValueError saying why not."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not host:port (e.g. \"127.0.0.1:9464\")")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: an IPv6 host goes in brackets ([::1]:9464)")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: port {port!r} is not a number from 1 to 65535")
    return host, int(port)


_Z85_KEY = re.compile(r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}")
"""A CURVE public key in Z85 text: 40 characters of the Z85 alphabet."""


def _check_admin(admin: AdminConfig, source: Path) -> None:
    if admin.tcp and not (admin.curve_secret_key_file and admin.curve_allowed_clients):
        raise ConfigError(
            f"config error in {source}: key 'admin.tcp': a TCP admin endpoint needs CURVE "
            "authentication: set admin.curve_secret_key_file and admin.curve_allowed_clients"
        )
    if admin.tcp and not admin.tcp.startswith("tcp://"):
        raise ConfigError(f"config error in {source}: key 'admin.tcp': not a tcp:// endpoint")
    for index, key in enumerate(admin.curve_allowed_clients):
        # Checked here: the ZAP handler's Z85 decoder would fail at start with a bare KeyError.
        if not _Z85_KEY.fullmatch(key):
            raise ConfigError(
                f"config error in {source}: key 'admin.curve_allowed_clients[{index}]': "
                "not a Z85 CURVE public key (40 characters)"
            )


def digest(config: Config) -> str:
    """SHA-256 of the effective config (canonical JSON), for change detection."""
    import hashlib

    canonical = msgspec.json.encode(msgspec.to_builtins(config), order="sorted")
    return hashlib.sha256(canonical).hexdigest()
