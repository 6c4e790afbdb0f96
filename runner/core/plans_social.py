"""Social plans: trade at fair ratios, give, talk, teach, court and raise a family, groups, votes."""

from __future__ import annotations

from collections import Counter

from emergence.v1 import action_pb2, common_pb2, perception_pb2
from runner.core import economy
from runner.core.plans_place import place_value
from runner.core.plans_survival import food_target
from runner.core.situation import Candidate, Situation
from runner.core.vocabulary import FOODS, RESOURCE_NAMES

RESERVE = {"WATER": 2}
# Below this value (plans_place.place_value) a place is too crowded to raise another child in.
CROWDED_VALUE = 2.0
# Asking for a good whose offers went untaken this often is not worth the breath.
HOPELESS_LUCK = 0.2
FOOD_RESERVE = 3
# Once this many people are known to know something, a teacher takes it for common knowledge.
COMMON_KNOWLEDGE_KNOWERS = 2
# Refusals by adults within this many ticks after which a teacher offers only to children.
ADULT_REFUSAL_WINDOW = 200
ADULT_REFUSALS_TOLERATED = 2


def social(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    found.extend(answer_offers(situation))
    found.extend(answer_bonds(situation))
    found.extend(_votes(situation))
    found.extend(_invitations(situation))
    if not situation.comfortable or not situation.others():
        return found
    found.extend(_offer_trade(situation))
    found.extend(_give(situation))
    found.extend(_talk(situation))
    found.extend(_teach(situation))
    found.extend(_court(situation))
    found.extend(_form_group(situation))
    found.extend(_invite(situation))
    found.extend(_govern(situation))
    return found


# A source showing at least this much (perception amount words: 1 scarce, 2 limited, ...) makes
# its good free here: anyone present can have it for the gathering. A good whose source here is
# nearly gathered out is dear even at its source.
FREE_AMOUNT_RANK = 2


def free_here(situation: Situation) -> set[str]:
    """Goods anyone here can gather for themselves now: worth nothing here in trade."""
    return {name for name, rank in situation.here_resources.items() if rank >= FREE_AMOUNT_RANK}


def worth(situation: Situation, items: list[tuple[str, int]]) -> float:
    """What the goods are worth to this agent here (learnt prices; free goods here count little)."""
    return economy.worth(situation.memory, items, free_here(situation))


def _amounts(values: object) -> list[tuple[str, int]]:
    return [(RESOURCE_NAMES.get(a.resource, "?"), int(a.quantity)) for a in values]  # type: ignore[attr-defined]


def can_spare(situation: Situation, items: list[tuple[str, int]]) -> bool:
    """Giving these away still leaves the agent its water and food reserve."""
    after = dict(situation.inventory)
    for resource, quantity in items:
        after[resource] = after.get(resource, 0) - quantity
        if after[resource] < 0:
            return False
    food_after = sum(after.get(food, 0) for food in FOODS)
    return after.get("WATER", 0) >= RESERVE["WATER"] - 1 and food_after >= FOOD_RESERVE - 1


def trusted(situation: Situation, agent_id: str) -> bool:
    return agent_id not in situation.memory.cheated_by


def trust_of(situation: Situation, agent_id: str) -> float:
    for other in situation.perception.agents:
        if other.agent_id == agent_id:
            return float(other.trust)
    return 0.0


def answer_offers(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    cooperation = situation.traits.cooperation
    for offer in situation.perception.trade_offers:
        if not offer.can_accept or not situation.can("TRADE_ACCEPT", offer.trade_id):
            continue
        given, wanted = _amounts(offer.give), _amounts(offer.want)
        # Cooperative agents accept a slightly worse deal; nobody accepts from a known cheat.
        fair = worth(situation, given) >= worth(situation, wanted) * (0.85 - 0.35 * cooperation)
        if fair and trusted(situation, offer.from_agent_id) and can_spare(situation, wanted):
            action = situation.act("TRADE_ACCEPT", trade_id=offer.trade_id)
            # Answering costs no energy and the offer expires soon: answer before most chores.
            score = 1.3 + 0.4 * cooperation
            found.append(Candidate(score, action, f"fair offer from {offer.from_name}"))
        elif situation.can("TRADE_REJECT", offer.trade_id):
            action = situation.act("TRADE_REJECT", trade_id=offer.trade_id)
            found.append(Candidate(0.15, action, f"unfair offer from {offer.from_name}"))
    return found


def answer_bonds(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    for request in situation.perception.bond_requests:
        trust = trust_of(situation, request.from_agent_id)
        kind = "REPRODUCE" if request.action_type == action_pb2.ACTION_TYPE_REPRODUCE else "MARRY"
        if request.action_type not in (
            action_pb2.ACTION_TYPE_REPRODUCE,
            action_pb2.ACTION_TYPE_MARRY,
        ) or not trusted(situation, request.from_agent_id):
            continue
        terms = situation.perception.life_terms
        if kind == "REPRODUCE" and not (
            trust > terms.reproduce_trust
            and situation.health > terms.reproduce_health + 5
            and terms.ticks_until_child_allowed == 0
            and provided_for(situation)
        ):
            continue
        if kind == "MARRY" and (trust < 0.4 or situation.perception.self.partner_id):
            continue
        field = "partner_id"
        action = situation.act(kind, **{field: request.from_agent_id})
        found.append(Candidate(1.5, action, f"{request.from_name} asked to {kind.lower()}"))
    return found


# What a member would want a rule against, by the wrong it suffered, and the words of that rule.
LAW_FOR_GRIEVANCE = {
    "theft": "no member steals from another; a thief repays twice what was taken",
    "hunger": "members share water and food with members who go hungry",
    "danger": "the strong among us guard the stores and the camp",
}


def _govern(situation: Situation) -> list[Candidate]:
    """A member who suffered a wrong proposes a rule against it to its group, once in a while."""
    groups = sorted(situation.perception.self.group_ids)
    if not groups or not situation.can("PROPOSE") or situation.did_lately("PROPOSE", 150):
        return []
    grievances = dict(situation.memory.grievances)
    if situation.memory.danger.get(situation.location_id, 0.0) >= 1.0:
        grievances["danger"] = grievances.get("danger", 0) + 1
    if not grievances:
        return []
    worst = max(sorted(grievances), key=lambda kind: grievances[kind])
    traits = situation.traits
    urge = 0.15 * grievances[worst] * (0.5 + traits.sociability) * (0.5 + traits.cooperation)
    if urge < 0.3:
        return []
    action = situation.act(
        "PROPOSE", kind="LAW", group_id=groups[0], terms=LAW_FOR_GRIEVANCE[worst]
    )
    return [Candidate(min(1.0, 0.3 + urge), action, f"propose a rule against {worst}")]


def proposal_interest(situation: Situation, terms: str) -> float:
    """How a proposal's terms touch this agent (−1 hurts .. +1 helps), read from its words:
    sharing costs those who hold much and helps those who hold little; a rule against theft
    costs those inclined to steal; taxes and fines cost everyone who holds goods."""
    words = terms.lower()
    traits = situation.traits
    held = situation.food_held + situation.water_held
    interest = 0.0
    if "share" in words or "give" in words:
        interest += 0.6 if held < 6 else -0.5 * min(1.0, held / 20)
    if "steal" in words or "thief" in words:
        interest += 0.5 * (
            traits.honesty - traits.aggression
        ) + 0.2 * situation.memory.grievances.get("theft", 0)
    if "tax" in words or "fine" in words or "pay" in words:
        interest -= 0.4 + 0.3 * (1 - traits.cooperation)
    if "guard" in words:
        interest += 0.3 * situation.memory.danger.get(situation.location_id, 0.0) - 0.2 * (
            1 - traits.loyalty
        )
    return max(-1.0, min(1.0, interest))


def _votes(situation: Situation) -> list[Candidate]:
    """Vote by own interest and trust in the proposer: a rule that hurts me gets a no unless I
    trust its author a good deal."""
    found = []
    for proposal in situation.perception.proposals:
        if not situation.can("VOTE", proposal.proposal_id):
            continue
        trust = trust_of(situation, proposal.proposer_id)
        if not trusted(situation, proposal.proposer_id):
            trust -= 0.5
        leaning = (
            proposal_interest(situation, proposal.terms)
            + 0.5 * trust
            + 0.2 * situation.traits.cooperation
            - 0.1
        )
        action = situation.act("VOTE", proposal_id=proposal.proposal_id, yes=leaning > 0)
        found.append(Candidate(0.7, action, f"vote on {proposal.proposer_name}'s proposal"))
    return found


def _invitations(situation: Situation) -> list[Candidate]:
    found = []
    loyalty = situation.traits.loyalty
    for invitation in situation.perception.group_invitations:
        if situation.perception.self.group_ids and loyalty > 0.6:
            continue  # the loyal stay with the group they have
        if not trusted(situation, invitation.founder_id):
            continue
        if situation.can("JOIN_GROUP", invitation.group_id):
            action = situation.act("JOIN_GROUP", group_id=invitation.group_id)
            found.append(Candidate(0.8 + 0.3 * loyalty, action, f"join {invitation.group_name}"))
    return found


def partner_choice(situation: Situation) -> perception_pb2.AgentSighting | None:
    """Whom to befriend: a known partner, else the most trusted adult here who never cheated."""
    if "partner" not in situation.cache:
        situation.cache["partner"] = _partner_choice(situation)
    return situation.cache["partner"]  # type: ignore[return-value]


def _partner_choice(situation: Situation) -> perception_pb2.AgentSighting | None:
    me = situation.perception.self
    adults = [
        other
        for other in situation.others()
        if other.life_stage != 1 and trusted(situation, other.agent_id) and not other.is_kin
    ]
    if not adults:
        return None
    for other in adults:
        if other.agent_id == me.partner_id:
            return other
    return max(adults, key=lambda other: (other.trust, other.agent_id))


def _surplus(situation: Situation) -> tuple[str, int] | None:
    """The good the agent holds beyond its own needs that is worth most here. What people here
    can gather for themselves is worth nothing to them in trade: it is not offered."""
    free = free_here(situation)
    spare = []
    for resource, quantity in sorted(situation.inventory.items()):
        keep = RESERVE.get(resource, 0) + (2 if resource in FOODS else 0)
        if resource in ("TOOL", "MEDICINE") or resource in free:
            continue
        if quantity - keep >= 1:
            value = (quantity - keep) * economy.price(situation.memory, resource)
            spare.append((value, quantity - keep, resource))
    if not spare:
        return None
    _, amount, resource = max(spare)
    return resource, min(4, amount)


def _wanted(situation: Situation, giving: str) -> str:
    """What is dearest to the agent now: what it lacks for its needs and plans, weighed by the
    price it has learnt and how often asking for it was answered; never what it could gather here
    itself (that is worth nothing in trade here)."""
    free = free_here(situation)
    need: dict[str, float] = {}
    if situation.water_held < 4:
        need["WATER"] = 1.0
    # Food is wanted up to what the agent means to hold through the coming seasons.
    target = food_target(situation)
    food_gap = max(0, target - situation.food_held) / target
    for food in FOODS:
        need[food] = food_gap * situation.food_value(food) / 20
    goal = next((g.text for g in situation.memory.goals if g.text.startswith("build ")), "")
    recipe = situation.recipe(goal.removeprefix("build ").upper().replace(" ", "_"), "BUILD")
    for amount in recipe.inputs if recipe else ():
        name = RESOURCE_NAMES.get(amount.resource, "?")
        if situation.inventory.get(name, 0) < amount.quantity:
            need[name] = need.get(name, 0.0) + 0.6
    # What the agent knows how to make needs its inputs; a tool makes every gathering pay more.
    for craft in situation.recipes_of("CRAFT"):
        for amount in craft.inputs:
            name = RESOURCE_NAMES.get(amount.resource, "?")
            if situation.inventory.get(name, 0) < amount.quantity:
                need[name] = need.get(name, 0.0) + 0.3
    if not (situation.inventory.get("TOOL") or situation.inventory.get("ADVANCED_TOOL")):
        need["TOOL"] = need.get("TOOL", 0.0) + 0.5
    memory = situation.memory
    # Only goods someone here is believed to hold (seen getting them, here or where they came
    # from) are asked for; how often asking is answered is learnt (trade_luck).
    held = held_here(situation)
    # Someone seen getting the good right now is fresh evidence that outweighs past refusals.
    fresh = seen_goods(situation)
    choices = [
        (value * economy.price(memory, resource) * economy.trade_luck(memory, resource), resource)
        for resource, value in need.items()
        if resource != giving
        and value > 0
        and resource not in free
        and resource in held
        and (resource in fresh or economy.trade_luck(memory, resource) >= HOPELESS_LUCK)
    ]
    return max(choices)[1] if choices else ""


# Someone seen getting a good this recently (here or elsewhere) likely still holds some.
HELD_TICKS = 150


def seen_goods(situation: Situation) -> dict[str, list[str]]:
    """Goods the agents here were last seen getting ("gathered 4 fish"): who likely holds what."""
    seen: dict[str, list[str]] = {}
    for other in situation.perception.agents:
        name = economy.good_got(other.last_activity)
        if name:
            seen.setdefault(name, []).append(other.agent_id)
    return seen


def held_here(situation: Situation) -> dict[str, list[str]]:
    """Who here likely holds what: what each was seen getting now, or lately wherever the agent
    saw them (goods carried from the place they come from)."""
    cached = situation.cache.get("held")
    if cached is not None:
        return cached  # type: ignore[return-value]
    held = seen_goods(situation)
    remembered = situation.memory.goods_seen
    for other in situation.others():
        good, tick = remembered.get(other.agent_id, ("", -HELD_TICKS))
        if good and situation.tick - tick < HELD_TICKS and other.agent_id not in held.get(good, ()):
            held.setdefault(good, []).append(other.agent_id)
    situation.cache["held"] = held
    return held


def _offer_trade(situation: Situation) -> list[Candidate]:
    targets = situation.agent_targets("TRADE_OFFER")
    if not targets or situation.did_lately("TRADE_OFFER", 3):
        return []
    surplus = _surplus(situation)
    if surplus is None:
        return []
    giving, quantity = surplus
    wanted = _wanted(situation, giving)
    if not wanted:
        return []
    memory = situation.memory
    # Ask what the goods are worth by the prices the agent has learnt, never more.
    value = economy.price(memory, giving) * quantity
    want_quantity = max(1, int(value / economy.price(memory, wanted)))
    # The partner: someone seen getting the good, else anyone here; the most trusted first.
    trust = {other.agent_id: other.trust for other in situation.perception.agents}
    holders = set(held_here(situation).get(wanted, ()))
    choices = [t for t in targets if trusted(situation, t) and (not holders or t in holders)]
    if not choices:
        return []
    target = max(choices, key=lambda t: (trust.get(t, 0.0) + 0.3 * situation.rng.random(), t))
    action = situation.act(
        "TRADE_OFFER",
        target_agent_id=target,
        give=[(giving, quantity)],
        want=[(wanted, want_quantity)],
    )
    score = 0.45 + 0.6 * situation.traits.cooperation
    return [Candidate(score, action, f"trade {quantity} {giving} for {want_quantity} {wanted}")]


def _give(situation: Situation) -> list[Candidate]:
    targets = set(situation.agent_targets("GIVE"))
    if not targets:
        return []
    cooperation = situation.traits.cooperation
    food = max(FOODS, key=lambda f: situation.inventory.get(f, 0))
    if situation.inventory.get(food, 0) < 5:
        return []
    for other in situation.others():
        if other.agent_id not in targets:
            continue
        owed = situation.memory.favours_owed.get(other.agent_id, 0) > 0
        needy_kin = other.is_kin and other.life_stage == 1 and not situation.did_lately("GIVE", 10)
        if owed or needy_kin or (other.is_partner and situation.rng.random() < 0.2):
            action = situation.act("GIVE", target_agent_id=other.agent_id, items=[(food, 2)])
            why = "return a favour" if owed else "provide for family"
            return [Candidate(0.45 + 0.5 * cooperation, action, f"{why}: {other.name}")]
    return []


def _talk(situation: Situation) -> list[Candidate]:
    targets = situation.agent_targets("COMMUNICATE")
    partner = partner_choice(situation)
    if not targets or partner is None or partner.agent_id not in targets:
        return []
    if partner.trust > 0.85:
        return []
    place = situation.memory.places.get(situation.location_id)
    best = max(situation.here_resources.items(), key=lambda item: (item[1], item[0]), default=None)
    if place and best:
        text = f"Good to see you, {partner.name}. There is {best[0].lower()} here at {place.name}."
    else:
        text = f"Good to see you, {partner.name}. Shall we look out for each other?"
    action = situation.act("COMMUNICATE", target_agent_id=partner.agent_id, text=text)
    score = 0.2 + 0.45 * situation.traits.sociability + 0.15 * situation.traits.cooperation
    return [Candidate(score, action, f"befriend {partner.name}")]


def _teach(situation: Situation) -> list[Candidate]:
    students = situation.agent_targets("TEACH")
    if not students or situation.traits.cooperation < 0.3 or situation.energy < 45:
        return []
    if situation.did_lately("TEACH", 6):
        return []
    known_by = situation.memory.known_by
    # What I can teach, likeliest lacking first: what I learnt in my life (everyone is born
    # with the rest), then what lets the learner make something, then the rest.
    untaught = set(situation.perception.not_teachable)
    making = {recipe.knowledge for recipe in situation.perception.recipes}
    learnt = situation.memory.learnt
    mine = sorted(
        (item for item in situation.knowledge if item not in untaught),
        key=lambda item: (item not in learnt, item not in making, item),
    )
    # What several people are known to know (they refused it, or were seen being taught it) is
    # common knowledge among adults: not offered to them. Each refusal costs a turn's energy.
    knowers = Counter(item for items in known_by.values() for item in items)
    common = {item for item, count in knowers.items() if count >= COMMON_KNOWLEDGE_KNOWERS}
    young = {
        other.agent_id
        for other in situation.perception.agents
        if other.life_stage == common_pb2.LIFE_STAGE_CHILD
    }
    # Adults who keep saying "I know that already" make a teacher wary of offering again soon.
    refusals = sum(
        1
        for key, tick in situation.memory.failed.items()
        if key.startswith("TEACH:") and situation.tick - tick < ADULT_REFUSAL_WINDOW
    )
    wary = refusals >= ADULT_REFUSALS_TOLERATED
    # A child was born knowing what both parents knew, except the advanced crafts: offer those.
    not_inherited = set(situation.perception.not_inherited)
    for_children = [item for item in mine if item in not_inherited]
    # Those I trust most first: a lesson is a tick given, and it binds the two.
    trust = {other.agent_id: other.trust for other in situation.perception.agents}
    for student in sorted(students, key=lambda s: (-trust.get(s, 0.0), s)):
        child = student in young
        refused_at = situation.memory.failed.get(f"TEACH:{student}", -100)
        # A student who already knew what was offered probably knows the basics: wait a while.
        if not trusted(situation, student) or situation.tick - refused_at < 40:
            continue
        if wary and not child:
            continue
        for item in for_children if child else mine:
            if item in known_by.get(student, set()) or (item in common and not child):
                continue
            action = situation.act("TEACH", student_id=student, knowledge=item)
            score = 0.3 + 0.6 * situation.traits.cooperation
            return [Candidate(score, action, f"teach {item.replace('_', ' ')}")]
    return []


def provided_for(situation: Situation) -> bool:
    """Enough food put by to feed a child too, through what the coming ticks and seasons are
    expected to fall short of (plans_survival.food_target, from what this agent has seen of the
    seasons): each child, the new one included, is half fed by the other parent."""
    # Every child already here to feed raises what must be put by; a place that cannot feed
    # those already in it cannot feed one more.
    children = sum(
        1
        for other in situation.perception.agents
        if other.is_kin and other.life_stage == common_pb2.LIFE_STAGE_CHILD
    )
    here = situation.memory.places.get(situation.location_id)
    crowd = len(situation.perception.agents)
    if here is not None and place_value(here, crowd, 0.0) < CROWDED_VALUE:
        return False
    return situation.food_held >= food_target(situation, mouths=1 + (children + 1) / 2)


def _court(situation: Situation) -> list[Candidate]:
    found: list[Candidate] = []
    partner = partner_choice(situation)
    if partner is None or situation.is_child:
        return found
    terms = situation.perception.life_terms
    # Chosen from what the agent knows: its own trust in the partner (which the partner's,
    # built by the same shared acts, tends to match), its own health, and its stores.
    ready = (
        partner.trust > terms.reproduce_trust
        and situation.health > terms.reproduce_health + 10
        and terms.ticks_until_child_allowed == 0
        and partner.life_stage != common_pb2.LIFE_STAGE_CHILD
        and provided_for(situation)
        and "REPRODUCE" in situation.available
    )
    if ready and not situation.failed_recently("REPRODUCE", partner.agent_id):
        action = situation.act("REPRODUCE", partner_id=partner.agent_id)
        score = 0.7 + 0.5 * situation.traits.sociability
        found.append(Candidate(score, action, f"raise a family with {partner.name}"))
    me = situation.perception.self
    # A refusal ("already married") stands: never ask the same person twice.
    refused = f"MARRY:{partner.agent_id}" in situation.memory.failed
    if not me.partner_id and partner.trust > 0.6 and "MARRY" in situation.available and not refused:
        action = situation.act("MARRY", partner_id=partner.agent_id)
        found.append(Candidate(0.6 + 0.3 * situation.traits.loyalty, action, "marry"))
    return found


def _form_group(situation: Situation) -> list[Candidate]:
    me = situation.perception.self
    targets = situation.agent_targets("FORM_GROUP")
    if me.group_ids or not targets or situation.failed_recently("FORM_GROUP"):
        return []
    friends = [
        other.agent_id
        for other in situation.others()
        if other.agent_id in targets and other.trust >= 0.25 and trusted(situation, other.agent_id)
    ]
    if not friends:
        return []
    place = situation.memory.places.get(situation.location_id)
    name = f"{place.name if place else 'Wanderer'} {situation.rng.choice(GROUP_WORDS)}"
    action = situation.act("FORM_GROUP", name=name, member_ids=friends)
    return [Candidate(0.3 + 0.6 * situation.traits.sociability, action, f"found {name}")]


# Trust in someone here at which a member vouches for them to its group: a friend (the
# perception's own word for trust >= 0.4), more than founding asks of the first members.
INVITE_TRUST = 0.4
# Ticks a member waits before inviting again (an invitation stands until answered).
INVITE_PAUSE = 40


def _invite(situation: Situation) -> list[Candidate]:
    """A member asks the trusted people here who are not yet in its group to join: a bigger group
    shares more stores, guards more and trades on trust, so the sociable and loyal ask sooner;
    who is asked is limited by trust alone."""
    me = situation.perception.self
    targets = situation.agent_targets("FORM_GROUP")
    if not me.group_ids or not targets or situation.did_lately("FORM_GROUP", INVITE_PAUSE):
        return []
    group_id = sorted(me.group_ids)[0]
    if situation.failed_recently("FORM_GROUP", group_id):
        return []
    asked = [
        other.agent_id
        for other in situation.others()
        if other.agent_id in targets
        and group_id not in other.group_ids
        and other.trust >= INVITE_TRUST
        and trusted(situation, other.agent_id)
        and other.life_stage != common_pb2.LIFE_STAGE_CHILD
    ]
    if not asked:
        return []
    names = dict(zip(me.group_ids, me.group_names, strict=False))
    name = names.get(group_id, "our group")
    action = situation.act("FORM_GROUP", name=name, member_ids=asked, group_id=group_id)
    traits = situation.traits
    score = 0.2 + 0.35 * traits.sociability + 0.25 * traits.loyalty
    return [Candidate(score, action, f"invite {len(asked)} to {name}")]


GROUP_WORDS = ("Kin", "Circle", "Band", "Folk", "Hearth", "Clan")
