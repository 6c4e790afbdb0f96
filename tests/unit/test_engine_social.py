"""Multi-step social mechanics: trade, groups, teaching, bonds, theft, votes, laws, farming."""

from __future__ import annotations

from emergence.v1 import action_pb2, event_pb2
from engine.adapters.convert import event_to_proto
from engine.core import tick
from engine.core.actions import Action
from engine.core.conservation import check_conservation
from engine.core.state import Group, Structure, WorldState
from tests.sim.world_builder import act, act_all, agent_list, grant, make_world, place, reason


def together(agents: int = 3) -> WorldState:
    state = make_world(agents=agents)
    for agent in agent_list(state):
        place(state, agent, "riverbank")
    return state


def test_trade_offer_then_accept_swaps_atomically() -> None:
    state = together()
    a, b, _ = agent_list(state)
    grant(state, a, {"WOOD": 4})
    grant(state, b, {"FISH": 2})
    offered = act(
        state, a, Action("TRADE_OFFER", target_id=b.id, items=(("WOOD", 4),), want=(("FISH", 2),))
    )
    assert offered.success
    tick.wake(state)
    view = tick.perceive(state)[b.id]
    assert [o.from_agent_id for o in view.trade_offers] == [a.id]
    trade_id = view.trade_offers[0].trade_id
    assert view.trade_offers[0].can_accept
    accepted = act(state, b, Action("TRADE_ACCEPT", target_id=trade_id))
    assert accepted.success, accepted.outcome
    assert a.inventory == {"FISH": 2} and b.inventory == {"WOOD": 4}
    assert a.relationships[b.id] > 0 and b.relationships[a.id] > 0
    assert check_conservation(state) == []


def test_trade_accept_fails_when_offerer_no_longer_holds() -> None:
    state = together()
    a, b, c = agent_list(state)
    grant(state, a, {"WOOD": 4})
    grant(state, b, {"FISH": 2})
    act(state, a, Action("TRADE_OFFER", target_id=b.id, items=(("WOOD", 4),), want=(("FISH", 2),)))
    trade_id = next(iter(state.trades))
    act(state, a, Action("GIVE", target_id=c.id, items=(("WOOD", 4),)))
    result = act(state, b, Action("TRADE_ACCEPT", target_id=trade_id))
    assert reason(result) == "UNAVAILABLE_TARGET"


def test_trade_reject_and_expiry() -> None:
    state = together()
    a, b, _ = agent_list(state)
    grant(state, a, {"WOOD": 2})
    act(state, a, Action("TRADE_OFFER", target_id=b.id, items=(("WOOD", 1),), want=(("FISH", 1),)))
    first = next(iter(state.trades))
    assert act(state, b, Action("TRADE_REJECT", target_id=first)).success
    assert first not in state.trades
    act(state, a, Action("TRADE_OFFER", target_id=b.id, items=(("WOOD", 1),), want=(("FISH", 1),)))
    for _ in range(state.config.actions.trade_offer_ttl_ticks + 1):
        tick.wake(state)
    assert state.trades == {}


def test_group_form_join_leave() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.knowledge.add("group_formation")
    assert act(state, a, Action("FORM_GROUP", name="River Folk", agent_ids=(b.id,))).success
    group_id = next(iter(state.groups))
    tick.wake(state)
    assert [g.group_id for g in tick.perceive(state)[b.id].group_invitations] == [group_id]
    assert act(state, b, Action("JOIN_GROUP", target_id=group_id)).success
    assert state.groups[group_id].member_ids == {a.id, b.id}
    assert act(state, b, Action("LEAVE_GROUP", target_id=group_id)).success
    assert b.id not in state.groups[group_id].member_ids


def test_a_member_invites_others_to_its_group() -> None:
    state = together(4)
    a, b, c, d = agent_list(state)
    a.knowledge.add("group_formation")
    assert act(state, a, Action("FORM_GROUP", name="River Folk", agent_ids=(b.id,))).success
    group_id = next(iter(state.groups))
    assert act(state, b, Action("JOIN_GROUP", target_id=group_id)).success
    # b never learnt to found a group, but a member may vouch for those it trusts.
    invite = Action("FORM_GROUP", name="River Folk", agent_ids=(c.id,), target_id=group_id)
    assert act(state, b, invite).success
    assert len(state.groups) == 1 and c.id in state.groups[group_id].invited_ids
    tick.wake(state)
    assert [g.group_id for g in tick.perceive(state)[c.id].group_invitations] == [group_id]
    assert act(state, c, Action("JOIN_GROUP", target_id=group_id)).success
    assert state.groups[group_id].member_ids == {a.id, b.id, c.id}
    outsider = Action("FORM_GROUP", name="River Folk", agent_ids=(a.id,), target_id=group_id)
    assert reason(act(state, d, outsider)) == "INVALID_TARGET"
    member = Action("FORM_GROUP", name="River Folk", agent_ids=(b.id,), target_id=group_id)
    assert reason(act(state, a, member)) == "UNAVAILABLE_TARGET"


def test_teaching_passes_knowledge_and_builds_trust() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.knowledge.add("agriculture")
    learned = False
    for _ in range(10):
        a.energy = b.energy = 100
        result = act(state, a, Action("TEACH", target_id=b.id, knowledge="agriculture"))
        assert result.success
        if "agriculture" in b.knowledge:
            learned = True
            break
    assert learned
    assert b.relationships[a.id] > 0


def test_reproduction_needs_both_within_two_ticks_then_child_is_born() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.relationships[b.id] = b.relationships[a.id] = 0.8
    population = state.population
    results = act_all(
        state, [(a, Action("REPRODUCE", target_id=b.id)), (b, Action("REPRODUCE", target_id=a.id))]
    )
    assert all(r.success for r in results.values())
    assert state.population == population + 1
    child = max(state.agents.values(), key=lambda agent: agent.born_tick * 0 + agent.generation)
    assert child.generation == 1 and set(child.parent_ids) == {a.id, b.id}
    assert child.location_id == a.location_id
    assert child.inventory == {}
    tick.wake(state)
    assert reason(act(state, child, Action("ATTACK", target_id=a.id))) == "TOO_YOUNG"


def test_reproduction_request_expires() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.relationships[b.id] = b.relationships[a.id] = 0.8
    act(state, a, Action("REPRODUCE", target_id=b.id))
    for _ in range(3):
        tick.wake(state)
    population = state.population
    a.energy = b.energy = 100
    act(state, b, Action("REPRODUCE", target_id=a.id))
    assert state.population == population


def test_reproduction_blocked_by_cap_and_health() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.relationships[b.id] = b.relationships[a.id] = 0.8
    b.health = 40
    assert reason(act(state, a, Action("REPRODUCE", target_id=b.id))) == "UNAVAILABLE_TARGET"
    b.health = 100
    from dataclasses import replace

    state.config = replace(state.config, population=replace(state.config.population, cap=3))
    assert reason(act(state, a, Action("REPRODUCE", target_id=b.id))) == "UNAVAILABLE_TARGET"


def test_marriage_and_divorce() -> None:
    state = together()
    a, b, _ = agent_list(state)
    act_all(state, [(a, Action("MARRY", target_id=b.id)), (b, Action("MARRY", target_id=a.id))])
    assert a.partner_id == b.id and b.partner_id == a.id
    assert act(state, b, Action("DIVORCE", target_id=a.id)).success
    assert a.partner_id == "" and b.partner_id == ""


def test_steal_outcomes_change_goods_or_trust() -> None:
    outcomes = set()
    for seed in range(12):
        state = make_world(agents=3, seed=seed)
        a, b, _ = agent_list(state)
        place(state, a, "riverbank")
        place(state, b, "riverbank")
        grant(state, b, {"FISH": 5})
        result = act(state, a, Action("STEAL", target_id=b.id, resource="FISH"))
        assert result.success
        if a.holds("FISH"):
            outcomes.add("stolen")
            assert a.holds("FISH") + b.holds("FISH") == 5
        else:
            outcomes.add("caught")
            assert b.relationships[a.id] < 0 and a.reputation < 0
        assert check_conservation(state) == []
    assert outcomes == {"stolen", "caught"}


def test_attack_damages_and_sours_trust() -> None:
    state = together()
    a, b, _ = agent_list(state)
    act(state, a, Action("ATTACK", target_id=b.id))
    assert a.health + b.health < 200
    assert b.relationships[a.id] < 0


def test_proposal_vote_passes_law_and_enforcement_fines() -> None:
    state = together()
    a, b, c = agent_list(state)
    a.knowledge.update({"group_formation", "legislation"})
    act(state, a, Action("FORM_GROUP", name="Council", agent_ids=(b.id, c.id)))
    group_id = next(iter(state.groups))
    for member in (b, c):
        act(state, member, Action("JOIN_GROUP", target_id=group_id))
    act(state, a, Action("PROPOSE", kind="LAW", target_id=group_id, text="no theft"))
    proposal_id = next(iter(state.proposals))
    act_all(
        state,
        [
            (b, Action("VOTE", target_id=proposal_id, flag=True)),
            (c, Action("VOTE", target_id=proposal_id, flag=False)),
        ],
    )
    assert state.groups[group_id].rules == ["no theft"]
    grant(state, c, {"FISH": 3})
    a.energy = 100
    result = act(state, a, Action("ENFORCE", target_id=c.id, text="no theft", items=(("FISH", 2),)))
    assert result.success, result.outcome
    assert a.holds("FISH") == 2 and c.holds("FISH") == 1
    hall = Structure("hall", "MEETING_HALL", "riverbank", a.id, a.id, 0)
    state.structures[hall.id] = hall
    state.locations["riverbank"].structure_ids.append(hall.id)
    assert act(state, a, Action("LEGISLATE", target_id=group_id, text="share water")).success
    assert reason(act(state, b, Action("LEGISLATE", target_id=group_id, text="b rules"))) in (
        "UNKNOWN_ACTION",
        "PERMISSION_DENIED",
    )


def test_farming_plant_then_harvest_when_ripe() -> None:
    state = together()
    a, _, _ = agent_list(state)
    a.knowledge.add("agriculture")
    plot = Structure("plot", "FARM_PLOT", "riverbank", a.id, a.id, 0)
    state.structures[plot.id] = plot
    state.locations["riverbank"].structure_ids.append(plot.id)
    grant(state, a, {"BERRY": 1})
    state.tick = 5
    assert act(state, a, Action("FARM_PLANT", target_id="plot", resource="BERRY")).success
    assert reason(act(state, a, Action("FARM_HARVEST", target_id="plot"))) == "UNAVAILABLE_TARGET"
    plot.crop_ripe_tick = state.tick
    a.energy = 100
    result = act(state, a, Action("FARM_HARVEST", target_id="plot"))
    assert result.success and a.holds("FARMED") >= state.config.farming.harvest_yield
    assert check_conservation(state) == []


def test_write_then_read_teaches() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.knowledge.update({"written_language", "agriculture"})
    b.knowledge.add("written_language")
    library = Structure("lib", "LIBRARY", "riverbank", a.id, a.id, 0)
    state.structures[library.id] = library
    state.locations["riverbank"].structure_ids.append(library.id)
    assert act(state, a, Action("WRITE", knowledge="agriculture")).success
    again = act(state, a, Action("WRITE", knowledge="agriculture"))
    assert reason(again) == "UNAVAILABLE_TARGET"  # already written here
    # A literate reader in a library always understands what is written there.
    outcome = tick.resolve(
        state, [tick.Submission(b.id, Action("READ", knowledge="agriculture"), 0)]
    )
    assert outcome.results[b.id].success and "agriculture" in b.knowledge
    methods = [e.details["method"] for e in outcome.events if e.type == "KNOWLEDGE_DISCOVERED"]
    assert methods == ["DISCOVERY_METHOD_READING"]


def test_a_tablet_left_at_a_place_teaches_until_it_weathers() -> None:
    state = together()
    a, b, c = agent_list(state)
    a.knowledge.update({"written_language", "pottery"})
    assert act(state, a, Action("WRITE", knowledge="pottery")).success
    assert "pottery" in state.locations["riverbank"].writings
    tick.wake(state)
    assert "READ" in {o.action_type for o in tick.perceive(state)[b.id].available_actions}
    # An illiterate reader may need several tries: each read is a success, learning is a chance.
    tries = 0
    while "pottery" not in b.knowledge and tries < 40:
        state.tick += 1  # each tick rolls afresh
        b.energy = 100
        assert act(state, b, Action("READ", knowledge="pottery")).success
        tries += 1
    assert "pottery" in b.knowledge
    state.tick += state.config.knowledge.writing_lasts_ticks
    weathered = act(state, c, Action("READ", knowledge="pottery"))
    assert reason(weathered) == "UNAVAILABLE_TARGET"


def test_talk_by_one_who_knows_oral_tradition_passes_it_to_listeners() -> None:
    state = together()
    speaker, listener, _ = agent_list(state)
    speaker.knowledge.add("oral_tradition")
    listener.knowledge.update({"basic_communication", "group_formation"})
    listener.personality["curiosity"] = 1.0
    methods = []
    for _ in range(40):
        state.tick += 1  # each tick rolls afresh
        speaker.energy = 100
        talk = Action("COMMUNICATE", target_id=listener.id, text="the old story of the river")
        outcome = tick.resolve(state, [tick.Submission(speaker.id, talk, 0)])
        assert outcome.results[speaker.id].success
        methods += [
            e.details["method"]
            for e in outcome.events
            if e.type == "KNOWLEDGE_DISCOVERED" and e.agent_id == listener.id
        ]
        if "oral_tradition" in listener.knowledge:
            break
    assert methods == ["DISCOVERY_METHOD_OBSERVATION"]


def test_writing_needs_literacy_and_the_knowledge() -> None:
    state = together()
    a, _, _ = agent_list(state)
    a.knowledge.add("pottery")
    assert reason(act(state, a, Action("WRITE", knowledge="pottery"))) == "UNKNOWN_ACTION"
    a.knowledge.add("written_language")
    assert reason(act(state, a, Action("WRITE", knowledge="metalworking"))) == "UNKNOWN_ACTION"


def test_gather_conflict_splits_proportionally() -> None:
    state = together()
    a, b, c = agent_list(state)
    state.locations["riverbank"].nodes["FISH"].available = 4
    results = act_all(state, [(x, Action("GATHER", resource="FISH")) for x in (a, b, c)])
    got = [x.holds("FISH") for x in (a, b, c)]
    assert sum(got) == 4
    assert got[0] >= got[1] >= got[2]
    if got[2] == 0:
        assert reason(results[c.id]) == "CONFLICT_LOST"


def test_unique_claim_goes_to_the_earliest() -> None:
    state = together()
    a, b, _ = agent_list(state)
    for agent in (a, b):
        agent.knowledge.add("territorial_claim")
    results = act_all(
        state,
        [(a, Action("CLAIM", target_id="riverbank")), (b, Action("CLAIM", target_id="riverbank"))],
    )
    assert results[a.id].success and reason(results[b.id]) == "CONFLICT_LOST"
    assert state.locations["riverbank"].owner_id == a.id


def test_messages_reach_only_their_recipient_next_tick() -> None:
    state = together()
    a, b, c = agent_list(state)
    act(state, a, Action("COMMUNICATE", target_id=b.id, text="meet at dusk"))
    tick.wake(state)
    views = tick.perceive(state)
    assert [m.text for m in views[b.id].messages] == ["meet at dusk"]
    assert views[c.id].messages == () and views[a.id].messages == ()
    tick.resolve(state, [])
    tick.wake(state)
    assert tick.perceive(state)[b.id].messages == ()


def test_board_message_is_seen_by_agents_here() -> None:
    state = together()
    a, b, _ = agent_list(state)
    act(state, a, Action("BROADCAST", text="fish are plenty"))
    tick.wake(state)
    assert "fish are plenty" in [m.text for m in tick.perceive(state)[b.id].board]


def test_parents_wait_the_birth_interval_before_another_child() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.relationships[b.id] = b.relationships[a.id] = 0.9
    act_all(
        state, [(a, Action("REPRODUCE", target_id=b.id)), (b, Action("REPRODUCE", target_id=a.id))]
    )
    a.energy = b.energy = 100
    again = act(state, a, Action("REPRODUCE", target_id=b.id))
    assert reason(again) == "UNAVAILABLE_TARGET" and "wait" in again.outcome


def test_false_claims_are_recorded_as_deception() -> None:
    state = together()
    a, b, _ = agent_list(state)
    grant(state, a, {"WOOD": 5})
    lie = tick.resolve(
        state,
        [
            tick.Submission(
                a.id, Action("COMMUNICATE", target_id=b.id, text="I have no wood, sorry"), 0
            )
        ],
    )
    assert [e.details["truth"] for e in lie.events if e.type == "DECEPTION_COMMITTED"] == [
        "holds 5 wood"
    ]
    truth = tick.resolve(
        state,
        [
            tick.Submission(
                a.id, Action("COMMUNICATE", target_id=b.id, text="There is fish at Riverbank"), 0
            )
        ],
    )
    assert not [e for e in truth.events if e.type == "DECEPTION_COMMITTED"]
    false_place = tick.resolve(
        state,
        [
            tick.Submission(
                a.id, Action("COMMUNICATE", target_id=b.id, text="there is ore at Riverbank"), 0
            )
        ],
    )
    assert [e.details["truth"] for e in false_place.events if e.type == "DECEPTION_COMMITTED"] == [
        "Riverbank has 0"
    ]


def test_a_law_passes_by_the_votes_cast_when_enough_of_the_group_votes() -> None:
    state = together(6)
    a, b, c, d, e, f = agent_list(state)
    group = Group("g-many", "Many", a.id, 0, {x.id for x in (a, b, c, d, e, f)})
    state.groups[group.id] = group
    for law, voters in (("no theft", (b, c, d)), ("share food", (b,))):
        act(state, a, Action("PROPOSE", kind="LAW", target_id=group.id, text=law))
        proposal = next(p for p in state.proposals.values() if p.terms == law)
        votes = [(x, Action("VOTE", target_id=proposal.id, flag=x is not d)) for x in voters]
        act_all(state, votes)
        state.tick = proposal.closes_tick
        woke = tick.wake(state)
        decided = [ev for ev in woke.events if ev.type == "PROPOSAL_DECIDED"]
        assert [ev.details["terms"] for ev in decided] == [law]
    # Four of six voted, three yes and one no: it passes, contested; e and f were elsewhere.
    # Two of six voting is no quorum, however they voted.
    assert group.rules == ["no theft"]


def test_an_alliance_stands_until_one_ally_attacks_another() -> None:
    state = together()
    a, b, c = agent_list(state)
    act(state, a, Action("PROPOSE", kind="ALLIANCE", agent_ids=(b.id, c.id), text="stand together"))
    proposal_id = next(iter(state.proposals))
    act_all(
        state,
        [
            (b, Action("VOTE", target_id=proposal_id, flag=True)),
            (c, Action("VOTE", target_id=proposal_id, flag=False)),
        ],
    )
    alliance = state.alliances[proposal_id]
    assert alliance.member_ids == {a.id, b.id}  # the no-voter is not bound by it

    # Attacking someone outside the alliance leaves it standing.
    a.energy = b.energy = 100
    outcome = tick.resolve(state, [tick.Submission(a.id, Action("ATTACK", target_id=c.id), 0)])
    assert proposal_id in state.alliances
    assert not [e for e in outcome.events if e.type == "ALLIANCE_BROKEN"]

    outcome = tick.resolve(state, [tick.Submission(b.id, Action("ATTACK", target_id=a.id), 0)])
    broken = [e for e in outcome.events if e.type == "ALLIANCE_BROKEN"]
    assert len(broken) == 1 and broken[0].agent_id == b.id
    assert broken[0].details["party_ids"] == sorted([a.id, b.id])
    assert f"{b.name} attacked {a.name}" in broken[0].details["terms"]
    assert proposal_id not in state.alliances
    assert any("alliance is broken" in note for note in a.notifications)
    stored = event_to_proto(broken[0], state, state.tick)
    assert stored.type == event_pb2.EVENT_TYPE_ALLIANCE_BROKEN
    assert (
        stored.diplomacy.kind == action_pb2.PROPOSAL_KIND_ALLIANCE and not stored.diplomacy.passed
    )


def test_library_and_hall_actions_are_offered_where_they_would_succeed() -> None:
    state = together()
    a, b, _ = agent_list(state)
    a.knowledge.update({"written_language", "legislation", "group_formation"})
    act(state, a, Action("FORM_GROUP", name="Scribes", agent_ids=(b.id,)))
    group_id = next(iter(state.groups))
    for kind in ("LIBRARY", "MEETING_HALL"):
        building = Structure(kind.lower(), kind, "riverbank", a.id, a.id, 0)
        state.structures[building.id] = building
        state.locations["riverbank"].structure_ids.append(building.id)
    state.structures["library"].records.add("masonry")
    tick.wake(state)
    offered = {entry.action_type: entry for entry in tick.perceive(state)[a.id].available_actions}
    assert offered["READ"].form == "read(knowledge) in [masonry]"
    assert "written_language" in offered["WRITE"].options["candidates"].split(",")
    assert offered["LEGISLATE"].form == f"legislate(group_id, rule) in [{group_id}]"
    assert group_id in offered["PROPOSE"].options["candidates"]
    # and each would succeed as offered
    assert act(state, a, Action("READ", knowledge="masonry")).success
    tick.wake(state)
    assert act(state, a, Action("LEGISLATE", target_id=group_id, text="quiet at night")).success


def test_talk_before_the_tradition_is_practice_of_communication_that_may_lead_to_it() -> None:
    state = together()
    speaker, listener, _ = agent_list(state)
    speaker.knowledge.update({"basic_communication", "group_formation"})
    speaker.knowledge.discard("oral_tradition")
    speaker.personality["curiosity"] = 1.0
    for _ in range(400):
        state.tick += 1
        speaker.energy = 100
        talk = Action("COMMUNICATE", target_id=listener.id, text="how was the fishing")
        tick.resolve(state, [tick.Submission(speaker.id, talk, 0)])
        if "oral_tradition" in speaker.knowledge:
            break
    assert "oral_tradition" in speaker.knowledge


def test_handling_clay_again_may_reveal_what_builds_on_it() -> None:
    state = together()
    potter, _, _ = agent_list(state)
    place(state, potter, "estuary")
    potter.knowledge.update({"gather_stone", "build_campfire"})
    potter.personality["curiosity"] = 1.0
    for _ in range(400):
        state.tick += 1
        potter.energy = 100
        potter.inventory.pop("CLAY", None)
        state.locations["estuary"].nodes["CLAY"].available = 10
        gather = Action("GATHER", resource="CLAY")
        tick.resolve(state, [tick.Submission(potter.id, gather, 0)])
        if "pottery" in potter.knowledge:
            break
    assert {"handled_clay", "pottery"} <= potter.knowledge
