"""Small builders for engine tests: a world, agents placed and equipped, one action resolved."""

from __future__ import annotations

from collections.abc import Mapping

from engine.core import tick
from engine.core.actions import Action, ActionResult
from engine.core.config import WorldConfig, load_world_config
from engine.core.state import Agent, WorldState
from engine.core.world import new_world

# The pairs the ledger service accepts (entry type, from account type, to account type).
ALLOWED_PAIRS = {
    ("REGENERATION", "WORLD", "LOCATION_NODE"), ("REGENERATION", "WORLD", "STRUCTURE"),
    ("GATHER", "LOCATION_NODE", "AGENT"), ("GATHER", "STRUCTURE", "AGENT"),
    ("CONSUME", "AGENT", "VOID"), ("CONSUME", "LOCATION_NODE", "VOID"),
    ("TRANSFER", "AGENT", "AGENT"), ("TRANSFER", "AGENT", "STRUCTURE"),
    ("TRANSFER", "STRUCTURE", "AGENT"), ("TRANSFER", "AGENT", "GROUP_STORE"),
    ("TRANSFER", "GROUP_STORE", "AGENT"), ("BUILD", "AGENT", "STRUCTURE"), ("BUILD", "AGENT", "VOID"),
    ("DECAY", "STRUCTURE", "VOID"), ("DECAY", "LOCATION_NODE", "VOID"),
    ("DECAY", "LOCATION_GROUND", "VOID"), ("SALVAGE", "STRUCTURE", "AGENT"),
    ("SALVAGE", "STRUCTURE", "LOCATION_GROUND"), ("DROP", "AGENT", "LOCATION_GROUND"),
    ("PICKUP", "LOCATION_GROUND", "AGENT"), ("CRAFT", "AGENT", "VOID"), ("CRAFT", "WORLD", "AGENT"),
    ("SMELT", "AGENT", "VOID"), ("SMELT", "WORLD", "AGENT"),
}  # fmt: skip


def make_world(agents: int = 3, seed: int = 7, config: WorldConfig | None = None) -> WorldState:
    state, _, _ = new_world(config or load_world_config(None), seed=seed, agents=agents)
    return state


def agent_list(state: WorldState) -> list[Agent]:
    return [state.agents[agent_id] for agent_id in state.living_agent_ids()]


def place(state: WorldState, agent: Agent, location_id: str) -> None:
    """Move an agent instantly (test setup only)."""
    state.locations[agent.location_id].agent_ids.discard(agent.id)
    agent.location_id = location_id
    agent.travel_remaining = 0
    state.locations[location_id].agent_ids.add(agent.id)
    agent.known_location_ids.add(location_id)


def grant(state: WorldState, agent: Agent, items: Mapping[str, int]) -> None:
    """Give an agent goods as if they had come from the world (the books stay balanced)."""
    for resource, quantity in items.items():
        agent.inventory[resource] = agent.inventory.get(resource, 0) + quantity
        state.world_in[resource] = state.world_in.get(resource, 0) + quantity


def act(state: WorldState, agent: Agent, action: Action) -> ActionResult:
    return act_all(state, [(agent, action)])[agent.id]


def act_all(state: WorldState, pairs: list[tuple[Agent, Action]]) -> dict[str, ActionResult]:
    submissions = [
        tick.Submission(agent.id, action, order) for order, (agent, action) in enumerate(pairs)
    ]
    outcome = tick.resolve(state, submissions)
    for entry in outcome.entries:
        assert (entry.entry_type, entry.from_type, entry.to_type) in ALLOWED_PAIRS, entry
    return outcome.results


def reason(result: ActionResult) -> str:
    return "" if result.rejection is None else result.rejection.reason
