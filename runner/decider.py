"""The runner's decision loop for its agents: memory in, route, brain (rule, heuristic or model),
safety override, decision record out; results fed back into memory."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from emergence.containment import scan_action_texts
from emergence.mesh import metrics
from emergence.mesh.errors import Unavailable
from emergence.mesh.metrics import brain_label
from emergence.v1 import action_pb2, perception_pb2, run_pb2
from runner.core.actions import DecisionOutcome
from runner.core.heuristic import HeuristicBrain
from runner.core.memory import AgentMemory, observe, reflect
from runner.core.routing import (
    RouteCounters,
    RoutePlan,
    RunnerConfig,
    finish,
    make_record,
    plan_route,
)

if TYPE_CHECKING:
    from runner.adapters.memory_store import MemoryStore

log = logging.getLogger("emergence.runner.decider")


_NOT_ROUTED: tuple[perception_pb2.Perception | None, RoutePlan] = (None, RoutePlan(""))


def _decisions_counter(brain: int) -> Any:
    """The decisions counter of one brain (its labelled child, looked up once per brain)."""
    key = (id(metrics.RUNNER_DECISIONS), brain)
    child = _DECISION_COUNTERS.get(key)
    if child is None:
        child = _DECISION_COUNTERS[key] = metrics.RUNNER_DECISIONS.labels(brain_label(brain))
    return child


_DECISION_COUNTERS: dict[tuple[int, int], Any] = {}


class ModelBrain(Protocol):
    """What the decider needs from the LLM brain (runner/llm/brain.py)."""

    async def decide(
        self,
        perception: perception_pb2.Perception,
        memory: AgentMemory,
        backend: str,
        deadline_monotonic: float,
    ) -> tuple[DecisionOutcome, run_pb2.DecisionRecord]: ...


class Decider:
    """Holds every assigned agent's memory and turns perceptions into recorded decisions."""

    def __init__(
        self,
        config: RunnerConfig,
        *,
        seed: int = 0,
        model: ModelBrain | None = None,
        store: MemoryStore | None = None,
    ) -> None:
        self.config = config
        self.heuristic = HeuristicBrain(seed)
        self.model = model
        self.memories: dict[str, AgentMemory] = {}
        # Agents whose memory changed since it was last saved: a save writes only these (writing
        # every memory after each batch of perceptions cost seconds a tick at 1 000 agents).
        self.unsaved: set[str] = set()
        # Where memories outlive this process (Redis), so a rebalanced agent keeps its past.
        self.store = store
        self.namespace = ""
        self.counters = RouteCounters()
        self.containment_alerts = 0
        self._routed: tuple[perception_pb2.Perception | None, RoutePlan] = _NOT_ROUTED

    def assign(self, agent_ids: Iterable[str]) -> None:
        """Keep memories of agents still assigned (and any that come back); drop the rest."""
        wanted = set(agent_ids)
        for agent_id in list(self.memories):
            if agent_id not in wanted:
                del self.memories[agent_id]
                self.unsaved.discard(agent_id)
        for agent_id in sorted(wanted):
            self.memories.setdefault(agent_id, AgentMemory(agent_id))

    async def assign_and_load(
        self, agent_ids: Iterable[str], run_id: str = "", added: Iterable[str] = ()
    ) -> None:
        """Assign, first loading stored memories of agents this runner does not hold yet, and of
        those `added` to it again (another runner may have carried them on in between)."""
        wanted = sorted(set(agent_ids))
        if run_id:
            self.namespace = run_id
        again = set(added)
        new = [
            agent_id for agent_id in wanted if agent_id not in self.memories or agent_id in again
        ]
        if self.store is not None and new:
            try:
                self.memories.update(await self.store.load_many(new, namespace=self.namespace))
            except Unavailable as error:
                log.warning("agent memories start fresh: %s", error)
        self.assign(wanted)

    async def save_memories(self) -> None:
        """Write the memories changed since the last save to the store (pipelined)."""
        if self.store is None:
            self.unsaved.clear()
            return
        changed = [self.memories[a] for a in sorted(self.unsaved) if a in self.memories]
        self.unsaved.clear()
        if not changed:
            return
        try:
            await self.store.save_many(changed, namespace=self.namespace)
        except Unavailable as error:
            # Still changed: the next save tries them again.
            self.unsaved.update(memory.agent_id for memory in changed)
            log.warning("agent memories kept in this process only this tick: %s", error)

    def memory(self, agent_id: str) -> AgentMemory:
        memory = self.memories.get(agent_id)
        if memory is None:
            memory = self.memories[agent_id] = AgentMemory(agent_id)
        return memory

    def decided_before(self, perception: perception_pb2.Perception) -> run_pb2.Decision | None:
        """The decision this agent already sent for this tick (from a runner that then died)."""
        memory = self.memories.get(perception.agent_id)
        if memory is None or memory.decided_tick != int(perception.tick) or not memory.decision:
            return None
        return run_pb2.Decision.FromString(base64.b64decode(memory.decision))

    def needs_model(self, perception: perception_pb2.Perception) -> str:
        """The backend this perception is routed to, or "" when no model call is needed."""
        memory = self.memory(perception.agent_id)
        observe(memory, perception)
        self.unsaved.add(perception.agent_id)
        plan = plan_route(perception, memory, self.config)
        # decide_now follows for the same perception with nothing learnt in between.
        self._routed = (perception, plan)
        if self.model is None or not plan.route.startswith("llm:"):
            return ""
        return plan.backend

    def decide_now(self, perception: perception_pb2.Perception) -> run_pb2.Decision:
        """Rule or heuristic decision, synchronously (call needs_model first: it observes)."""
        started = time.perf_counter()
        memory = self.memory(perception.agent_id)
        routed, plan = self._routed
        self._routed = _NOT_ROUTED
        if routed is not perception:
            plan = plan_route(perception, memory, self.config)
        if plan.action is not None:
            outcome = DecisionOutcome(plan.action, plan.route, "", run_pb2.BRAIN_KIND_RULE)
            route = plan.route
        else:
            outcome = self.heuristic.decide(perception, memory)
            route = plan.route if plan.route == "heuristic" else "heuristic:no-model"
        record = make_record(outcome, route)
        if route == "heuristic:no-model":
            record.fallback = True
            record.fallback_reason = "no model backend is configured for this route"
        record.latency_ms = (time.perf_counter() - started) * 1000
        return self._finish(perception, outcome, record, memory)

    async def decide_with_model(
        self, perception: perception_pb2.Perception, backend: str, deadline_monotonic: float
    ) -> run_pb2.Decision:
        assert self.model is not None
        memory = self.memory(perception.agent_id)
        outcome, record = await self.model.decide(perception, memory, backend, deadline_monotonic)
        # Looked up again: the agent's memory may have been reloaded while the model answered.
        return self._finish(perception, outcome, record, self.memory(perception.agent_id))

    def _finish(
        self,
        perception: perception_pb2.Perception,
        outcome: DecisionOutcome,
        record: run_pb2.DecisionRecord,
        memory: AgentMemory,
    ) -> run_pb2.Decision:
        flags, matched = scan_action_texts(outcome.action, outcome.reasoning)
        if flags:
            record.containment_flags.extend(
                flag for flag in flags if flag not in record.containment_flags
            )
            record.containment_text = matched[: self.config.raw_response_chars]
        if record.containment_flags:
            self.containment_alerts += 1
        decision = finish(perception, outcome, record, self.config, self.counters)
        memory.decided_tick = int(perception.tick)
        memory.decision = base64.b64encode(decision.SerializeToString()).decode()
        self.unsaved.add(perception.agent_id)
        _decisions_counter(decision.record.brain).inc()
        if decision.record.fallback:
            metrics.RUNNER_FALLBACKS.inc()
        return decision

    def learn(self, results: Iterable[action_pb2.ActionResult]) -> None:
        for result in results:
            memory = self.memories.get(result.agent_id)
            if memory is not None and int(result.tick) > memory.reflected_tick:
                reflect(memory, result)
                memory.reflected_tick = int(result.tick)
                self.unsaved.add(memory.agent_id)
