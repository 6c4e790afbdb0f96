"""Available actions agree with the rules: perception's fast listing equals a plain enumeration that
runs the vitals step and every handler check on each candidate, tick after tick of a busy world.

The reference below is the straightforward way to list actions (build every candidate, validate it
as resolve would); perception decides many candidates from the conditions their checks test, and
shares work between agents at one place. Any drift between the two shows up here.
"""

from __future__ import annotations

import random

from emergence.action_words import AGENTS_HERE_TEXT, AGENTS_HERE_TOKEN, KNOWN_TOKEN
from engine.core import tick
from engine.core.act_craft import RECIPES
from engine.core.actions import Action
from engine.core.available import AGENT_TARGETED, DESCRIPTIONS, FORMS
from engine.core.context import Phase
from engine.core.events import DomainEvent
from engine.core.knowledge import seed_knowledge
from engine.core.perception import AvailableAction, Perception, location_view
from engine.core.resolve import HANDLERS, energy_cost, vitals_problem
from engine.core.state import Access, Agent, Group, Node, Structure, TradeOffer, WorldState
from tests.sim.policy import survival_action
from tests.sim.world_builder import agent_list, grant, make_world, place

NO_CHECK = frozenset({"NO_ACTION", "REST", "EXPLORE", "BROADCAST", "PRAY", "FREEFORM"})


def reference_available(state: WorldState, agent: Agent) -> tuple[AvailableAction, ...]:
    """Every candidate, each validated by the vitals step and its handler's check."""
    phase = Phase(state)
    view = location_view(state, state.locations[agent.location_id])
    location = view.location
    others = [a.id for a in view.agents if a.id != agent.id]
    candidates: dict[str, list[tuple[str, Action]]] = {}

    def add(action: Action, option: str) -> None:
        candidates.setdefault(action.type, []).append((option, action))

    for action_type in ("NO_ACTION", "REST", "DRINK", "EXPLORE"):
        add(Action(action_type), f"{action_type.lower()}()")
    for resource in sorted(agent.inventory):
        if resource in phase.config.resources.foods:
            add(Action("EAT", resource=resource), resource)
            add(Action("COOK", resource=resource), resource)
    for resource, node in sorted(location.nodes.items()):
        if node.available > 0:
            add(Action("GATHER", resource=resource), resource)
    for resource, quantity in sorted(location.ground.items()):
        add(Action("PICKUP", items=((resource, min(quantity, 5)),)), resource)
    for route in state.routes_from(location.id):
        if not route.hidden or route.id in agent.explored_route_ids:
            destination = route.other_end(location.id)
            known = destination in agent.known_location_ids
            action = Action("MOVE", target_id=destination if known else "", route_id=route.id)
            add(action, destination if known else f"route:{route.id}")
    add(Action("HEAL"), agent.id)
    for kind in sorted(phase.config.structures.kinds):
        add(Action("BUILD", structure=kind), kind)
    for structure in view.structures:
        for action_type in ("REPAIR", "DEMOLISH", "FARM_PLANT", "FARM_HARVEST", "CLAIM"):
            add(Action(action_type, target_id=structure.id), structure.id)
        if phase.config.structures.kinds[structure.kind].storage and agent.inventory:
            resource = sorted(agent.inventory)[0]
            add(Action("DEPOSIT", target_id=structure.id, items=((resource, 1),)), structure.id)
        for resource in sorted(structure.storage):
            add(Action("WITHDRAW", target_id=structure.id, items=((resource, 1),)), structure.id)
    add(Action("CLAIM", target_id=location.id), location.id)
    for route_id in state.adjacency.get(location.id, ()):
        add(Action("CLAIM", target_id=route_id), route_id)
    for route_id in state.adjacency.get(location.id, ()):
        add(Action("IMPROVE_ROUTE", target_id=route_id), route_id)
    kinds_here = {structure.kind for structure in view.structures}
    records = {k for s in view.structures if s.kind == "LIBRARY" for k in s.records}
    lasts = phase.config.knowledge.writing_lasts_ticks
    records |= {k for k, tick_ in location.writings.items() if state.tick - tick_ < lasts}
    for knowledge in sorted(records):
        add(Action("READ", knowledge=knowledge), knowledge)
    for knowledge in sorted(agent.knowledge):
        add(Action("WRITE", knowledge=knowledge), knowledge)
    for group_id in sorted(agent.group_ids):
        if "MEETING_HALL" in kinds_here:
            add(Action("LEGISLATE", target_id=group_id, text="a rule of the group"), group_id)
        add(Action("PROPOSE", kind="LAW", target_id=group_id, text="terms"), group_id)
    if others:
        add(Action("PROPOSE", kind="ALLIANCE", agent_ids=(others[0],), text="terms"), "")
        add(Action("CONSPIRE", agent_ids=(others[0],), text="a secret"), "")
    if "WORKSHOP" in kinds_here:
        for item in sorted(RECIPES):
            add(Action("CRAFT", resource=item), item)
    if "ORE" in location.nodes:
        add(Action("MINE"), "")
    if "FORGE" in kinds_here:
        add(Action("SMELT"), "")
    if others:
        first = others[0]
        add(Action("COMMUNICATE", target_id=first, text="hello"), "")
        add(Action("ATTACK", target_id=first), "")
        for group_id in sorted(agent.group_ids):
            for rule in state.groups[group_id].rules:
                add(Action("ENFORCE", target_id=first, text=rule), "")
        add(Action("FORM_GROUP", name="group", agent_ids=(first,)), "")
        for group_id in sorted(agent.group_ids):
            for other in others:
                invite = Action("FORM_GROUP", name="group", agent_ids=(other,), target_id=group_id)
                add(invite, "")
        if agent.inventory:
            resource = sorted(agent.inventory)[0]
            add(Action("GIVE", target_id=first, items=((resource, 1),)), "")
            add(
                Action(
                    "TRADE_OFFER", target_id=first, items=((resource, 1),), want=(("WATER", 1),)
                ),
                "",
            )
        threshold = phase.config.population.reproduce_trust
        for other_id, trust in sorted(agent.relationships.items()):
            if trust > threshold and other_id in others:
                add(Action("REPRODUCE", target_id=other_id), other_id)
        if not agent.partner_id:
            add(Action("MARRY", target_id=first), "")
    for trade_id, offer in sorted(state.trades.items()):
        market = state.structures.get(offer.market_id)
        at_market = market is not None and market.location_id == agent.location_id
        if offer.to_agent_id == agent.id or (at_market and offer.from_agent_id != agent.id):
            add(Action("TRADE_ACCEPT", target_id=trade_id), trade_id)
    for trade_id, offer in sorted(state.trades.items()):
        market = state.structures.get(offer.market_id)
        at_market = market is not None and market.location_id == agent.location_id
        if offer.to_agent_id == agent.id or (at_market and offer.from_agent_id != agent.id):
            add(Action("TRADE_REJECT", target_id=trade_id), trade_id)
    for trade_id, offer in sorted(state.trades.items()):
        market = state.structures.get(offer.market_id)
        at_market = market is not None and market.location_id == agent.location_id
        if at_market and offer.from_agent_id == agent.id:
            add(Action("TRADE_REJECT", target_id=trade_id), trade_id)
    for proposal_id, proposal in sorted(state.proposals.items()):
        if agent.id in proposal.agent_ids and agent.id not in proposal.votes:
            add(Action("VOTE", target_id=proposal_id, flag=True), proposal_id)
    for group_id, group in sorted(state.groups.items()):
        if agent.id in group.invited_ids:
            add(Action("JOIN_GROUP", target_id=group_id), group_id)
    for group_id in sorted(agent.group_ids):
        add(Action("LEAVE_GROUP", target_id=group_id), group_id)
    for action_type in ("BROADCAST", "PRAY", "FREEFORM"):
        add(Action(action_type, text="..."), "")
    if agent.partner_id:
        add(Action("DIVORCE", target_id=agent.partner_id), agent.partner_id)

    # trade_offer also posts standing offers at markets here and sets tolls on one's own things.
    extras = {}
    offer_check = HANDLERS["TRADE_OFFER"].check
    if agent.inventory:
        sample = ((sorted(agent.inventory)[0], 1),)
        markets = [
            s.id
            for s in view.structures
            if s.kind == "MARKET"
            and offer_check(
                phase,
                agent,
                Action("TRADE_OFFER", target_id=s.id, items=sample, want=(("WATER", 1),)),
            )
            is None
        ]
        if markets:
            extras["market_ids"] = ",".join(markets)
    owned = [route.id for route in state.routes_from(location.id)] + [
        sid for sid in location.structure_ids
        if sid in state.structures and state.structures[sid].kind != "MARKET"
    ]  # fmt: skip
    tolls = [
        t for t in owned if offer_check(phase, agent, Action("TRADE_OFFER", target_id=t)) is None
    ]
    if tolls:
        extras["toll_target_ids"] = ",".join(tolls)
    if extras and "TRADE_OFFER" not in candidates:
        candidates["TRADE_OFFER"] = []

    listed = []
    # Agent targets are never listed: a token stands for any agent here.
    others_csv = AGENTS_HERE_TOKEN
    others_text = AGENTS_HERE_TEXT
    for action_type in sorted(candidates):
        passing = [
            option
            for option, action in candidates[action_type]
            if vitals_problem(state, agent, action) is None
            and (
                action_type in NO_CHECK or HANDLERS[action_type].check(phase, agent, action) is None
            )
        ]
        cost = energy_cost(state, agent, action_type)
        if action_type == "TRADE_OFFER" and extras:
            if vitals_problem(state, agent, Action("TRADE_OFFER")) is not None:
                continue
            forms = []
            options = dict(extras)
            if passing:
                forms.append(FORMS["TRADE_OFFER"].replace("{agents}", others_text))
                options = {"target_agent_id": others_csv, **extras}
            if "market_ids" in extras:
                forms.append(
                    f"trade_offer(market_id, give, want) market in [{extras['market_ids']}] posts "
                    "a standing offer the market holds for anyone here to accept"
                )
            if "toll_target_ids" in extras:
                forms.append(
                    f"trade_offer(route or structure id you own, want=toll) in "
                    f"[{extras['toll_target_ids']}] sets the toll others pay you (empty want: none)"
                )
            listed.append(
                AvailableAction(
                    "TRADE_OFFER", "; or ".join(forms), DESCRIPTIONS["TRADE_OFFER"], cost, options
                )
            )
            continue
        if not passing:
            continue
        joined = ", ".join(o.lower() if o.isupper() else o for o in passing if o)
        form = FORMS.get(action_type, f"{action_type.lower()}()")
        form = form.replace("{agents}", others_text).replace("{}", joined)
        options = {"candidates": ",".join(o for o in passing if o)} if joined else {}
        if action_type in AGENT_TARGETED:
            options = {"target_agent_id": others_csv}
        listed.append(
            AvailableAction(action_type, form, DESCRIPTIONS.get(action_type, ""), cost, options)
        )
        extra = {"ATTACK": "STEAL", "COMMUNICATE": "TEACH"}.get(action_type)
        if extra == "TEACH" and len(agent.knowledge) <= 4:
            extra = None
        if extra:
            extra_options = {"target_agent_id": others_csv}
            if extra == "TEACH":
                extra_options["knowledge"] = KNOWN_TOKEN
            listed.append(
                AvailableAction(
                    extra,
                    FORMS[extra].replace("{agents}", others_text),
                    DESCRIPTIONS[extra],
                    energy_cost(state, agent, extra),
                    extra_options,
                )
            )
    return tuple(sorted(listed, key=lambda a: a.action_type))


def anything(perception: Perception, rng: random.Random) -> Action:
    """Survive when pressed; otherwise any listed action with random parameters from its options."""
    me = perception.self_view
    if me.thirst > 60 or me.hunger > 60 or me.energy < 25:
        return survival_action(perception, rng)
    if perception.bond_requests and rng.random() < 0.7:
        request = perception.bond_requests[0]
        return Action(request.action_type, target_id=request.from_agent_id)
    acceptable = [offer for offer in perception.trade_offers if offer.can_accept]
    if acceptable and rng.random() < 0.7:
        return Action("TRADE_ACCEPT", target_id=acceptable[0].trade_id)
    listed = {entry.action_type: entry for entry in perception.available_actions}
    if "BUILD" in listed and rng.random() < 0.5:
        buildable = listed["BUILD"].options.get("candidates", "").split(",")
        rare = [kind for kind in buildable if kind in ("MARKET", "WALL", "BRIDGE")]
        if rare:
            return Action("BUILD", structure=rng.choice(rare))
    entry = rng.choice(perception.available_actions)
    options = entry.options
    choices = [o for o in options.get("candidates", "").split(",") if o]
    targets = [o for o in options.get("target_agent_id", "").split(",") if o]
    if targets == [AGENTS_HERE_TOKEN]:
        targets = sorted(other.agent_id for other in perception.agents)
    pick = rng.choice(choices) if choices else ""
    target = rng.choice(targets) if targets else ""
    held = [resource for resource, _ in me.inventory]
    kind = entry.action_type
    if kind == "MOVE":
        if pick.startswith("route:"):
            return Action("MOVE", route_id=pick.removeprefix("route:"))
        return Action("MOVE", target_id=pick)
    if kind in ("GATHER", "EAT", "COOK", "CRAFT"):
        return Action(kind, resource=pick)
    if kind == "BUILD":
        return Action(kind, structure=pick)
    if kind == "PICKUP":
        return Action(kind, items=((pick, 1),))
    if kind in ("DEPOSIT", "WITHDRAW"):
        return Action(kind, target_id=pick, items=((rng.choice(held or ["WOOD"]), 1),))
    if kind == "TRADE_OFFER" and "toll_target_ids" in options and rng.random() < 0.5:
        toll = ((rng.choice(["WOOD", "FISH"]), 1),) if rng.random() < 0.8 else ()
        return Action(kind, target_id=rng.choice(options["toll_target_ids"].split(",")), want=toll)
    if kind == "TRADE_OFFER" and "market_ids" in options and held and rng.random() < 0.6:
        market = rng.choice(options["market_ids"].split(","))
        return Action(kind, target_id=market, items=((rng.choice(held), 1),), want=(("FISH", 1),))
    if kind in ("GIVE", "TRADE_OFFER") and held:
        want = (("WOOD", 1),) if rng.random() < 0.7 else ((rng.choice(["WATER", "FISH"]), 1),)
        return Action(kind, target_id=target, items=((rng.choice(held), 1),), want=want)
    if kind == "STEAL":
        return Action(kind, target_id=target, resource=rng.choice(["WOOD", "FISH", "WATER"]))
    if kind == "TEACH":
        known = sorted(me.knowledge) if options["knowledge"] == KNOWN_TOKEN else []
        return Action(kind, target_id=target, knowledge=rng.choice(known))
    if kind == "FORM_GROUP":
        members = tuple(rng.sample(targets, min(2, len(targets))))
        if me.group_ids and rng.random() < 0.5:
            return Action(kind, name="band", agent_ids=members, target_id=rng.choice(me.group_ids))
        return Action(kind, name="band", agent_ids=members)
    if kind == "ENFORCE":
        rule = rng.choice(me.enforceable_rules)
        return Action(kind, target_id=target, text=rule, items=(("WOOD", 1),))
    if kind in ("READ", "WRITE"):
        return Action(kind, knowledge=pick)
    if kind in ("COMMUNICATE", "ATTACK", "MARRY"):
        return Action(kind, target_id=target, text="I have no wood")
    if kind == "HEAL":
        return Action(kind)
    if kind in ("BROADCAST", "PRAY", "FREEFORM"):
        return Action(kind, text="we gather at the river")
    if kind == "VOTE":
        return Action(kind, target_id=pick, flag=rng.random() < 0.7)
    if pick:
        return Action(kind, target_id=pick)
    return Action(kind)


def _busy_world(seed: int) -> WorldState:
    """Agents who know much and hold materials, so building, claims, trade and groups happen."""
    state = make_world(agents=14, seed=seed)
    for index, agent in enumerate(agent_list(state)):
        # Some know nothing yet (not even gathering), the others up to the medieval items.
        agent.knowledge = seed_knowledge((0, 2, 3)[index % 3])
        grant(state, agent, {"WOOD": 30, "STONE": 12, "FISH": 3, "MEDICINE": 1 + index % 3})
        if index % 3 == 2:  # builders of markets, walls and bridges
            grant(state, agent, {"WOOD": 150, "STONE": 110})
            agent.knowledge |= {"territorial_claim", "currency_concept", "build_wall"}
    # Closed routes (one open to a group) exercise the ACL branches; a small place fills up.
    agents = agent_list(state)
    walkers = Group("g-walkers", "Walkers", agents[1].id, 0, {a.id for a in agents[1::4]})
    walkers.roles[agents[1].id] = "founder"
    walkers.rules.append("no member steals from another")
    state.groups[walkers.id] = walkers
    for member_id in walkers.member_ids:
        state.agents[member_id].group_ids.add(walkers.id)
    first, second = sorted(state.routes)[:2]
    state.routes[first].access.public = False
    state.routes[first].access.allowed_agent_ids.add(agents[0].id)
    state.routes[second].access.public = False
    state.routes[second].access.allowed_group_ids.add(walkers.id)
    state.locations["open_field"].capacity = 4
    return state


def compare_listings(
    state: WorldState, seed: int, ticks: int
) -> tuple[list[tuple[AvailableAction, ...]], list[DomainEvent]]:
    """Runs `ticks` ticks in which every agent tries a random listed action, asserting that each
    perception lists exactly what the reference allows; returns the listings and the events."""
    listings: list[tuple[AvailableAction, ...]] = []
    events: list[DomainEvent] = []
    for _ in range(ticks):
        tick.wake(state)
        perceptions = tick.perceive(state)
        for agent_id in sorted(perceptions):
            expected = reference_available(state, state.agents[agent_id])
            assert perceptions[agent_id].available_actions == expected, (
                f"tick {state.tick}, agent {agent_id}"
            )
            listings.append(expected)
        rng = random.Random(f"{seed}:{state.tick}")
        submissions = [
            tick.Submission(agent_id, anything(perceptions[agent_id], rng), order)
            for order, agent_id in enumerate(sorted(perceptions))
        ]
        events.extend(tick.resolve(state, submissions).events)
    return listings, events


def test_perception_lists_exactly_what_the_rules_allow_tick_after_tick() -> None:
    kinds: set[str] = set()
    built: set[str] = set()
    for seed in (3, 8):
        listings, events = compare_listings(_busy_world(seed), seed, 150)
        assert len(listings) > 300
        kinds.update(entry.action_type for listing in listings for entry in listing)
        built |= {
            str(e.details.get("kind", "")).removeprefix("STRUCTURE_KIND_")
            for e in events
            if e.type == "STRUCTURE_BUILT"
        }
    # The runs reached the interesting kinds, so the comparison covered them.
    reached = {
        "BUILD",
        "CLAIM",
        "TRADE_ACCEPT",
        "JOIN_GROUP",
        "REPAIR",
        "DEMOLISH",
        "GIVE",
        "DIVORCE",
        "PROPOSE",
        "CONSPIRE",
        "IMPROVE_ROUTE",
    }
    assert reached <= kinds, kinds
    assert {"MARKET", "WALL", "BRIDGE"} <= built, built


def _crafts_world(seed: int) -> WorldState:
    """One farmable place with plots (empty, growing, ripe), stores (tolled, crowded, private), a
    market, a workshop, a forge, a library and a damaged hut, and agents who differ in what they
    know, hold and may use."""
    state = make_world(agents=10, seed=seed)
    agents = agent_list(state)
    for agent in agents:
        place(state, agent, "open_field")
    here = "open_field"
    owner, other = agents[0].id, agents[1].id

    def put(kind: str, owner_id: str = "", **fields: object) -> Structure:
        structure = Structure(f"s-{kind.lower()}-{len(state.structures)}", kind, here, owner_id,
                              owner_id or other, 0)  # fmt: skip
        for name, value in fields.items():
            setattr(structure, name, value)
        state.structures[structure.id] = structure
        state.locations[here].structure_ids.append(structure.id)
        return structure

    put("FARM_PLOT")
    put("FARM_PLOT", crop_ripe_tick=state.tick + 3)
    put("FARM_PLOT", owner, crop_ripe_tick=1, access=Access(public=False))
    put("STORAGE_PIT", owner, storage={"FISH": 4, "WOOD": 2}, access=Access(toll={"FISH": 1}))
    put("STORAGE_PIT", storage={"STONE": 49})
    put("STORAGE_PIT", other, storage={"BERRY": 3}, access=Access(public=False))
    put("MARKET", owner, storage={"WOOD": 2})
    put("WORKSHOP", other, access=Access(public=False))
    put("FORGE")
    put("LIBRARY", records={"agriculture", "smelting", "pottery"})
    put("BASIC_HUT", owner, durability=40.0)
    state.locations[here].nodes["ORE"] = Node(3, 1, 6)  # mined out now and then
    for index, agent in enumerate(agents):
        agent.knowledge = seed_knowledge(index % 3) | {
            ("agriculture", "basic_tools", "smelting", "basic_trade", "written_language",
             "territorial_claim", "pottery", "mining")[i] for i in range(index % 8 + 1)
        }  # fmt: skip
        held = {"BERRY": index % 4, "WOOD": 3 * index, "STONE": 2 * (index % 3),
                "ORE": index % 3, "FISH": index % 2, "CLAY": 3 * (index % 2), "TOOL": index % 2}  # fmt: skip
        grant(state, agent, {resource: quantity for resource, quantity in held.items() if quantity})
        if index == 9:  # nearly full hands
            grant(state, agent, {"STONE": 140})
    state.routes[sorted(state.adjacency[here])[0]].owner_id = owner
    # Would-be parents: trust in pairs (one way only for some), a recent parent, a child.
    for index in range(0, 8, 2):
        first, second = agents[index], agents[index + 1]
        first.relationships[second.id] = 0.9
        second.relationships[first.id] = 0.9 if index % 4 == 0 else 0.2
    agents[2].last_child_tick = state.tick - 1
    # Offers addressed to agents here, to accept or turn down.
    for number, (giver, taker, want) in enumerate(((3, 4, "WOOD"), (5, 6, "BERRY"))):
        trade_id = f"t-{number}"
        state.trades[trade_id] = TradeOffer(
            trade_id, agents[giver].id, agents[taker].id, {"WOOD": 1}, {want: 1}, state.tick,
            state.tick + 50,
        )  # fmt: skip
    agents[7].generation, agents[7].born_tick = 1, state.tick - 5
    return state


def test_perception_lists_what_the_rules_allow_at_farms_stores_and_workshops() -> None:
    kinds: set[str] = set()
    for seed in (5, 6):
        listings, _ = compare_listings(_crafts_world(seed), seed, 30)
        for listing in listings:
            kinds.update(entry.action_type for entry in listing)
            kinds.update(k for entry in listing for k in entry.options if k.endswith("_ids"))
    reached = {"FARM_PLANT", "FARM_HARVEST", "WITHDRAW", "DEPOSIT", "CRAFT", "SMELT", "READ",
               "WRITE", "REPAIR", "DEMOLISH", "CLAIM", "MINE", "REPRODUCE", "TRADE_ACCEPT",
               "market_ids", "toll_target_ids"}  # fmt: skip
    assert reached <= kinds, reached - kinds
