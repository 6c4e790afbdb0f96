"""Routing: rule bypass, night skip, complexity-based choice of model, and the safety override."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from emergence.v1 import action_pb2, perception_pb2, run_pb2
from runner.core.actions import DecisionOutcome, action_type_of, make_action
from runner.core.memory import AgentMemory
from runner.core.plans_survival import best_food_to_eat
from runner.core.situation import Situation
from runner.core.vocabulary import ACTION_NAMES, FOODS, RESOURCE_NAMES

BRAIN_MODES = ("heuristic", "llm", "hybrid")


class RunnerConfigError(ValueError):
    """A bad `runner:` setting; the message names the key and what to write instead."""


@dataclass(frozen=True)
class RunnerConfig:
    """The `runner:` section of emergence.yaml. Every switch of the router is here."""

    brain: str = "heuristic"
    rule_bypass: bool = True
    thirst_rule: float = 70.0
    hunger_rule: float = 70.0
    rest_energy_rule: float = 10.0
    night_skip: bool = True
    safety_override: bool = True
    escalation_complexity: int = 5
    default_backend: str = "default"
    escalation_backend: str = "escalation"
    memory_token_budget: int = 2000
    raw_response_chars: int = 2000
    templates_dir: str = "templates"
    deadline_margin_ms: int = 200

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None, **overrides: Any) -> RunnerConfig:
        """Build from a dict, rejecting unknown keys and values of the wrong kind."""
        values = dict(raw or {})
        values.update({key: value for key, value in overrides.items() if value is not None})
        known = {item.name: item for item in fields(cls)}
        for key, value in values.items():
            if key not in known:
                raise RunnerConfigError(
                    f"runner.{key}: unknown key; known keys: {', '.join(sorted(known))}"
                )
            default = getattr(cls(), key)
            if isinstance(default, bool) and not isinstance(value, bool):
                raise RunnerConfigError(f"runner.{key}: must be true or false, got {value!r}")
            if isinstance(default, int | float) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise RunnerConfigError(f"runner.{key}: must be a number, got {value!r}")
                values[key] = type(default)(value)
            if isinstance(default, str) and not isinstance(value, str):
                raise RunnerConfigError(f"runner.{key}: must be text, got {value!r}")
        config = cls(**values)
        if config.brain not in BRAIN_MODES:
            raise RunnerConfigError(
                f"runner.brain: must be one of {', '.join(BRAIN_MODES)}, got {config.brain!r}"
            )
        return config


def circuit_open_reason(backend: str) -> str:
    """The fallback reason of a decision sent to the heuristic because `backend`'s circuit
    breaker is open (no model call was made)."""
    return f"backend {backend} circuit open"


def circuit_opened_note(backend: str) -> str:
    """Appended to the fallback reason of the failed call that opened `backend`'s breaker."""
    return f"backend {backend} circuit opened"


def circuit_event(reason: str) -> tuple[str, str]:
    """("open" | "opened" | "", backend) read from a fallback reason."""
    if reason.startswith("backend ") and reason.endswith(" circuit open"):
        return "open", reason.removeprefix("backend ").removesuffix(" circuit open")
    _, separator, tail = reason.rpartition("; backend ")
    if separator and tail.endswith(" circuit opened"):
        return "opened", tail.removesuffix(" circuit opened")
    return "", ""


@dataclass
class RouteCounters:
    """How many decisions took each route, and how often the safety net or fallback caught one;
    per backend, how often its circuit breaker opened and how many decisions it short-circuited
    to the heuristic while open."""

    by_route: Counter[str] = field(default_factory=Counter)
    overrides: int = 0
    fallbacks: int = 0
    decisions: int = 0
    circuit_opens: Counter[str] = field(default_factory=Counter)
    circuit_open_fallbacks: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """`route` is "rule:thirst", "night-skip", "heuristic" or "llm:<backend>"."""

    route: str
    action: action_pb2.Action | None = None
    backend: str = ""
    complexity: int = 0


class Brain(Protocol):
    def decide(
        self, perception: perception_pb2.Perception, memory: AgentMemory
    ) -> DecisionOutcome: ...


def _holds_food(perception: perception_pb2.Perception) -> bool:
    return any(
        RESOURCE_NAMES.get(item.resource) in FOODS and item.quantity > 0
        for item in perception.self.inventory
    )


def _listed(perception: perception_pb2.Perception, action_type: str) -> bool:
    return any(ACTION_NAMES.get(a.action_type) == action_type for a in perception.available_actions)


def _eat_action(perception: perception_pb2.Perception) -> action_pb2.Action | None:
    situation = Situation.read(perception, AgentMemory(perception.agent_id), random.Random(0))
    food = best_food_to_eat(situation)
    if not food or not _listed(perception, "EAT"):
        return None
    return make_action(perception.agent_id, "EAT", food=food)


def urgent(perception: perception_pb2.Perception) -> bool:
    """Something to answer or a need to meet: not a night to sleep through."""
    vitals = perception.self.vitals
    return bool(
        vitals.thirst >= 50
        or vitals.hunger >= 50
        or vitals.health < 40
        or perception.trade_offers
        or perception.bond_requests
        or perception.proposals
        or perception.messages
    )


def rule_bypass(
    perception: perception_pb2.Perception, config: RunnerConfig
) -> tuple[str, action_pb2.Action] | None:
    """Obvious survival moves that need no thinking: (route, action) or None."""
    vitals, agent_id = perception.self.vitals, perception.agent_id
    if config.rule_bypass:
        if vitals.thirst >= config.thirst_rule and _listed(perception, "DRINK"):
            return "rule:thirst", make_action(agent_id, "DRINK")
        if vitals.hunger >= config.hunger_rule and _holds_food(perception):
            eat = _eat_action(perception)
            if eat is not None:
                return "rule:hunger", eat
        if vitals.energy <= config.rest_energy_rule:
            return "rule:energy", make_action(agent_id, "REST")
    if config.night_skip and perception.sleeping and not urgent(perception):
        return "night-skip", make_action(agent_id, "REST")
    return None


def complexity(perception: perception_pb2.Perception, memory: AgentMemory) -> int:
    """How much judgement this moment needs: company, offers, votes, discovery, conflict, talk."""
    score = 0
    others = len(perception.agents)
    score += (1 if others else 0) + (1 if others >= 3 else 0)
    score += 2 * min(1, len(perception.trade_offers))
    score += 2 * min(1, len(perception.proposals) + len(perception.bond_requests))
    score += min(1, len(perception.group_invitations))
    score += min(2, len(perception.messages))
    moves = [a for a in perception.available_actions if ACTION_NAMES.get(a.action_type) == "MOVE"]
    if any("route:" in a.options.get("candidates", "") for a in moves):
        score += 1  # an unexplored path: something new may be found
    present = {other.agent_id for other in perception.agents}
    hostile = any(agent_id in present for agent_id in memory.cheated_by)
    attacked = any("attacked you" in note or "stole" in note for note in perception.notifications)
    if hostile or attacked:
        score += 2
    return score


def plan_route(
    perception: perception_pb2.Perception, memory: AgentMemory, config: RunnerConfig
) -> RoutePlan:
    """Which way this decision goes, before any brain is asked."""
    bypass = rule_bypass(perception, config) if config.brain != "llm" else None
    if config.brain == "llm" and config.night_skip and perception.sleeping:
        bypass = rule_bypass(perception, RunnerConfig(rule_bypass=False))
    if bypass is not None:
        return RoutePlan(bypass[0], bypass[1])
    if config.brain == "heuristic":
        return RoutePlan("heuristic")
    score = complexity(perception, memory)
    if config.brain == "hybrid" and score < config.escalation_complexity:
        return RoutePlan(
            f"llm:{config.default_backend}", backend=config.default_backend, complexity=score
        )
    backend = (
        config.escalation_backend
        if score >= config.escalation_complexity
        else (config.default_backend)
    )
    return RoutePlan(f"llm:{backend}", backend=backend, complexity=score)


def _projected_loss(vitals: Any, winter: bool, drink: bool, eat: bool) -> float:
    """Health lost over this tick and the next if the agent neither drinks nor eats."""
    loss = 0.0
    hunger_rate = 7.5 if winter else 5.0
    for step in (1, 2):
        if not drink and vitals.thirst + 8 * step >= 100:
            loss += 15
        if not eat and vitals.hunger + hunger_rate * step >= 100:
            loss += 10
    return loss


def safety_override(
    perception: perception_pb2.Perception, action: action_pb2.Action
) -> tuple[action_pb2.Action, str] | None:
    """If the chosen action lets the agent die this tick or the next while it could drink or eat,
    replace it: (new action, reason)."""
    chosen = action_type_of(action)
    vitals = perception.self.vitals
    winter = perception.clock.season == 4
    if _projected_loss(vitals, winter, chosen == "DRINK", chosen == "EAT") < vitals.health:
        return None
    thirst_kills = vitals.thirst + 16 >= 100
    if thirst_kills and chosen != "DRINK" and _listed(perception, "DRINK"):
        return make_action(perception.agent_id, "DRINK"), f"thirst {vitals.thirst:.0f} would kill"
    eat = _eat_action(perception) if chosen != "EAT" else None
    if eat is not None:
        return eat, f"hunger {vitals.hunger:.0f} would kill"
    return None


def make_record(outcome: DecisionOutcome, route: str, **values: Any) -> run_pb2.DecisionRecord:
    record = run_pb2.DecisionRecord(
        brain=outcome.brain,
        reasoning=outcome.reasoning[:2000],
        route=route,
        goal_update=outcome.goal_update,
    )
    for key, value in values.items():
        if key == "containment_flags":
            record.containment_flags.extend(value)
        else:
            setattr(record, key, value)
    return record


def finish(
    perception: perception_pb2.Perception,
    outcome: DecisionOutcome,
    record: run_pb2.DecisionRecord,
    config: RunnerConfig,
    counters: RouteCounters,
) -> run_pb2.Decision:
    """Apply the safety override, count the route, and wrap everything as a Decision."""
    action = outcome.action
    if config.safety_override:
        override = safety_override(perception, action)
        if override is not None:
            action, reason = override
            record.overridden = True
            record.override_reason = reason
            counters.overrides += 1
    if record.fallback:
        counters.fallbacks += 1
        event, backend = circuit_event(record.fallback_reason)
        if event == "open":
            counters.circuit_open_fallbacks[backend] += 1
        elif event == "opened":
            counters.circuit_opens[backend] += 1
    counters.by_route[record.route] += 1
    counters.decisions += 1
    action.agent_id = perception.agent_id
    return run_pb2.Decision(
        agent_id=perception.agent_id, tick=perception.tick, action=action, record=record
    )


def decide_without_model(
    perception: perception_pb2.Perception,
    memory: AgentMemory,
    brain: Brain,
    config: RunnerConfig,
    counters: RouteCounters,
) -> run_pb2.Decision:
    """The whole pipeline when no model is called: rules, else the heuristic brain; then safety."""
    plan = plan_route(perception, memory, RunnerConfig(**{**config.__dict__, "brain": "heuristic"}))
    if plan.action is not None:
        outcome = DecisionOutcome(plan.action, plan.route, "", run_pb2.BRAIN_KIND_RULE)
    else:
        outcome = brain.decide(perception, memory)
    record = make_record(outcome, plan.route)
    return finish(perception, outcome, record, config, counters)
