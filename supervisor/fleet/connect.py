"""Connecting to the fleet's NATS servers and opening its KV buckets and audit stream.

Shared by the tree's link and the CLI. nats-py retries a lost connection forever on its own
once connected; the first connection is bounded here by ``connect_timeout_s``, so a start or a
command never waits on an unreachable fleet longer than configured.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from supervisor.fleet.config import FleetConfig
from supervisor.fleet.credentials import FleetCredentials
from supervisor.fleet.errors import FleetUnreachable
from supervisor.fleet.messages import AUDIT_STREAM, AUDIT_SUBJECT, BUCKET, TREES_BUCKET

Callback = Callable[[], Awaitable[None]]
T = TypeVar("T")

TRANSIENT = (nats.errors.TimeoutError, nats.errors.NoRespondersError,
             nats.js.errors.ServiceUnavailableError, nats.js.errors.NoStreamResponseError,
             nats.errors.ConnectionReconnectingError)
"""What a JetStream request meets while a stream elects a new leader (a node lost)."""


async def retry(call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """``call()``, again every 0.1 s after a transient error, until ``deadline`` (monotonic);
    then the last error is raised. Only for requests that are safe to repeat."""
    while True:
        try:
            return await call()
        except TRANSIENT:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)

REQUEST_TIMEOUT_S = 1.0
"""JetStream API requests (KV get/put, stream publish) give up after this long."""


@dataclass
class Planes:
    """The fleet's JetStream objects on one connection."""

    nc: Client
    """The NATS connection."""
    js: JetStreamContext
    """Its JetStream context."""
    state: KeyValue
    """The fleet state bucket (``BUCKET``)."""
    trees: KeyValue
    """The trees' summaries bucket (``TREES_BUCKET``)."""


def tls_context(cfg: FleetConfig) -> ssl.SSLContext | None:
    """A client TLS context when the config names a CA or a client certificate."""
    if not (cfg.tls_ca_file or cfg.tls_cert_file):
        return None
    ctx = ssl.create_default_context(cafile=cfg.tls_ca_file or None)
    if cfg.tls_cert_file:
        ctx.load_cert_chain(cfg.tls_cert_file, cfg.tls_key_file)
    return ctx


async def _quiet(_exc: Exception) -> None:
    """nats-py prints a traceback per failed attempt by default; the link logs its own."""


async def connect(
    cfg: FleetConfig, creds: FleetCredentials, *, name: str,
    disconnected: Callback | None = None, reconnected: Callback | None = None,
) -> Client:
    """One connection to the fleet, within ``cfg.connect_timeout_s``.

    Raises:
        FleetUnreachable: No server answered (or accepted the credentials) in time.
    """
    auth: dict[str, Any] = (
        {"nkeys_seed_str": creds.nkey_seed} if creds.nkey_seed
        else {"user": creds.user, "password": creds.password})
    options: dict[str, Any] = {}
    if disconnected is not None:
        options["disconnected_cb"] = disconnected
    if reconnected is not None:
        options["reconnected_cb"] = reconnected
    try:
        return await asyncio.wait_for(nats.connect(
            servers=list(cfg.servers), name=name, tls=tls_context(cfg),
            connect_timeout=min(1.0, cfg.connect_timeout_s), reconnect_time_wait=0.25,
            max_reconnect_attempts=-1, ping_interval=1, max_outstanding_pings=2,
            error_cb=_quiet, **auth, **options,
        ), timeout=cfg.connect_timeout_s)
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        why = str(exc) or type(exc).__name__
        raise FleetUnreachable(
            f"no fleet server of {', '.join(cfg.servers)} answered within "
            f"{cfg.connect_timeout_s} s ({why}; wrong credentials look the same)"
        ) from exc


async def open_planes(nc: Client, replicas: int, deadline: float | None = None) -> Planes:
    """The fleet's buckets and audit stream, created (``replicas`` copies) when missing;
    transient errors retried until ``deadline`` (monotonic; None: one try)."""
    js = nc.jetstream(timeout=REQUEST_TIMEOUT_S)
    until = time.monotonic() if deadline is None else deadline
    state = await retry(lambda: _bucket(js, BUCKET, replicas), until)
    trees = await retry(lambda: _bucket(js, TREES_BUCKET, replicas), until)
    await retry(lambda: _stream(js, replicas), until)
    return Planes(nc=nc, js=js, state=state, trees=trees)


async def _stream(js: JetStreamContext, replicas: int) -> None:
    try:
        await js.stream_info(AUDIT_STREAM)
    except NotFoundError:
        await js.add_stream(StreamConfig(
            name=AUDIT_STREAM, subjects=[AUDIT_SUBJECT], num_replicas=replicas,
            storage=StorageType.FILE, deny_delete=True, deny_purge=True,
        ))


async def _bucket(js: JetStreamContext, name: str, replicas: int) -> KeyValue:
    try:
        return await js.key_value(name)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=name, history=1, replicas=replicas)
