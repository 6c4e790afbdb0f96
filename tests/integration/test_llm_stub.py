"""The LLM path for real: prompts over HTTP to the stub model server, with bad replies and 429s."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from emergence.v1 import run_pb2
from engine.adapters.convert import submission_from_proto
from engine.core import tick
from runner.core.routing import RunnerConfig
from runner.decider import Decider
from runner.llm.backends import BackendSettings, ModelBackend
from runner.llm.brain import LlmBrain
from runner.llm.prompts import PromptTemplates, default_templates_dir
from runner.llm.stub_server import start_stub_llm
from tests.sim.world_builder import make_world
from tests.unit.test_runner_fixtures import one_tick, perceptions


async def test_stub_speaks_the_openai_protocol() -> None:
    server = await start_stub_llm(seed=1)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}/v1") as client:
            models = (await client.get("/models")).json()
            assert {m["id"] for m in models["data"]} >= {"stub-small"}
            reply = await client.post(
                "/chat/completions",
                json={"model": "stub-small", "messages": [{"role": "user", "content": "hello"}]},
            )
            body = reply.json()
            assert reply.status_code == 200 and body["usage"]["prompt_tokens"] > 0
            # No <perception-json> block: a plain error that names the setting to change.
            text = body["choices"][0]["message"]["content"]
            assert "include_perception_json: true" in text and "{" not in text
            broken = await client.post(
                "/chat/completions",
                json={"messages": [{"role": "user", "content": "<perception-json>{nope"
                                    "</perception-json>"}]},
            )  # fmt: skip
            assert "does not parse" in broken.json()["choices"][0]["message"]["content"]
            assert server.counters.without_perception == 2
    finally:
        await server.close()


async def test_a_prompt_without_the_perception_block_is_an_unusable_reply_not_a_crash() -> None:
    """A backend left at include_perception_json: false against the stub: every model-routed
    decision falls back to the heuristic, recording the stub's error reply and its tokens."""
    server = await start_stub_llm(seed=2)
    config = RunnerConfig(brain="llm", night_skip=False)
    settings = BackendSettings("default", base_url=f"http://127.0.0.1:{server.port}/v1")
    assert settings.include_perception_json is False
    brain = LlmBrain(
        {"default": ModelBackend(settings)}, PromptTemplates(default_templates_dir()), config
    )
    decider = Decider(config, seed=2, model=brain)
    found = perceptions(make_world(agents=4, seed=2))
    decider.assign(found)
    try:
        decisions = []
        for view in found.values():
            backend = decider.needs_model(view)
            if backend:
                decisions.append(
                    await decider.decide_with_model(view, backend, time.monotonic() + 5)
                )
    finally:
        await brain.close()
        await server.close()
    assert decisions and server.counters.without_perception == len(decisions)
    for decision in decisions:
        record = decision.record
        assert record.fallback and record.brain == run_pb2.BRAIN_KIND_HEURISTIC
        assert record.fallback_reason.startswith("unusable reply")
        assert "include_perception_json" in record.raw_response and record.tokens_in > 0
        assert decision.action.WhichOneof("params") is not None
    # The prompt the stub was sent is the readable one only, far smaller than with the block.
    assert server.counters.prompt_tokens / len(decisions) < 2500
    assert brain.backends["default"].breaker.state == "closed"  # the server did answer


async def test_hybrid_decisions_for_ten_agents_survive_bad_replies_and_rate_limits() -> None:
    server = await start_stub_llm(seed=7, latency_ms=2, malformed_rate=0.2, rate_limit_rate=0.1)
    base_url = f"http://127.0.0.1:{server.port}/v1"
    config = RunnerConfig(brain="hybrid", escalation_complexity=4)
    backends = {
        name: ModelBackend(BackendSettings(name, base_url=base_url, model=model, max_concurrent=4,
                                           price_in_per_million=0.5, price_out_per_million=1.5,
                                           include_perception_json=True))
        for name, model in (("default", "stub-small"), ("escalation", "stub-large"))
    }  # fmt: skip
    brain = LlmBrain(backends, PromptTemplates(default_templates_dir()), config, seed=7)
    decider = Decider(config, seed=7, model=brain)
    state = make_world(agents=10, seed=7)
    decisions: list[run_pb2.Decision] = []
    try:
        for _ in range(4):
            decisions.extend(await one_tick(decider, state))
    finally:
        await brain.close()
        await server.close()
    assert len(decisions) == 40
    model_made = [d for d in decisions if d.record.route.startswith("llm:")]
    assert model_made, "hybrid routing sent nothing to the model"
    assert {d.record.route for d in model_made} <= {"llm:default", "llm:escalation"}
    for decision in decisions:
        assert decision.record.brain != run_pb2.BRAIN_KIND_UNSPECIFIED
        assert decision.record.latency_ms > 0
        assert decision.action.WhichOneof("params") is not None
    answered = [d for d in model_made if d.record.tokens_in > 0]
    assert answered and all(d.record.tokens_out > 0 and d.record.cost_usd > 0 for d in answered)
    fallbacks = [d for d in decisions if d.record.fallback]
    assert fallbacks and all(d.record.fallback_reason for d in fallbacks)
    assert decider.counters.fallbacks == len(fallbacks)
    assert server.counters.malformed > 0 and server.counters.rate_limited > 0
    assert sum(b.figures.retries for b in backends.values()) > 0
    assert any(d.record.repaired for d in model_made)


async def test_the_anthropic_backend_kind_is_answered_by_the_stub() -> None:
    """The Messages API path (x-api-key, system apart, content blocks, input/output tokens) runs
    against a real server, not only the OpenAI one."""
    server = await start_stub_llm(seed=4)
    config = RunnerConfig(brain="llm", night_skip=False)
    settings = BackendSettings(
        "default",
        kind="anthropic",
        base_url=f"http://127.0.0.1:{server.port}/v1",
        model="stub-large",
        include_perception_json=True,
        price_in_per_million=3.0,
        price_out_per_million=15.0,
    )
    brain = LlmBrain(
        {"default": ModelBackend(settings)}, PromptTemplates(default_templates_dir()), config
    )
    decider = Decider(config, seed=4, model=brain)
    found = perceptions(make_world(agents=3, seed=4))
    decider.assign(found)
    try:
        decisions = [
            await decider.decide_with_model(view, "default", time.monotonic() + 5)
            for view in found.values()
        ]
    finally:
        await brain.close()
        await server.close()
    assert server.counters.models == {"stub-large": 3}
    for decision in decisions:
        record = decision.record
        assert record.brain == run_pb2.BRAIN_KIND_LLM and not record.fallback, record
        assert record.model == "stub-large" and record.tokens_in > 0 and record.tokens_out > 0
        assert record.cost_usd > 0


async def test_the_stub_learns_each_agents_last_result_once_from_the_perception() -> None:
    from google.protobuf import json_format

    server = await start_stub_llm(seed=5)
    try:
        state = make_world(agents=3, seed=5)
        found = perceptions(state)
        agent_id = sorted(found)[0]
        reply = json.loads(server._answer(_prompt(json_format, found[agent_id])))
        assert "action" in reply
        decider = Decider(RunnerConfig(), seed=5)
        decider.assign(found)
        submissions = [
            submission_from_proto(agent, decider.decide_now(view).action, order)
            for order, (agent, view) in enumerate(sorted(found.items()))
        ]
        tick.resolve(state, submissions)
        later = perceptions(state)[agent_id]
        assert later.HasField("last_result") and later.last_result.agent_id == agent_id
        server._answer(_prompt(json_format, later))
        memory = server.memories[agent_id]
        learned = dict(memory.last_done)
        assert int(later.last_result.tick) in learned.values()
        server._answer(_prompt(json_format, later))  # the same perception again: no second lesson
        assert memory.last_done == learned
    finally:
        await server.close()


def _prompt(json_format: Any, perception: Any) -> str:
    return f"<perception-json>{json_format.MessageToJson(perception)}</perception-json>"
