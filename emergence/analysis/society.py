"""Metrics that tell an emerging society from a scripted one, computed from a run's stored history.

Pure: the inputs are the stored events (the types in SOCIETY_EVENT_TYPES), the stored decisions,
the tick summaries' population and, per place, the resources it has a natural source of in the
first snapshot. Every figure is defined here, from those records only:

- `decisions_timed_out_share`: stored decisions the engine made because no mind answered before
  the deadline; under heavy load a run is not the run an idle machine makes (the hash differs).
- `action_types_chosen` / `action_types_succeeded`: distinct ActionType values among the stored
  decisions' actions / among ACTION_SUCCEEDED events (of ACTION_TYPE_COUNT that exist).
- Productive activity of an agent: every ACTION_SUCCEEDED event of a type in PRODUCTIVE_ACTIONS;
  a GATHER is split by what was gathered ("gather water") using the RESOURCE_GATHERED event of
  the same agent and tick. An agent's mix is the share of each activity in its productive acts.
  `specialization` is the mean, over agents with at least MIN_PRODUCTIVE_ACTS acts, of the total
  variation distance (half the L1 distance) between the agent's mix and the population's pooled
  mix: 0 when everyone does the same, towards 1 when each does something else.
  An agent's occupation is its most frequent activity (ties: the first by name);
  `occupations_shared` counts occupations that at least two such agents hold.
  Total variation is bounded by 1, so two measures on which "far more than today" can be judged
  stand beside it (ADR 0021): `specialists_share`, the share of those agents whose mix is at
  least SPECIALIST_DISTANCE away from the population's (they share less than half of their work
  with the population's mix), and `specialization_information`, the information an agent's
  identity gives about the activity of an act (Theil's segregation index: the mutual information
  of agent and activity over the acts of those agents, divided by the entropy of the activity):
  0 when every agent has the population's mix, 1 when every activity is done by agents who do
  nothing else.
- Presence: an agent is at a place from the tick it is born there (AGENT_BORN) or arrives
  (AGENT_ARRIVED) until the tick it departs (AGENT_DEPARTED) or dies (AGENT_DIED), exclusive;
  in transit it is nowhere. `busiest_place_share` is the busiest place's share of all agent-ticks
  at places; `lasting_settlements` counts places with at least SETTLEMENT_AGENTS agents present
  on at least SETTLEMENT_TICKS ticks (not necessarily in a row); `agents_never_moved_share` is
  the share of agents born in the run who never departed from a place.
- Structures: built by STRUCTURE_BUILT, gone with STRUCTURE_DESTROYED. `durable_standing_end`
  counts non-campfire structures built and not destroyed; a use of a structure is a succeeded
  action whose decision names its id (any string parameter of the action), an event naming it
  as the source of a resource (crops) or the place of a craft, or a rest "in a shelter" (the
  action's outcome) at a place where it stands as a shelter (lean-to, hut): the engine picks the
  shelter and does not name it, so each standing shelter there counts the rest. `durable_uses` counts the uses of
  non-campfire structures, `durable_standing_used` the standing ones used at least once.
- Trade: per unordered pair of agents and resource, the units that went each way in
  TRADE_COMPLETED events (the offerer gives `given`, receives `received`).
  `trade_net_share` = Σ |one way − other way| ÷ Σ (one way + other way) over pairs and
  resources. `trades_in_free_goods_share` = share of trades moving at least one resource the
  place of the trade has a natural source of.
- Knowledge: successful KNOWLEDGE_DISCOVERED events by method (seed and inheritance are not
  acquisitions and are left out). `social_spread_share` = (teaching + reading + observation) ÷
  all acquisitions; `first_discoveries` = items discovered for the first time in the run, and
  `first_discoveries_by_accident_share` the share of them found by accident;
  `last_first_discovery_tick` = tick of the last item discovered for the first time in the run.
- Laws: LAW_ENACTED events; `laws_contested` those with at least one "no" vote;
  `laws_one_party` those whose parties are a single agent; `proposals_with_no_vote` every
  decided proposal (PROPOSAL_DECIDED) with a "no" vote.
- Groups: a group's size is the most members any of its GROUP_FORMED / GROUP_JOINED /
  GROUP_LEFT events lists; `group_size_max` and `group_size_mean` over groups.
- Population, from the tick summaries: `population_start` (first stored tick), `population_min`,
  `population_end`; `alive_share_at_300` = living at tick 300 ÷ living at the start (NaN in a
  shorter run); `die_off_50` = the largest fall of the living population within any window of
  DIE_OFF_WINDOW_TICKS ticks, as a share of the living at the window's start (from a tick to the
  lowest count in the DIE_OFF_WINDOW_TICKS ticks after it), leaving out every window that
  overlaps an operator-injected disaster (a WORLD_EVENT of a kind in DISASTER_KINDS, from its
  tick through its `ticks` parameter, if any); `die_off_50_tick` is where that window starts.
- Deaths: AGENT_DIED by cause and by the season in the event's world context.
- Constructs: `constructs` and `constructs.<kind>`, every construct of agents.md §6 the engine
  recorded or emergence/analysis/constructs.py detects in the history (definitions there).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from emergence.analysis.constructs import CONSTRUCT_EVENT_TYPES, all_constructs, construct_counts
from emergence.analysis.history import enum_label as label
from emergence.v1 import action_pb2, common_pb2, event_pb2, run_pb2

E = event_pb2

_COUNTED = frozenset(
    {
        E.EVENT_TYPE_AGENT_BORN, E.EVENT_TYPE_AGENT_DIED, E.EVENT_TYPE_AGENT_ARRIVED,
        E.EVENT_TYPE_AGENT_DEPARTED, E.EVENT_TYPE_TRADE_COMPLETED, E.EVENT_TYPE_STRUCTURE_BUILT,
        E.EVENT_TYPE_STRUCTURE_DESTROYED, E.EVENT_TYPE_GROUP_FORMED, E.EVENT_TYPE_GROUP_JOINED,
        E.EVENT_TYPE_GROUP_LEFT,
    }
)  # fmt: skip
# What the metrics read (the constructs' inputs too); a loader asks the store for these only.
SOCIETY_EVENT_TYPES: tuple[int, ...] = (
    E.EVENT_TYPE_AGENT_BORN,
    E.EVENT_TYPE_AGENT_DIED,
    E.EVENT_TYPE_AGENT_ARRIVED,
    E.EVENT_TYPE_AGENT_DEPARTED,
    E.EVENT_TYPE_ACTION_SUCCEEDED,
    E.EVENT_TYPE_RESOURCE_GATHERED,
    E.EVENT_TYPE_TRADE_COMPLETED,
    E.EVENT_TYPE_STRUCTURE_BUILT,
    E.EVENT_TYPE_STRUCTURE_DESTROYED,
    E.EVENT_TYPE_CROP_PLANTED,
    E.EVENT_TYPE_CROP_HARVESTED,
    E.EVENT_TYPE_ITEM_CRAFTED,
    E.EVENT_TYPE_KNOWLEDGE_DISCOVERED,
    E.EVENT_TYPE_LAW_ENACTED,
    E.EVENT_TYPE_PROPOSAL_DECIDED,
    E.EVENT_TYPE_GROUP_FORMED,
    E.EVENT_TYPE_GROUP_JOINED,
    E.EVENT_TYPE_GROUP_LEFT,
    E.EVENT_TYPE_WORLD_EVENT,
    *(t for t in CONSTRUCT_EVENT_TYPES if t not in _COUNTED),
)

# ActionType values other than UNSPECIFIED: the denominator of "action types used".
ACTION_TYPE_COUNT = len(action_pb2.ActionType.values()) - 1

PRODUCTIVE_ACTIONS: frozenset[int] = frozenset(
    action_pb2.ActionType.Value(f"ACTION_TYPE_{name}")
    for name in (
        "GATHER", "BUILD", "REPAIR", "IMPROVE_ROUTE", "FARM_PLANT", "FARM_HARVEST", "CRAFT",
        "COOK", "MINE", "SMELT", "WRITE", "TEACH", "HEAL",
    )
)  # fmt: skip

# An agent with fewer productive acts than this has no occupation (a newborn, an early death).
MIN_PRODUCTIVE_ACTS = 20
# Parameters longer than any id (messages, rules) are not ids.
MAX_ID_CHARS = 64
# An agent sharing less than half of its work with the population's mix is a specialist.
SPECIALIST_DISTANCE = 0.5
DIE_OFF_WINDOW_TICKS = 50
ALIVE_SHARE_TICK = 300
# Operator-injected world events that kill or starve: windows overlapping them are no die-off.
DISASTER_KINDS = frozenset({"natural_disaster", "plague", "resource_depletion"})
SETTLEMENT_AGENTS = 2
SETTLEMENT_TICKS = 500
SOCIAL_METHODS = ("teaching", "reading", "observation")
# Rest names no structure: the engine puts the agent in the best free shelter of the place and
# says so in the outcome; such a rest uses the shelters standing there.
SHELTER_KINDS = frozenset({common_pb2.STRUCTURE_KIND_LEAN_TO, common_pb2.STRUCTURE_KIND_BASIC_HUT})
SHELTER_REST_OUTCOME = "in a shelter"
_NOT_ACQUIRED = (E.DISCOVERY_METHOD_SEED, E.DISCOVERY_METHOD_INHERITANCE)


@dataclass(frozen=True)
class ChosenAction:
    """A stored decision: who, when, which action type and the ids its parameters name."""

    agent_id: str
    tick: int
    action_type: int
    named_ids: frozenset[str] = frozenset()


@dataclass
class SocietyHistory:
    events: Sequence[event_pb2.Event]
    decisions: Sequence[ChosenAction]
    population: Sequence[int]  # alive per stored tick, in tick order
    last_tick: int
    # The tick of each population count; empty means consecutive ticks from 0.
    population_ticks: Sequence[int] = ()
    # Stored decisions the engine made because no mind answered in time (NoAction).
    timed_out: int = 0
    # Per place, the resources (RESOURCE_* names) it has a natural source of.
    free_goods: Mapping[str, frozenset[str]] = field(default_factory=dict)


def chosen_action(decision: run_pb2.Decision) -> ChosenAction:
    """The action type of a stored decision (its parameters' oneof) and every id it names."""
    which = decision.action.WhichOneof("params")
    if which is None:
        return ChosenAction(decision.agent_id, decision.tick, 0)
    try:
        action_type = int(action_pb2.ActionType.Value(f"ACTION_TYPE_{which.upper()}"))
    except ValueError:
        action_type = 0
    params = getattr(decision.action, which)
    named = frozenset(
        value
        for _, value in params.ListFields()
        if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS
    )
    return ChosenAction(decision.agent_id, decision.tick, action_type, named)


def total_variation(first: Mapping[str, float], second: Mapping[str, float]) -> float:
    """Half the L1 distance between two distributions given as shares."""
    # Sorted: a set's order changes with the process's string hashing, and so would the sum's
    # last bits, so that the same history measured twice would not give the same figure.
    keys = sorted(set(first) | set(second))
    return sum(abs(first.get(key, 0.0) - second.get(key, 0.0)) for key in keys) / 2


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {key: value / total for key, value in counts.items()} if total else {}


def _of_type(events: Iterable[event_pb2.Event], *types: int) -> list[event_pb2.Event]:
    return [event for event in events if event.type in types]


def action_types(history: SocietyHistory) -> dict[str, float]:
    chosen = {d.action_type for d in history.decisions if d.action_type}
    succeeded = {
        e.action.action_type
        for e in _of_type(history.events, E.EVENT_TYPE_ACTION_SUCCEEDED)
        if e.action.action_type
    }
    return {
        "action_types_chosen": float(len(chosen)),
        "action_types_succeeded": float(len(succeeded)),
    }


def productive_acts(events: Sequence[event_pb2.Event]) -> dict[str, Counter[str]]:
    """Per agent, how often it did each productive activity."""
    gathered = {
        (e.agent_id, e.tick): label(common_pb2.Resource, e.resource.resource, "RESOURCE_")
        for e in _of_type(events, E.EVENT_TYPE_RESOURCE_GATHERED)
    }
    acts: dict[str, Counter[str]] = defaultdict(Counter)
    for event in _of_type(events, E.EVENT_TYPE_ACTION_SUCCEEDED):
        kind = event.action.action_type
        if kind not in PRODUCTIVE_ACTIONS:
            continue
        activity = label(action_pb2.ActionType, kind, "ACTION_TYPE_")
        if kind == action_pb2.ACTION_TYPE_GATHER:
            activity = f"gather {gathered.get((event.agent_id, event.tick), 'unknown')}"
        acts[event.agent_id][activity] += 1
    return acts


def occupation(counts: Mapping[str, int]) -> str:
    return min(counts, key=lambda activity: (-counts[activity], activity))


def _entropy(counts: Iterable[int]) -> float:
    values = [value for value in counts if value > 0]
    total = sum(values)
    return -sum(value / total * math.log(value / total) for value in values) if total else 0.0


def specialization_information(workers: Mapping[str, Mapping[str, int]]) -> float:
    """Theil's segregation index of activities across agents (see the module's docstring)."""
    pooled: Counter[str] = Counter()
    for counts in workers.values():
        pooled.update(counts)
    total = sum(pooled.values())
    overall = _entropy(pooled.values())
    if not total or overall == 0:
        return 0.0
    within = sum(
        sum(counts.values()) / total * _entropy(counts.values()) for counts in workers.values()
    )
    return max(0.0, (overall - within) / overall)


def specialization(events: Sequence[event_pb2.Event]) -> dict[str, float]:
    acts = productive_acts(events)
    pooled: Counter[str] = Counter()
    for counts in acts.values():
        pooled.update(counts)
    population_mix = shares(pooled)
    workers = {
        agent: counts
        for agent, counts in acts.items()
        if sum(counts.values()) >= MIN_PRODUCTIVE_ACTS
    }
    distances = [total_variation(shares(counts), population_mix) for counts in workers.values()]
    held = Counter(occupation(counts) for counts in workers.values())
    return {
        "specialization": sum(distances) / len(distances) if distances else 0.0,
        "specialists_share": sum(1 for d in distances if d >= SPECIALIST_DISTANCE) / len(distances)
        if distances
        else 0.0,
        "specialization_information": specialization_information(workers),
        "occupations": float(len(held)),
        "occupations_shared": float(sum(1 for agents in held.values() if agents >= 2)),
        "productive_activities": float(len(pooled)),
    }


def presence_intervals(
    events: Sequence[event_pb2.Event], end_tick: int
) -> list[tuple[str, int, int]]:
    """(place, from tick, to tick exclusive) for every stay of every agent at a place."""
    stays: list[tuple[str, int, int]] = []
    where: dict[str, tuple[str, int]] = {}

    def leave(agent_id: str, tick: int) -> None:
        stay = where.pop(agent_id, None)
        if stay is not None and tick > stay[1]:
            stays.append((stay[0], stay[1], tick))

    for event in events:
        if event.type in (E.EVENT_TYPE_AGENT_BORN, E.EVENT_TYPE_AGENT_ARRIVED):
            leave(event.agent_id, event.tick)
            place = event.location_id or event.movement.to_location_id
            if place:
                where[event.agent_id] = (place, event.tick)
        elif event.type in (E.EVENT_TYPE_AGENT_DEPARTED, E.EVENT_TYPE_AGENT_DIED):
            leave(event.agent_id, event.tick)
    for agent_id in sorted(where):
        leave(agent_id, end_tick + 1)
    return stays


def settlement(events: Sequence[event_pb2.Event], last_tick: int) -> dict[str, float]:
    stays = presence_intervals(events, last_tick)
    agent_ticks: Counter[str] = Counter()
    changes: dict[str, Counter[int]] = defaultdict(Counter)
    for place, start, end in stays:
        agent_ticks[place] += end - start
        changes[place][start] += 1
        changes[place][end] -= 1
    settled = 0
    for place_changes in changes.values():
        present, crowded_ticks, previous = 0, 0, 0
        for tick in sorted(place_changes):
            if present >= SETTLEMENT_AGENTS:
                crowded_ticks += tick - previous
            present += place_changes[tick]
            previous = tick
        settled += crowded_ticks >= SETTLEMENT_TICKS
    total = sum(agent_ticks.values())
    born = {e.agent_id for e in _of_type(events, E.EVENT_TYPE_AGENT_BORN)}
    moved = {e.agent_id for e in _of_type(events, E.EVENT_TYPE_AGENT_DEPARTED)}
    return {
        "busiest_place_share": max(agent_ticks.values()) / total if total else 0.0,
        "agents_never_moved_share": len(born - moved) / len(born) if born else float("nan"),
        "places_visited": float(len(agent_ticks)),
        "lasting_settlements": float(settled),
    }


def _shelter_rest(event: event_pb2.Event) -> bool:
    return (
        event.type == E.EVENT_TYPE_ACTION_SUCCEEDED
        and event.action.action_type == action_pb2.ACTION_TYPE_REST
        and SHELTER_REST_OUTCOME in event.action.outcome
    )


def structure_uses(history: SocietyHistory, durable: set[str]) -> Counter[str]:
    """How often each durable structure was used (the definition is in the module's docstring)."""
    uses: Counter[str] = Counter()
    succeeded = {
        (e.agent_id, e.tick) for e in _of_type(history.events, E.EVENT_TYPE_ACTION_SUCCEEDED)
    }
    for decision in history.decisions:
        if (decision.agent_id, decision.tick) in succeeded:
            uses.update(decision.named_ids & durable)
    shelters_at: dict[str, set[str]] = defaultdict(set)
    for event in history.events:
        details = event.structure
        if event.type == E.EVENT_TYPE_STRUCTURE_BUILT and details.kind in SHELTER_KINDS:
            shelters_at[event.location_id].add(details.structure_id)
        elif event.type == E.EVENT_TYPE_STRUCTURE_DESTROYED:
            for shelters in shelters_at.values():
                shelters.discard(details.structure_id)
        elif event.type in (E.EVENT_TYPE_CROP_PLANTED, E.EVENT_TYPE_CROP_HARVESTED):
            uses.update({event.resource.source_id} & durable)
        elif event.type == E.EVENT_TYPE_ITEM_CRAFTED:
            uses.update({event.craft.structure_id} & durable)
        elif _shelter_rest(event):
            uses.update(shelters_at.get(event.location_id, set()))
    return uses


def structures(history: SocietyHistory) -> dict[str, float]:
    kinds: dict[str, int] = {}
    destroyed: set[str] = set()
    for event in history.events:
        if event.type == E.EVENT_TYPE_STRUCTURE_BUILT:
            kinds[event.structure.structure_id] = event.structure.kind
        elif event.type == E.EVENT_TYPE_STRUCTURE_DESTROYED:
            destroyed.add(event.structure.structure_id)
    durable = {sid for sid, kind in kinds.items() if kind != common_pb2.STRUCTURE_KIND_CAMPFIRE}
    uses = structure_uses(history, durable)
    standing = durable - destroyed
    return {
        "structures_built": float(len(kinds)),
        "campfires_built": float(len(kinds) - len(durable)),
        "durable_built": float(len(durable)),
        "durable_standing_end": float(len(standing)),
        "durable_standing_used": float(sum(1 for sid in standing if uses[sid])),
        "durable_uses": float(sum(uses[sid] for sid in durable)),
    }


def trade(history: SocietyHistory) -> dict[str, float]:
    flows: Counter[tuple[str, str, int]] = Counter()  # (from, to, resource) -> units
    trades = _of_type(history.events, E.EVENT_TYPE_TRADE_COMPLETED)
    in_free_goods = 0
    for event in trades:
        details = event.trade
        moved: set[str] = set()
        for amount in details.given:
            flows[(details.offerer_id, details.accepter_id, amount.resource)] += amount.quantity
            moved.add(common_pb2.Resource.Name(amount.resource))
        for amount in details.received:
            flows[(details.accepter_id, details.offerer_id, amount.resource)] += amount.quantity
            moved.add(common_pb2.Resource.Name(amount.resource))
        in_free_goods += bool(moved & history.free_goods.get(event.location_id, frozenset()))
    net = gross = 0
    for (giver, taker, resource), units in flows.items():
        if giver < taker:
            back = flows.get((taker, giver, resource), 0)
            net, gross = net + abs(units - back), gross + units + back
        elif (taker, giver, resource) not in flows:
            net, gross = net + units, gross + units
    return {
        "trades": float(len(trades)),
        "trade_units_gross": float(gross),
        "trade_net_share": net / gross if gross else float("nan"),
        "trades_in_free_goods_share": in_free_goods / len(trades) if trades else float("nan"),
    }


def knowledge(events: Sequence[event_pb2.Event]) -> dict[str, float]:
    by_method: Counter[str] = Counter()
    first_by_method: Counter[str] = Counter()
    last_first = 0
    for event in _of_type(events, E.EVENT_TYPE_KNOWLEDGE_DISCOVERED):
        details = event.knowledge
        if not details.success or details.method in _NOT_ACQUIRED:
            continue
        by_method[label(E.DiscoveryMethod, details.method, "DISCOVERY_METHOD_")] += 1
        if details.first_in_run:
            last_first = max(last_first, event.tick)
            first_by_method[label(E.DiscoveryMethod, details.method, "DISCOVERY_METHOD_")] += 1
    acquired = sum(by_method.values())
    firsts = sum(first_by_method.values())
    figures = {
        "knowledge_acquired": float(acquired),
        "social_spread_share": sum(by_method[m] for m in SOCIAL_METHODS) / acquired
        if acquired
        else float("nan"),
        "last_first_discovery_tick": float(last_first),
        "first_discoveries": float(firsts),
        "first_discoveries_by_accident_share": first_by_method["accident"] / firsts
        if firsts
        else float("nan"),
    }
    for method in ("accident", "experimentation", "observation", "teaching", "reading", "gift"):
        figures[f"discoveries.{method}"] = float(by_method[method])
    return figures


def laws_and_groups(events: Sequence[event_pb2.Event]) -> dict[str, float]:
    laws = _of_type(events, E.EVENT_TYPE_LAW_ENACTED)
    decided = _of_type(events, E.EVENT_TYPE_PROPOSAL_DECIDED)
    sizes: Counter[str] = Counter()
    for event in _of_type(
        events, E.EVENT_TYPE_GROUP_FORMED, E.EVENT_TYPE_GROUP_JOINED, E.EVENT_TYPE_GROUP_LEFT
    ):
        group = event.group
        sizes[group.group_id] = max(sizes[group.group_id], len(group.member_ids))
    return {
        "laws_enacted": float(len(laws)),
        "laws_contested": float(sum(1 for e in laws if e.diplomacy.no_votes > 0)),
        "laws_one_party": float(sum(1 for e in laws if len(e.diplomacy.party_ids) <= 1)),
        "proposals_with_no_vote": float(sum(1 for e in decided if e.diplomacy.no_votes > 0)),
        "groups": float(len(sizes)),
        "group_size_max": float(max(sizes.values(), default=0)),
        "group_size_mean": sum(sizes.values()) / len(sizes) if sizes else 0.0,
    }


def deaths(events: Sequence[event_pb2.Event]) -> dict[str, float]:
    figures: Counter[str] = Counter()
    for event in _of_type(events, E.EVENT_TYPE_AGENT_DIED):
        cause = label(common_pb2.DeathCause, event.agent_died.cause, "DEATH_CAUSE_")
        season = label(common_pb2.Season, event.context.season, "SEASON_")
        figures["deaths"] += 1
        figures[f"deaths.cause.{cause.replace(' ', '_')}"] += 1
        figures[f"deaths.season.{season}"] += 1
    return {key: float(value) for key, value in sorted(figures.items())} or {"deaths": 0.0}


def _disaster_spans(events: Sequence[event_pb2.Event]) -> list[tuple[int, int]]:
    """(first tick, last tick) of every operator-injected disaster."""
    spans = []
    for event in _of_type(events, E.EVENT_TYPE_WORLD_EVENT):
        details = event.world_event
        if details.kind.lower() in DISASTER_KINDS:
            raw = details.parameters.get("ticks", "")
            spans.append((event.tick, event.tick + (int(raw) if raw.isdigit() else 0)))
    return spans


def population(history: SocietyHistory) -> dict[str, float]:
    counts = list(history.population)
    ticks = list(history.population_ticks) or list(range(len(counts)))
    disasters = _disaster_spans(history.events)
    worst, worst_tick = 0.0, float("nan")
    for index, (tick, alive) in enumerate(zip(ticks, counts, strict=True)):
        if alive <= 0:
            continue
        end = tick + DIE_OFF_WINDOW_TICKS
        if any(start <= end and tick <= stop for start, stop in disasters):
            continue
        later = [
            n for t, n in zip(ticks[index + 1 :], counts[index + 1 :], strict=True) if t <= end
        ]
        fall = (alive - min(later, default=alive)) / alive
        if fall > worst:
            worst, worst_tick = fall, float(tick)
    at_tick = dict(zip(ticks, counts, strict=True))
    start = counts[0] if counts else 0
    alive_then = at_tick.get(ticks[0] + ALIVE_SHARE_TICK) if ticks else None
    return {
        "population_start": float(start),
        "population_min": float(min(counts, default=0)),
        "population_end": float(counts[-1] if counts else 0),
        "alive_share_at_300": alive_then / start if start and alive_then is not None else math.nan,
        "die_off_50": worst,
        "die_off_50_tick": worst_tick,
    }


def society_metrics(history: SocietyHistory) -> dict[str, float]:
    """Every figure above for one run, by name."""
    events = history.events
    return {
        "ticks": float(history.last_tick),
        "decisions_timed_out_share": history.timed_out / len(history.decisions)
        if history.decisions
        else 0.0,
        **action_types(history),
        **specialization(events),
        **settlement(events, history.last_tick),
        **structures(history),
        **trade(history),
        **knowledge(events),
        **laws_and_groups(events),
        **population(history),
        **deaths(events),
        **construct_counts(all_constructs(events, history.last_tick)),
    }
