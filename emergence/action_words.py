"""Words about actions that engine and runners share, so perceptions need not repeat them.

A perception leaves an available action's description empty when it is the standard one below;
agent parameters hold AGENTS_HERE_TOKEN instead of ids (perception.proto says the same).
"""

from __future__ import annotations

# Any living agent at the perceiver's location but itself: those its perception lists in
# `agents`, and everyone ListAgentsHere pages through.
AGENTS_HERE_TOKEN = "@here"
AGENTS_HERE_TEXT = "any agent here"

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
