"""Available actions: the actions that would pass validation now, with exact parameter forms."""

from __future__ import annotations

from collections.abc import Callable

from engine.core.act_craft import RECIPES
from engine.core.actions import Action
from engine.core.config import SURVIVAL_ACTIONS
from engine.core.context import Phase, is_child
from engine.core.perception import AvailableAction, LocationView
from engine.core.resolve import CHILD_FORBIDDEN, HANDLERS, energy_cost
from engine.core.state import Agent

DESCRIPTIONS = {
    "NO_ACTION": "do nothing this tick", "REST": "recover energy (more in a shelter, at night)",
    "DRINK": "drink water here or from your inventory (thirst -30)",
    "EAT": "eat one unit of food you hold", "GATHER": "gather a resource found here",
    "MOVE": "travel along a route", "EXPLORE": "search the surroundings for new places",
    "PICKUP": "pick up what lies on the ground", "HEAL": "use medicine (+20 health)",
    "BUILD": "build a structure here", "REPAIR": "repair a structure here",
    "DEMOLISH": "tear down a structure and salvage 30 %", "DEPOSIT": "store goods",
    "WITHDRAW": "take goods from storage", "COMMUNICATE": "say something to one agent here",
    "BROADCAST": "post on the board here", "TRADE_OFFER": "offer a trade to an agent here",
    "TRADE_ACCEPT": "accept a trade offered to you", "TRADE_REJECT": "turn a trade down",
    "GIVE": "give goods to an agent here", "FORM_GROUP": "found a group, inviting agents here",
    "JOIN_GROUP": "join a group that invited you", "LEAVE_GROUP": "leave a group",
    "TEACH": "teach an agent here something you know", "CRAFT": "craft at a workshop",
    "COOK": "cook raw food at a campfire", "MINE": "mine ore with a tool",
    "SMELT": "smelt 2 ore + 1 wood into metal at a forge", "FARM_PLANT": "plant a seed",
    "FARM_HARVEST": "harvest a ripe crop", "CLAIM": "claim an unowned structure or this place",
    "REPRODUCE": "have a child together (both must ask within 2 ticks)",
    "MARRY": "marry (both must ask within 2 ticks)", "STEAL": "try to steal from an agent here",
    "ATTACK": "attack an agent here", "PRAY": "pray", "FREEFORM": "describe something new to do",
    "CONSPIRE": "send a secret message to several agents", "VOTE": "vote on a proposal",
    "PROPOSE": "propose an alliance, treaty, law, leader or war", "READ": "learn from a library",
    "WRITE": "write knowledge into a library", "DIVORCE": "end your marriage",
}  # fmt: skip


def available_actions(
    phase: Phase, agent: Agent, view: LocationView, pending_trades: list[str],
    proposals: list[str], invitations: list[str],
) -> tuple[AvailableAction, ...]:  # fmt: skip
    """Try each candidate against the same checks resolve uses; list those that pass."""
    state = phase.state
    others = [a.id for a in view.agents if a.id != agent.id]
    location = view.location
    candidates: dict[str, list[tuple[str, Action]]] = {}

    def add(action: Action, form: str) -> None:
        candidates.setdefault(action.type, []).append((form, action))

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
    for kind, blueprint in sorted(phase.config.structures.kinds.items()):
        # Cheap pre-filter; the rule check below stays the authority.
        if all(agent.inventory.get(r, 0) >= q for r, q in blueprint.cost.items()):
            add(Action("BUILD", structure=kind), kind)
    for structure in view.structures:
        for action_type in ("REPAIR", "FARM_PLANT", "FARM_HARVEST", "CLAIM"):
            add(Action(action_type, target_id=structure.id), structure.id)
        if phase.config.structures.kinds[structure.kind].storage and agent.inventory:
            resource = sorted(agent.inventory)[0]
            add(Action("DEPOSIT", target_id=structure.id, items=((resource, 1),)), structure.id)
        for resource in sorted(structure.storage):
            add(Action("WITHDRAW", target_id=structure.id, items=((resource, 1),)), structure.id)
    add(Action("CLAIM", target_id=location.id), location.id)
    kinds_here = {structure.kind for structure in view.structures}
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
        add(Action("FORM_GROUP", name="group", agent_ids=(first,)), "")
        if agent.inventory:
            resource = sorted(agent.inventory)[0]
            add(Action("GIVE", target_id=first, items=((resource, 1),)), "")
            add(
                Action(
                    "TRADE_OFFER", target_id=first, items=((resource, 1),), want=(("WATER", 1),)
                ),
                "",
            )
        present = set(others)
        threshold = phase.config.population.reproduce_trust
        for other_id, trust in sorted(agent.relationships.items()):
            if trust > threshold and other_id in present:
                add(Action("REPRODUCE", target_id=other_id), other_id)
        if not agent.partner_id:
            add(Action("MARRY", target_id=first), "")
    for trade_id in pending_trades:
        add(Action("TRADE_ACCEPT", target_id=trade_id), trade_id)
        add(Action("TRADE_REJECT", target_id=trade_id), trade_id)
    for proposal_id in proposals:
        add(Action("VOTE", target_id=proposal_id, flag=True), proposal_id)
    for group_id in invitations:
        add(Action("JOIN_GROUP", target_id=group_id), group_id)
    for group_id in sorted(agent.group_ids):
        add(Action("LEAVE_GROUP", target_id=group_id), group_id)
    for action_type in ("BROADCAST", "PRAY", "FREEFORM"):
        add(Action(action_type, text="..."), "")
    if agent.partner_id:
        add(Action("DIVORCE", target_id=agent.partner_id), agent.partner_id)
    return _passing(phase, agent, candidates, others)


FORMS = {
    "GATHER": "gather(resource) resource in [{}]", "EAT": "eat(food) food in [{}]",
    "COOK": "cook(food) food in [{}]", "MOVE": "move(destination_id or route_id) in [{}]",
    "PICKUP": "pickup(resource, quantity) resource in [{}]", "BUILD": "build(structure) structure in [{}]",
    "CRAFT": "craft(item) item in [{}]", "REPAIR": "repair(structure_id) in [{}]",
    "FARM_PLANT": "farm_plant(structure_id, seed food) in [{}]",
    "FARM_HARVEST": "farm_harvest(structure_id) in [{}]", "CLAIM": "claim(target_id) in [{}]",
    "DEPOSIT": "deposit(structure_id, resource, quantity) in [{}]",
    "WITHDRAW": "withdraw(structure_id, resource, quantity) in [{}]",
    "TRADE_ACCEPT": "trade_accept(trade_id) in [{}]", "TRADE_REJECT": "trade_reject(trade_id) in [{}]",
    "VOTE": "vote(proposal_id, yes) in [{}]", "JOIN_GROUP": "join_group(group_id) in [{}]",
    "LEAVE_GROUP": "leave_group(group_id) in [{}]", "REPRODUCE": "reproduce(partner_id) in [{}]",
    "MARRY": "marry(partner_id) partner in [{agents}]", "DIVORCE": "divorce(partner_id) in [{}]",
    "HEAL": "heal(target_agent_id, empty for yourself)",
    "COMMUNICATE": "communicate(target_agent_id, text<=500) target in [{agents}]",
    "ATTACK": "attack(target_agent_id) target in [{agents}]",
    "STEAL": "steal(target_agent_id, resource) target in [{agents}]",
    "GIVE": "give(target_agent_id, items) target in [{agents}]",
    "TRADE_OFFER": "trade_offer(target_agent_id, give items you hold, want items) target in [{agents}]",
    "TEACH": "teach(student_id, knowledge you know) student in [{agents}]",
    "FORM_GROUP": "form_group(name, member_ids) members in [{agents}]",
    "BROADCAST": "broadcast(text<=500)", "PRAY": "pray(text<=200, construct?)",
    "FREEFORM": "freeform(text)", "CONSPIRE": "conspire(agent_ids, text)",
    "PROPOSE": "propose(kind, agent_ids or group_id, terms)",
}  # fmt: skip


ALWAYS = frozenset({"NO_ACTION", "REST", "EXPLORE", "BROADCAST", "PRAY", "FREEFORM"})
AGENT_TARGETED = frozenset({"COMMUNICATE", "ATTACK", "FORM_GROUP", "GIVE", "TRADE_OFFER", "MARRY"})


def _vitals_gate(phase: Phase, agent: Agent, costs: dict[str, float]) -> Callable[[str], bool]:
    """The vitals step of the pipeline, evaluated once per agent (same rules as vitals_problem)."""
    energy = agent.energy
    child = is_child(phase.state, agent)
    low = phase.config.vitals.low_energy_threshold

    def allowed(action_type: str) -> bool:
        if child and action_type in CHILD_FORBIDDEN:
            return False
        if energy <= 0 and action_type not in ("REST", "NO_ACTION", "EAT", "DRINK"):
            return False
        if energy < low and action_type not in SURVIVAL_ACTIONS:
            return False
        return costs[action_type] <= energy

    return allowed


def _passing(
    phase: Phase, agent: Agent, candidates: dict[str, list[tuple[str, Action]]], others: list[str]
) -> tuple[AvailableAction, ...]:
    state = phase.state
    listed = []
    others_csv = ",".join(others)
    # Crowds: the ids stay in options; the form names how many instead of repeating them all.
    others_text = ", ".join(others) if len(others) <= 8 else f"{len(others)} agents: see options"
    costs = {action_type: energy_cost(state, agent, action_type) for action_type in candidates}
    allowed = _vitals_gate(phase, agent, costs)
    for action_type in sorted(candidates):
        if not allowed(action_type):
            continue
        passing = []
        for option, action in candidates[action_type]:
            # Candidates are built well-formed here, so only the rule check runs.
            if action_type in ALWAYS or HANDLERS[action_type].check(phase, agent, action) is None:
                passing.append(option)
        if not passing:
            continue
        joined = ", ".join(
            option.lower() if option.isupper() else option for option in passing if option
        )
        form = FORMS.get(action_type, f"{action_type.lower()}()")
        form = form.replace("{agents}", others_text).replace("{}", joined)
        options = {"candidates": ",".join(o for o in passing if o)} if joined else {}
        if action_type in AGENT_TARGETED:
            options = {"target_agent_id": others_csv}
        listed.append(
            AvailableAction(
                action_type,
                form,
                DESCRIPTIONS.get(action_type, ""),
                costs[action_type],
                options,
            )
        )
        if action_type == "ATTACK" and others:
            listed.append(
                AvailableAction(
                    "STEAL",
                    FORMS["STEAL"].replace("{agents}", others_text),
                    DESCRIPTIONS["STEAL"],
                    energy_cost(state, agent, "STEAL"),
                    {"target_agent_id": others_csv},
                )
            )
        if action_type == "COMMUNICATE" and others and len(agent.knowledge) > 4:
            listed.append(
                AvailableAction(
                    "TEACH",
                    FORMS["TEACH"].replace("{agents}", others_text),
                    DESCRIPTIONS["TEACH"],
                    energy_cost(state, agent, "TEACH"),
                    {
                        "target_agent_id": others_csv,
                        "knowledge": ",".join(sorted(agent.knowledge)),
                    },
                )
            )
    return tuple(sorted(listed, key=lambda a: a.action_type))
