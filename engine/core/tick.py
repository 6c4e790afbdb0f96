"""The tick phases the shell calls: wake, perceive, resolve (world spec §1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.core import environment, vitals
from engine.core.act_society import decide_proposal
from engine.core.actions import ActionResult
from engine.core.available import Catalog, available_actions
from engine.core.conservation import check_conservation
from engine.core.context import Phase
from engine.core.deception import discover_deceptions
from engine.core.discovery import accidental_discoveries
from engine.core.entries import Entry
from engine.core.environment import end_standing_offer
from engine.core.eras import update_era
from engine.core.events import DomainEvent
from engine.core.perception import (
    BondRequestView,
    GroupInvitationView,
    LocationView,
    MessageView,
    Perception,
    ProposalView,
    TradeOfferView,
    agent_sightings,
    location_view,
    route_sightings,
    self_view,
    structure_sightings,
)
from engine.core.perception_extra import perception_extra
from engine.core.resolve import Resolver, Submission
from engine.core.state import Agent, WorldState

__all__ = ["PhaseOutcome", "Submission", "perceive", "resolve", "wake"]


@dataclass(frozen=True)
class PhaseOutcome:
    events: list[DomainEvent]
    entries: list[Entry]
    results: dict[str, ActionResult] = field(default_factory=dict)


def wake(state: WorldState) -> PhaseOutcome:
    """Advance the clock one tick and apply the world's and the bodies' rules (phase 1)."""
    phase = Phase(state)
    environment.advance_clock(phase)
    environment.regenerate(phase)
    environment.decay_structures(phase)
    vitals.advance_travel(phase)
    vitals.apply_vitals(phase)
    vitals.check_deaths(phase)
    _expire(phase)
    accidental_discoveries(phase)
    return PhaseOutcome(phase.events, phase.book.entries)


def _expire(phase: Phase) -> None:
    state = phase.state
    for trade_id in sorted(state.trades):
        offer = state.trades[trade_id]
        alive = state.agents[offer.from_agent_id].alive
        if offer.market_id and (offer.expires_tick < state.tick or not alive):
            end_standing_offer(phase, offer, "expired" if alive else "offerer died")
        elif offer.expires_tick < state.tick or not alive:
            del state.trades[trade_id]
            phase.emit(
                "TRADE_FAILED", offer.from_agent_id, "", "trade",
                {"trade_id": offer.id, "offerer_id": offer.from_agent_id,
                 "accepter_id": offer.to_agent_id, "reason": "expired"},
            )  # fmt: skip
    for key in sorted(state.bond_requests):
        if state.bond_requests[key] < state.tick:
            del state.bond_requests[key]
    for proposal_id in sorted(state.proposals):
        proposal = state.proposals[proposal_id]
        if proposal.closes_tick <= state.tick:
            decide_proposal(phase, proposal)


def must_decide(agent: Agent) -> bool:
    return agent.alive and not agent.in_transit


def perceive(state: WorldState) -> dict[str, Perception]:
    """One perception per living agent that is not travelling; location views built once each."""
    phase = Phase(state)
    views: dict[str, LocationView] = {}
    trades_to: dict[str, list[str]] = {}
    # Standing offers show to everyone at their market's location but the offerer.
    market_offers: dict[str, list[str]] = {}
    for trade_id, offer in sorted(state.trades.items()):
        if offer.market_id:
            market = state.structures.get(offer.market_id)
            if market is not None:
                market_offers.setdefault(market.location_id, []).append(trade_id)
        else:
            trades_to.setdefault(offer.to_agent_id, []).append(trade_id)
    proposals_to: dict[str, list[str]] = {}
    for proposal_id, proposal in sorted(state.proposals.items()):
        for voter in proposal.agent_ids:
            if voter not in proposal.votes:
                proposals_to.setdefault(voter, []).append(proposal_id)
    invitations: dict[str, list[str]] = {}
    for group_id, group in sorted(state.groups.items()):
        for invited in sorted(group.invited_ids):
            invitations.setdefault(invited, []).append(group_id)
    bonds_to: dict[str, list[tuple[str, str, str]]] = {}
    for key in sorted(state.bond_requests):
        bonds_to.setdefault(key[2], []).append(key)
    catalog = Catalog(phase)
    perceptions = {}
    for agent in state.living_agents():
        if not must_decide(agent):
            continue
        view = views.get(agent.location_id)
        if view is None:
            view = views[agent.location_id] = location_view(
                state, state.locations[agent.location_id]
            )
        trade_ids = trades_to.get(agent.id, [])
        own_offers: list[str] = []
        for trade_id in market_offers.get(agent.location_id, ()):
            mine = state.trades[trade_id].from_agent_id == agent.id
            (own_offers if mine else trade_ids).append(trade_id)
        perceptions[agent.id] = _perception(
            catalog, agent, view, trade_ids, proposals_to.get(agent.id, []),
            invitations.get(agent.id, []), bonds_to.get(agent.id, []), own_offers,
        )  # fmt: skip
    return perceptions


def _perception(
    catalog: Catalog, agent: Agent, view: LocationView, trade_ids: list[str],
    proposal_ids: list[str], group_ids: list[str], bond_keys: list[tuple[str, str, str]],
    own_offers: list[str],
) -> Perception:  # fmt: skip
    state = catalog.phase.state
    trades, proposals, invitations, bonds = _requests(
        state, agent, trade_ids, proposal_ids, group_ids, bond_keys
    )
    location = view.location
    knowledge = agent.knowledge
    me = agent.id
    # Knowledge someone else showed here that this agent lacks (the view lists it sorted).
    observable = tuple(
        item
        for item, actors in view.shown_by
        if item not in knowledge and (len(actors) > 1 or me not in actors)
    ) if view.shown_by else ()  # fmt: skip
    last = state.last_results.get(me)
    clock = catalog.clock
    # Those with something standing for me are named among the few agents listed.
    callers = {m.from_agent_id for m in agent.inbox} if agent.inbox else set()
    if trades or bonds or proposals:
        callers.update(t.from_agent_id for t in trades)
        callers.update(b.from_agent_id for b in bonds)
        callers.update(p.proposer_id for p in proposals)
    agents, agents_here = agent_sightings(state, agent, view, callers)
    return Perception(
        agent_id=me, tick=clock.tick, time_of_day=clock.time_of_day, season=clock.season,
        weather=clock.weather, days_until_season_change=clock.days_until_season_change,
        year=clock.year, self_view=self_view(state, agent),
        location_description=location.description, location_region=location.region,
        resources=view.resources,
        structures=structure_sightings(state, agent, view) if view.structures else (),
        structures_here=len(view.structures),
        agents=agents, agents_here=agents_here, board=view.board,
        messages=tuple(
            MessageView(m.id, m.tick, m.from_agent_id, m.from_name, m.text, m.also_to_ids)
            for m in agent.inbox
        ) if agent.inbox else (),
        routes=route_sightings(state, agent, view),
        trade_offers=trades, proposals=proposals, group_invitations=invitations,
        bond_requests=bonds, notifications=tuple(agent.notifications),
        available_actions=available_actions(
            catalog, agent, view, trade_ids, proposal_ids, group_ids, own_offers
        ),
        last_result=last if isinstance(last, ActionResult) else None,
        known_location_names=catalog.location_names(agent.known_location_ids),
        sleeping=clock.night, era=clock.era,
        observable_knowledge=observable, extra=perception_extra(state, agent),
    )  # fmt: skip


Requests = tuple[
    tuple[TradeOfferView, ...], tuple[ProposalView, ...], tuple[GroupInvitationView, ...],
    tuple[BondRequestView, ...],
]  # fmt: skip


def _requests(
    state: WorldState, agent: Agent, trade_ids: list[str], proposal_ids: list[str],
    group_ids: list[str], bond_keys: list[tuple[str, str, str]],
) -> Requests:  # fmt: skip
    """What others ask of the agent: trade offers, proposals to vote on, invitations, bonds."""
    if not (trade_ids or proposal_ids or group_ids or bond_keys):
        return (), (), (), ()  # most agents, most ticks

    def name_of(agent_id: str) -> str:
        other = state.agents.get(agent_id)
        return other.name if other else ""

    trades = tuple(
        TradeOfferView(
            t.id,
            t.from_agent_id,
            name_of(t.from_agent_id),
            tuple(sorted(t.give.items())),
            tuple(sorted(t.want.items())),
            t.expires_tick,
            all(agent.holds(r) >= q for r, q in t.want.items()),
        )
        for t in (state.trades[i] for i in trade_ids)
    )
    proposals = tuple(
        ProposalView(p.id, p.kind, p.proposer_id, name_of(p.proposer_id), p.terms, p.closes_tick)
        for p in (state.proposals[i] for i in proposal_ids)
    )
    invitations = tuple(
        GroupInvitationView(g.id, g.name, g.founder_id, name_of(g.founder_id))
        for g in (state.groups[i] for i in group_ids)
    )
    bonds = tuple(
        BondRequestView(kind, asker, name_of(asker), state.bond_requests[(kind, asker, asked)])
        for kind, asker, asked in bond_keys
    )
    return trades, proposals, invitations, bonds


def resolve(state: WorldState, submissions: Sequence[Submission]) -> PhaseOutcome:
    """Validate, resolve conflicts and execute every submitted action (phase 4)."""
    resolver = Resolver(state)
    for agent in state.living_agents():
        if must_decide(agent):
            # Their perception this tick delivered these; new ones arrive during this phase.
            agent.inbox.clear()
            agent.notifications.clear()
    for structure in state.structures.values():
        structure.occupant_ids.clear()
    for agent in state.agents.values():
        agent.sheltered_in = ""
    state.activity = {}
    resolver.run(submissions)
    discover_deceptions(resolver.phase)
    resolver.observation_learning()
    update_era(resolver.phase)
    state.last_results = dict(resolver.results)
    for anomaly in check_conservation(state):
        resolver.phase.emit(
            "LEDGER_ANOMALY", detail_kind="ledger_anomaly",
            details={"code": anomaly.code, "message": anomaly.message,
                     "resource": f"RESOURCE_{anomaly.resource}" if anomaly.resource else "RESOURCE_UNSPECIFIED",
                     "expected": anomaly.expected, "actual": anomaly.actual},
        )  # fmt: skip
    return PhaseOutcome(resolver.phase.events, resolver.phase.book.entries, resolver.results)
