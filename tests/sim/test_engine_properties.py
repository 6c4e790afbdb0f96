"""Property tests: random streams of valid and invalid actions never break the world's invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import tick
from engine.core.actions import ACTION_TYPES, Action
from engine.core.conservation import check_conservation
from engine.core.state import WorldState
from engine.core.world import RESOURCE_NAMES
from tests.sim.world_builder import ALLOWED_PAIRS, grant, make_world, place

RESOURCES = (*RESOURCE_NAMES, "GOLD", "")
STRUCTURES = ("CAMPFIRE", "LEAN_TO", "BASIC_HUT", "STORAGE_PIT", "WORKSHOP", "CASTLE", "")
TEXTS = ("hello", "", "x" * 600, "there is food at the river")


spec = st.tuples(
    st.sampled_from((*ACTION_TYPES, "GARBAGE", "TIMEOUT")),
    st.integers(0, 40),  # picks a resource / structure / text
    st.integers(0, 12),  # picks a target among agents, structures, routes, trades, groups, junk
    st.integers(-1, 8),  # a quantity (including invalid ones)
)


def targets(state: WorldState, agent_id: str) -> list[str]:
    here = state.locations[state.agents[agent_id].location_id]
    return [
        *sorted(here.agent_ids), *sorted(here.structure_ids), *sorted(state.agents), *sorted(state.structures), *sorted(state.routes)[:4],
        *sorted(state.trades), *sorted(state.groups), *sorted(state.proposals),
        *sorted(state.locations)[:3], "no-such-id", "",
    ]  # fmt: skip


def build(
    state: WorldState, agent_id: str, order: int, choice: tuple[str, int, int, int]
) -> tick.Submission:
    kind, pick, target_pick, quantity = choice
    if kind == "GARBAGE":
        return tick.Submission(agent_id, None, order, invalid_reason="unreadable reply")
    if kind == "TIMEOUT":
        return tick.Submission(agent_id, None, order, timed_out=True)
    options = targets(state, agent_id)
    target = options[target_pick % len(options)]
    resource = RESOURCES[pick % len(RESOURCES)]
    items = ((resource or "WOOD", quantity),)
    action = Action(
        kind, target_id=target, resource=resource, structure=STRUCTURES[pick % len(STRUCTURES)],
        text=TEXTS[pick % len(TEXTS)], knowledge="gather_wood" if pick % 2 else "agriculture",
        name="Band" if pick % 3 else "", kind=("ALLIANCE", "LAW", "WAR", "NOPE")[pick % 4],
        items=items, want=(("FISH", max(1, quantity)),),
        agent_ids=tuple(sorted(state.agents))[: pick % 4], flag=bool(pick % 2),
        route_id=target if kind == "MOVE" and pick % 2 else "",
    )  # fmt: skip
    return tick.Submission(agent_id, action, order)


def assert_invariants(state: WorldState, sent: dict[str, set[str]], perceptions: dict) -> None:  # type: ignore[type-arg]
    assert check_conservation(state) == []
    for location in state.locations.values():
        assert all(node.available >= 0 for node in location.nodes.values())
        assert all(quantity > 0 for quantity in location.ground.values())
    for structure in state.structures.values():
        assert all(q > 0 for q in (*structure.materials.values(), *structure.storage.values()))
    places: dict[str, list[str]] = {}
    for location in state.locations.values():
        for agent_id in location.agent_ids:
            places.setdefault(agent_id, []).append(location.id)
    for agent in state.agents.values():
        assert all(quantity > 0 for quantity in agent.inventory.values())
        if not agent.alive or agent.in_transit:
            assert agent.id not in places
        else:
            assert places[agent.id] == [agent.location_id]
    for agent_id, perception in perceptions.items():
        for message in perception.messages:
            assert agent_id in sent[message.id], "a message reached someone it was not sent to"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(0, 1000))
def test_random_action_streams_keep_invariants(data: st.DataObject, seed: int) -> None:
    state = make_world(agents=5, seed=seed)
    for agent in state.agents.values():
        place(state, agent, "riverbank")
        grant(state, agent, {"WOOD": 10, "STONE": 10, "BERRY": 3, "MEDICINE": 1})
        agent.knowledge.update(
            {"group_formation", "territorial_claim", "build_hut", "build_storage"}
        )
    sent: dict[str, set[str]] = {}
    for _ in range(25):
        woke = tick.wake(state)
        perceptions = tick.perceive(state)
        assert_invariants(state, sent, perceptions)
        choices = data.draw(st.lists(spec, min_size=len(perceptions), max_size=len(perceptions)))
        submissions = [
            build(state, agent_id, order, choice)
            for order, (agent_id, choice) in enumerate(
                zip(sorted(perceptions), choices, strict=True)
            )
        ]
        resolved = tick.resolve(state, submissions)
        for event in [*woke.events, *resolved.events]:
            if event.type == "MESSAGE_SENT":
                sent[str(event.details["message_id"])] = set(event.details["recipient_ids"])  # type: ignore[call-overload]
        assert set(resolved.results) == {s.agent_id for s in submissions}
        for entry in [*woke.entries, *resolved.entries]:
            assert (entry.entry_type, entry.from_type, entry.to_type) in ALLOWED_PAIRS, entry
            assert entry.quantity > 0
            assert (entry.from_id == "") == (entry.from_type == "WORLD"), entry
            assert (entry.to_id == "") == (entry.to_type == "VOID"), entry
        for result in resolved.results.values():
            assert result.success or (result.rejection is not None and result.rejection.message)
        assert_invariants(state, sent, {})
