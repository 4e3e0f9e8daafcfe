"""[venue] config: the exchange id, symbols, secrets refused, and the venue users need symbols."""

from pathlib import Path

import msgspec
import pytest

from actors.venue.config import VenueConfig, ccxt_exchanges
from supervisor.config import load
from supervisor.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.toml"
    path.write_text(text)
    return path


def test_the_exchange_list_is_ccxts_own() -> None:
    """The list read from ccxt's source without importing it equals ``ccxt.exchanges``."""
    import ccxt

    assert ccxt_exchanges() == frozenset(ccxt.exchanges)


def test_defaults_load_and_are_binance_spot() -> None:
    """The embedded default carries a [venue] section equal to the struct's defaults."""
    config = load()
    assert config.venue == VenueConfig()
    assert config.venue.symbols == ["BTC/USDT", "ETH/USDT"]


def test_an_unknown_exchange_id_is_named(tmp_path: Path) -> None:
    """A misspelt exchange fails the load naming the key and the value."""
    with pytest.raises(ConfigError, match=r"venue.*'binanse' is not a ccxt exchange id"):
        load(_write(tmp_path, '[venue]\nexchange = "binanse"\n'))


@pytest.mark.parametrize("symbol", ["BTCUSDT", "btc/usdt", "BTC/", "BTC-USDT", "BTC/USDT/X"])
def test_a_symbol_that_is_not_base_quote_is_refused(symbol: str) -> None:
    """Every symbol must be unified BASE/QUOTE."""
    with pytest.raises(msgspec.ValidationError, match="is not BASE/QUOTE"):
        msgspec.convert({"symbols": [symbol]}, VenueConfig)


def test_an_inverted_backoff_is_refused() -> None:
    """The minimum reconnect wait may not exceed the maximum."""
    with pytest.raises(msgspec.ValidationError, match="exceeds"):
        msgspec.convert({"reconnect_backoff_min_s": 20.0}, VenueConfig)


@pytest.mark.parametrize("key", ["key", "secret", "api_key"])
def test_a_credential_in_the_config_file_says_where_it_belongs(tmp_path: Path, key: str) -> None:
    """A secret in [venue] fails the load and the message points at env / systemd credentials."""
    with pytest.raises(ConfigError, match=rf"venue\.{key}.*QUANTFUND_VENUE_KEY.*CREDENTIALS_DIR"):
        load(_write(tmp_path, f'[venue]\n{key} = "abc"\n'))


def test_venue_broker_and_feed_are_accepted(tmp_path: Path) -> None:
    """``broker = "venue"`` and ``feed.kind = "venue"`` are valid config values."""
    config = load(_write(
        tmp_path, '[execution]\nbroker = "venue"\n[orchestrator.feed]\nkind = "venue"\n'
    ))
    assert config.execution.broker == "venue"
    assert config.orchestrator.feed.kind == "venue"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[execution]\nbroker = "venue"\n', 'execution.broker = "venue"'),
        ('[orchestrator.feed]\nkind = "venue"\n', 'orchestrator.feed.kind = "venue"'),
    ],
)
def test_a_venue_user_with_no_symbols_fails_the_load(
    tmp_path: Path, text: str, named: str
) -> None:
    """Empty [venue] symbols with a venue broker or feed fails, naming both keys."""
    with pytest.raises(ConfigError, match=r"venue\.symbols") as info:
        load(_write(tmp_path, text + "[venue]\nsymbols = []\n"))
    assert named in str(info.value)


def test_empty_symbols_are_fine_when_nothing_uses_the_venue(tmp_path: Path) -> None:
    """Shadow broker and simulated feed do not need venue symbols."""
    assert load(_write(tmp_path, "[venue]\nsymbols = []\n")).venue.symbols == []


def test_loading_config_and_the_wire_never_imports_ccxt() -> None:
    """ccxt takes seconds to import: the supervisor's config load and every child's codec
    (which registers the venue events) must not pull it in."""
    import subprocess
    import sys

    code = (
        "import sys, supervisor.config, actors.wire; supervisor.config.load(); "
        "actors.wire.codec(); sys.exit(1 if 'ccxt' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
