"""One 3-node NATS JetStream cluster per test module, credentials in the trees' environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fleet import fleet_env, prepare
from tests.support.nats_cluster import NatsCluster
from tests.support.tree import assert_gone


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """A running cluster shared by the module's tests; every node gone at the end."""
    c = NatsCluster(Path(tmp_path_factory.mktemp("nats")))
    try:
        c.start()
        prepare(c)
        yield c
    finally:
        c.close()
        assert_gone(c.pids())


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trees started by the test inherit the fleet's credentials (never from config)."""
    for key, value in fleet_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
