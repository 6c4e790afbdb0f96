"""Runs the society for the emergence and hybrid benchmarks: an embedded run, with the llm and
hybrid brains answered by `emergence stub-llm` started as its own process on loopback.

The `llm:` and `runner:` sections built here are checked by the same code the runner uses
(`backends_from_settings`, `RunnerConfig.from_mapping`), so a wrong key fails before the run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from emergence.embedded import RunSummary, embedded_run
from emergence.mesh.settings import load_settings
from emergence.v1 import run_pb2
from runner.core.routing import RunnerConfig, circuit_event
from runner.llm.backends import backends_from_settings

# Models the stub pretends to be, and prices (USD per million tokens in / out) assumed for the
# cost estimate: a small hosted model for the default route, a large one for escalations.
STUB_MODELS = {"default": "stub-small", "escalation": "stub-large"}
ASSUMED_PRICES = {"default": (0.15, 0.60), "escalation": (2.50, 10.00)}
BRAIN_NAMES = {
    run_pb2.BRAIN_KIND_RULE: "rule",
    run_pb2.BRAIN_KIND_HEURISTIC: "heuristic",
    run_pb2.BRAIN_KIND_LLM: "llm",
    run_pb2.BRAIN_KIND_ENGINE: "timeout",
}


@dataclass(frozen=True)
class StubOptions:
    latency_ms: float = 5.0
    malformed_rate: float = 0.0
    rate_limit_rate: float = 0.0
    seed: int = 0
    # How the stub answers: "heuristic" (the heuristic brain) or "random" (any listed action).
    policy: str = "heuristic"
    # No stub at all: both backends point at a loopback port that refuses connections.
    down: bool = False


class StubProcess:
    """`emergence stub-llm --port 0` as a child process; `base_url` once it listens."""

    def __init__(self, options: StubOptions) -> None:
        self.options = options
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""

    async def start(self, timeout_seconds: float = 30.0) -> None:
        options = self.options
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "emergence.cli", "stub-llm", "--host", "127.0.0.1",
            "--port", "0", "--latency-ms", str(options.latency_ms),
            "--malformed-rate", str(options.malformed_rate),
            "--rate-limit-rate", str(options.rate_limit_rate), "--seed", str(options.seed),
            "--policy", options.policy,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(
                self.process.stdout.readline(), max(0.1, deadline - time.monotonic())
            )
            if not line:
                break
            text = line.decode(errors="replace").strip()
            if text.startswith("stub LLM on "):
                self.base_url = text.removeprefix("stub LLM on ")
                return
        await self.close()
        raise RuntimeError("emergence stub-llm did not start listening")

    async def close(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()


def llm_settings(
    base_url: str, *, timeout_ms: int = 5000, max_concurrent: int = 8
) -> dict[str, Any]:
    """The `llm:` section for the two routed backends, both answered by the stub at `base_url`."""
    section: dict[str, Any] = {}
    for name, model in STUB_MODELS.items():
        price_in, price_out = ASSUMED_PRICES[name]
        section[name] = {
            "kind": "openai",
            "base_url": base_url,
            "model": model,
            "timeout_ms": timeout_ms,
            "max_concurrent": max_concurrent,
            "price_in_per_million": price_in,
            "price_out_per_million": price_out,
            # The stub answers from the perception JSON, which real models are not sent.
            "include_perception_json": True,
        }
    backends_from_settings(section)  # the runner's own check of the section
    return section


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@contextlib.asynccontextmanager
async def stub_llm(brain: str, options: StubOptions) -> AsyncIterator[dict[str, Any]]:
    """For the llm and hybrid brains: a stub model server process and the `llm:` section that
    points at it; nothing for the heuristic brain."""
    if brain == "heuristic":
        yield {}
        return
    if options.down:
        with refused_port() as port:
            yield llm_settings(f"http://127.0.0.1:{port}/v1")
        return
    stub = StubProcess(options)
    await stub.start()
    try:
        yield llm_settings(stub.base_url)
    finally:
        await stub.close()


def stub_options(arguments: argparse.Namespace) -> StubOptions:
    return StubOptions(
        latency_ms=getattr(arguments, "latency_ms", None) or 5.0,
        malformed_rate=getattr(arguments, "malformed_rate", None) or 0.0,
        rate_limit_rate=getattr(arguments, "rate_limit_rate", None) or 0.0,
        seed=arguments.seed,
    )


async def run_society(
    arguments: argparse.Namespace,
    *,
    options: StubOptions | None = None,
    runner: Mapping[str, Any] | None = None,
) -> tuple[RunSummary, str]:
    async with stub_llm(arguments.brain, options or stub_options(arguments)) as llm:
        overrides: dict[str, Any] = {
            "run.agents": arguments.agents,
            "run.ticks": arguments.ticks,
            "run.seed": arguments.seed,
            "run.brain": arguments.brain,
            "run.out": getattr(arguments, "out", None) or "runs",
        }
        if llm:
            overrides["llm"] = llm
        if runner:
            RunnerConfig.from_mapping(runner, brain=arguments.brain)  # fail before the run
            overrides["runner"] = dict(runner)
        settings = load_settings(None, overrides=overrides)
        summary = await embedded_run(settings, progress=not arguments.json)
    return summary, summary.store


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def decision_figures(decisions: list[run_pb2.Decision]) -> dict[str, Any]:
    """What the hybrid benchmark reports, from the decisions stored in the history only."""
    total = len(decisions)
    by_brain = Counter(BRAIN_NAMES.get(d.record.brain, "other") for d in decisions)
    by_route = Counter(d.record.route or "-" for d in decisions)
    routed = [d.record for d in decisions if d.record.route.startswith("llm:")]
    answered = [r for r in routed if r.tokens_in > 0]
    latencies = [r.latency_ms for r in routed]
    timeouts = by_brain.get("timeout", 0)
    decided = [d.record for d in decisions if d.record.brain != run_pb2.BRAIN_KIND_ENGINE]
    return {
        "decisions": total,
        "by_brain": dict(sorted(by_brain.items())),
        "by_route": dict(sorted(by_route.items())),
        "model_routed": len(routed),
        "model_answered": len(answered),
        "timeouts": timeouts,
        "timeout_pct": round(100 * timeouts / total, 2) if total else 0.0,
        "fallbacks": sum(1 for d in decisions if d.record.fallback),
        "fallback_reasons": dict(
            Counter(_reason_kind(d.record.fallback_reason) for d in decisions if d.record.fallback)
        ),
        "circuit_opens": sum(1 for r in routed if circuit_event(r.fallback_reason)[0] == "opened"),
        "circuit_open_fallbacks": sum(
            1 for r in routed if circuit_event(r.fallback_reason)[0] == "open"
        ),
        "repaired": sum(1 for r in routed if r.repaired),
        "overrides": sum(1 for d in decisions if d.record.overridden),
        "llm_latency_mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "llm_latency_p95_ms": round(_p95(latencies), 1),
        "tokens_in": sum(r.tokens_in for r in routed),
        "tokens_out": sum(r.tokens_out for r in routed),
        "cost_usd": round(sum(r.cost_usd for r in routed), 4),
        # Completeness of the records: every decision names its brain and route and has a
        # latency; every model-routed one names its model; every answered one has tokens.
        "records_without_brain": sum(1 for r in decided if not r.brain or not r.route),
        "records_without_latency": sum(1 for r in decided if r.latency_ms <= 0),
        "model_records_without_model": sum(1 for r in routed if not r.model),
        "answered_without_tokens_out": sum(1 for r in answered if r.tokens_out <= 0),
    }


def _reason_kind(reason: str) -> str:
    """ "model call failed: …" / "unusable reply: …" without the details; "circuit open" for
    decisions an open breaker sent straight to the heuristic."""
    if circuit_event(reason)[0] == "open":
        return "circuit open"
    head = reason.split(":", 1)[0].strip()
    return head or "unknown"


async def stored_decisions(store_url: str, run_id: str) -> list[run_pb2.Decision]:
    from engine.adapters.event_store import open_event_store

    store = open_event_store(store_url)
    await store.open()
    try:
        return await store.decisions(run_id)
    finally:
        await store.close()
