"""Prometheus metrics of one app, in its own registry (so several apps in one process, as in
the tests, never collide). Labels are bounded: route templates, never raw paths."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jikimi.model import Match, Verdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _QueueDepth(Collector):
    """Outbox depth by state, read when scraped."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "jikimi_outbox_effects", "Effects in the action outbox, by state.", labels=["state"]
        )
        for state, count in sorted(self._counts().items()):
            family.add_metric([state], count)
        yield family


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """With several server processes (``serve_workers``), ``PROMETHEUS_MULTIPROC_DIR`` is set
    before they start: each records its values in files there (prometheus_client's
    multiprocess mode) and whichever answers ``/metrics`` sums them all."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._outbox: _QueueDepth | None = None
        r = self.registry
        self.requests = Counter(
            "jikimi_http_requests", "HTTP requests.", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "jikimi_http_request_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.signals = Counter(
            "jikimi_signals_computed", "Signals computed, by signal.", ["signal"], registry=r
        )
        self.matches = Counter(
            "jikimi_matches", "Matches found, by bank kind.", ["bank_kind"], registry=r
        )
        self.verdicts = Counter(
            "jikimi_verdicts", "Verdicts, by outcome and endpoint.", ["outcome", "via"], registry=r
        )
        self.actions = Counter(
            "jikimi_actions",
            "Action deliveries, by sink, action and outcome.",
            ["sink", "action", "outcome"],
            registry=r,
        )

    def watch_outbox(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._outbox = _QueueDepth(counts)
        self.registry.register(self._outbox)

    def observe_action(self, sink: str, action: str, outcome: str) -> None:
        self.actions.labels(sink, action, outcome).inc()

    def observe_verdict(
        self, verdict: Verdict, matches: list[Match], signals: list[str], via: str
    ) -> None:
        self.verdicts.labels(verdict.outcome, via).inc()
        for match in matches:
            self.matches.labels(match.bank_kind).inc()
        for name in signals:
            self.signals.labels(name).inc()

    def render(self) -> bytes:
        if not os.environ.get(MULTIPROC_ENV):
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        if self._outbox is not None:
            merged.register(self._outbox)
        return generate_latest(merged)
