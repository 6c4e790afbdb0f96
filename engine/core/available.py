"""Available actions: the actions that would pass validation now, with exact parameter forms.

Built for every deciding agent every tick, so the work is split three ways: a `Catalog` per
perceive phase (the tick's energy costs, blueprints, and listed entries already built, which many
agents share), a `_Place` per location (the candidates everyone standing there has) and the
agent's own part. Candidates whose rule is a few plain conditions on the agent are decided here
from those very conditions ("sure"); the rest run their handler's check. tests/sim hold the
result against a plain enumeration that runs every handler check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from emergence.action_words import (
    AGENTS_HERE_TEXT,
    AGENTS_HERE_TOKEN,
    DESCRIPTIONS,
    FORMS,
    KNOWN_TOKEN,
)
from engine.core.act_craft import RAW_FOODS
from engine.core.actions import ACTION_TYPES, Action
from engine.core.available_structures import (
    Things,
    buildable,
    gather_things,
    market_options,
    structure_options,
    toll_options,
)
from engine.core.config import SURVIVAL_ACTIONS
from engine.core.context import Phase, carry_load, count_occupancy, is_child, may_use, walls_at
from engine.core.knowledge import EXPERIENCE_ITEMS, GATHER_KNOWLEDGE
from engine.core.perception import AvailableAction, LocationView, enforceable_rules
from engine.core.resolve import CHILD_FORBIDDEN, HANDLERS, energy_cost
from engine.core.state import Agent, Route
from engine.core.writing import writings_here


@dataclass(frozen=True, slots=True)
class Clock:
    """The tick's facts every perception repeats."""

    tick: int
    time_of_day: str
    season: str
    weather: str
    days_until_season_change: int
    year: int
    night: bool
    era: str


@dataclass(frozen=True, slots=True)
class _Place:
    """Candidates that depend only on the location this tick, shared by everyone standing there."""

    agent_ids: tuple[str, ...]
    positions: dict[str, int]  # agent id -> index in agent_ids
    # Per present agent: a valid target for acts on agents here (alive, arrived, at this place).
    settled: tuple[bool, ...]
    water_here: bool
    campfire_here: bool
    ore_left: bool  # an ore node here with ore in it
    gather: tuple[tuple[str, str], ...]  # (resource, knowledge needed)
    pickup: tuple[tuple[str, int], ...]  # (resource, quantity)
    # (route, destination id, kind): "plain" (no bridge, toll or wall: the move rule reduces to
    # visibility, weather and the route's ACL), "full" (no room at the far end: refused to all)
    # or "check" (run the move check).
    routes: tuple[tuple[Route, str, str], ...]
    things: Things  # structures, storage, plots, claims and tolls here
    improvable: tuple[tuple[str, tuple[tuple[str, int], ...], bool], ...]
    kinds_here: frozenset[str]
    writings: tuple[str, ...]  # readable here: library records and tablets (engine.core.writing)


class Catalog:
    """One perceive phase's shared work: the tick's facts and energy costs, candidates per
    location, and the listed entries already built (many agents see exactly the same entry)."""

    def __init__(self, phase: Phase) -> None:
        self.phase = phase
        state, config = phase.state, phase.config
        self.clock = Clock(
            state.tick, state.time_of_day, state.season, state.weather,
            state.days_until_season_change(), state.year, state.is_night, state.era,
        )  # fmt: skip
        # Energy costs depend on the agent only for MOVE (frailty); the rest is the tick's.
        self.costs = {t: energy_cost(state, None, t) for t in (*ACTION_TYPES, "STEAL", "TEACH")}
        self.places: dict[str, _Place] = {}
        self.built: dict[tuple[object, ...], AvailableAction] = {}
        self.forms: dict[str, dict[str, str]] = {}  # crowd text -> agent-targeted forms
        self.names: dict[frozenset[str], tuple[str, ...]] = {}
        self.occupancy: dict[str, int] | None = None
        # Agents who own a route or a structure (they may set tolls).
        self.owners = {s.owner_id for s in state.structures.values() if s.owner_id} | {
            r.owner_id for r in state.routes.values() if r.owner_id
        }
        self.gates: dict[tuple[bool, bool, bool], dict[str, float]] = {}
        self.storm = state.weather == "STORM"
        kinds = sorted(config.structures.kinds.items())
        # (kind, materials, the knowledge it needs)
        self.blueprints = tuple(
            (kind, tuple(blueprint.cost.items()), blueprint.blueprint) for kind, blueprint in kinds
        )
        # What someone holding nothing could build (nothing, with the default costs).
        self.free_blueprints = tuple(
            (kind, blueprint.blueprint) for kind, blueprint in kinds if not blueprint.cost
        )
        # The fixed words of the listed candidates pass the text and size rules?
        self.hello_fits = len(_HELLO) <= config.actions.text_limit
        self.pair_fits = config.actions.max_group_members >= 1

    def gate(self, child: bool, exhausted: bool, low: bool) -> dict[str, float]:
        """The action types the vitals step lets through for this kind of agent, with their
        costs (the energy comparison stays per agent), as vitals_problem decides."""
        key = (child, exhausted, low)
        gate = self.gates.get(key)
        if gate is None:
            gate = self.gates[key] = {
                action_type: cost
                for action_type, cost in self.costs.items()
                if not (child and action_type in CHILD_FORBIDDEN)
                and not (exhausted and action_type not in _EXHAUSTED_ALLOWED)
                and not (low and action_type not in SURVIVAL_ACTIONS)
            }
        return gate

    def location_names(self, location_ids: set[str]) -> tuple[str, ...]:
        """Sorted names of these locations (many agents know the same few places)."""
        key = frozenset(location_ids)
        names = self.names.get(key)
        if names is None:
            locations = self.phase.state.locations
            names = self.names[key] = tuple(sorted(locations[i].name for i in location_ids))
        return names

    def place(self, view: LocationView) -> _Place:
        place = self.places.get(view.location.id)
        if place is None:
            place = self.places[view.location.id] = _place(self, view)
        return place


def _place(catalog: Catalog, view: LocationView) -> _Place:
    phase = catalog.phase
    state = phase.state
    location = view.location
    # Routes with an end here that can go up a path type: (route, materials, needs engineering).
    upgrades = phase.config.routes.upgrade_costs
    improvable = tuple(
        (route_id, tuple(sorted(upgrades[path].items())), path != "NONE")
        for route_id in state.adjacency.get(location.id, ())
        for path in (state.routes[route_id].path_type,)
        if path in upgrades
    )
    kinds_here = {structure.kind for structure in view.structures}
    water = location.nodes.get("WATER")
    if catalog.occupancy is None:
        catalog.occupancy = count_occupancy(state)
    counts = catalog.occupancy
    routes = []
    for route in state.routes_from(location.id):
        destination = route.other_end(location.id)
        if counts.get(destination, 0) >= state.locations[destination].capacity:
            kind = "full"
        elif route.bridge_id or route.access.toll or walls_at(state, destination):
            kind = "check"
        else:
            kind = "plain"
        routes.append((route, destination, kind))
    ids = tuple(a.id for a in view.agents)
    return _Place(
        agent_ids=ids,
        positions={agent_id: index for index, agent_id in enumerate(ids)},
        settled=tuple(
            a.alive and not a.in_transit and a.location_id == location.id for a in view.agents
        ),
        water_here=water is not None and water.available > 0,
        campfire_here="CAMPFIRE" in kinds_here,
        ore_left="ORE" in location.nodes and location.nodes["ORE"].available > 0,
        gather=tuple(
            (resource, GATHER_KNOWLEDGE.get(resource, "gather_food"))
            for resource, node in sorted(location.nodes.items())
            if node.available > 0
        ),
        pickup=tuple(
            (resource, min(quantity, 5)) for resource, quantity in sorted(location.ground.items())
        ),
        routes=tuple(routes),
        improvable=improvable,
        kinds_here=frozenset(kinds_here),
        writings=tuple(
            sorted(writings_here(state, location, phase.config.knowledge.writing_lasts_ticks))
        ),
        things=gather_things(phase, location, view.structures),
    )


_HELLO = "hello"
_WANT = (("WATER", 1),)


def available_actions(
    catalog: Catalog, agent: Agent, view: LocationView, pending_trades: list[str],
    proposals: list[str], invitations: list[str], own_offers: Sequence[str] = (),
) -> tuple[AvailableAction, ...]:  # fmt: skip
    """The candidates that pass the same checks resolve runs, with their exact parameter forms.

    `sure` holds the options of candidates decided here from the very conditions their check
    tests; `checked` holds candidates that go through their handler's check. Pre-filters only
    drop candidates whose check would surely fail.
    """
    phase = catalog.phase
    config = phase.config
    place = catalog.place(view)
    me = agent.id
    inventory = agent.inventory
    knowledge = agent.knowledge
    sure: dict[str, tuple[str, ...]] = {
        "NO_ACTION": ("no_action()",), "REST": ("rest()",), "EXPLORE": ("explore()",),
        "BROADCAST": ("",), "PRAY": ("",), "FREEFORM": ("",),
    }  # fmt: skip
    checked: dict[str, Sequence[tuple[str, Action]]] = {}
    # drink: a water node here with water left, or water held.
    if place.water_here or inventory.get("WATER", 0) > 0:
        sure["DRINK"] = ("drink()",)
    free = config.resources.carry_capacity - carry_load(phase.state, agent)
    weights = config.resources.weights
    if inventory:
        foods = config.resources.foods
        # eat: a food held. cook: a raw food held, a campfire here, cooking known.
        held_foods = tuple(r for r in sorted(inventory) if r in foods and inventory[r] >= 1)
        if held_foods:
            sure["EAT"] = held_foods
            if place.campfire_here and "cooking" in knowledge:
                cookable = tuple(r for r in held_foods if r in RAW_FOODS)
                if cookable:
                    sure["COOK"] = cookable
        # heal (yourself): medicine held.
        if inventory.get("MEDICINE", 0) >= 1:
            sure["HEAL"] = (me,)
        builds = []
        for kind, cost, blueprint in catalog.blueprints:
            for resource, quantity in cost:
                if inventory.get(resource, 0) < quantity:
                    break
            else:
                builds.append((kind, blueprint))
    elif catalog.free_blueprints:
        builds = list(catalog.free_blueprints)
    else:
        builds = []
    farmable = view.location.farmable
    built = tuple(
        kind for kind, blueprint in builds if buildable(phase, agent, kind, blueprint, farmable)
    )
    if built:
        sure["BUILD"] = built
    # gather: stock here (the place lists only nodes with some), carry room, the knowledge.
    gather = tuple(
        resource
        for resource, needs in place.gather
        if free // weights.get(resource, 1) > 0 and needs in knowledge
    )
    if gather:
        sure["GATHER"] = gather
    # pickup: room for what the candidate picks up.
    if place.pickup:
        pickup = tuple(
            resource
            for resource, quantity in place.pickup
            if max(0, free // weights.get(resource, 1)) >= quantity
        )
        if pickup:
            sure["PICKUP"] = pickup
    # move: a visible route from here, no storm, the route's ACL lets this agent pass; routes
    # with more to them (tolls, walls, bridges, a full place) run the move check itself.
    if not catalog.storm:
        moves = []
        explored = agent.explored_route_ids
        known = agent.known_location_ids
        for route, destination, kind in place.routes:
            if kind == "full" or (route.hidden and route.id not in explored):
                continue
            option = destination if destination in known else f"route:{route.id}"
            if kind == "check":
                target = destination if destination in known else ""
                move = Action("MOVE", target_id=target, route_id=route.id)
                if HANDLERS["MOVE"].check(phase, agent, move) is None:
                    moves.append(option)
                continue
            access = route.access
            if me in access.denied_agent_ids or (
                not access.public
                and me not in access.allowed_agent_ids
                and not agent.group_ids & access.allowed_group_ids
            ):
                continue
            moves.append(option)
        if moves:
            sure["MOVE"] = tuple(moves)
    if place.things.structure_ids or "territorial_claim" in knowledge:
        sure.update(
            structure_options(phase, agent, place.things, free, "territorial_claim" in knowledge)
        )
    # mine: ore left here, a tool held, room for ore, mining known.
    if (
        place.ore_left
        and "mining" in knowledge
        and (inventory.get("TOOL", 0) > 0 or inventory.get("ADVANCED_TOOL", 0) > 0)
        and free // weights.get("ORE", 1) > 0
    ):
        sure["MINE"] = ("",)
    # improve_route: the check's own conditions, materials held and (past a trail) engineering.
    improvements = tuple(
        route_id
        for route_id, cost, engineering in place.improvable
        if (not engineering or "basic_engineering" in knowledge)
        and all(inventory.get(resource, 0) >= quantity for resource, quantity in cost)
    )
    if improvements:
        sure["IMPROVE_ROUTE"] = improvements
    kinds_here = place.kinds_here
    written = frozenset(place.writings)
    if written:
        # read: what is written here and not yet known.
        readable = tuple(item for item in place.writings if item not in knowledge)
        if readable:
            sure["READ"] = readable
    if "written_language" in knowledge:
        # write: anywhere (a library, else a tablet), what is known and not yet written here.
        unwritten = tuple(sorted(knowledge - written - EXPERIENCE_ITEMS))
        if unwritten:
            sure["WRITE"] = unwritten
    groups = sorted(agent.group_ids)
    if groups and "legislation" in knowledge and "MEETING_HALL" in kinds_here:
        checked["LEGISLATE"] = [
            (g, Action("LEGISLATE", target_id=g, text="a rule of the group")) for g in groups
        ]
    mine = place.positions.get(me)
    others_here = len(place.agent_ids) - (mine is not None)
    first = 0 if mine != 0 else 1  # the first other agent here, if any
    # propose / conspire: to a group of one's own, or to anyone alive (the first other agent here
    # stands in); the checks ask no more than that.
    someone_alive = others_here > 0 and phase.state.agents[place.agent_ids[first]].alive
    if someone_alive:
        sure["CONSPIRE"] = ("",)
    if groups or someone_alive:
        sure["PROPOSE"] = (*groups, "") if someone_alive else tuple(groups)
    if others_here > 0:
        # Acts on an agent here name the first other agent; it must be a valid target.
        if place.settled[first]:
            targets = ("",)
            if catalog.hello_fits:
                sure["COMMUNICATE"] = targets
            sure["ATTACK"] = targets
            # enforce: a rule of a group the agent founded or leads, on an agent here.
            if agent.group_ids and enforceable_rules(phase.state, agent):
                sure["ENFORCE"] = targets
            # form_group: founding needs the skill; a member may invite an agent here to a group
            # of its that has room and that agent is not in.
            if catalog.pair_fits and (
                "group_formation" in knowledge or _may_invite(phase, agent, place)
            ):
                sure["FORM_GROUP"] = targets
            if inventory and inventory[min(inventory)] >= 1:
                # give / trade_offer: one unit of the first item held (trading needs the skill).
                sure["GIVE"] = targets
                if "basic_trade" in knowledge:
                    sure["TRADE_OFFER"] = targets
            # Whether they are married is theirs to tell (consent, when asked).
            if not agent.partner_id:
                sure["MARRY"] = targets
        partners = _partners(catalog, agent, place) if agent.relationships else ()
        if partners:
            sure["REPRODUCE"] = partners
    if pending_trades:
        acceptable = tuple(t for t in pending_trades if _acceptable(phase, agent, t, free))
        if acceptable:
            sure["TRADE_ACCEPT"] = acceptable
    if pending_trades or own_offers:
        checked["TRADE_REJECT"] = [
            (t, Action("TRADE_REJECT", target_id=t)) for t in (*pending_trades, *own_offers)
        ]
    if proposals:
        checked["VOTE"] = [(p, Action("VOTE", target_id=p, flag=True)) for p in proposals]
    if invitations:
        checked["JOIN_GROUP"] = [(g, Action("JOIN_GROUP", target_id=g)) for g in invitations]
    if agent.group_ids:
        checked["LEAVE_GROUP"] = [
            (g, Action("LEAVE_GROUP", target_id=g)) for g in sorted(agent.group_ids)
        ]
    if agent.partner_id:
        checked["DIVORCE"] = ((agent.partner_id, Action("DIVORCE", target_id=agent.partner_id)),)
    extras = (
        _offer_targets(catalog, agent, place) if agent.inventory or me in catalog.owners else {}
    )
    return _passing(catalog, agent, sure, checked, place, mine, extras)


def _may_invite(phase: Phase, agent: Agent, place: _Place) -> bool:
    if not agent.group_ids:
        return False
    groups = phase.state.groups
    limit = phase.config.actions.max_group_members
    others = [
        other_id
        for other_id, settled in zip(place.agent_ids, place.settled, strict=True)
        if settled and other_id != agent.id
    ]
    return any(
        len(groups[g].member_ids) < limit and any(o not in groups[g].member_ids for o in others)
        for g in agent.group_ids
        if g in groups
    )


def _partners(catalog: Catalog, agent: Agent, place: _Place) -> tuple[str, ...]:
    """reproduce, as far as the asker can know: the trusted few here (not everyone the agent ever
    met), settled and grown; the asker's own wait since a birth; room under the population cap.
    The partner's side is their consent, asked only when the action is taken."""
    state, population = catalog.phase.state, catalog.phase.config.population
    if (
        state.tick - agent.last_child_tick < population.birth_interval_ticks
        or state.population >= population.cap
    ):
        return ()
    present = place.positions
    threshold = population.reproduce_trust
    return tuple(
        sorted(
            other_id
            for other_id, trust in agent.relationships.items()
            if trust > threshold
            and other_id in present
            and other_id != agent.id
            and place.settled[present[other_id]]
            and not is_child(state, state.agents[other_id])
        )
    )


def _acceptable(phase: Phase, agent: Agent, trade_id: str, free_weight: int) -> bool:
    """trade_accept's check, condition for condition: the offer is addressed to the agent (or
    stands at a market here and is not theirs), they hold what is wanted, the offerer lives, the
    market is open to them, and they can carry the difference."""
    state = phase.state
    offer = state.trades.get(trade_id)
    if offer is None:
        return False
    market = state.structures.get(offer.market_id) if offer.market_id else None
    if offer.market_id:
        if market is None or market.location_id != agent.location_id:
            return False
        if offer.from_agent_id == agent.id:
            return False
    elif offer.to_agent_id != agent.id:
        return False
    inventory = agent.inventory
    if any(inventory.get(resource, 0) < quantity for resource, quantity in offer.want.items()):
        return False
    if not state.agents[offer.from_agent_id].alive:
        return False
    if market is not None and not may_use(state, agent, market):
        return False
    weights = phase.config.resources.weights
    net = sum(weights.get(r, 1) * q for r, q in offer.give.items()) - sum(
        weights.get(r, 1) * q for r, q in offer.want.items()
    )
    return net <= free_weight


def _offer_targets(catalog: Catalog, agent: Agent, place: _Place) -> dict[str, str]:
    """Markets here that take a standing offer from this agent, and the routes from here and
    structures here whose toll this agent may set (the trade_offer check decides both)."""
    extras = {}
    markets = market_options(catalog.phase, agent, place.things)
    if markets:
        extras["market_ids"] = ",".join(markets)
    tolls = toll_options(agent, place.things) if agent.id in catalog.owners else ()
    if tolls:
        extras["toll_target_ids"] = ",".join(tolls)
    return extras


AGENT_TARGETED = frozenset(
    {"COMMUNICATE", "ATTACK", "ENFORCE", "FORM_GROUP", "GIVE", "TRADE_OFFER", "MARRY"}
)
_EXHAUSTED_ALLOWED = frozenset({"REST", "NO_ACTION", "EAT", "DRINK"})


def _passing(
    catalog: Catalog,
    agent: Agent,
    sure: dict[str, tuple[str, ...]],
    checked: dict[str, Sequence[tuple[str, Action]]],
    place: _Place,
    position: int | None,
    extras: dict[str, str],
) -> tuple[AvailableAction, ...]:
    """Apply the vitals step (as vitals_problem does), run the remaining checks, list entries."""
    phase = catalog.phase
    built = catalog.built
    costs = catalog.costs
    energy = agent.energy
    gate = catalog.gate(
        is_child(phase.state, agent), energy <= 0, energy < phase.config.vitals.low_energy_threshold
    )
    move_cost = costs["MOVE"]
    if agent.age(phase.state.tick) >= agent.lifespan * phase.config.vitals.frail_fraction:
        move_cost = energy_cost(phase.state, agent, "MOVE")
    listed: list[AvailableAction] = []
    crowd: _Crowd | None = None
    # Steal comes with attack and teach with communicate; they sort right after them.
    order = [*sure, *checked]
    if extras and "TRADE_OFFER" not in sure:
        order.append("TRADE_OFFER")
    if "ATTACK" in sure:
        order.append("STEAL")
    if "COMMUNICATE" in sure and len(agent.knowledge) > 4:
        order.append("TEACH")
    attack_listed = communicate_listed = False
    for action_type in sorted(order):
        if action_type == "STEAL":
            if attack_listed and crowd is not None:
                listed.append(crowd.entry("STEAL", costs["STEAL"]))
            continue
        if action_type == "TEACH":
            if communicate_listed and crowd is not None:
                listed.append(crowd.teach(costs["TEACH"], KNOWN_TOKEN))
            continue
        cost = gate.get(action_type)
        if cost is None:
            continue
        if action_type == "MOVE":
            cost = move_cost
        if cost > energy:
            continue
        if action_type == "TRADE_OFFER" and extras:
            crowd = crowd or _Crowd(catalog)
            listed.append(crowd.offer(cost, "TRADE_OFFER" in sure, extras))
            continue
        passing = sure.get(action_type)
        if passing is None:
            # Candidates are built well-formed here, so only the rule check runs.
            check = HANDLERS[action_type].check
            passing = tuple(
                option
                for option, action in checked[action_type]
                if check(phase, agent, action) is None
            )
            if not passing:
                continue
        if action_type in AGENT_TARGETED:
            # One per agent: the options name everyone else here.
            crowd = crowd or _Crowd(catalog)
            listed.append(crowd.entry(action_type, cost))
            attack_listed = attack_listed or action_type == "ATTACK"
            communicate_listed = communicate_listed or action_type == "COMMUNICATE"
            continue
        key = (action_type, passing, cost)
        entry = built.get(key)
        if entry is None:
            entry = built[key] = _entry(action_type, passing, cost)
        listed.append(entry)
    return tuple(listed)


class _Crowd:
    """The agent-targeted entries of one agent: forms and options name the others here. They are
    the same for everyone (a token stands for the agents here) but for their cost, so each is
    built once per tick and shared, like the catalog's other listed entries."""

    __slots__ = ("built", "forms", "options")

    def __init__(self, catalog: Catalog) -> None:
        self.built = catalog.built
        # Targets are named once, in the perception's agents: options hold a token for them.
        self.options = {"target_agent_id": AGENTS_HERE_TOKEN}
        forms = catalog.forms.get(AGENTS_HERE_TEXT)
        if forms is None:
            forms = catalog.forms[AGENTS_HERE_TEXT] = {
                action_type: FORMS[action_type].replace("{agents}", AGENTS_HERE_TEXT)
                for action_type in (*AGENT_TARGETED, "STEAL", "TEACH")
            }
        self.forms = forms

    def entry(self, action_type: str, cost: float) -> AvailableAction:
        key = ("crowd", action_type, cost)
        entry = self.built.get(key)
        if entry is None:
            entry = self.built[key] = AvailableAction(
                action_type, self.forms[action_type], DESCRIPTIONS[action_type], cost, self.options
            )
        return entry

    def offer(self, cost: float, to_agents: bool, extras: dict[str, str]) -> AvailableAction:
        """trade_offer with standing-offer markets and tolls one may set, besides agents here."""
        options = {**self.options, **extras} if to_agents else dict(extras)
        forms = [self.forms["TRADE_OFFER"]] if to_agents else []
        if "market_ids" in extras:
            forms.append(
                f"trade_offer(market_id, give, want) market in [{extras['market_ids']}] posts a "
                "standing offer the market holds for anyone here to accept"
            )
        if "toll_target_ids" in extras:
            forms.append(
                f"trade_offer(route or structure id you own, want=toll) in "
                f"[{extras['toll_target_ids']}] sets the toll others pay you (empty want: none)"
            )
        return AvailableAction(
            "TRADE_OFFER", "; or ".join(forms), DESCRIPTIONS["TRADE_OFFER"], cost, options
        )

    def teach(self, cost: float, knowledge: str) -> AvailableAction:
        key = ("crowd", "TEACH", cost, knowledge)
        entry = self.built.get(key)
        if entry is None:
            options = {**self.options, "knowledge": knowledge}
            entry = self.built[key] = AvailableAction(
                "TEACH", self.forms["TEACH"], DESCRIPTIONS["TEACH"], cost, options
            )
        return entry


def _entry(action_type: str, passing: tuple[str, ...], cost: float) -> AvailableAction:
    joined = ", ".join(
        option.lower() if option.isupper() else option for option in passing if option
    )
    form = FORMS.get(action_type, f"{action_type.lower()}()").replace("{}", joined)
    options = {"candidates": ",".join(o for o in passing if o)} if joined else {}
    return AvailableAction(action_type, form, DESCRIPTIONS.get(action_type, ""), cost, options)
