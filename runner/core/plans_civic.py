"""Civic and cultural acts, each wanted for what it does for the agent: read and write what is
known, claim what it relies on, pick up what lies about, salvage ruins, improve the road it uses,
announce its surplus, warn friends of a thief, and leave those who wronged it."""

from __future__ import annotations

from runner.core.economy import price
from runner.core.plans_social import LAW_FOR_GRIEVANCE, seen_goods
from runner.core.situation import Candidate, Situation
from runner.core.vocabulary import RESOURCE_NAMES

# Durability below which an unowned structure is better salvaged than kept.
RUIN_PERCENT = 15


def civic(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    found.extend(_read(situation))
    found.extend(_warn(situation))
    found.extend(_break_ties(situation))
    if not situation.comfortable or situation.is_child:
        return found
    found.extend(_write(situation))
    found.extend(_claim(situation))
    found.extend(_pick_up(situation))
    found.extend(_salvage(situation))
    found.extend(_improve_road(situation))
    found.extend(_announce(situation))
    found.extend(_legislate(situation))
    found.extend(_enforce(situation))
    return found


def _read(situation: Situation) -> list[Candidate]:
    """Something written here that the agent does not know: learning it is worth a tick, more so
    for one who can read well (written language known) and for the curious."""
    unknown = [k for k in situation.options.get("READ", []) if k not in situation.knowledge]
    if not unknown:
        return []
    making = {recipe.knowledge for recipe in situation.perception.recipes}
    item = min(unknown, key=lambda k: (k in making, k))
    literate = "written_language" in situation.knowledge
    score = 0.45 + 0.35 * situation.traits.curiosity + (0.15 if literate else 0.0)
    action = situation.act("READ", knowledge=item)
    return [Candidate(score, action, f"read about {item}")]


def _write(situation: Situation) -> list[Candidate]:
    """Write down here what the agent knows and others here likely lack, so they and those who
    come later can learn it: worth more the larger the audience, the rarer the knowledge (an
    advanced craft no child is born with, something few are known to know) and the more the
    writer cares for others (cooperation) or for leaving something behind (curiosity)."""
    unwritten = situation.options.get("WRITE", [])
    if not unwritten or situation.did_lately("WRITE", 10):
        return []
    known_by = situation.memory.known_by
    audience = [other.agent_id for other in situation.others()]
    advanced = set(situation.perception.not_inherited)
    making = {recipe.knowledge for recipe in situation.perception.recipes}

    def lack(item: str) -> float:
        """Share of the people here not known to know the item (nobody here: later readers)."""
        if not audience:
            return 0.5
        return sum(1 for who in audience if item not in known_by.get(who, set())) / len(audience)

    def value(item: str) -> float:
        return lack(item) * (1.0 + 0.5 * (item in advanced) + 0.3 * (item in making))

    best = max(sorted(unwritten), key=value)
    if value(best) <= 0.0:
        return []
    traits = situation.traits
    readers = min(4, len(audience)) / 4
    score = (0.15 + 0.3 * traits.cooperation + 0.15 * traits.curiosity) * (0.6 + readers)
    score *= min(1.0, value(best))
    action = situation.act("WRITE", knowledge=best)
    return [Candidate(score, action, f"write down {best}")]


def _claim(situation: Situation) -> list[Candidate]:
    """Own an unowned structure here that the agent relies on (the less cooperative sooner)."""
    claimable = set(situation.options.get("CLAIM", []))
    if not claimable or situation.did_lately("CLAIM", 30):
        return []
    for kind in sorted(situation.structures_here):
        if kind == "CAMPFIRE":
            continue
        for structure in situation.structures_here[kind]:
            if not structure.owner_id and structure.structure_id in claimable:
                action = situation.act("CLAIM", target_id=structure.structure_id)
                score = 0.2 + 0.5 * (1 - situation.traits.cooperation)
                return [Candidate(score, action, f"claim the {kind.lower()}")]
    return []


def _pick_up(situation: Situation) -> list[Candidate]:
    lying = situation.options.get("PICKUP", [])
    if not lying or situation.carry_room < 6:
        return []
    best = max(lying, key=lambda r: (price(situation.memory, r), r))
    ground = sum(
        int(sighting.ground_quantity)
        for sighting in situation.perception.resources
        if sighting.on_ground and RESOURCE_NAMES.get(sighting.resource) == best
    )
    quantity = max(1, min(5, ground))
    action = situation.act("PICKUP", item=(best, quantity))
    return [Candidate(0.45, action, f"pick up {best.lower()}")]


def _salvage(situation: Situation) -> list[Candidate]:
    """An unowned ruin here gives back some of its materials."""
    demolishable = set(situation.options.get("DEMOLISH", []))
    for kind in sorted(situation.structures_here):
        for structure in situation.structures_here[kind]:
            ruin = structure.durability_percent < RUIN_PERCENT and not structure.owner_id
            if ruin and kind != "CAMPFIRE" and structure.structure_id in demolishable:
                action = situation.act("DEMOLISH", structure_id=structure.structure_id)
                return [Candidate(0.35, action, f"salvage the ruined {kind.lower()}")]
    return []


def _improve_road(situation: Situation) -> list[Candidate]:
    """With wood to spare, make the road home (or the way most travelled) quicker."""
    routes = situation.options.get("IMPROVE_ROUTE", [])
    if not routes or situation.did_lately("IMPROVE_ROUTE", 50):
        return []
    home = situation.memory.home_id
    place = situation.memory.places.get(situation.location_id)
    toward_home = [r for r in routes if place and place.routes.get(r, ("", 0))[0] == home]
    route = (toward_home or sorted(routes))[0]
    action = situation.act("IMPROVE_ROUTE", route_id=route)
    return [Candidate(0.2 + 0.4 * situation.traits.industriousness, action, "improve the road")]


def _announce(situation: Situation) -> list[Candidate]:
    """Nobody here to trade with: post the surplus on the board for passers-by."""
    if situation.perception.agents or situation.did_lately("BROADCAST", 60):
        return []
    spare = [(q, r) for r, q in situation.inventory.items() if q >= 10 and r not in ("WATER",)]
    if not spare:
        return []
    _, resource = max(spare)
    place = situation.memory.places.get(situation.location_id)
    text = f"{resource.lower()} to trade at {place.name if place else 'this place'}; ask for it"
    action = situation.act("BROADCAST", text=text)
    return [Candidate(0.15 + 0.3 * situation.traits.sociability, action, "announce my surplus")]


def _warn(situation: Situation) -> list[Candidate]:
    """Tell trusted friends here, privately, who wronged me lately."""
    memory = situation.memory
    recent = [c for c, when in sorted(memory.cheated_by.items()) if situation.tick - when < 30]
    if not recent or situation.did_lately("CONSPIRE", 40) or not situation.can("CONSPIRE"):
        return []
    friends = [
        other.agent_id
        for other in situation.perception.agents
        if other.trust >= 0.3 and other.agent_id not in memory.cheated_by
    ][:5]
    if not friends:
        return []
    name = memory.names.get(recent[0], "someone")
    text = f"Beware {name}: they wronged me. Do not trade with them."
    action = situation.act("CONSPIRE", agent_ids=friends, text=text)
    return [Candidate(0.3 + 0.4 * situation.traits.sociability, action, f"warn friends of {name}")]


def _break_ties(situation: Situation) -> list[Candidate]:
    """Leave a group, or a marriage, with someone who wronged me (the loyal forgive longer)."""
    memory = situation.memory
    me = situation.perception.self
    traits = situation.traits
    found: list[Candidate] = []
    if me.partner_id in memory.cheated_by and situation.can("DIVORCE"):
        action = situation.act("DIVORCE", partner_id=me.partner_id)
        found.append(
            Candidate(0.4 + 0.5 * (1 - traits.loyalty), action, "leave a partner who wronged me")
        )
    offenders = {
        group
        for other in situation.perception.agents
        if other.agent_id in memory.cheated_by
        for group in other.group_ids
    }
    for group_id in sorted(set(me.group_ids) & offenders):
        if situation.can("LEAVE_GROUP", group_id) and traits.loyalty < 0.5:
            action = situation.act("LEAVE_GROUP", group_id=group_id)
            found.append(
                Candidate(
                    0.35 + 0.4 * (1 - traits.loyalty), action, "leave a group that harbours a thief"
                )
            )
            break
    return found


def _legislate(situation: Situation) -> list[Candidate]:
    """A leader with a hall makes the rule its grievance calls for."""
    groups = situation.options.get("LEGISLATE", [])
    grievances = situation.memory.grievances
    if not groups or not grievances or situation.did_lately("LEGISLATE", 200):
        return []
    worst = max(sorted(grievances), key=lambda kind: grievances[kind])
    action = situation.act("LEGISLATE", group_id=groups[0], rule=LAW_FOR_GRIEVANCE[worst])
    return [Candidate(0.6, action, f"make a rule against {worst}")]


# How long a wrong done to the agent stays worth sanctioning (ticks), and the pause between two
# sanctions (each costs energy and sours the offender).
GRIEVANCE_TICKS = 300
SANCTION_PAUSE = 60
# Words of a rule that make it a rule against theft and violence.
_AGAINST_WRONGS = ("steal", "thief", "theft", "attack", "harm")


def _enforce(situation: Situation) -> list[Candidate]:
    """A founder or leader meets here someone who stole from or attacked it lately, and its group
    has a rule against that: it fines them under the rule (twice what such a rule asks, at most
    the goods they were seen getting). Worth more to the less cooperative and the loyal (who
    keep the group's word)."""
    rules = [
        rule
        for rule in situation.perception.self.enforceable_rules
        if any(word in rule.lower() for word in _AGAINST_WRONGS)
    ]
    targets = set(situation.agent_targets("ENFORCE"))
    if not rules or not targets or situation.did_lately("ENFORCE", SANCTION_PAUSE):
        return []
    memory = situation.memory
    offenders = [
        other
        for other in situation.others()
        if other.agent_id in targets
        and situation.tick - memory.cheated_by.get(other.agent_id, -GRIEVANCE_TICKS)
        < GRIEVANCE_TICKS
    ]
    if not offenders:
        return []
    offender = offenders[0]
    seen = [good for good, who in sorted(seen_goods(situation).items()) if offender.agent_id in who]
    fine = (seen[0] if seen else "WOOD", 2)
    action = situation.act(
        "ENFORCE", target_agent_id=offender.agent_id, rule=rules[-1], fine=[fine], exile=False
    )
    traits = situation.traits
    score = 0.4 + 0.3 * (1 - traits.cooperation) + 0.2 * traits.loyalty
    return [Candidate(score, action, f"sanction {offender.name} under our rule")]
