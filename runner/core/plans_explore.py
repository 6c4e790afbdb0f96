"""Exploration as the value of information: search where a hidden way may start, travel to what is
known by name only or not yet searched, handle materials never handled, and tell of ways found.

What a search is worth is a belief, not a rule: every place may hide a way out that only a search
shows (HIDDEN_PRIOR), each fruitless search there makes it less likely (Bayes, with the chance a
search finds a way that is there), and a friend's word that a hidden way starts at a place makes
it likely there until the agent has found it. Curiosity weighs that hope against the road.
"""

from __future__ import annotations

from runner.core.memory import WAY_WORDS, AgentMemory, way_item
from runner.core.situation import Candidate, Situation, move_option, shortest_paths

# Belief, before any search, that a place hides a way not yet seen; after a friend told of one.
HIDDEN_PRIOR = 0.25
RUMOUR_PRIOR = 0.9
# Belief about how often one search shows a hidden way that is there.
SEARCH_FINDS = 0.35
# Ticks between two searches of one place (a search is a tick's work; the belief does the rest).
SEARCH_PAUSE_TICKS = 10
# Hope above the prior counts up to this much (a rumour is worth a detour, not any detour).
MOST_INFORMATION = 1.5
# What one tick of road costs against the hope of what lies at its end.
ROAD_COST_PER_TICK = 0.03
# Ticks after arriving at a place never searched during which a search there comes first.
ARRIVAL_TICKS = 5
# Information a place must promise (1 for a place never searched) to be worth a trip to search.
WORTH_A_TRIP = 0.9


def search_hope(memory: AgentMemory, place_id: str) -> float:
    """Belief that a search at `place_id` shows a way not yet seen there."""
    searches = memory.searches.get(place_id, 0)
    prior = HIDDEN_PRIOR
    heard_at = memory.rumours.get(place_id)
    if heard_at is not None and place_id not in memory.hidden_ways:
        # Told of a hidden way here: only the searches since then speak against it.
        prior, searches = RUMOUR_PRIOR, max(0, searches - heard_at)
    miss = prior * (1 - SEARCH_FINDS) ** searches
    return miss / (miss + 1 - prior)


def information(memory: AgentMemory, place_id: str) -> float:
    """How much a search there is worth next to a place never searched (1)."""
    return min(MOST_INFORMATION, search_hope(memory, place_id) / HIDDEN_PRIOR)


def wander(situation: Situation) -> list[Candidate]:
    """Search here, handle what was never handled, tell of ways found; travel once supplied."""
    if not situation.comfortable or situation.is_child:
        return []
    found: list[Candidate] = []
    found.extend(_search(situation))
    found.extend(_handle_new(situation))
    found.extend(_tell_of_ways(situation))
    if _ready_for_the_road(situation):
        found.extend(_travel(situation))
    return found


def _ready_for_the_road(situation: Situation) -> bool:
    """Water and food carried for the way and back, strength for it, and no need pressing (a
    traveller cannot drink on the road: thirst keeps rising until arrival)."""
    supplied = situation.water_held >= 4 and situation.food_held >= 4
    return supplied and situation.energy > 50 and situation.thirst < 45 and situation.hunger < 50


def _search(situation: Situation) -> list[Candidate]:
    memory = situation.memory
    here = situation.location_id
    last = memory.explored_at.get(here, -SEARCH_PAUSE_TICKS)
    if situation.tick - last < SEARCH_PAUSE_TICKS or situation.energy <= 45:
        return []
    if not situation.can("EXPLORE"):
        return []
    worth = information(memory, here)
    score = 0.1 + (0.2 + 0.7 * situation.traits.curiosity) * worth
    if situation.tick - memory.arrived_tick <= ARRIVAL_TICKS and worth >= WORTH_A_TRIP:
        # Just come to a place never searched: now is the time, before other plans move on
        # (a place without water is soon left, and a search later costs the road again).
        score += 0.5
    return [
        Candidate(score, situation.act("EXPLORE"), f"search for hidden ways (hope {worth:.2f})")
    ]


def _handle_new(situation: Situation) -> list[Candidate]:
    """A material to be had here that the agent has never gathered: what it yields and what
    handling it may teach are unknown, and the curious want to know."""
    if situation.carry_room < 6:
        return []
    yields = situation.memory.yields
    untried = sorted(
        resource
        for resource in situation.options.get("GATHER", [])
        if f"gather {resource.lower()}" not in yields
    )
    if not untried:
        return []
    resource = untried[0]
    action = situation.act("GATHER", resource=resource)
    score = 0.1 + 0.6 * situation.traits.curiosity
    return [Candidate(score, action, f"handle {resource.lower()} for the first time")]


def _tell_of_ways(situation: Situation) -> list[Candidate]:
    """Tell someone here, not known to have heard it, of a hidden way the agent found."""
    memory = situation.memory
    if not memory.hidden_ways or situation.did_lately("COMMUNICATE", 5):
        return []
    listeners = set(situation.agent_targets("COMMUNICATE"))
    for other in situation.others():
        if other.agent_id not in listeners or other.agent_id in memory.cheated_by:
            continue
        heard = memory.known_by.get(other.agent_id, set())
        for origin_id, destination_id in sorted(memory.hidden_ways.items()):
            if way_item(origin_id) in heard:
                continue
            origin, destination = memory.places.get(origin_id), memory.places.get(destination_id)
            if origin is None or destination is None:
                continue
            text = WAY_WORDS.format(origin=origin.name, destination=destination.name)
            action = situation.act("COMMUNICATE", target_agent_id=other.agent_id, text=text)
            traits = situation.traits
            score = 0.2 + 0.35 * traits.sociability + 0.25 * traits.cooperation
            return [Candidate(score, action, f"tell {other.name} of the way to {destination.name}")]
    return []


def _travel(situation: Situation) -> list[Candidate]:
    """Follow a path not yet followed, go to a place known by name only, or to the place where a
    search promises most for the road to it."""
    curiosity = situation.traits.curiosity
    unexplored = [o for o in situation.options.get("MOVE", []) if o.startswith("route:")]
    if unexplored:
        action = move_option(situation, situation.rng.choice(unexplored))
        if action is not None:
            return [Candidate(0.1 + 0.8 * curiosity, action, "follow an unexplored path")]
    memory = situation.memory
    visited_regions = {p.region for p in memory.places.values() if p.seen_tick >= 0}
    # A place reached by a way the agent found itself is what its searching was for.
    found_ways = set(memory.hidden_ways.values())
    # Only the curious set out just to search, and only where no search has been made yet (or
    # a friend told of a way): a trip is many ticks away from food, water and company.
    search_weight = 0.7 * curiosity
    best: tuple[float, str, str] | None = None
    paths = _paths(situation)
    for place_id, (_, ticks) in sorted(paths.items()):
        place = memory.places[place_id]
        if place.seen_tick < 0 or place.region not in visited_regions:
            # Never seen: what it holds and what a search there shows are both to learn.
            value = 0.1 + 0.75 * curiosity + 0.2 * (place_id in found_ways)
            reason = f"travel to {place.name}, never seen"
        elif information(memory, place_id) >= WORTH_A_TRIP:
            value = search_weight * information(memory, place_id)
            reason = f"go to search around {place.name}"
        else:
            continue
        value -= ROAD_COST_PER_TICK * ticks
        if value > 0 and (best is None or value > best[0]):
            best = (value, place_id, reason)
    if best is None:
        return []
    value, place_id, reason = best
    action = move_option(situation, paths[place_id][0])
    if action is None:
        return []
    return [Candidate(0.05 + value, action, reason)]


def _paths(situation: Situation) -> dict[str, tuple[str, int]]:
    """Every remembered place reachable from here: the first move toward it and the travel ticks
    of the shortest remembered path (here itself left out)."""
    places = situation.memory.places
    return {
        place_id: (first, cost)
        for place_id, first, cost in shortest_paths(situation)
        if place_id in places
    }
