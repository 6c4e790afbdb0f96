"""Work and wandering: build, farm, cook, craft, explore, travel; and prayer, theft and revenge."""

from __future__ import annotations

from emergence.v1 import common_pb2
from runner.core.knowledge_words import BLUEPRINTS
from runner.core.situation import Candidate, Situation, first_step, move_option
from runner.core.vocabulary import FOOD_VALUES, RAW_FOODS

EXPLORE_AGAIN_TICKS = 120


def work(situation: Situation) -> list[Candidate]:
    if not situation.comfortable or situation.is_child:
        return []
    found: list[Candidate] = []
    found.extend(_farm(situation))
    found.extend(_cook(situation))
    found.extend(_craft(situation))
    found.extend(_build(situation))
    return found


def wanted_structure(situation: Situation) -> str:
    """The structure this place lacks that the agent knows how to build, most needed first."""
    here = situation.structures_here
    order = ["CAMPFIRE", "LEAN_TO", "FARM_PLOT", "STORAGE_PIT", "BASIC_HUT", "WORKSHOP"]
    if not situation.water_here():
        order.insert(2, "WELL")
    for kind in order:
        knowledge, _ = BLUEPRINTS[kind]
        if knowledge not in situation.knowledge:
            continue
        if kind == "FARM_PLOT" and not farmable_here(situation):
            continue
        if kind == "LEAN_TO" and situation.sheltered_here():
            continue
        if kind == "FARM_PLOT" and len(here.get(kind, [])) >= 2:
            continue
        if kind != "FARM_PLOT" and here.get(kind):
            continue
        return kind
    return ""


def farmable_here(situation: Situation) -> bool:
    """Read from the description, as a person would: good soil is said to be good soil."""
    description = situation.perception.location_description.lower()
    return "soil" in description or "planting" in description or "farm" in description


def _build(situation: Situation) -> list[Candidate]:
    industry = situation.traits.industriousness
    kind = wanted_structure(situation)
    if not kind or industry < 0.3:
        situation.memory.drop_goal(f"build {kind}")
        return []
    if situation.can("BUILD", kind):
        action = situation.act("BUILD", structure=kind)
        return [Candidate(0.55 + 0.7 * industry, action, f"build a {kind.lower()}")]
    _, cost = BLUEPRINTS[kind]
    gatherable = situation.options.get("GATHER", [])
    for resource, quantity in sorted(cost.items()):
        if situation.inventory.get(resource, 0) >= quantity or resource not in gatherable:
            continue
        if situation.carry_room < 6:
            return []
        action = situation.act("GATHER", resource=resource)
        reason = f"materials for a {kind.lower()}"
        return [Candidate(0.25 + 0.55 * industry, action, reason)]
    return []


def _farm(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    for structure in situation.structures_here.get("FARM_PLOT", []):
        if structure.crop_ripe and situation.can("FARM_HARVEST", structure.structure_id):
            action = situation.act("FARM_HARVEST", structure_id=structure.structure_id)
            found.append(Candidate(1.1, action, "harvest the ripe crop"))
        elif situation.can("FARM_PLANT", structure.structure_id):
            seed = next((f for f in ("ROOT", "BERRY") if situation.inventory.get(f)), "")
            if seed and not structure.crop_ripe_in_ticks:
                action = situation.act("FARM_PLANT", structure_id=structure.structure_id, seed=seed)
                score = 0.5 + 0.5 * situation.traits.industriousness
                found.append(Candidate(score, action, "plant a crop"))
    return found


def _cook(situation: Situation) -> list[Candidate]:
    raw = [food for food in RAW_FOODS if situation.inventory.get(food, 0) >= 1]
    if not raw or not situation.can("COOK"):
        return []
    # Cooking more than doubles what a berry or root is worth against hunger: well worth a tick.
    food = min(raw, key=lambda f: (FOOD_VALUES[f], f))
    if not situation.can("COOK", food):
        return []
    score = 0.55 + 0.4 * situation.traits.industriousness
    return [Candidate(score, situation.act("COOK", food=food), f"cook {food.lower()}")]


def _craft(situation: Situation) -> list[Candidate]:
    if situation.inventory.get("TOOL") or not situation.can("CRAFT", "TOOL"):
        return []
    return [Candidate(0.8, situation.act("CRAFT", item="TOOL"), "make a tool")]


def wander(situation: Situation) -> list[Candidate]:
    """Curious agents explore here and travel to unseen places once supplied for the road."""
    if not situation.comfortable or situation.is_child:
        return []
    found: list[Candidate] = []
    curiosity = situation.traits.curiosity
    memory = situation.memory
    last = memory.explored_at.get(situation.location_id, -EXPLORE_AGAIN_TICKS)
    due = situation.tick - last >= EXPLORE_AGAIN_TICKS
    if due and situation.can("EXPLORE") and situation.energy > 45:
        action = situation.act("EXPLORE")
        found.append(Candidate(0.2 + 0.75 * curiosity, action, "search for new places"))
    supplied = situation.water_held >= 4 and situation.food_held >= 4
    if supplied and situation.energy > 60 and situation.thirst < 30 and situation.hunger < 35:
        found.extend(_travel(situation, curiosity))
    return found


def _travel(situation: Situation, curiosity: float) -> list[Candidate]:
    memory = situation.memory
    unexplored = [o for o in situation.options.get("MOVE", []) if o.startswith("route:")]
    if unexplored:
        action = move_option(situation, situation.rng.choice(unexplored))
        if action is not None:
            return [Candidate(0.1 + 0.8 * curiosity, action, "follow an unexplored path")]
    visited_regions = {p.region for p in memory.places.values() if p.seen_tick >= 0}
    unseen = {
        place_id
        for place_id, place in memory.places.items()
        if place.seen_tick < 0 or place.region not in visited_regions
    }
    step = first_step(situation, unseen) if unseen else None
    if step is None:
        return []
    action = move_option(situation, step[0])
    if action is None:
        return []
    return [Candidate(0.05 + 0.75 * curiosity, action, "travel to a place I have not seen")]


def spirit(situation: Situation) -> list[Candidate]:
    """A few devout agents pray at dusk, or when hurt, to a spirit named after their home."""
    traits = situation.traits
    devotion = (1 - traits.curiosity) * 0.5 + traits.loyalty * 0.5
    if devotion < 0.6 or not situation.can("PRAY"):
        return []
    dusk = situation.perception.clock.time_of_day == common_pb2.TIME_OF_DAY_DUSK
    if not (dusk or situation.health < 40) or situation.rng.random() > 0.35:
        return []
    home = situation.memory.places.get(situation.memory.home_id)
    spirit_name = f"the Spirit of {home.name if home else 'the Land'}"
    text = f"{spirit_name}, keep us fed and watered, and keep us together."
    action = situation.act("PRAY", text=text, construct=spirit_name)
    return [Candidate(0.5 + 0.4 * devotion, action, "pray")]


def dark(situation: Situation) -> list[Candidate]:
    """Aggressive, dishonest agents steal when desperate and take revenge on those who wronged them."""
    traits = situation.traits
    found: list[Candidate] = []
    boldness = traits.aggression - traits.honesty
    victims = situation.agent_targets("STEAL")
    if victims and boldness > 0.1:
        hungry = situation.hunger >= 50 and situation.food_held == 0
        thirsty = situation.thirst >= 50 and situation.water_held == 0
        # Now and then a bold agent is simply tempted by what others carry.
        greedy = boldness > 0.3 and situation.rng.random() < 0.01
        if hungry or thirsty or greedy:
            victim = _least_trusted(situation, victims)
            resource = "WATER" if thirsty else _likely_food(situation)
            if not situation.failed_recently("STEAL", victim):
                action = situation.act("STEAL", target_agent_id=victim, resource=resource)
                found.append(Candidate(0.75 + 0.5 * boldness, action, f"take {resource.lower()}"))
    targets = set(situation.agent_targets("ATTACK"))
    for culprit, when in sorted(situation.memory.cheated_by.items()):
        recent = situation.tick - when < 40
        if culprit in targets and recent and traits.aggression > 0.6 and situation.energy > 50:
            action = situation.act("ATTACK", target_agent_id=culprit)
            found.append(Candidate(0.5 + 0.5 * traits.aggression, action, "revenge"))
            break
    return found


def _least_trusted(situation: Situation, candidates: list[str]) -> str:
    trust = {other.agent_id: other.trust for other in situation.perception.agents}
    return min(candidates, key=lambda agent_id: (trust.get(agent_id, 0.0), agent_id))


def _likely_food(situation: Situation) -> str:
    """Others here most likely carry the food this place offers."""
    here = [(situation.here_resources.get(food, 0), food) for food in RAW_FOODS]
    rank, food = max(here)
    return food if rank else "BERRY"
