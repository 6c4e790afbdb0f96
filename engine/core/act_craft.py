"""Production actions: farming, crafting, cooking, mining, smelting, writing and reading."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.actions import Action, Rejection, describe_items, reject
from engine.core.context import Phase, add_xp, carry_room, may_use, structures_here
from engine.core.discovery import experiment
from engine.core.events import amounts
from engine.core.rules import Done, Handler, need_items, need_knowledge, structure_here
from engine.core.state import Agent, Structure
from engine.core.writing import check_read, check_write, do_read, do_write


@dataclass(frozen=True)
class Recipe:
    inputs: dict[str, int]
    outputs: dict[str, int]
    knowledge: str


# Invented recipes (the spec names the products only); all need a workshop.
RECIPES: dict[str, Recipe] = {
    "TOOL": Recipe({"WOOD": 2, "STONE": 2}, {"TOOL": 1}, "basic_tools"),
    "ADVANCED_TOOL": Recipe({"METAL": 2, "WOOD": 1}, {"ADVANCED_TOOL": 1}, "advanced_tools"),
    "TEXTILE": Recipe({"FIBER": 3}, {"TEXTILE": 1}, "textiles"),
    "POTTERY": Recipe({"CLAY": 3}, {"POTTERY": 1}, "pottery"),
    "CURRENCY_TOKEN": Recipe({"METAL": 1}, {"CURRENCY_TOKEN": 5}, "currency_concept"),
    "WRITTEN_RECORD": Recipe({"FIBER": 1, "CLAY": 1}, {"WRITTEN_RECORD": 1}, "written_language"),
}
RAW_FOODS = ("BERRY", "ROOT", "FISH", "MEAT", "FARMED")


def _usable(phase: Phase, agent: Agent, kind: str) -> Structure | None:
    for structure in structures_here(phase.state, agent.location_id, kind):
        if may_use(phase.state, agent, structure):
            return structure
    return None


def _needs_structure(phase: Phase, agent: Agent, kind: str, purpose: str) -> Rejection | None:
    if structures_here(phase.state, agent.location_id, kind):
        return None
    return reject(
        "WRONG_LOCATION",
        f"{purpose} needs a {kind.lower().replace('_', ' ')} here; build one or go to one",
        needs=kind,
    )


def check_craft(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    recipe = RECIPES.get(action.resource)
    if recipe is None:
        return reject(
            "INVALID_ACTION",
            f"nothing to craft called {action.resource.lower()!r}; craft one of "
            f"{', '.join(sorted(r.lower() for r in RECIPES))}",
        )
    problem = _needs_structure(phase, agent, "WORKSHOP", "crafting")
    if problem:
        return problem
    problem = need_items(agent, recipe.inputs, f"a {action.resource.lower()}")
    if problem:
        return problem
    problem = need_knowledge(agent, recipe.knowledge, f"crafting a {action.resource.lower()}")
    if problem:
        return problem
    if _usable(phase, agent, "WORKSHOP") is None:
        return reject("PERMISSION_DENIED", "the workshop here is closed to you")
    return None


def _used_here(phase: Phase, agent: Agent, kind: str) -> str:
    """The id of the structure of this kind here that the work is done at (the first the agent
    may use), so its history shows what it is used for."""
    structure = _usable(phase, agent, kind)
    return structure.id if structure is not None else ""


def do_craft(phase: Phase, agent: Agent, action: Action) -> Done:
    recipe = RECIPES[action.resource]
    workshop = _used_here(phase, agent, "WORKSHOP")
    return _transform(
        phase, agent, "CRAFT", recipe.inputs, recipe.outputs, recipe.knowledge, workshop
    )


def _transform(
    phase: Phase,
    agent: Agent,
    entry_type: str,
    inputs: dict[str, int],
    outputs: dict[str, int],
    shows: str,
    structure_id: str = "",
) -> Done:
    correlation = phase.state.next_id("craft")
    phase.book.craft(entry_type, agent, inputs, outputs, correlation)
    add_xp(agent, "CRAFTING")
    phase.emit(
        "ITEM_CRAFTED",
        agent.id,
        agent.location_id,
        "craft",
        {"inputs": amounts(inputs), "outputs": amounts(outputs), "structure_id": structure_id},
    )
    return Done(
        f"made {describe_items(outputs)} from {describe_items(inputs)}",
        gained=outputs,
        lost=inputs,
        shows=shows,
    )


def check_cook(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if action.resource not in RAW_FOODS:
        return reject("INVALID_ACTION", f"cook one of {', '.join(f.lower() for f in RAW_FOODS)}")
    problem = _needs_structure(phase, agent, "CAMPFIRE", "cooking")
    if problem:
        return problem
    problem = need_items(agent, {action.resource: 1}, "cooking")
    if problem:
        return problem
    return need_knowledge(agent, "cooking", "cooking")


def do_cook(phase: Phase, agent: Agent, action: Action) -> Done:
    fire = _used_here(phase, agent, "CAMPFIRE")
    return _transform(phase, agent, "CRAFT", {action.resource: 1}, {"COOKED": 1}, "cooking", fire)


def check_mine(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    location = phase.state.locations[agent.location_id]
    node = location.nodes.get("ORE")
    if node is None:
        return reject("WRONG_LOCATION", "there is no ore to mine here; find a rocky place")
    if not (agent.holds("TOOL") or agent.holds("ADVANCED_TOOL")):
        return reject("INSUFFICIENT_RESOURCES", "mining needs a tool; craft one at a workshop")
    if carry_room(phase.state, agent, "ORE") <= 0:
        return reject("CAPACITY_EXCEEDED", "you cannot carry any more ore")
    if node.available <= 0:
        return reject("UNAVAILABLE_TARGET", "the ore here is exhausted for now")
    return need_knowledge(agent, "mining", "mining")


def do_mine(phase: Phase, agent: Agent, action: Action) -> Done:
    location = phase.state.locations[agent.location_id]
    quantity = min(
        phase.config.actions.mine_yield,
        location.nodes["ORE"].available,
        carry_room(phase.state, agent, "ORE"),
    )
    phase.book.gather(agent, location, "ORE", quantity)
    add_xp(agent, "GATHERING")
    phase.emit(
        "RESOURCE_GATHERED",
        agent.id,
        location.id,
        "resource",
        {"resource": "RESOURCE_ORE", "quantity": quantity, "source_id": location.id},
    )
    experiment(phase, agent, "smelting")
    return Done(f"mined {quantity} ore", gained={"ORE": quantity}, shows="mining")


def check_smelt(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    problem = _needs_structure(phase, agent, "FORGE", "smelting")
    if problem:
        return problem
    config = phase.config.actions
    problem = need_items(agent, {"ORE": config.smelt_ore, "WOOD": config.smelt_wood}, "smelting")
    if problem:
        return problem
    return need_knowledge(agent, "smelting", "smelting")


def do_smelt(phase: Phase, agent: Agent, action: Action) -> Done:
    config = phase.config.actions
    done = _transform(
        phase, agent, "SMELT", {"ORE": config.smelt_ore, "WOOD": config.smelt_wood},
        {"METAL": 1}, "smelting", _used_here(phase, agent, "FORGE"),
    )  # fmt: skip
    experiment(phase, agent, "metalworking")
    return done


def check_farm_plant(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    plot, problem = structure_here(phase.state, agent, action.target_id, "FARM_PLOT")
    if problem or plot is None:
        return problem
    seed = action.resource or "BERRY"
    if seed not in phase.config.resources.foods:
        return reject("INVALID_ACTION", "seed must be a food (berry, root, farmed ...)")
    problem = need_items(agent, {seed: phase.config.farming.seed_quantity}, "planting")
    if problem:
        return problem
    if plot.crop_ripe_tick:
        return reject("UNAVAILABLE_TARGET", "something already grows in this plot")
    problem = need_knowledge(agent, "agriculture", "farming")
    if problem:
        return problem
    if not may_use(phase.state, agent, plot):
        return reject("PERMISSION_DENIED", "this plot belongs to someone else")
    return None


def do_farm_plant(phase: Phase, agent: Agent, action: Action) -> Done:
    plot = phase.state.structures[action.target_id]
    seed = action.resource or "BERRY"
    phase.book.consume(agent, seed, phase.config.farming.seed_quantity, "seed planted")
    plot.crop_ripe_tick = phase.state.tick + phase.config.farming.ripen_ticks
    plot.crop_planted_by = agent.id
    add_xp(agent, "FARMING")
    phase.emit(
        "CROP_PLANTED",
        agent.id,
        agent.location_id,
        "resource",
        {"resource": f"RESOURCE_{seed}", "quantity": 1, "source_id": plot.id},
    )
    return Done(
        f"planted {seed.lower()}; ripe in {phase.config.farming.ripen_ticks} ticks",
        lost={seed: 1},
        shows="agriculture",
    )


def check_farm_harvest(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    plot, problem = structure_here(phase.state, agent, action.target_id, "FARM_PLOT")
    if problem or plot is None:
        return problem
    if carry_room(phase.state, agent, "FARMED") <= 0:
        return reject("CAPACITY_EXCEEDED", "you cannot carry any harvest")
    if not plot.crop_ripe_tick or plot.crop_ripe_tick > phase.state.tick:
        wait = plot.crop_ripe_tick - phase.state.tick if plot.crop_ripe_tick else 0
        message = (
            f"the crop ripens in {wait} ticks" if wait > 0 else "nothing grows here; plant first"
        )
        return reject("UNAVAILABLE_TARGET", message)
    problem = need_knowledge(agent, "agriculture", "harvesting")
    if problem:
        return problem
    if not may_use(phase.state, agent, plot):
        return reject("PERMISSION_DENIED", "this plot belongs to someone else")
    return None


def do_farm_harvest(phase: Phase, agent: Agent, action: Action) -> Done:
    plot = phase.state.structures[action.target_id]
    crop = phase.config.farming.harvest_yield
    if phase.state.season == "AUTUMN":
        crop = int(crop * phase.config.seasons.autumn_harvest_yield_multiplier)
    phase.book.grow_crop(plot, "FARMED", crop)
    taken = min(crop, carry_room(phase.state, agent, "FARMED"))
    phase.book.harvest(agent, plot, "FARMED", taken)
    if crop - taken:
        phase.book.salvage_to_ground(plot, plot.storage, "FARMED", crop - taken)
    plot.crop_ripe_tick = 0
    add_xp(agent, "FARMING")
    phase.emit(
        "CROP_HARVESTED",
        agent.id,
        agent.location_id,
        "resource",
        {"resource": "RESOURCE_FARMED", "quantity": taken, "source_id": plot.id},
    )
    return Done(f"harvested {taken} farmed food", gained={"FARMED": taken}, shows="agriculture")


HANDLERS: dict[str, Handler] = {
    "CRAFT": Handler(check_craft, do_craft),
    "COOK": Handler(check_cook, do_cook),
    "MINE": Handler(check_mine, do_mine),
    "SMELT": Handler(check_smelt, do_smelt),
    "FARM_PLANT": Handler(check_farm_plant, do_farm_plant),
    "FARM_HARVEST": Handler(check_farm_harvest, do_farm_harvest),
    "WRITE": Handler(check_write, do_write),
    "READ": Handler(check_read, do_read),
}
