"""Prometheus metrics, one registry per service (no import-time globals, so tests can
run several services in one process)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.items = Counter(
            "moderation_items_total",
            "Items decided, by type, context and decision.",
            ["type", "context", "decision"],
            registry=self.registry,
        )
        self.errors = Counter(
            "moderation_item_errors_total", "Items refused, by problem type.", ["type"], registry=self.registry
        )
        self.stage = Histogram(
            "moderation_stage_seconds",
            "Latency per pipeline stage (per request for api/store, per item for analysis).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "moderation_review_queue_depth", "Open review tasks per queue.", ["queue"], registry=self.registry
        )
        self.pool_size = Gauge("moderation_worker_pool_size", "Actors per worker pool.", ["pool"], registry=self.registry)
        self.in_flight = Gauge("moderation_items_in_flight", "Items being analysed now.", registry=self.registry)
        self.rejected_overload = Counter(
            "moderation_overload_rejections_total", "Requests answered 429 under overload.", registry=self.registry
        )
        self.worker_replacements = Gauge(
            "moderation_worker_replacements", "Dead actors replaced since start.", ["pool"], registry=self.registry
        )

        self.rule_hits = Counter(
            "moderation_rule_hits_total",
            "Rule reasons on decided items, by rule id and shadow flag (shadow rules never decide).",
            ["rule", "shadow"],
            registry=self.registry,
        )

        self.rule_rate_ratio = Gauge(
            "moderation_rule_rate_ratio",
            "Per rule id: its share of the last 24 h's items over its share of the 7 days before "
            "(+Inf for a rule that did not fire before).",
            ["rule"],
            registry=self.registry,
        )
        self.rule_alert = Gauge(
            "moderation_rule_alert",
            "1 when a rule's firing rate jumped (policy review.rule_alert_ratio and rule_alert_min_hits), else 0.",
            ["rule"],
            registry=self.registry,
        )

    def set_rule_rates(self, rates: list[dict[str, object]]) -> None:
        """Publish `Reports.rule_rates`: the rules of this answer only (one gone quiet drops out)."""
        self.rule_rate_ratio.clear()
        self.rule_alert.clear()
        for r in rates:
            ratio = r["ratio"]
            self.rule_rate_ratio.labels(r["rule"]).set(float("inf") if ratio is None else float(ratio))  # type: ignore[arg-type]
            self.rule_alert.labels(r["rule"]).set(1 if r["alert"] else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
