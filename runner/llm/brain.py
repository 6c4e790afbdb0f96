"""The LLM brain: render the prompt, call the routed backend, parse the reply; on any failure fall
back to the heuristic brain and record why."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emergence.mesh import metrics
from emergence.mesh.errors import ConfigurationError
from emergence.v1 import perception_pb2, run_pb2, runner_service_pb2
from runner.core.actions import DecisionOutcome
from runner.core.heuristic import HeuristicBrain
from runner.core.memory import AgentMemory, filtered
from runner.core.parse import parse_reply
from runner.core.prompt_context import prompt_context
from runner.core.routing import (
    RunnerConfig,
    circuit_open_reason,
    circuit_opened_note,
    make_record,
)
from runner.llm.backends import (
    BackendCircuitOpen,
    BackendError,
    ModelBackend,
    backends_from_settings,
)
from runner.llm.prompts import PromptTemplates, default_templates_dir


class LlmBrain:
    def __init__(
        self,
        backends: Mapping[str, ModelBackend],
        templates: PromptTemplates,
        config: RunnerConfig,
        *,
        seed: int = 0,
    ) -> None:
        self.backends = dict(backends)
        self.templates = templates
        self.config = config
        self.heuristic = HeuristicBrain(seed)

    async def close(self) -> None:
        for backend in self.backends.values():
            await backend.close()

    def backend_figures(self) -> list[runner_service_pb2.BackendStatus]:
        return [backend.status() for _, backend in sorted(self.backends.items())]

    def _backend(self, name: str) -> ModelBackend | None:
        # An escalation backend is optional: without one, the default model takes every call.
        return self.backends.get(name) or self.backends.get(self.config.default_backend)

    async def decide(
        self,
        perception: perception_pb2.Perception,
        memory: AgentMemory,
        backend: str,
        deadline_monotonic: float,
    ) -> tuple[DecisionOutcome, run_pb2.DecisionRecord]:
        started = time.perf_counter()
        route = f"llm:{backend}"
        chosen = self._backend(backend)
        if chosen is None:
            return self._fallback(
                perception, memory, route, f"no backend named {backend!r}", started
            )
        if chosen.breaker.refuses():
            # The breaker is open: straight to the heuristic, no prompt and no request.
            return self._circuit_open(perception, memory, route, chosen, started)
        memories = filtered(memory, perception, self.config.memory_token_budget)
        context = prompt_context(
            perception,
            memory,
            memories,
            include_perception_json=chosen.settings.include_perception_json,
        )
        prompt = self.templates.render(context)
        try:
            completion = await chosen.complete(prompt.system, prompt.user, deadline_monotonic)
        except BackendCircuitOpen:
            return self._circuit_open(perception, memory, route, chosen, started)
        except BackendError as error:
            metrics.RUNNER_LLM_CALLS.labels(backend, "error").inc()
            reason = f"model call failed: {error}"
            if error.opened_circuit:
                reason = f"{reason[:400]}; {circuit_opened_note(chosen.settings.name)}"
            outcome, record = self._fallback(perception, memory, route, reason, started)
            record.model = chosen.settings.model  # the model that was asked, for the record
            return outcome, record
        _count_call(backend, completion.tokens_in, completion.tokens_out, completion.cost_usd)
        parsed = parse_reply(completion.text, perception)
        raw = completion.text[: self.config.raw_response_chars]
        figures = {
            "model": completion.model,
            "tokens_in": completion.tokens_in,
            "tokens_out": completion.tokens_out,
            "cost_usd": completion.cost_usd,
            "raw_response": raw,
            "repaired": parsed.repaired,
        }
        if parsed.action is None:
            outcome, record = self._fallback(
                perception, memory, route, f"unusable reply: {parsed.reason}", started
            )
            for key, value in figures.items():
                setattr(record, key, value)
            return outcome, record
        outcome = DecisionOutcome(
            parsed.action, parsed.reasoning, parsed.goal_update, run_pb2.BRAIN_KIND_LLM
        )
        if parsed.goal_update:
            memory.set_goal(parsed.goal_update[:120], 2, int(perception.tick))
        record = make_record(outcome, route, **figures)
        record.latency_ms = (time.perf_counter() - started) * 1000
        return outcome, record

    def _circuit_open(
        self,
        perception: perception_pb2.Perception,
        memory: AgentMemory,
        route: str,
        chosen: ModelBackend,
        started: float,
    ) -> tuple[DecisionOutcome, run_pb2.DecisionRecord]:
        reason = circuit_open_reason(chosen.settings.name)
        outcome, record = self._fallback(perception, memory, route, reason, started)
        record.model = chosen.settings.model
        return outcome, record

    def circuit_figures(self) -> dict[str, dict[str, int | str]]:
        """Per backend: breaker state, times opened, calls refused while open."""
        return {
            name: {
                "state": backend.breaker.state,
                "opens": backend.breaker.opens,
                "short_circuited": backend.breaker.short_circuited,
            }
            for name, backend in sorted(self.backends.items())
        }

    def _fallback(
        self,
        perception: perception_pb2.Perception,
        memory: AgentMemory,
        route: str,
        reason: str,
        started: float,
    ) -> tuple[DecisionOutcome, run_pb2.DecisionRecord]:
        outcome = self.heuristic.decide(perception, memory)
        record = make_record(outcome, route, fallback=True, fallback_reason=reason[:500])
        record.latency_ms = (time.perf_counter() - started) * 1000
        return outcome, record


def _count_call(backend: str, tokens_in: int, tokens_out: int, cost_usd: float) -> None:
    metrics.RUNNER_LLM_CALLS.labels(backend, "ok").inc()
    metrics.RUNNER_LLM_TOKENS.labels(backend, "in").inc(max(0, tokens_in))
    metrics.RUNNER_LLM_TOKENS.labels(backend, "out").inc(max(0, tokens_out))
    metrics.RUNNER_LLM_COST_USD.labels(backend).inc(max(0.0, cost_usd))


def create_model_brain(
    llm_settings: Mapping[str, Any], config: RunnerConfig, *, seed: int = 0
) -> LlmBrain:
    """Backends from the `llm:` settings and templates from runner.templates_dir."""
    settings = backends_from_settings(llm_settings)
    if not settings:
        raise ConfigurationError(
            "llm",
            f"the {config.brain} brain needs at least one model backend",
            hint="add llm: {default: {kind: openai, base_url: ..., model: ...}} to emergence.yaml,"
            " or run `emergence stub-llm` and point a backend at it (with"
            " include_perception_json: true, which the stub reads)",
        )
    directory = Path(config.templates_dir)
    if not (directory / "system.j2").is_file():
        directory = default_templates_dir()
    backends = {name: ModelBackend(value) for name, value in settings.items()}
    return LlmBrain(backends, PromptTemplates(directory), config, seed=seed)
