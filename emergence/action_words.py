"""Words about actions that engine and runners share, so perceptions need not repeat them.

A perception leaves an available action's description and form empty when they are the standard
ones below (the form filled from the action's options); agent parameters hold AGENTS_HERE_TOKEN
instead of ids (perception.proto says the same).
"""

from __future__ import annotations

from collections.abc import Mapping

# Any living agent at the perceiver's location but itself: those its perception lists in
# `agents`, and everyone ListAgentsHere pages through.
AGENTS_HERE_TOKEN = "@here"
AGENTS_HERE_TEXT = "any agent here"
# Any knowledge item the perceiver holds (its self view lists them): teach's knowledge option.
KNOWN_TOKEN = "@known"

# The standard description of each action type.
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
    "GIVE": "give goods to an agent here",
    "FORM_GROUP": "found a group inviting agents here, or invite them to yours",
    "JOIN_GROUP": "join a group that invited you", "LEAVE_GROUP": "leave a group",
    "TEACH": "teach an agent here something you know", "CRAFT": "craft at a workshop",
    "COOK": "cook raw food at a campfire", "MINE": "mine ore with a tool",
    "SMELT": "smelt 2 ore + 1 wood into metal at a forge", "FARM_PLANT": "plant a seed",
    "FARM_HARVEST": "harvest a ripe crop", "CLAIM": "claim an unowned structure or this place",
    "REPRODUCE": "have a child together (both must ask within 2 ticks)",
    "MARRY": "marry (both must ask within 2 ticks)", "STEAL": "try to steal from an agent here",
    "ATTACK": "attack an agent here", "PRAY": "pray", "FREEFORM": "describe something new to do",
    "CONSPIRE": "send a secret message to several agents", "VOTE": "vote on a proposal",
    "PROPOSE": "propose an alliance, treaty, law, leader or war", "READ": "learn what is written here",
    "WRITE": "write knowledge down here (a library keeps it)", "DIVORCE": "end your marriage",
    "ENFORCE": "sanction an agent here under a rule of a group you found or lead",
}  # fmt: skip


# The parameter form of each action type: "{}" takes the candidates, "{agents}" the agents here.
FORMS = {
    "GATHER": "gather(resource) resource in [{}]", "EAT": "eat(food) food in [{}]",
    "COOK": "cook(food) food in [{}]", "MOVE": "move(destination_id or route_id) in [{}]",
    "PICKUP": "pickup(resource, quantity) resource in [{}]", "BUILD": "build(structure) structure in [{}]",
    "CRAFT": "craft(item) item in [{}]", "REPAIR": "repair(structure_id) in [{}]",
    "DEMOLISH": "demolish(structure_id) in [{}]",
    "IMPROVE_ROUTE": "improve_route(route_id) in [{}]", "WRITE": "write(knowledge) in [{}]",
    "READ": "read(knowledge) in [{}]", "LEGISLATE": "legislate(group_id, rule) in [{}]",
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
    "FORM_GROUP": "form_group(name, member_ids, group_id to invite to yours) members in [{agents}]",
    "BROADCAST": "broadcast(text<=500)", "PRAY": "pray(text<=200, construct?)",
    "FREEFORM": "freeform(text)", "CONSPIRE": "conspire(agent_ids, text)",
    "PROPOSE": "propose(kind, agent_ids or group_id, terms)",
    "ENFORCE": "enforce(target_agent_id, rule of yours quoted exactly, fine items, exile) target in [{agents}]",
}  # fmt: skip


def standard_form(action_type: str, options: Mapping[str, str]) -> str:
    """The form an available action has when built from its options alone (the usual case)."""
    form = FORMS.get(action_type, f"{action_type.lower()}()")
    if options.get("target_agent_id") == AGENTS_HERE_TOKEN:
        form = form.replace("{agents}", AGENTS_HERE_TEXT)
    candidates = options.get("candidates", "")
    joined = ", ".join(o.lower() if o.isupper() else o for o in candidates.split(",") if o)
    return form.replace("{}", joined)
