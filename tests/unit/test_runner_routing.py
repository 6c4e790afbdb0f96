"""Routing: rule bypass, night skip, complexity and backend choice, safety override, counters."""

from __future__ import annotations

import pytest

from emergence.v1 import action_pb2, common_pb2, perception_pb2
from runner.core.actions import DecisionOutcome, action_type_of, make_action
from runner.core.heuristic import HeuristicBrain
from runner.core.memory import AgentMemory
from runner.core.routing import (
    RouteCounters,
    RunnerConfig,
    RunnerConfigError,
    complexity,
    decide_without_model,
    plan_route,
    safety_override,
)
from tests.unit.test_runner_fixtures import first_perception


def perception(**vitals: float) -> perception_pb2.Perception:
    found = first_perception()
    for key, value in vitals.items():
        setattr(found.self.vitals, key, value)
    return found


def with_water(found: perception_pb2.Perception) -> perception_pb2.Perception:
    found.self.inventory.add(resource=common_pb2.RESOURCE_WATER, quantity=2)
    found.available_actions.add(action_type=action_pb2.ACTION_TYPE_DRINK, form="drink()")
    return found


def with_food(found: perception_pb2.Perception) -> perception_pb2.Perception:
    found.self.inventory.add(resource=common_pb2.RESOURCE_BERRY, quantity=3)
    found.available_actions.add(action_type=action_pb2.ACTION_TYPE_EAT, form="eat(food)")
    return found


def test_thirst_at_seventy_with_water_at_hand_drinks_without_a_model() -> None:
    found = with_water(perception(thirst=70))
    plan = plan_route(found, AgentMemory(found.agent_id), RunnerConfig(brain="hybrid"))
    assert plan.route == "rule:thirst" and plan.action is not None
    assert action_type_of(plan.action) == "DRINK"


def test_hunger_at_seventy_with_food_held_eats() -> None:
    found = with_food(perception(hunger=75))
    plan = plan_route(found, AgentMemory(found.agent_id), RunnerConfig(brain="llm"))
    # The llm mode keeps every waking decision for the model; hybrid takes the shortcut.
    assert plan.route.startswith("llm:")
    plan = plan_route(found, AgentMemory(found.agent_id), RunnerConfig(brain="hybrid"))
    assert plan.route == "rule:hunger" and plan.action is not None
    assert plan.action.eat.food == common_pb2.RESOURCE_BERRY


def test_exhausted_agents_rest_and_sleepers_skip_the_night() -> None:
    tired = perception(energy=8)
    assert plan_route(tired, AgentMemory(tired.agent_id), RunnerConfig(brain="hybrid")).route == (
        "rule:energy"
    )
    night = perception()
    night.sleeping = True
    assert plan_route(night, AgentMemory(night.agent_id), RunnerConfig(brain="llm")).route == (
        "night-skip"
    )
    night.trade_offers.add(trade_id="t-1", from_agent_id="x", from_name="X")
    assert plan_route(night, AgentMemory(night.agent_id), RunnerConfig(brain="hybrid")).route != (
        "night-skip"
    )


def test_rules_can_be_switched_off() -> None:
    found = with_water(perception(thirst=90))
    config = RunnerConfig(brain="hybrid", rule_bypass=False)
    assert plan_route(found, AgentMemory(found.agent_id), config).route.startswith("llm:")


def test_complexity_picks_the_escalation_backend() -> None:
    quiet = perception()
    del quiet.agents[:]
    memory = AgentMemory(quiet.agent_id)
    config = RunnerConfig(brain="hybrid", escalation_complexity=5)
    assert plan_route(quiet, memory, config).route == "llm:default"
    busy = perception()
    busy.trade_offers.add(trade_id="t-1", from_agent_id="x", from_name="X")
    busy.bond_requests.add(from_agent_id="y", from_name="Y")
    busy.messages.add(id="m", from_agent_id="y", from_name="Y", text="hello")
    assert complexity(busy, memory) >= 5
    plan = plan_route(busy, memory, config)
    assert plan.route == "llm:escalation" and plan.backend == "escalation"


def test_safety_override_replaces_a_deadly_choice_and_is_recorded() -> None:
    found = with_water(perception(thirst=95, health=10))
    chosen = make_action(found.agent_id, "EXPLORE")
    replaced = safety_override(found, chosen)
    assert replaced is not None and action_type_of(replaced[0]) == "DRINK"
    assert "thirst" in replaced[1]
    assert safety_override(found, make_action(found.agent_id, "DRINK")) is None
    healthy = with_water(perception(thirst=95, health=100))
    assert safety_override(healthy, chosen) is None


def test_counters_count_each_route_and_every_override() -> None:
    counters = RouteCounters()
    brain = HeuristicBrain(seed=1)
    config = RunnerConfig()
    dying = with_water(perception(thirst=96, health=5))
    calm = perception()
    for found in (dying, calm, calm):
        decision = decide_without_model(found, AgentMemory(found.agent_id), brain, config, counters)
        assert decision.record.route and decision.agent_id == found.agent_id
    assert counters.decisions == 3
    assert counters.by_route["rule:thirst"] == 1
    assert counters.by_route["heuristic"] == 2


def test_config_from_mapping_rejects_unknown_keys_and_wrong_kinds() -> None:
    config = RunnerConfig.from_mapping({"brain": "hybrid", "thirst_rule": 60})
    assert config.brain == "hybrid" and config.thirst_rule == 60.0
    with pytest.raises(RunnerConfigError, match=r"runner\.thirst: unknown key"):
        RunnerConfig.from_mapping({"thirst": 60})
    with pytest.raises(RunnerConfigError, match="must be true or false"):
        RunnerConfig.from_mapping({"night_skip": "yes"})
    with pytest.raises(RunnerConfigError, match="must be one of"):
        RunnerConfig.from_mapping({"brain": "oracle"})


class Reckless:
    """A brain that always explores, whatever its body says."""

    def decide(self, found: perception_pb2.Perception, memory: AgentMemory) -> DecisionOutcome:
        return DecisionOutcome(make_action(found.agent_id, "EXPLORE"), "adventure")


def test_a_reckless_brain_is_overridden_and_the_override_counted() -> None:
    counters = RouteCounters()
    config = RunnerConfig(rule_bypass=False)
    dying = with_water(perception(thirst=96, health=5))
    decision = decide_without_model(
        dying, AgentMemory(dying.agent_id), Reckless(), config, counters
    )
    assert action_type_of(decision.action) == "DRINK"
    assert decision.record.overridden and "thirst" in decision.record.override_reason
    assert counters.overrides == 1 and counters.by_route["heuristic"] == 1
