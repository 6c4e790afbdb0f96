"""Prometheus metrics: one registry per process, the metric objects every service records, /metrics.

Every metric lives in `REGISTRY` (never the client library's global one), so the embedded run –
ledger, engine and runner in one process – serves them all from one endpoint, and a test can read
a value with `sample(name, labels)`. Names carry the service (`emergence_engine_…`,
`emergence_ledger_…`, `emergence_runner_…`); labels take values from small fixed sets only (a
phase, a brain, an outcome), never ids or free text, so the number of series stays bounded.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from emergence.mesh.errors import ConfigurationError
from emergence.v1 import run_pb2

REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds: from a fast in-memory phase (0.5 ms) up to a slow LLM tick (60 s).
_SECONDS_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

# ----- engine ------------------------------------------------------------------------------------
ENGINE_TICK_SECONDS = Histogram(
    "emergence_engine_tick_seconds",
    "Wall time of one whole tick (wake to commit).",
    buckets=_SECONDS_BUCKETS,
    registry=REGISTRY,
)
ENGINE_PHASE_SECONDS = Histogram(
    "emergence_engine_phase_seconds",
    "Wall time of one tick phase: wake, perceive, decide, resolve, persist.",
    ["phase"],
    buckets=_SECONDS_BUCKETS,
    registry=REGISTRY,
)
ENGINE_TICKS = Counter(
    "emergence_engine_ticks_total", "Ticks committed by this engine.", registry=REGISTRY
)
ENGINE_DECISIONS = Counter(
    "emergence_engine_decisions_total",
    "Decisions accepted from runners, by the brain that made them (heuristic, llm, hybrid, rule).",
    ["brain"],
    registry=REGISTRY,
)
ENGINE_DECISION_TIMEOUTS = Counter(
    "emergence_engine_decision_timeouts_total",
    "Agents that had no decision by the deadline (or no runner) and forfeited their tick.",
    registry=REGISTRY,
)
ENGINE_RUNNERS_CONNECTED = Gauge(
    "emergence_engine_runners_connected", "Runners connected right now.", registry=REGISTRY
)
ENGINE_PEER_REFUSALS = Counter(
    "emergence_engine_peer_refusals_total",
    "Runner connections or messages refused: unauthenticated, invalid (a limit or a rule broken).",
    ["reason"],
    registry=REGISTRY,
)
ENGINE_RETRIES = Counter(
    "emergence_engine_retries_total",
    "Retried calls to a dependency: ledger, store, hot_state, bus.",
    ["target"],
    registry=REGISTRY,
)
ENGINE_STORE_SECONDS = Histogram(
    "emergence_engine_store_seconds",
    "Latency of event-store writes (one tick's transaction, a snapshot, the run record).",
    ["operation"],
    buckets=_SECONDS_BUCKETS,
    registry=REGISTRY,
)
ENGINE_BUS_SECONDS = Histogram(
    "emergence_engine_bus_seconds",
    "Latency of publishing one tick to the event bus.",
    buckets=_SECONDS_BUCKETS,
    registry=REGISTRY,
)

# ----- ledger ------------------------------------------------------------------------------------
LEDGER_COMMITS = Counter(
    "emergence_ledger_commits_total",
    "CommitTick calls by outcome: applied, duplicate, rejected (rule), refused (bad request).",
    ["outcome"],
    registry=REGISTRY,
)
LEDGER_COMMIT_SECONDS = Histogram(
    "emergence_ledger_commit_seconds",
    "Latency of one CommitTick, checks and store transaction included.",
    buckets=_SECONDS_BUCKETS,
    registry=REGISTRY,
)
LEDGER_REJECTIONS = Counter(
    "emergence_ledger_rejections_total",
    "Entries or calls the ledger refused, by code (INSUFFICIENT_BALANCE, UNAUTHENTICATED, …).",
    ["code"],
    registry=REGISTRY,
)

# ----- runner ------------------------------------------------------------------------------------
RUNNER_DECISIONS = Counter(
    "emergence_runner_decisions_total",
    "Decisions this runner sent, by the brain that made them.",
    ["brain"],
    registry=REGISTRY,
)
RUNNER_LLM_CALLS = Counter(
    "emergence_runner_llm_calls_total",
    "Model calls by backend (default, escalation, …) and outcome (ok, error, timeout).",
    ["backend", "outcome"],
    registry=REGISTRY,
)
RUNNER_LLM_TOKENS = Counter(
    "emergence_runner_llm_tokens_total",
    "Tokens sent to (in) and received from (out) each backend.",
    ["backend", "direction"],
    registry=REGISTRY,
)
RUNNER_LLM_COST_USD = Counter(
    "emergence_runner_llm_cost_usd_total",
    "Estimated cost of model calls in US dollars, by backend.",
    ["backend"],
    registry=REGISTRY,
)
RUNNER_FALLBACKS = Counter(
    "emergence_runner_fallbacks_total",
    "Decisions that fell back to the heuristic brain because a model answer was unusable.",
    registry=REGISTRY,
)

# ----- observer ----------------------------------------------------------------------------------
OBSERVER_REBUILDS = Counter(
    "emergence_observer_rebuilds_total",
    "Worlds rebuilt at a tick (snapshot plus replay); repeats served from the cache are not counted.",
    registry=REGISTRY,
)
OBSERVER_REBUILD_SECONDS = Histogram(
    "emergence_observer_rebuild_seconds",
    "Wall time of one rebuild of a world at a tick, store reads and replay included.",
    buckets=_SECONDS_BUCKETS,
    registry=REGISTRY,
)
OBSERVER_STREAMS_OPEN = Gauge(
    "emergence_observer_streams_open",
    "Observer server streams open right now, by kind (ticks, events).",
    ["kind"],
    registry=REGISTRY,
)

PHASES = ("wake", "perceive", "decide", "resolve", "persist")


def observe_tick_timings(timings_ms: Mapping[str, float]) -> None:
    """Record a tick's phase timings given in milliseconds ("wake_ms" … "persist_ms")."""
    total = 0.0
    for phase in PHASES:
        value = timings_ms.get(f"{phase}_ms")
        if value is not None:
            ENGINE_PHASE_SECONDS.labels(phase).observe(value / 1000)
            total += value
    ENGINE_TICK_SECONDS.observe(total / 1000)
    ENGINE_TICKS.inc()


def brain_label(brain: int) -> str:
    """A BrainKind value as a label: "heuristic", "llm", "engine" (an unknown number: "other")."""
    try:
        name = run_pb2.BrainKind.Name(brain)  # type: ignore[arg-type]
    except ValueError:
        return "other"
    return name.removeprefix("BRAIN_KIND_").lower()


def sample(name: str, labels: Mapping[str, str] | None = None) -> float:
    """The current value of one series (0 when it has never been recorded)."""
    value = REGISTRY.get_sample_value(name, dict(labels or {}))
    return 0.0 if value is None else value


@dataclass
class MetricsServer:
    """The /metrics endpoint of this process (a daemon thread of the client library)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve REGISTRY on http://host:port/metrics; port 0 picks a free port (tests).

    The services call this only when `metrics_port` is set: 0 in the settings means off.
    """
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    return MetricsServer(host, int(server.server_port), server, thread)


def add_metrics_port_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus /metrics on this port (default METRICS_PORT, else off)",
    )


def serve_service_metrics(service_address: str, port: int) -> MetricsServer | None:
    """`--metrics-port` / METRICS_PORT semantics: 0 is off, anything else a fixed port, on the
    host the service itself listens on (so a service bound to all interfaces is scraped there)."""
    if not port:
        return None
    host = service_address.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"
    try:
        return start_metrics_server(port, host)
    except OSError as error:
        raise ConfigurationError(
            "metrics_port",
            f"cannot serve /metrics on {host}:{port}: {error}",
            hint="pick a free port",
        ) from error
