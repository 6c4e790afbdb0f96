"""Bonds, conflict and governance: reproduce, marry, divorce, steal, attack, propose, vote,
legislate, enforce; and freeform acts mapped to mechanics or recorded as culture."""

from __future__ import annotations

from engine.core.actions import Action, Rejection, describe_items, items_dict, reject
from engine.core.context import (
    Phase,
    add_xp,
    agents_here,
    change_reputation,
    change_trust,
    is_child,
    skill_level,
    structures_here,
)
from engine.core.knowledge import ADVANCED_ITEMS, EXPERIENCE_ITEMS
from engine.core.rules import Done, Handler, declined, need_knowledge, target_here
from engine.core.state import TRAITS, Agent, Alliance, Proposal
from engine.core.world import born_event, create_agent


def _bond_problem(phase: Phase, agent: Agent, action: Action, role: str) -> Rejection | None:
    return target_here(phase.state, agent, action.target_id, role)


def check_reproduce(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """What the asker can know: the partner is here and grown (anyone sees a child), their own
    wait since a birth, the population cap, their own trust. The partner's side is consent."""
    state, population = phase.state, phase.config.population
    problem = _bond_problem(phase, agent, action, "partner")
    if problem:
        return problem
    partner = state.agents[action.target_id]
    if is_child(state, partner):
        return reject("INVALID_TARGET", f"{partner.name} is a child")
    waited = state.tick - agent.last_child_tick
    if waited < population.birth_interval_ticks:
        return reject(
            "UNAVAILABLE_TARGET",
            f"you had a child {waited} ticks ago; "
            f"wait {population.birth_interval_ticks - waited} more",
        )
    if state.population >= population.cap:
        return reject("UNAVAILABLE_TARGET", f"the population cap of {population.cap} is reached")
    mine = agent.relationships.get(partner.id, 0.0)
    if mine <= population.reproduce_trust:
        return reject(
            "PERMISSION_DENIED",
            f"reproduction needs trust above {population.reproduce_trust} both ways; "
            f"yours in {partner.name} is {mine:.2f}",
            trust=f"{mine:.2f}",
            needed=population.reproduce_trust,
        )
    return None


def consent_reproduce(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """The partner's health, their wait since a birth and their trust in the asker."""
    state, population = phase.state, phase.config.population
    partner = state.agents[action.target_id]
    if (
        partner.health <= population.reproduce_health
        or state.tick - partner.last_child_tick < population.birth_interval_ticks
        or partner.relationships.get(agent.id, 0.0) <= population.reproduce_trust
    ):
        return declined(partner)
    return None


def _pending(phase: Phase, kind: str, asker: str, asked: str) -> bool:
    expires = phase.state.bond_requests.get((kind, asker, asked))
    return expires is not None and expires >= phase.state.tick


def _ask(phase: Phase, kind: str, agent: Agent, partner: Agent) -> Done:
    expires = phase.state.tick + phase.config.actions.bond_request_ttl_ticks
    phase.state.bond_requests[(kind, agent.id, partner.id)] = expires
    partner.notifications.append(f"{agent.name} asks you to {kind.lower()}")
    return Done(f"asked {partner.name} to {kind.lower()}; they must agree within 2 ticks")


def do_reproduce(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    partner = state.agents[action.target_id]
    if not _pending(phase, "REPRODUCE", partner.id, agent.id):
        return _ask(phase, "REPRODUCE", agent, partner)
    del state.bond_requests[("REPRODUCE", partner.id, agent.id)]
    rng = phase.rng(f"birth:{agent.id}")
    mutation = phase.config.population.mutation
    personality = {
        trait: round(
            min(1.0, max(0.0, (agent.personality[trait] + partner.personality[trait]) / 2
                         + rng.uniform(-mutation, mutation))), 3)
        for trait in TRAITS
    }  # fmt: skip
    shared = (agent.knowledge & partner.knowledge) - ADVANCED_ITEMS - EXPERIENCE_ITEMS
    child = create_agent(
        state, rng, agent.location_id,
        generation=max(agent.generation, partner.generation) + 1,
        parents=tuple(sorted((agent.id, partner.id))),
        personality=personality, knowledge=shared,
    )  # fmt: skip
    child.known_location_ids |= agent.known_location_ids & partner.known_location_ids
    phase.occupancy_counts = None  # one more here; count afresh if a move asks
    for parent in (agent, partner):
        parent.last_child_tick = state.tick
        child.relationships[parent.id] = 0.8
        parent.relationships[child.id] = 0.8
    phase.events.append(born_event(state, child, "birth"))
    phase.emit(
        "BOND_FORMED", agent.id, agent.location_id, "bond",
        {"partner_id": partner.id, "kind": "reproduction", "child_id": child.id},
    )  # fmt: skip
    partner.notifications.append(f"your child {child.name} was born")
    return Done(f"had a child with {partner.name}: {child.name} [{child.id}]")


def check_marry(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    problem = _bond_problem(phase, agent, action, "partner")
    if problem:
        return problem
    if agent.partner_id:
        return reject("UNAVAILABLE_TARGET", "you are already married; divorce first")
    return None


def consent_marry(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """Whether the partner is married is theirs to tell."""
    partner = phase.state.agents[action.target_id]
    return declined(partner) if partner.partner_id else None


def do_marry(phase: Phase, agent: Agent, action: Action) -> Done:
    partner = phase.state.agents[action.target_id]
    if not _pending(phase, "MARRY", partner.id, agent.id):
        return _ask(phase, "MARRY", agent, partner)
    del phase.state.bond_requests[("MARRY", partner.id, agent.id)]
    agent.partner_id, partner.partner_id = partner.id, agent.id
    change_trust(phase, agent, partner.id, phase.config.trust.marriage, "married")
    change_trust(phase, partner, agent.id, phase.config.trust.marriage, "married")
    phase.emit(
        "BOND_FORMED", agent.id, agent.location_id, "bond",
        {"partner_id": partner.id, "kind": "marriage"},
    )  # fmt: skip
    return Done(f"married {partner.name}")


def check_divorce(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if not agent.partner_id or agent.partner_id != action.target_id:
        return reject("INVALID_TARGET", "you are not married to that agent")
    return None


def do_divorce(phase: Phase, agent: Agent, action: Action) -> Done:
    partner = phase.state.agents[action.target_id]
    agent.partner_id, partner.partner_id = "", ""
    partner.notifications.append(f"{agent.name} divorced you")
    phase.emit(
        "BOND_BROKEN", agent.id, agent.location_id, "bond",
        {"partner_id": partner.id, "kind": "marriage"},
    )  # fmt: skip
    return Done(f"divorced {partner.name}")


def check_steal(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    """Only the victim's presence: what they carry is found out by trying (see do_steal)."""
    return target_here(phase.state, agent, action.target_id, "victim")


def do_steal(phase: Phase, agent: Agent, action: Action) -> Done:
    """Stealth (risk tolerance, night) against the victim's alertness (curiosity, energy)."""
    state, config = phase.state, phase.config
    victim = state.agents[action.target_id]
    stealth = config.actions.steal_base_success + 0.2 * agent.personality["risk_tolerance"]
    alertness = 0.2 * victim.personality["curiosity"] + (0.1 if victim.energy > 50 else 0.0)
    if state.is_night:
        stealth += 0.15
    success = phase.rng(f"steal:{agent.id}").random() < stealth - alertness
    details = {"victim_id": victim.id, "resource": f"RESOURCE_{action.resource}"}
    if success and victim.holds(action.resource) <= 0:
        return Done(f"searched {victim.name} unseen but found no {action.resource.lower()}")
    if success:
        quantity = min(config.actions.steal_max_quantity, victim.holds(action.resource))
        phase.book.transfer(victim, agent, action.resource, quantity, "theft")
        victim.notifications.append(f"someone stole {quantity} {action.resource.lower()} from you")
        phase.emit(
            "THEFT_OCCURRED",
            agent.id,
            agent.location_id,
            "theft",
            {**details, "quantity": quantity},
        )
        return Done(
            f"stole {quantity} {action.resource.lower()} from {victim.name}",
            gained={action.resource: quantity},
        )
    change_trust(phase, victim, agent.id, config.trust.theft_victim, "theft attempt")
    for witness in agents_here(state, agent.location_id, exclude=agent.id):
        if witness.id != victim.id:
            change_trust(phase, witness, agent.id, config.trust.theft_witness, "saw a theft")
    change_reputation(phase, agent, config.trust.reputation_theft, "caught stealing")
    victim.notifications.append(f"{agent.name} tried to steal from you")
    break_alliances(phase, agent, victim, "was caught stealing from")
    phase.emit("THEFT_FAILED", agent.id, agent.location_id, "theft", {**details, "quantity": 0})
    return Done(f"was caught trying to steal from {victim.name}")


def _power(phase: Phase, agent: Agent) -> float:
    tool = (
        phase.config.actions.tool_combat_bonus
        if agent.holds("TOOL") or agent.holds("ADVANCED_TOOL")
        else 0.0
    )
    return (
        agent.energy * 0.4
        + agent.health * 0.4
        + tool
        + 2 * skill_level(phase.state, agent, "COMBAT")
    )


def check_attack(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    return target_here(phase.state, agent, action.target_id, "opponent")


def do_attack(phase: Phase, agent: Agent, action: Action) -> Done:
    state, config = phase.state, phase.config
    defender = state.agents[action.target_id]
    rng = phase.rng(f"attack:{agent.id}")
    attack = _power(phase, agent) * rng.uniform(0.5, 1.5)
    defence = _power(phase, defender) * rng.uniform(0.5, 1.5)
    base = config.actions.attack_base_damage
    if defender.energy < 10 and rng.random() < 0.5:
        outcome, to_defender, to_attacker = "FLED", base / 4, 0.0
    elif attack > defence * 1.2:
        outcome, to_defender, to_attacker = "ATTACKER_WON", base, base / 4
    elif defence > attack * 1.2:
        outcome, to_defender, to_attacker = "DEFENDER_WON", base / 4, base
    else:
        outcome, to_defender, to_attacker = "DRAW", base / 2, base / 2
    defender.health = max(0.0, defender.health - to_defender)
    agent.health = max(0.0, agent.health - to_attacker)
    defender.last_injury = agent.last_injury = "injury"
    add_xp(agent, "COMBAT")
    add_xp(defender, "COMBAT")
    change_trust(phase, defender, agent.id, config.trust.attack_victim, "attacked")
    for witness in agents_here(state, agent.location_id, exclude=agent.id):
        if witness.id != defender.id:
            change_trust(phase, witness, agent.id, config.trust.attack_witness, "saw an attack")
    defender.notifications.append(f"{agent.name} attacked you")
    break_alliances(phase, agent, defender, "attacked")
    combat = {"attacker_id": agent.id, "defender_id": defender.id}
    phase.emit("COMBAT_INITIATED", agent.id, agent.location_id, "combat", combat)
    phase.emit(
        "COMBAT_RESOLVED", agent.id, agent.location_id, "combat",
        {**combat, "outcome": f"COMBAT_OUTCOME_{outcome}",
         "attacker_damage": to_attacker, "defender_damage": to_defender},
    )  # fmt: skip
    return Done(f"fought {defender.name}: {outcome.lower().replace('_', ' ')}")


PROPOSAL_KINDS = ("ALLIANCE", "TREATY", "TRADE_AGREEMENT", "LAW", "LEADER", "WAR")


def check_propose(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    if action.kind not in PROPOSAL_KINDS:
        return reject(
            "INVALID_ACTION",
            f"proposal kind must be one of {', '.join(k.lower() for k in PROPOSAL_KINDS)}",
        )
    if not action.agent_ids and not action.target_id:
        return reject("INVALID_ACTION", "address the proposal to agents or to a group")
    if action.target_id and action.target_id not in phase.state.groups:
        return reject("INVALID_TARGET", f"no group has the id {action.target_id}")
    for other_id in action.agent_ids:
        if other_id not in phase.state.agents or not phase.state.agents[other_id].alive:
            return reject("INVALID_TARGET", f"no living agent has the id {other_id}")
    if not action.text.strip() or len(action.text) > phase.config.actions.text_limit:
        return reject("INVALID_ACTION", "terms must be 1 to 500 characters")
    return None


def do_propose(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    voters = set(action.agent_ids)
    if action.target_id:
        voters |= state.groups[action.target_id].member_ids
    voters.discard(agent.id)
    proposal = Proposal(
        state.next_id("proposal"), action.kind, agent.id, tuple(sorted(voters)), action.text,
        action.target_id, state.tick, state.tick + phase.config.actions.proposal_ttl_ticks,
    )  # fmt: skip
    proposal.votes[agent.id] = True
    state.proposals[proposal.id] = proposal
    phase.emit(
        "PROPOSAL_MADE", agent.id, agent.location_id, "diplomacy", diplomacy(proposal, False)
    )
    return Done(f"proposed a {action.kind.lower()} [{proposal.id}] to {len(voters)} agents")


def diplomacy(proposal: Proposal, passed: bool) -> dict[str, object]:
    yes = sum(1 for vote in proposal.votes.values() if vote)
    return {
        "proposal_id": proposal.id,
        "kind": f"PROPOSAL_KIND_{proposal.kind}",
        "party_ids": [proposal.proposer_id, *proposal.agent_ids],
        "terms": proposal.terms,
        "passed": passed,
        "yes_votes": yes,
        "no_votes": len(proposal.votes) - yes,
    }


def check_vote(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    proposal = phase.state.proposals.get(action.target_id)
    if proposal is None:
        return reject("INVALID_TARGET", f"no open proposal has the id {action.target_id}")
    if agent.id not in proposal.agent_ids:
        return reject("PERMISSION_DENIED", "that proposal is not addressed to you")
    if agent.id in proposal.votes:
        return reject("UNAVAILABLE_TARGET", "you already voted on it")
    return None


def do_vote(phase: Phase, agent: Agent, action: Action) -> Done:
    proposal = phase.state.proposals[action.target_id]
    proposal.votes[agent.id] = action.flag
    if len(proposal.votes) == len(proposal.agent_ids) + 1:
        decide_proposal(phase, proposal)
    return Done(f"voted {'yes' if action.flag else 'no'}")


def passes(proposal: Proposal) -> bool:
    """A majority of the votes cast (the proposer's included), when at least half of those
    addressed voted: those away or busy neither block nor carry it (before, every silent member
    counted as a no, so in a group of dozens spread over many places nothing could pass)."""
    cast = len(proposal.votes)
    yes = sum(1 for vote in proposal.votes.values() if vote)
    quorum = cast * 2 >= len(proposal.agent_ids) + 1
    return quorum and yes * 2 > cast


def decide_proposal(phase: Phase, proposal: Proposal) -> None:
    """Decided when all addressed voted or it closes (`passes`); effects follow the kind."""
    state = phase.state
    del state.proposals[proposal.id]
    passed = passes(proposal)
    details = diplomacy(proposal, passed)
    phase.emit("PROPOSAL_DECIDED", proposal.proposer_id, "", "diplomacy", details)
    if not passed:
        return
    group = state.groups.get(proposal.group_id)
    follow_up = {
        "ALLIANCE": "ALLIANCE_FORMED", "TREATY": "TREATY_NEGOTIATED",
        "TRADE_AGREEMENT": "TREATY_NEGOTIATED", "WAR": "WAR_DECLARED",
    }  # fmt: skip
    if proposal.kind == "ALLIANCE":
        _form_alliance(phase, proposal)
    if proposal.kind in follow_up:
        phase.emit(follow_up[proposal.kind], proposal.proposer_id, "", "diplomacy", details)
    elif proposal.kind == "LAW" and group is not None:
        group.rules.append(proposal.terms)
        phase.emit("LAW_ENACTED", proposal.proposer_id, "", "diplomacy", details)
    elif proposal.kind == "LEADER" and group is not None:
        group.roles[proposal.proposer_id] = "leader"


def _form_alliance(phase: Phase, proposal: Proposal) -> None:
    members = {proposal.proposer_id} | {voter for voter, yes in proposal.votes.items() if yes}
    phase.state.alliances[proposal.id] = Alliance(
        proposal.id, frozenset(members), proposal.terms, phase.state.tick
    )


def break_alliances(phase: Phase, actor: Agent, other: Agent, deed: str) -> None:
    """Turning on an ally ends every alliance the two share: AllianceBroken, told to the members."""
    state = phase.state
    for alliance in sorted(state.alliances.values(), key=lambda found: found.id):
        if not {actor.id, other.id} <= alliance.member_ids:
            continue
        del state.alliances[alliance.id]
        details = {
            "proposal_id": alliance.id,
            "kind": "PROPOSAL_KIND_ALLIANCE",
            "party_ids": sorted(alliance.member_ids),
            "terms": f"{actor.name} {deed} {other.name}; it had stood since tick "
            f"{alliance.formed_tick}: {alliance.terms}",
            "passed": False,
        }
        phase.emit("ALLIANCE_BROKEN", actor.id, actor.location_id, "diplomacy", details)
        for member_id in sorted(alliance.member_ids - {actor.id}):
            member = state.agents.get(member_id)
            if member is not None and member.alive:
                member.notifications.append(
                    f"the alliance is broken: {actor.name} {deed} {other.name}"
                )


def _authority(phase: Phase, agent: Agent, group_id: str) -> bool:
    group = phase.state.groups.get(group_id)
    return group is not None and group.roles.get(agent.id) in ("founder", "leader")


def check_legislate(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    group = phase.state.groups.get(action.target_id)
    if group is None:
        return reject("INVALID_TARGET", f"no group has the id {action.target_id}")
    if not action.text.strip() or len(action.text) > phase.config.actions.text_limit:
        return reject("INVALID_ACTION", "a rule must be 1 to 500 characters")
    if not structures_here(phase.state, agent.location_id, "MEETING_HALL"):
        return reject("WRONG_LOCATION", "laws are made in a meeting hall")
    problem = need_knowledge(agent, "legislation", "legislating")
    if problem:
        return problem
    if agent.id not in group.member_ids or not _authority(phase, agent, group.id):
        return reject(
            "PERMISSION_DENIED",
            f"only the founder or leader of {group.name} may legislate; pass a law proposal instead",
        )
    return None


def do_legislate(phase: Phase, agent: Agent, action: Action) -> Done:
    group = phase.state.groups[action.target_id]
    group.rules.append(action.text)
    phase.emit(
        "LAW_ENACTED", agent.id, agent.location_id, "diplomacy",
        {"kind": "PROPOSAL_KIND_LAW", "party_ids": sorted(group.member_ids), "terms": action.text, "passed": True},
    )  # fmt: skip
    return Done(f"enacted a rule for {group.name}", shows="legislation")


def check_enforce(phase: Phase, agent: Agent, action: Action) -> Rejection | None:
    problem = target_here(phase.state, agent, action.target_id, "offender")
    if problem:
        return problem
    groups = [g for g in phase.state.groups.values() if action.text in g.rules]
    if not groups:
        return reject("INVALID_TARGET", "no group has that rule; quote a rule exactly")
    if not any(_authority(phase, agent, g.id) for g in groups):
        return reject("PERMISSION_DENIED", "no rule grants you authority to enforce it")
    return None


def do_enforce(phase: Phase, agent: Agent, action: Action) -> Done:
    state = phase.state
    offender = state.agents[action.target_id]
    group = next(
        g
        for _, g in sorted(state.groups.items())
        if action.text in g.rules and _authority(phase, agent, g.id)
    )
    fine = {r: min(q, offender.holds(r)) for r, q in items_dict(action.items).items()}
    fine = {r: q for r, q in fine.items() if q > 0}
    for resource, quantity in sorted(fine.items()):
        phase.book.transfer(offender, agent, resource, quantity, f"fine under {group.name}")
    if action.flag:
        for structure in structures_here(state, agent.location_id):
            if structure.group_id == group.id or structure.owner_id in group.member_ids:
                structure.access.denied_agent_ids.add(offender.id)
    offender.notifications.append(f"{agent.name} sanctioned you under the rule: {action.text}")
    phase.emit(
        "SANCTION_APPLIED", agent.id, agent.location_id, "sanction",
        {"target_agent_id": offender.id, "rule": action.text, "fine": [
            {"resource": f"RESOURCE_{r}", "quantity": q} for r, q in sorted(fine.items())],
         "exile": action.flag, "group_id": group.id},
    )  # fmt: skip
    return Done(f"sanctioned {offender.name}: fine {describe_items(fine)}", gained=fine)


HANDLERS: dict[str, Handler] = {
    "REPRODUCE": Handler(check_reproduce, do_reproduce, consent_reproduce),
    "MARRY": Handler(check_marry, do_marry, consent_marry),
    "DIVORCE": Handler(check_divorce, do_divorce),
    "STEAL": Handler(check_steal, do_steal),
    "ATTACK": Handler(check_attack, do_attack),
    "PROPOSE": Handler(check_propose, do_propose),
    "VOTE": Handler(check_vote, do_vote),
    "LEGISLATE": Handler(check_legislate, do_legislate),
    "ENFORCE": Handler(check_enforce, do_enforce),
}
