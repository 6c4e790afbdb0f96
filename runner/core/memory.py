"""Agent memory: immediate, short-term and long-term tiers, reflection, goals and remembered facts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from emergence.v1 import action_pb2, perception_pb2
from runner.core import economy, seasons
from runner.core.vocabulary import ACTION_NAMES, RESOURCE_NAMES, amount_rank

IMMEDIATE_TICKS = 5
SHORT_TERM_TICKS = 50
LONG_TERM_WEIGHT = 0.7
SHORT_TERM_WEIGHT = 0.3
MAX_GOALS = 5
CHARACTERS_PER_TOKEN = 4
DEFAULT_TOKEN_BUDGET = 2000
KINDS = ("action", "observation", "communication", "discovery", "social")
# How a hidden way is told, and heard (the same words both ways).
WAY_WORDS = "I found a hidden way from {origin} to {destination}."
WAY_HEARD = re.compile(r"hidden way from (.+?) to (.+?)\.")


def way_item(origin_id: str) -> str:
    """ "Knows of the hidden way from this place", kept among what others are known to know."""
    return f"way:{origin_id}"


@dataclass(frozen=True, slots=True)
class MemoryItem:
    """One remembered moment; weight is how much it mattered (0–1)."""

    tick: int
    kind: str
    summary: str
    entity_ids: tuple[str, ...] = ()
    weight: float = 0.3
    location_id: str = ""

    @property
    def tokens(self) -> int:
        # A few tokens of framing per entry, plus the text at about four characters a token.
        return 4 + len(self.summary) // CHARACTERS_PER_TOKEN


@dataclass(slots=True)
class Goal:
    text: str
    priority: int
    set_tick: int


@dataclass(slots=True)
class Place:
    """What the agent last saw at a location: resource ranks (0–5) and routes out of it."""

    name: str
    region: str
    resources: dict[str, int] = field(default_factory=dict)
    seen_tick: int = 0
    # route id -> (destination id, "" when unexplored; travel ticks)
    routes: dict[str, tuple[str, int]] = field(default_factory=dict)
    # How many others were there when last seen.
    crowd: int = 0


@dataclass(slots=True)
class AgentMemory:
    """Everything one agent remembers. Plain data, so it serializes to JSON for a shared store."""

    agent_id: str
    immediate: list[MemoryItem] = field(default_factory=list)
    short_term: list[MemoryItem] = field(default_factory=list)
    long_term: list[MemoryItem] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    met: set[str] = field(default_factory=set)
    cheated_by: dict[str, int] = field(default_factory=dict)
    favours_owed: dict[str, int] = field(default_factory=dict)
    known_by: dict[str, set[str]] = field(default_factory=dict)
    explored_at: dict[str, int] = field(default_factory=dict)
    # Searches made at each place; ways that showed at a place only after it was first seen
    # (origin place id -> destination id); places a friend said a hidden way starts from, with
    # the searches made there before the word came (plans_explore).
    searches: dict[str, int] = field(default_factory=dict)
    hidden_ways: dict[str, str] = field(default_factory=dict)
    rumours: dict[str, int] = field(default_factory=dict)
    # What the agent learnt in its life (item -> tick): knowledge others are likelier to lack
    # than what everyone is born with.
    learnt: dict[str, int] = field(default_factory=dict)
    # When the agent came to where it is now.
    arrived_tick: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    last_tick: int = 0
    home_id: str = ""
    location_id: str = ""
    last_done: dict[str, int] = field(default_factory=dict)
    # Exactly once across runners: the decision sent for `decided_tick` (a serialized Decision,
    # base64) is answered again, not decided again, if another runner is asked for that tick after
    # a failover; a result is learnt once (`reflected_tick`) even if it is delivered twice.
    decided_tick: int = -1
    decision: str = ""
    reflected_tick: int = -1
    # What experience taught about value (runner/core/economy.py): price beliefs per resource,
    # mean value produced per tick of each activity with how often it was done, productive
    # ticks per activity, and how dangerous each place has proved.
    prices: dict[str, float] = field(default_factory=dict)
    yields: dict[str, tuple[float, int]] = field(default_factory=dict)
    practice: dict[str, int] = field(default_factory=dict)
    danger: dict[str, float] = field(default_factory=dict)
    # The goods of my last trade offer (given, wanted), learnt as a price when it is accepted.
    open_offer: tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]] = ((), ())
    # What I put into each store (structure id -> resource -> quantity), to take it out again.
    stored: dict[str, dict[str, int]] = field(default_factory=dict)
    # How often asking for each good in trade was answered (0–1).
    trade_luck: dict[str, float] = field(default_factory=dict)
    # Wrongs suffered, by kind ("theft", "hunger"): what a member would want a law against.
    grievances: dict[str, int] = field(default_factory=dict)
    # Food per head seen where I lived, per season (mean, samples), and the longest season seen
    # in ticks: what the coming season will fall short of (runner/core/seasons.py).
    season_plenty: dict[str, tuple[float, int]] = field(default_factory=dict)
    season_ticks: int = 0
    # Per food, units lost to spoilage and unit-ticks held in the pack: how well it keeps.
    spoilage: dict[str, tuple[float, float]] = field(default_factory=dict)
    # A structure the agent means to build where materials are missing: (kind, place id, tick
    # set); it fetches them from a place that has them and comes back (plans_work).
    project: tuple[str, str, int] = ("", "", -1)
    # Per agent, the good I last saw it get and when: who likely carries what (plans_social).
    goods_seen: dict[str, tuple[str, int]] = field(default_factory=dict)

    # ----- goals ---------------------------------------------------------------------------
    def set_goal(self, text: str, priority: int, tick: int) -> bool:
        """Add or re-prioritise a goal; keeps the five most important. True when it is new."""
        for goal in self.goals:
            if goal.text == text:
                goal.priority = priority
                return False
        self.goals.append(Goal(text, priority, tick))
        self.goals.sort(key=lambda goal: (-goal.priority, goal.set_tick, goal.text))
        del self.goals[MAX_GOALS:]
        return any(goal.text == text for goal in self.goals)

    def drop_goal(self, text: str) -> None:
        self.goals = [goal for goal in self.goals if goal.text != text]

    def has_goal(self, prefix: str) -> bool:
        return any(goal.text.startswith(prefix) for goal in self.goals)

    # ----- remembering ---------------------------------------------------------------------
    def remember(self, item: MemoryItem) -> None:
        self.immediate.append(item)

    def water_places(self) -> list[str]:
        return sorted(pid for pid, place in self.places.items() if place.resources.get("WATER"))

    def food_places(self, minimum_rank: int = 2) -> list[str]:
        foods = ("BERRY", "ROOT", "FISH", "MEAT", "FARMED")
        return sorted(
            pid
            for pid, place in self.places.items()
            if sum(place.resources.get(food, 0) for food in foods) >= minimum_rank
        )

    def all_items(self) -> list[MemoryItem]:
        return [*self.long_term, *self.short_term, *self.immediate]


def observe(memory: AgentMemory, perception: perception_pb2.Perception) -> None:
    """Take in one perception: the place, first meetings, messages and notifications."""
    tick = int(perception.tick)
    me = perception.self
    memory.last_tick = tick
    here = me.location_id
    if here != memory.location_id:
        left = memory.location_id
        if left and tick - memory.arrived_tick > 1 and not memory.searches.get(left):
            # A stay there without a search was a glance that showed no way out (plans_explore:
            # the hope of a place never searched is not worth the road again and again).
            memory.searches[left] = 1
        memory.arrived_tick = tick
    memory.location_id = here
    if not memory.home_id:
        memory.home_id = here
    _remember_place(memory, perception)
    place = memory.places[here]
    length = seasons.note_season(
        memory.season_plenty,
        seasons.season_name(perception),
        int(perception.clock.days_until_season_change),
        seasons.plenty_here(place.resources, place.crowd),
        perception.notifications,
    )
    memory.season_ticks = max(memory.season_ticks, length)
    held = {RESOURCE_NAMES.get(a.resource, "?"): int(a.quantity) for a in me.inventory}
    seasons.note_keeping(memory.spoilage, held, perception.notifications)
    names, met = memory.names, memory.met
    teachers = []
    for other in perception.agents:
        agent_id, name = other.agent_id, other.name
        names[agent_id] = name
        if agent_id not in met:
            met.add(agent_id)
            memory.long_term.append(
                MemoryItem(
                    tick,
                    "social",
                    f"first met {name} at {me.location_name}",
                    (agent_id,),
                    0.75,
                    here,
                )
            )
        if other.last_activity.startswith("taught "):
            teachers.append(other)
        good = economy.good_got(other.last_activity)
        if good:
            memory.goods_seen[agent_id] = (good, tick)
    if teachers:
        _see_teaching(memory, perception, teachers)
    for message in perception.messages:
        memory.names[message.from_agent_id] = message.from_name
        _hear_of_way(memory, message.from_agent_id, message.text)
        memory.remember(
            MemoryItem(
                tick,
                "communication",
                f"{message.from_name} told me: {message.text[:160]}",
                (message.from_agent_id,),
                0.45,
                here,
            )
        )
    for note in perception.notifications:
        _take_notification(memory, note, tick, here)
    _feel_want(memory, perception, tick)


def _feel_want(memory: AgentMemory, perception: perception_pb2.Perception, tick: int) -> None:
    """Going hungry while others here eat is a wrong remembered (at most once a season)."""
    if perception.self.vitals.hunger < 80 or not perception.agents:
        return
    if tick - memory.last_done.get("HUNGRY", -1_000_000) < 50:
        return
    memory.last_done["HUNGRY"] = tick
    memory.grievances["hunger"] = memory.grievances.get("hunger", 0) + 1


def _place_named(memory: AgentMemory, name: str) -> str:
    return min((pid for pid, place in memory.places.items() if place.name == name), default="")


def _hear_of_way(memory: AgentMemory, teller: str, text: str) -> None:
    """A friend says a hidden way starts at a place: searching there is worth more now."""
    match = WAY_HEARD.search(text)
    origin = _place_named(memory, match.group(1)) if match else ""
    if not origin:
        return
    memory.known_by.setdefault(teller, set()).add(way_item(origin))
    if origin not in memory.hidden_ways and origin not in memory.rumours:
        memory.rumours[origin] = memory.searches.get(origin, 0)


_TAUGHT = re.compile(r"^taught (.+) (\w+)$")


def _see_teaching(
    memory: AgentMemory,
    perception: perception_pb2.Perception,
    teachers: list[perception_pb2.AgentSighting],
) -> None:
    """Someone here "taught Pia masonry" last tick: Pia knows masonry now (no need to offer it)."""
    ids_by_name = {other.name: other.agent_id for other in perception.agents}
    ids_by_name[perception.self.name] = perception.agent_id
    for other in teachers:
        match = _TAUGHT.match(other.last_activity)
        student = ids_by_name.get(match.group(1)) if match else None
        if match and student:
            memory.known_by.setdefault(student, set()).add(match.group(2))


def _remember_place(memory: AgentMemory, perception: perception_pb2.Perception) -> None:
    me = perception.self
    place = memory.places.get(me.location_id)
    if place is None:
        place = memory.places[me.location_id] = Place(me.location_name, perception.location_region)
        memory.long_term.append(
            MemoryItem(
                int(perception.tick),
                "discovery",
                f"first came to {me.location_name} ({perception.location_region})",
                (),
                0.72,
                me.location_id,
            )
        )
    place.seen_tick = int(perception.tick)
    place.crowd = len(perception.agents)
    place.resources = {
        RESOURCE_NAMES.get(sighting.resource, "?"): amount_rank(sighting.amount_word)
        for sighting in perception.resources
        if not sighting.on_ground
    }
    places, routes = memory.places, place.routes
    # A way out of a place already seen that was not listed before: a search showed it.
    seen_before = bool(routes)
    for route in perception.routes:
        destination = route.destination_id
        if seen_before and destination and route.route_id not in routes:
            memory.hidden_ways[me.location_id] = destination
        routes[route.route_id] = (destination, int(route.travel_ticks))
        if destination and destination not in places:
            # A place known by name only: its region helps plan exploration.
            places[destination] = Place(
                route.destination_name, route.destination_region, seen_tick=-1
            )


_STOLE = re.compile(r"^someone stole (\d+) (\w+) from you")
_TRIED = re.compile(r"^(.+) (?:tried to steal from you|attacked you)$")
_GAVE = re.compile(r"^(.+) gave you ")
_LEARNED = re.compile(r"^you learned (.+)$")


_ACCEPTED = re.compile(r"^(.+) accepted your trade$")


def _id_of(memory: AgentMemory, name: str) -> str:
    """The id of the agent remembered by this name (of two with one name, the larger id)."""
    return max((agent_id for agent_id, known in memory.names.items() if known == name), default="")


def _take_notification(memory: AgentMemory, note: str, tick: int, here: str) -> None:
    if _ACCEPTED.match(note) and memory.open_offer[0]:
        given, wanted = memory.open_offer
        economy.learn_exchange(memory, list(given), list(wanted))
        economy.learn_trade_luck(memory, wanted, taken=True)
        memory.open_offer = ((), ())
    if match := _TRIED.match(note):
        economy.note_danger(memory, here, 0.5)
        culprit = _id_of(memory, match.group(1))
        if culprit:
            memory.cheated_by[culprit] = tick
        memory.long_term.append(
            MemoryItem(tick, "social", note, (culprit,) if culprit else (), 0.85, here)
        )
    elif _STOLE.match(note):
        memory.grievances["theft"] = memory.grievances.get("theft", 0) + 1
        memory.long_term.append(MemoryItem(tick, "social", note, (), 0.8, here))
    elif match := _GAVE.match(note):
        giver = _id_of(memory, match.group(1))
        if giver:
            memory.favours_owed[giver] = memory.favours_owed.get(giver, 0) + 1
            if memory.favours_owed[giver] == 0:
                del memory.favours_owed[giver]
        memory.remember(MemoryItem(tick, "social", note, (giver,) if giver else (), 0.6, here))
    elif match := _LEARNED.match(note):
        memory.learnt[match.group(1).replace(" ", "_")] = tick
        memory.long_term.append(MemoryItem(tick, "discovery", note, (), 0.9, here))
    elif "died" in note or "was born" in note:
        if "died" in note:
            economy.note_danger(memory, here, 0.3)
        memory.long_term.append(MemoryItem(tick, "social", note, (), 0.8, here))
    else:
        memory.remember(MemoryItem(tick, "observation", note, (), 0.35, here))


def reflect(memory: AgentMemory, result: action_pb2.ActionResult) -> None:
    """Record what my action did, learn from rejections, then compress the tiers."""
    tick = int(result.tick)
    action_name = ACTION_NAMES.get(result.action_type, "NO_ACTION")
    target = _target_of(result.action)
    memory.last_done[action_name] = tick
    if result.success:
        text = result.outcome or action_name.lower()
        weight = 0.75 if action_name in ("REPRODUCE", "MARRY", "FORM_GROUP", "BUILD") else 0.3
        if action_name == "EXPLORE":
            weight = 0.5
            memory.explored_at[memory.location_id] = tick
            memory.searches[memory.location_id] = memory.searches.get(memory.location_id, 0) + 1
        if action_name == "COMMUNICATE" and target:
            told = WAY_HEARD.search(result.action.communicate.text)
            origin = _place_named(memory, told.group(1)) if told else ""
            if origin:
                memory.known_by.setdefault(target, set()).add(way_item(origin))
        memory.failed.pop(_failure_key(action_name, target), None)
        _learn_value(memory, action_name, result)
        if action_name == "TEACH" and "did not stick" not in result.outcome:
            memory.known_by.setdefault(target, set()).add(result.action.teach.knowledge)
        if action_name == "GIVE" and target:
            # A balance per person: a gift repays what they gave, or puts them in my debt.
            memory.favours_owed[target] = memory.favours_owed.get(target, 0) - 1
            if memory.favours_owed[target] == 0:
                del memory.favours_owed[target]
    else:
        text = f"could not {action_name.lower()}: {result.rejection.message}"
        weight = 0.2
        memory.failed[_failure_key(action_name, target)] = tick
        if action_name in PRODUCING and result.rejection.reason in LOST_RACE_CODES:
            # Beaten to the goods: a tick of this work produced nothing (a crowded source).
            economy.learn_yield(memory, activity_of(action_name, result.action), 0.0)
        if action_name == "TEACH" and (
            "already knows" in result.rejection.message or "declined" in result.rejection.message
        ):
            # A declined lesson is most often one the student has no need of.
            memory.known_by.setdefault(target, set()).add(result.action.teach.knowledge)
    memory.remember(MemoryItem(tick, "action", text[:200], (target,) if target else (), weight, ""))
    compress(memory, tick)


LOST_RACE_CODES = frozenset(
    {action_pb2.REJECTION_REASON_CONFLICT_LOST, action_pb2.REJECTION_REASON_UNAVAILABLE_TARGET}
)
# Productive actions whose goods tell what a tick of that work yields.
PRODUCING = frozenset({"GATHER", "MINE", "FARM_HARVEST", "CRAFT", "COOK", "SMELT"})


def activity_of(action_name: str, action: action_pb2.Action) -> str:
    """A name for the work done: "gather fish", "craft", "mine"."""
    if action_name == "GATHER":
        return f"gather {RESOURCE_NAMES.get(action.gather.resource, '?').lower()}"
    return action_name.lower()


def _learn_value(memory: AgentMemory, action_name: str, result: action_pb2.ActionResult) -> None:
    gained = _pairs(result.gained)
    lost = _pairs(result.lost)
    if action_name == "TRADE_ACCEPT" and gained and lost:
        economy.learn_exchange(memory, lost, gained)
    elif action_name == "TRADE_OFFER":
        if memory.open_offer[1]:
            # The last offer was never taken: asking for those goods here is a poor hope.
            economy.learn_trade_luck(memory, memory.open_offer[1], taken=False)
        offer = result.action.trade_offer
        memory.open_offer = (tuple(_pairs(offer.give)), tuple(_pairs(offer.want)))
    elif action_name in ("DEPOSIT", "WITHDRAW"):
        params = result.action.deposit if action_name == "DEPOSIT" else result.action.withdraw
        moved = lost if action_name == "DEPOSIT" else [(r, -q) for r, q in gained]
        held = memory.stored.setdefault(params.structure_id, {})
        for resource, quantity in moved:
            held[resource] = held.get(resource, 0) + quantity
            if held[resource] <= 0:
                del held[resource]
        if not held:
            del memory.stored[params.structure_id]
    elif action_name in PRODUCING and gained:
        value = sum(economy.price(memory, r) * q for r, q in gained)
        value -= sum(economy.price(memory, r) * q for r, q in lost)
        economy.learn_yield(memory, activity_of(action_name, result.action), value)


def _pairs(amounts: Iterable[Any]) -> list[tuple[str, int]]:
    return [(RESOURCE_NAMES.get(a.resource, "?"), int(a.quantity)) for a in amounts]


def _target_of(action: action_pb2.Action) -> str:
    kind = action.WhichOneof("params")
    if kind is None:
        return ""
    params = getattr(action, kind)
    for name in _TARGET_FIELDS.get(kind, ()):
        target = getattr(params, name)
        if target:
            return str(target)
    return ""


# The fields naming another agent, per params kind of an action, in the order they are read.
_TARGET_FIELDS: dict[str, tuple[str, ...]] = {
    field.name: tuple(
        name
        for name in ("target_agent_id", "partner_id", "student_id")
        if field.message_type is not None and name in field.message_type.fields_by_name
    )
    for field in action_pb2.Action.DESCRIPTOR.oneofs_by_name["params"].fields
}


def _failure_key(action_name: str, target: str) -> str:
    return f"{action_name}:{target}"


def recently_failed(memory: AgentMemory, action_name: str, target: str, tick: int) -> bool:
    """True if this action at this target was rejected in the last ten ticks."""
    when = memory.failed.get(_failure_key(action_name, target))
    return when is not None and tick - when < 10


def done_within(memory: AgentMemory, action_name: str, ticks: int, now: int) -> bool:
    """True if the agent took this action (successfully or not) in the last `ticks` ticks."""
    when = memory.last_done.get(action_name)
    return when is not None and now - when < ticks


def compress(memory: AgentMemory, tick: int) -> None:
    """Age the tiers: immediate -> short-term or long-term by weight; old short-term is let go."""
    keep: list[MemoryItem] = []
    for item in memory.immediate:
        if tick - item.tick < IMMEDIATE_TICKS:
            keep.append(item)
        elif item.weight > LONG_TERM_WEIGHT:
            memory.long_term.append(item)
        elif item.weight >= SHORT_TERM_WEIGHT:
            memory.short_term.append(item)
    memory.immediate = keep
    memory.short_term = [item for item in memory.short_term if tick - item.tick < SHORT_TERM_TICKS]
    # Long-term memory is for life, but a very long life keeps its most weighty 200 moments.
    if len(memory.long_term) > 200:
        memory.long_term.sort(key=lambda item: (-item.weight, -item.tick))
        del memory.long_term[200:]
        memory.long_term.sort(key=lambda item: item.tick)


def filtered(
    memory: AgentMemory,
    perception: perception_pb2.Perception,
    budget_tokens: int = DEFAULT_TOKEN_BUDGET,
) -> list[MemoryItem]:
    """Memories for a prompt: all immediate, relevant short-term, long-term; within the budget."""
    here = perception.self.location_id
    present = {other.agent_id for other in perception.agents}
    goal_words = {word for goal in memory.goals for word in goal.text.lower().split()}
    relevant = [
        item
        for item in memory.short_term
        if item.location_id == here
        or present.intersection(item.entity_ids)
        or goal_words.intersection(item.summary.lower().split())
    ]
    chosen: list[MemoryItem] = []
    used = 0
    # Fill by importance: what just happened, then the life story, then relevant recent past.
    ordered = [
        *sorted(memory.immediate, key=lambda item: -item.tick),
        *sorted(memory.long_term, key=lambda item: (-item.weight, -item.tick)),
        *sorted(relevant, key=lambda item: (-item.weight, -item.tick)),
    ]
    for item in ordered:
        if used + item.tokens > budget_tokens:
            continue
        chosen.append(item)
        used += item.tokens
    return sorted(chosen, key=lambda item: (item.tick, item.kind, item.summary))


def to_dict(memory: AgentMemory) -> dict[str, Any]:
    """A JSON-ready dict (sets become sorted lists)."""
    raw = asdict(memory)
    raw["met"] = sorted(memory.met)
    raw["known_by"] = {key: sorted(value) for key, value in sorted(memory.known_by.items())}
    return raw


def from_dict(raw: dict[str, Any]) -> AgentMemory:
    def items(values: Iterable[dict[str, Any]]) -> list[MemoryItem]:
        return [
            MemoryItem(**{**value, "entity_ids": tuple(value["entity_ids"])}) for value in values
        ]

    return AgentMemory(
        agent_id=raw["agent_id"],
        immediate=items(raw["immediate"]),
        short_term=items(raw["short_term"]),
        long_term=items(raw["long_term"]),
        goals=[Goal(**goal) for goal in raw["goals"]],
        places={
            key: Place(
                value["name"],
                value["region"],
                dict(value["resources"]),
                value["seen_tick"],
                {r: (d[0], d[1]) for r, d in value["routes"].items()},
                int(value.get("crowd", 0)),
            )
            for key, value in raw["places"].items()
        },
        names=dict(raw["names"]),
        met=set(raw["met"]),
        cheated_by=dict(raw["cheated_by"]),
        favours_owed=dict(raw["favours_owed"]),
        known_by={key: set(value) for key, value in raw["known_by"].items()},
        explored_at=dict(raw["explored_at"]),
        searches={key: int(value) for key, value in raw.get("searches", {}).items()},
        hidden_ways={key: str(value) for key, value in raw.get("hidden_ways", {}).items()},
        rumours={key: int(value) for key, value in raw.get("rumours", {}).items()},
        learnt={key: int(value) for key, value in raw.get("learnt", {}).items()},
        arrived_tick=int(raw.get("arrived_tick", 0)),
        failed=dict(raw["failed"]),
        last_tick=raw["last_tick"],
        home_id=raw["home_id"],
        location_id=raw["location_id"],
        last_done=dict(raw["last_done"]),
        decided_tick=int(raw.get("decided_tick", -1)),
        decision=str(raw.get("decision", "")),
        reflected_tick=int(raw.get("reflected_tick", -1)),
        prices={key: float(value) for key, value in raw.get("prices", {}).items()},
        yields={key: (float(v[0]), int(v[1])) for key, v in raw.get("yields", {}).items()},
        practice={key: int(value) for key, value in raw.get("practice", {}).items()},
        danger={key: float(value) for key, value in raw.get("danger", {}).items()},
        grievances={key: int(value) for key, value in raw.get("grievances", {}).items()},
        stored={key: dict(value) for key, value in raw.get("stored", {}).items()},
        trade_luck={key: float(value) for key, value in raw.get("trade_luck", {}).items()},
        season_plenty={
            key: (float(v[0]), int(v[1])) for key, v in raw.get("season_plenty", {}).items()
        },
        season_ticks=int(raw.get("season_ticks", 0)),
        spoilage={key: (float(v[0]), float(v[1])) for key, v in raw.get("spoilage", {}).items()},
        project=_project(raw.get("project", ("", "", -1))),
        goods_seen={key: (str(v[0]), int(v[1])) for key, v in raw.get("goods_seen", {}).items()},
        open_offer=(
            tuple((str(r), int(q)) for r, q in raw.get("open_offer", ((), ()))[0]),
            tuple((str(r), int(q)) for r, q in raw.get("open_offer", ((), ()))[1]),
        ),
    )


def _project(raw: Any) -> tuple[str, str, int]:
    kind, place_id, tick = raw
    return str(kind), str(place_id), int(tick)
