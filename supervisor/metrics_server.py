"""The ``/metrics`` HTTP endpoint: prometheus_client's server on its own thread, reading
``supervisor.metrics``.

The server thread only copies numbers out under the model's lock (``Metrics.collect``); it never
touches the supervisor's loop, sockets or stores, so a scrape, or a scraper that hangs, cannot
delay the hub, the kill switch or an order (none passes through the supervisor). prometheus_client
is imported here only, when the endpoint is configured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector, CollectorRegistry

from actors._runtime import log
from actors._runtime.codec import Envelope
from actors._runtime.messages import Event, Message
from supervisor.metrics import Family, Kind, Metrics

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer


def _family(family: Family) -> Metric:
    spec = family.spec
    labels = list(spec.labels)
    if spec.kind is Kind.GAUGE:
        gauge = GaugeMetricFamily(spec.name, spec.help, labels=labels)
        for key, value in sorted(family.values.items()):
            gauge.add_metric(list(key), value)
        return gauge
    if spec.kind is Kind.COUNTER:
        counter = CounterMetricFamily(spec.name, spec.help, labels=labels)
        for key, value in sorted(family.values.items()):
            counter.add_metric(list(key), value)
        return counter
    histogram = HistogramMetricFamily(spec.name, spec.help, labels=labels)
    for key, h in sorted(family.histograms.items()):
        histogram.add_metric(list(key), [(le, float(n)) for le, n in h.cumulative()], h.sum)
    return histogram


class _Collector(Collector):
    """Hands prometheus_client the model's samples at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        for family in self.metrics.collect(time.monotonic()):
            yield _family(family)


def hub_tap(metrics: Metrics) -> Callable[[Envelope[Message] | None, Event], None]:
    """The hub's tap: each forwarded event into ``metrics``, timed on this host's clocks. A
    failure there is logged and the event goes on: metrics never stop the hub."""
    logger = log.get()

    def tap(env: Envelope[Message] | None, event: Event) -> None:
        now = time.monotonic()
        try:
            if env is None:
                metrics.observe(event, now)
            else:
                metrics.observe(event, now, sent_mono=env.sent_mono_ns / 1e9,
                                sent_at=env.sent_at)
        except Exception:  # whatever a handler trips on, the bus goes on
            logger.exception("metrics_observe_failed", event_type=type(event).__name__)

    return tap


def exposition(metrics: Metrics) -> bytes:
    """The text a scrape would get now (tests, and ``quantfund`` tooling)."""
    from prometheus_client.exposition import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(metrics))
    return generate_latest(registry)


class MetricsServer:
    """Serves ``metrics`` on ``host:port`` until ``close``."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        """Bind and start serving (raises OSError when the address cannot be bound)."""
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(metrics))
        server: WSGIServer
        thread: threading.Thread
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        self._server, self._thread = server, thread
        self.port = int(server.server_address[1])

    def close(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
