"""The circuit breaker over real sockets: a loopback port that refuses connections, and the stub
model server stopped mid-run and started again on the same port."""

from __future__ import annotations

import asyncio
import time

from bench.society import refused_port
from emergence.v1 import run_pb2
from runner.core.routing import RunnerConfig, circuit_open_reason
from runner.decider import Decider
from runner.llm.backends import BackendSettings, ModelBackend
from runner.llm.brain import LlmBrain
from runner.llm.prompts import PromptTemplates, default_templates_dir
from runner.llm.stub_server import start_stub_llm
from tests.sim.world_builder import make_world
from tests.unit.test_runner_fixtures import one_tick


def model_brain(port: int, config: RunnerConfig, **settings: object) -> LlmBrain:
    base_url = f"http://127.0.0.1:{port}/v1"
    backends = {
        name: ModelBackend(
            BackendSettings(
                name, base_url=base_url, model=model, include_perception_json=True,
                timeout_ms=2000, **settings,  # type: ignore[arg-type]
            )
        )
        for name, model in (("default", "stub-small"), ("escalation", "stub-large"))
    }  # fmt: skip
    return LlmBrain(backends, PromptTemplates(default_templates_dir()), config, seed=3)


def routed(decisions: list[run_pb2.Decision]) -> list[run_pb2.DecisionRecord]:
    return [d.record for d in decisions if d.record.route.startswith("llm:")]


async def test_an_unreachable_model_costs_one_round_of_retries_not_every_decision() -> None:
    config = RunnerConfig(brain="llm", night_skip=False)
    with refused_port() as port:
        brain = model_brain(port, config, failure_threshold=5, cooldown_ms=30_000)
        decider = Decider(config, seed=3, model=brain)
        state = make_world(agents=10, seed=3)
        started = time.perf_counter()
        decisions: list[run_pb2.Decision] = []
        try:
            for _ in range(40):
                decisions.extend(await one_tick(decider, state))
        finally:
            await brain.close()
        elapsed = time.perf_counter() - started
    # Without the breaker every one of these ~400 decisions waits ~0.75 s of retries.
    assert elapsed < 12, f"{elapsed:.1f} s"
    records = routed(decisions)
    assert len(records) > 300
    assert all(r.fallback and r.brain == run_pb2.BRAIN_KIND_HEURISTIC for r in records)
    failed = [r for r in records if r.fallback_reason.startswith("model call failed")]
    short = [r for r in records if r.fallback_reason.endswith(" circuit open")]
    assert len(failed) + len(short) == len(records)
    assert {r.fallback_reason for r in short} <= {
        circuit_open_reason("default"),
        circuit_open_reason("escalation"),
    }
    assert len(short) > 0.9 * len(records)
    assert all(r.model in ("stub-small", "stub-large") for r in records)
    # The failure that opened a breaker says so; each backend opened once (30 s cool-down).
    opened = [r for r in failed if r.fallback_reason.endswith("circuit opened")]
    assert 1 <= len(opened) <= 2
    assert sum(decider.counters.circuit_opens.values()) == len(opened)
    assert sum(decider.counters.circuit_open_fallbacks.values()) == len(short)
    figures = brain.circuit_figures()
    assert sum(int(f["opens"]) for f in figures.values()) == len(opened)
    assert sum(int(f["short_circuited"]) for f in figures.values()) == len(short)
    # No request went out once a breaker was open.
    assert sum(b.figures.calls for b in brain.backends.values()) == len(failed)


async def test_the_breaker_closes_again_once_the_stub_is_back() -> None:
    config = RunnerConfig(brain="llm", night_skip=False)
    server = await start_stub_llm(seed=3)
    port = server.port
    brain = model_brain(port, config, failure_threshold=3, cooldown_ms=300, max_retries=1)
    decider = Decider(config, seed=3, model=brain)
    state = make_world(agents=6, seed=3)
    try:
        before = routed(await one_tick(decider, state))
        assert before and all(r.brain == run_pb2.BRAIN_KIND_LLM for r in before)

        await server.close()  # the model goes away mid-run
        down: list[run_pb2.DecisionRecord] = []
        for _ in range(3):
            down.extend(routed(await one_tick(decider, state)))
        assert all(r.fallback for r in down)
        assert any(r.fallback_reason.endswith("circuit open") for r in down)
        assert brain.backends["default"].breaker.state == "open"
        requests_while_down = sum(b.figures.calls for b in brain.backends.values())

        server = await start_stub_llm(port=port, seed=3)  # back, on the same port
        await asyncio.sleep(0.35)  # past the cool-down
        probing = routed(await one_tick(decider, state))
        # One probe per backend went out and was answered; the rest waited for it.
        answered = [r for r in probing if r.brain == run_pb2.BRAIN_KIND_LLM]
        assert 1 <= len(answered) <= 2
        assert all(
            r.fallback_reason.endswith("circuit open")
            for r in probing
            if r.brain != run_pb2.BRAIN_KIND_LLM
        )
        assert brain.backends["default"].breaker.state == "closed"
        after = routed(await one_tick(decider, state))
        assert after and all(r.brain == run_pb2.BRAIN_KIND_LLM for r in after)
        assert server.counters.requests == len(answered) + len(after)
        assert sum(b.figures.calls for b in brain.backends.values()) > requests_while_down
    finally:
        await brain.close()
        await server.close()
