"""Work: build, farm, cook, craft, fetch materials; and prayer, theft and revenge."""

from __future__ import annotations

from runner.core.economy import (
    FREE_HERE_WORTH,
    PRACTICE_PULL,
    expected_yield,
    practice_share,
    price,
)
from runner.core.plans_craft import room_for_materials, supplied_for
from runner.core.plans_social import seen_goods
from runner.core.plans_survival import food_target
from runner.core.situation import Candidate, Situation, first_step, move_option
from runner.core.vocabulary import ACTION_TYPES, RAW_FOODS, RESOURCE_NAMES


def work(situation: Situation) -> list[Candidate]:
    if not situation.comfortable or situation.is_child:
        return []
    found: list[Candidate] = []
    found.extend(_farm(situation))
    found.extend(_craft(situation))
    found.extend(_build(situation))
    found.extend(_produce(situation))
    return found


# Stock of one good beyond which producing more of it is worth less (it has to be traded first).
TRADE_STOCK = 12


def _produce(situation: Situation) -> list[Candidate]:
    """Work for surplus: the productive activity here with the best expected value, from the
    agent's own yields and learnt prices, weighted toward what it has practised most."""
    memory = situation.memory
    options: list[tuple[float, str, tuple[str, str]]] = []
    # A surplus is traded at home, where what grows there is worth nothing in trade: goods dear
    # at home are worth carrying back, goods free there only worth eating.
    home = memory.places.get(memory.home_id)
    free_at_home = {name for name, rank in home.resources.items() if rank > 0} if home else set()
    if situation.carry_room >= 6:
        for resource in situation.options.get("GATHER", []):
            activity = f"gather {resource.lower()}"
            guess = 3.0 * price(memory, resource)
            tradeable = FREE_HERE_WORTH if resource in free_at_home else 1.0
            options.append(
                (
                    expected_yield(memory, activity, guess) * tradeable,
                    activity,
                    ("GATHER", resource),
                )
            )
    for recipe in situation.recipes_of("CRAFT") + situation.recipes_of("SMELT"):
        kind = "CRAFT" if recipe.action_type == ACTION_TYPES["CRAFT"] else "SMELT"
        if kind == "CRAFT" and not situation.can("CRAFT", recipe.product):
            continue
        if kind == "SMELT" and not situation.can("SMELT"):
            continue
        value = sum(price(memory, _name(a.resource)) * a.quantity for a in recipe.outputs)
        value -= sum(price(memory, _name(a.resource)) * a.quantity for a in recipe.inputs)
        activity = kind.lower()
        options.append((expected_yield(memory, activity, value), activity, (kind, recipe.product)))
    for food in situation.options.get("COOK", []):
        cooking = situation.recipe(food, "COOK")
        if cooking is None:
            continue
        # Cooking turns one raw food into one worth more: the gain is the difference.
        value = sum(price(memory, _name(a.resource)) * a.quantity for a in cooking.outputs)
        value -= price(memory, food)
        options.append((expected_yield(memory, "cook", value), "cook", ("COOK", food)))
    if situation.can("MINE"):
        options.append(
            (expected_yield(memory, "mine", 2 * price(memory, "ORE")), "mine", ("MINE", ""))
        )
    best: tuple[float, str, tuple[str, str]] | None = None
    for value, activity, (kind, product) in options:
        held = (
            situation.inventory.get(product, 0)
            if kind != "MINE"
            else situation.inventory.get("ORE", 0)
        )
        glut = max(0.0, 1 - held / TRADE_STOCK)
        pull = 1 + PRACTICE_PULL * practice_share(memory, activity)
        score = value * glut * pull
        if best is None or score > best[0]:
            best = (score, activity, (kind, product))
    if best is None or best[0] <= 0:
        return []
    score, activity, (kind, product) = best
    if kind == "GATHER":
        action = situation.act("GATHER", resource=product)
    elif kind == "CRAFT":
        action = situation.act("CRAFT", item=product)
    elif kind == "COOK":
        action = situation.act("COOK", food=product)
    else:
        action = situation.act(kind)
    industry = situation.traits.industriousness
    utility = 0.15 + 0.45 * industry * min(1.0, score / 8) + 0.2 * practice_share(memory, activity)
    return [Candidate(utility, action, f"work: {activity} (worth {score:.1f})")]


def structure_needs(situation: Situation) -> dict[str, float]:
    """How much the agent would gain from each kind of structure here (0 when none is wanted):
    shelter when unsheltered, a fire to cook raw food, a farm when wild food runs thin, a pit to
    store before winter, a well where there is no water, a workshop or forge for its crafts."""
    here = situation.structures_here
    wild_food = sum(situation.here_resources.get(food, 0) for food in RAW_FOODS)
    winter_near = situation.season in ("AUTUMN", "WINTER") or (
        situation.season == "SUMMER" and situation.perception.clock.days_until_season_change < 30
    )
    crafts = situation.recipes_of("CRAFT")
    at_home = situation.location_id == situation.memory.home_id
    needs = {
        # A fire burns out within a day: it is worth lighting for those who cook on it.
        "CAMPFIRE": _fire_need(situation),
        "LEAN_TO": 0.0 if situation.sheltered_here() else 0.7,
        "BASIC_HUT": 0.5 if len(situation.perception.agents) >= 2 else 0.25,
        "FARM_PLOT": (0.9 if wild_food <= 4 else 0.45) if farmable_here(situation) else 0.0,
        # A store is filled and emptied at home (plans_place.store).
        "STORAGE_PIT": (0.7 if winter_near else 0.3) if at_home else 0.0,
        "WELL": 0.0 if situation.water_here() else 0.8,
        "WORKSHOP": 0.6 if crafts else 0.0,
        "FORGE": 0.5 if situation.recipe("METAL", "SMELT") else 0.0,
        "MEETING_HALL": 0.4 if situation.perception.self.group_ids else 0.0,
        "MARKET": 0.4 if len(situation.memory.prices) >= 4 else 0.0,
        "LIBRARY": 0.3 if "written_language" in situation.knowledge else 0.0,
        "WALL": min(0.6, 0.2 * situation.memory.danger.get(situation.location_id, 0.0)),
    }
    # Farms yield more the more of them; every other kind is wanted once per place, counting
    # only those this agent may use (another's hut or pit shelters and stores nothing of its own).
    for kind in list(needs):
        standing = sum(1 for structure in here.get(kind, []) if structure.usable_by_me)
        if standing and (kind != "FARM_PLOT" or standing >= 2):
            needs[kind] = 0.0
    return needs


def _fire_need(situation: Situation) -> float:
    """A campfire is worth its wood to an agent with raw food to cook, in proportion to how much
    of its work cooking has been (a newcomer to cooking still lights one now and then)."""
    if not situation.recipe("BERRY", "COOK") or situation.food_held < 3:
        return 0.1
    return 0.6 * max(0.25, min(1.0, 3 * practice_share(situation.memory, "cook")))


def wanted_structure(situation: Situation) -> str:
    """The structure this place lacks that the agent knows how to build and would gain most from,
    weighed against what its materials cost (prices the agent has learnt)."""
    if "structure" in situation.cache:
        return str(situation.cache["structure"])
    best, best_value = "", 0.0
    needs = structure_needs(situation)
    for recipe in situation.recipes_of("BUILD"):
        gain = needs.get(recipe.product, 0.0)
        if gain <= 0:
            continue
        cost = sum(price(situation.memory, _name(a.resource)) * a.quantity for a in recipe.inputs)
        value = gain / (1 + cost / 60)
        if value > best_value:
            best, best_value = recipe.product, value
    situation.cache["structure"] = best
    return best


def _name(resource: int) -> str:
    return RESOURCE_NAMES.get(resource, "?")


def farmable_here(situation: Situation) -> bool:
    """Read from the description, as a person would: good soil is said to be good soil."""
    description = situation.perception.location_description.lower()
    return "soil" in description or "planting" in description or "farm" in description


def _build(situation: Situation) -> list[Candidate]:
    industry = situation.traits.industriousness
    if industry < 0.3:
        return []
    project = _project_work(situation)
    if project is not None:
        return project
    kind = wanted_structure(situation)
    if not kind:
        return []
    if situation.can("BUILD", kind):
        action = situation.act("BUILD", structure=kind)
        return [Candidate(0.55 + 0.7 * industry, action, f"build a {kind.lower()}")]
    recipe = situation.recipe(kind, "BUILD")
    if recipe is None:
        return []
    gatherable = situation.options.get("GATHER", [])
    for amount in sorted(recipe.inputs, key=lambda a: _name(a.resource)):
        resource = _name(amount.resource)
        if situation.inventory.get(resource, 0) >= amount.quantity:
            continue
        if resource not in gatherable:
            # Not to be had here: fetch it from a place remembered to have it, and come back.
            return _fetch(situation, kind, resource)
        if room_for_materials(situation) < 6:
            return []
        action = situation.act("GATHER", resource=resource)
        reason = f"materials for a {kind.lower()}"
        return [Candidate(0.25 + 0.55 * industry, action, reason)]
    return []


# A trip to fetch building materials is given up after this many ticks.
PROJECT_TICKS = 400
# Farther than this (travel ticks) a material is not worth fetching for one structure.
FETCH_TICKS = 12


def _fetch(situation: Situation, kind: str, resource: str) -> list[Candidate]:
    """Head for the nearest remembered place with `resource` to gather it for a `kind` here."""
    if situation.energy <= 55:
        return []
    memory = situation.memory
    sources = {
        place_id
        for place_id, place in memory.places.items()
        if place.resources.get(resource, 0) > 0 and place_id != situation.location_id
    }
    step = first_step(situation, sources) if sources else None
    if step is None or step[1] > FETCH_TICKS or not supplied_for(situation, step[1]):
        return []
    action = move_option(situation, step[0])
    if action is None:
        return []
    memory.project = (kind, situation.location_id, situation.tick)
    industry = situation.traits.industriousness
    reason = f"fetch {resource.lower()} for a {kind.lower().replace('_', ' ')}"
    return [Candidate(0.2 + 0.5 * industry - 0.02 * step[1], action, reason)]


def _project_work(situation: Situation) -> list[Candidate] | None:
    """Work on the structure the agent set out to build: build it once back with the materials,
    gather them where they are to be had, carry them home. None when there is no such project."""
    memory = situation.memory
    kind, place_id, since = memory.project
    if not kind:
        return None
    here = situation.location_id
    recipe = situation.recipe(kind, "BUILD")
    done = here == place_id and situation.structures_here.get(kind)
    if recipe is None or done or situation.tick - since > PROJECT_TICKS:
        memory.project = ("", "", -1)
        return None
    industry = situation.traits.industriousness
    name = kind.lower().replace("_", " ")
    if here == place_id:
        if situation.can("BUILD", kind):
            action = situation.act("BUILD", structure=kind)
            return [Candidate(0.6 + 0.7 * industry, action, f"build the {name} I fetched for")]
        return None
    # What the place of the project lacks is what has to be carried there.
    there = memory.places.get(place_id)
    missing = [
        _name(a.resource)
        for a in sorted(recipe.inputs, key=lambda a: _name(a.resource))
        if situation.inventory.get(_name(a.resource), 0) < a.quantity
        and not (there and there.resources.get(_name(a.resource), 0) > 0)
    ]
    gatherable = situation.options.get("GATHER", [])
    room = room_for_materials(situation)
    for resource in missing:
        if resource in gatherable and room >= 6:
            action = situation.act("GATHER", resource=resource)
            return [
                Candidate(0.35 + 0.5 * industry, action, f"gather {resource.lower()} for a {name}")
            ]
    if missing and room >= 6:
        return _fetch(situation, kind, missing[0])
    step = first_step(situation, {place_id})
    home = move_option(situation, step[0]) if step else None
    if home is None:
        return []
    return [Candidate(0.5 + 0.4 * industry, home, f"carry materials home for a {name}")]


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


def _craft(situation: Situation) -> list[Candidate]:
    if situation.inventory.get("TOOL") or not situation.can("CRAFT", "TOOL"):
        return []
    return [Candidate(0.8, situation.act("CRAFT", item="TOOL"), "make a tool")]


def spirit(situation: Situation) -> list[Candidate]:
    """Prayer as comfort: the devout turn to it when things go badly (hurt, hungry, losses near)
    and nothing more useful can be done; how much it helps them is their devotion."""
    traits = situation.traits
    devotion = (1 - traits.curiosity) * 0.5 + traits.loyalty * 0.5
    if not situation.can("PRAY") or situation.did_lately("PRAY", 20):
        return []
    distress = max(
        (60 - situation.health) / 60,
        (situation.hunger - 50) / 50,
        0.3 * situation.memory.danger.get(situation.location_id, 0.0),
        _winter_worry(situation),
    )
    if distress <= 0:
        return []
    home = situation.memory.places.get(situation.memory.home_id)
    spirit_name = f"the Spirit of {home.name if home else 'the Land'}"
    text = f"{spirit_name}, keep us fed and watered, and keep us together."
    action = situation.act("PRAY", text=text, construct=spirit_name)
    return [Candidate(0.2 + 0.8 * devotion * min(1.0, distress), action, "pray")]


def _winter_worry(situation: Situation) -> float:
    """Winter is coming and the stores are short: a worry nothing done this tick will lift."""
    if situation.season not in ("AUTUMN", "WINTER"):
        return 0.0
    return 0.6 * max(0.0, 1 - situation.food_held / max(1, food_target(situation)))


def dark(situation: Situation) -> list[Candidate]:
    """Aggressive, dishonest agents steal when desperate and take revenge on those who wronged them."""
    traits = situation.traits
    found: list[Candidate] = []
    boldness = traits.aggression - traits.honesty
    victims = situation.agent_targets("STEAL")
    if victims and boldness > 0.1:
        # What taking is worth to the bold: the need it meets, more against someone who wronged
        # them; the trust it costs weighs on the sociable.
        # Someone seen getting goods is the likeliest to carry them.
        seen = seen_goods(situation)
        holders = {agent_id: good for good, ids in sorted(seen.items()) for agent_id in ids}
        likely = [v for v in victims if v in holders]
        victim = _least_trusted(situation, likely or victims)
        thirsty = situation.thirst >= 50 and situation.water_held == 0
        resource = "WATER" if thirsty else holders.get(victim, _likely_food(situation))
        need = max(
            situation.hunger / 100 if situation.food_held == 0 else 0.0,
            situation.thirst / 100 if thirsty else 0.0,
        )
        grudge = 0.4 if victim in situation.memory.cheated_by else 0.0
        cost = 0.3 * traits.sociability + 0.2 * traits.cooperation
        value = boldness * (0.6 + need + grudge) - cost
        if value > 0 and not situation.failed_recently("STEAL", victim):
            action = situation.act("STEAL", target_agent_id=victim, resource=resource)
            found.append(Candidate(0.3 + value, action, f"take {resource.lower()}"))
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
