"""Social constructs (agents.md §6) read from a run's stored history, by kind.

Two sources. The engine's detector records some as the run goes (engine/constructs.py, stored as
SOCIAL_CONSTRUCT_FORMED / DISBANDED events: `faith`, `rule`, `family`, `money`). The rest of §6
is detected here, afterwards, from the stored events alone; nothing is written back, so a run's
history and its hash are the same with or without these detectors. Pure and deterministic: the
same events give the same constructs, in the same order.

Detected here (a day is DAY_TICKS ticks; thresholds are the constants below):
- `ritual` (religion): prayers to the same named object at the same place on at least
  RITUAL_DAYS distinct days by at least RITUAL_AGENTS agents; it lapses when nobody prays there
  for RITUAL_SILENCE_TICKS.
- `enforced law` (governance): a group's rule enforced on someone (SANCTION_APPLIED); its
  `compliance` is the share of the group's members never sanctioned under its rules.
- `marriage` (family): a marriage bond, until a divorce or the death of either partner.
- `household` (family): kin (spouses, a parent and a child) who lived at the same place while a
  shelter (lean-to, hut) stood there for at least HOUSEHOLD_TICKS ticks together; kin sharing a
  place this way form one household.
- `standing price` (economic): at least PRICE_TRADES trades of one good for one other, by at
  least PRICE_TRADERS agents within PRICE_WINDOW_TICKS, at the same ratio (the commonest ratio,
  within PRICE_TOLERANCE); it lapses when no trade at that price comes for PRICE_WINDOW_TICKS.
- `tribute` (economic; the spec's "tax"): at least TRIBUTE_GIVERS members of a group each gave
  goods (ITEMS_GIVEN) to the same member at least TRIBUTE_GIFTS times, and got nothing back
  from them by gift.
- `custom` (cultural): the same cultural act (a freeform act the engine mapped to no mechanic;
  its text lower-cased, spaces collapsed) done by at least CUSTOM_AGENTS agents at least
  CUSTOM_TIMES times; it lapses after CUSTOM_SILENCE_TICKS without one.
- `tradition` (cultural): a custom or ritual kept by an agent born in the run after it began
  (handed down to a new generation).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from emergence.analysis.history import enum_label
from emergence.v1 import common_pb2, event_pb2, run_pb2

E = event_pb2

DAY_TICKS = 5  # the world's default times of day; a day is one cycle of them
RITUAL_DAYS = 3
RITUAL_AGENTS = 2
RITUAL_SILENCE_TICKS = 300
HOUSEHOLD_TICKS = 50
PRICE_TRADES = 5
PRICE_TRADERS = 3
PRICE_WINDOW_TICKS = 200
PRICE_TOLERANCE = 0.1
TRIBUTE_GIVERS = 3
TRIBUTE_GIFTS = 2
CUSTOM_AGENTS = 3
CUSTOM_TIMES = 5
CUSTOM_SILENCE_TICKS = 300

SHELTERS = frozenset({common_pb2.STRUCTURE_KIND_LEAN_TO, common_pb2.STRUCTURE_KIND_BASIC_HUT})
# The kind of a construct the engine stored, by the prefix of its id.
STORED_KINDS = {"religion": "faith", "governance": "rule", "family": "family", "economic": "money"}

# What the detectors read; a loader asks the store for these types only.
CONSTRUCT_EVENT_TYPES: tuple[int, ...] = (
    E.EVENT_TYPE_AGENT_BORN,
    E.EVENT_TYPE_AGENT_DIED,
    E.EVENT_TYPE_AGENT_ARRIVED,
    E.EVENT_TYPE_AGENT_DEPARTED,
    E.EVENT_TYPE_STRUCTURE_BUILT,
    E.EVENT_TYPE_STRUCTURE_DESTROYED,
    E.EVENT_TYPE_PRAYER,
    E.EVENT_TYPE_FREEFORM_ACT,
    E.EVENT_TYPE_BOND_FORMED,
    E.EVENT_TYPE_BOND_BROKEN,
    E.EVENT_TYPE_SANCTION_APPLIED,
    E.EVENT_TYPE_ITEMS_GIVEN,
    E.EVENT_TYPE_TRADE_COMPLETED,
    E.EVENT_TYPE_GROUP_FORMED,
    E.EVENT_TYPE_GROUP_JOINED,
    E.EVENT_TYPE_GROUP_LEFT,
    E.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED,
    E.EVENT_TYPE_SOCIAL_CONSTRUCT_DISBANDED,
)

_CATEGORY = {
    "ritual": E.CONSTRUCT_CATEGORY_RELIGION,
    "enforced law": E.CONSTRUCT_CATEGORY_GOVERNANCE,
    "marriage": E.CONSTRUCT_CATEGORY_FAMILY,
    "household": E.CONSTRUCT_CATEGORY_FAMILY,
    "standing price": E.CONSTRUCT_CATEGORY_ECONOMIC,
    "tribute": E.CONSTRUCT_CATEGORY_ECONOMIC,
    "custom": E.CONSTRUCT_CATEGORY_CULTURAL,
    "tradition": E.CONSTRUCT_CATEGORY_CULTURAL,
}


@dataclass
class Construct:
    """One construct: stored by the engine or detected here."""

    id: str
    kind: str
    name: str
    category: int
    founder_id: str
    formed_tick: int
    adherent_ids: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    disbanded_tick: int | None = None
    detected_afterwards: bool = True

    @property
    def history(self) -> list[str]:
        found = (
            "detected from the history" if self.detected_afterwards else "recorded by the engine"
        )
        lines = [f"formed at tick {self.formed_tick} ({found})"]
        if self.disbanded_tick is not None:
            lines.append(f"disbanded at tick {self.disbanded_tick}")
        return lines

    def to_proto(self) -> run_pb2.SocialConstruct:
        construct = run_pb2.SocialConstruct(
            id=self.id,
            name=self.name,
            category=self.category,  # type: ignore[arg-type]
            founder_id=self.founder_id,
            adherent_ids=self.adherent_ids,
            formed_tick=self.formed_tick,
            disbanded_tick=self.disbanded_tick or 0,
            history=self.history,
        )
        construct.properties.update({"kind": self.kind, **self.properties})
        return construct


def _of(events: Iterable[event_pb2.Event], *types: int) -> list[event_pb2.Event]:
    return [event for event in events if event.type in types]


def _make(
    kind: str,
    key: str,
    name: str,
    founder: str,
    tick: int,
    adherent_ids: list[str],
    properties: dict[str, str] | None = None,
) -> Construct:
    return Construct(
        f"{kind.replace(' ', '-')}:{key}", kind, name, _CATEGORY[kind], founder, tick,
        adherent_ids, properties or {},
    )  # fmt: skip


# ----- stored by the engine --------------------------------------------------------------------
def stored(events: Sequence[event_pb2.Event]) -> list[Construct]:
    found: dict[str, Construct] = {}
    for event in _of(
        events, E.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED, E.EVENT_TYPE_SOCIAL_CONSTRUCT_DISBANDED
    ):
        details = event.construct
        if event.type == E.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED:
            prefix = details.construct_id.split(":", 1)[0]
            kind = STORED_KINDS.get(prefix) or enum_label(
                E.ConstructCategory, details.category, "CONSTRUCT_CATEGORY_"
            )
            found[details.construct_id] = Construct(
                details.construct_id, kind, details.name, details.category, details.founder_id,
                event.tick, list(details.adherent_ids), dict(details.properties),
                detected_afterwards=False,
            )  # fmt: skip
        elif details.construct_id in found:
            found[details.construct_id].disbanded_tick = event.tick
    return list(found.values())


# ----- religion: rituals ----------------------------------------------------------------------
def rituals(events: Sequence[event_pb2.Event], last_tick: int) -> list[Construct]:
    acts: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for event in _of(events, E.EVENT_TYPE_PRAYER):
        if event.prayer.construct and event.location_id:
            acts[(event.prayer.construct, event.location_id)].append((event.tick, event.agent_id))
    found = []
    for (name, place), done in sorted(acts.items()):
        formed = _repeated(done, RITUAL_DAYS, RITUAL_AGENTS, by_days=True)
        if formed is None:
            continue
        construct = _make(
            "ritual", f"{name}@{place}", f"the rite of {name} at {place}", done[0][1], formed,
            adherent_ids=sorted({agent for _, agent in done}),
            properties={"object": name, "place": place, "acts": str(len(done))},
        )  # fmt: skip
        construct.disbanded_tick = _lapsed(done, RITUAL_SILENCE_TICKS, last_tick)
        found.append(construct)
    return found


def _repeated(
    done: Sequence[tuple[int, str]], times: int, agents: int, *, by_days: bool = False
) -> int | None:
    """The tick at which `done` (tick, agent) first reached `times` (days or acts) and `agents`."""
    days: set[int] = set()
    seen: set[str] = set()
    for count, (tick, agent) in enumerate(sorted(done), start=1):
        days.add(tick // DAY_TICKS)
        seen.add(agent)
        if (len(days) if by_days else count) >= times and len(seen) >= agents:
            return tick
    return None


def _lapsed(done: Sequence[tuple[int, str]], silence: int, last_tick: int) -> int | None:
    """The tick a repeated act lapsed (the first silence of `silence` ticks after it formed)."""
    ticks = sorted(tick for tick, _ in done)
    for before, after in itertools.pairwise(ticks):
        if after - before >= silence:
            return before + silence
    end = ticks[-1] + silence if ticks else None
    return end if end is not None and end <= last_tick else None


# ----- governance: enforced law ---------------------------------------------------------------
def _group_members(events: Sequence[event_pb2.Event]) -> dict[str, set[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for event in _of(
        events, E.EVENT_TYPE_GROUP_FORMED, E.EVENT_TYPE_GROUP_JOINED, E.EVENT_TYPE_GROUP_LEFT
    ):
        members[event.group.group_id].update(event.group.member_ids)
    return members


def enforced_laws(events: Sequence[event_pb2.Event]) -> list[Construct]:
    members = _group_members(events)
    sanctions: dict[str, list[event_pb2.Event]] = defaultdict(list)
    for event in _of(events, E.EVENT_TYPE_SANCTION_APPLIED):
        if event.sanction.group_id:
            sanctions[event.sanction.group_id].append(event)
    found = []
    for group_id, applied in sorted(sanctions.items()):
        group = members.get(group_id, set())
        sanctioned = {event.sanction.target_agent_id for event in applied}
        compliance = 1 - len(sanctioned & group) / len(group) if group else 0.0
        found.append(
            _make(
                "enforced law",
                group_id,
                f"the enforced law of {group_id}",
                applied[0].agent_id,
                applied[0].tick,
                adherent_ids=sorted(group),
                properties={
                    "sanctions": str(len(applied)),
                    "compliance": f"{compliance:.2f}",
                    "rules": str(len({event.sanction.rule for event in applied})),
                },
            )
        )
    return found


# ----- family: marriages and households ------------------------------------------------------
def marriages(events: Sequence[event_pb2.Event]) -> list[Construct]:
    open_: dict[frozenset[str], Construct] = {}
    found = []
    for event in events:
        if event.type in (E.EVENT_TYPE_BOND_FORMED, E.EVENT_TYPE_BOND_BROKEN):
            if event.bond.kind != "marriage":
                continue
            pair = frozenset({event.agent_id, event.bond.partner_id})
            if event.type == E.EVENT_TYPE_BOND_FORMED and pair not in open_:
                first, second = sorted(pair)
                construct = _make(
                    "marriage", f"{first}:{second}:{event.tick}", f"the marriage of {first} and {second}",
                    event.agent_id, event.tick, adherent_ids=[first, second],
                )  # fmt: skip
                open_[pair] = construct
                found.append(construct)
            elif event.type == E.EVENT_TYPE_BOND_BROKEN and pair in open_:
                open_.pop(pair).disbanded_tick = event.tick
        elif event.type == E.EVENT_TYPE_AGENT_DIED:
            for pair in [pair for pair in open_ if event.agent_id in pair]:
                open_.pop(pair).disbanded_tick = event.tick
    return found


def _stays(
    events: Sequence[event_pb2.Event], last_tick: int
) -> dict[str, list[tuple[str, int, int]]]:
    from emergence.analysis.society import presence_intervals

    stays: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    agents = [
        e.agent_id
        for e in events
        if e.type in (E.EVENT_TYPE_AGENT_BORN, E.EVENT_TYPE_AGENT_ARRIVED)
    ]
    by_agent = _split_by_agent(events, set(agents))
    for agent_id, own in by_agent.items():
        stays[agent_id] = presence_intervals(own, last_tick)
    return stays


def _split_by_agent(
    events: Sequence[event_pb2.Event], agents: set[str]
) -> dict[str, list[event_pb2.Event]]:
    moves = (
        E.EVENT_TYPE_AGENT_BORN,
        E.EVENT_TYPE_AGENT_ARRIVED,
        E.EVENT_TYPE_AGENT_DEPARTED,
        E.EVENT_TYPE_AGENT_DIED,
    )
    split: dict[str, list[event_pb2.Event]] = defaultdict(list)
    for event in events:
        if event.type in moves and event.agent_id in agents:
            split[event.agent_id].append(event)
    return split


def _shelter_spans(
    events: Sequence[event_pb2.Event], last_tick: int
) -> dict[str, list[tuple[int, int]]]:
    built: dict[str, tuple[str, int]] = {}
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for event in _of(events, E.EVENT_TYPE_STRUCTURE_BUILT, E.EVENT_TYPE_STRUCTURE_DESTROYED):
        details = event.structure
        if event.type == E.EVENT_TYPE_STRUCTURE_BUILT and details.kind in SHELTERS:
            built[details.structure_id] = (event.location_id, event.tick)
        elif event.type == E.EVENT_TYPE_STRUCTURE_DESTROYED and details.structure_id in built:
            place, start = built.pop(details.structure_id)
            spans[place].append((start, event.tick))
    for place, start in built.values():
        spans[place].append((start, last_tick + 1))
    return spans


def _kin(events: Sequence[event_pb2.Event]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for event in events:
        if event.type == E.EVENT_TYPE_BOND_FORMED and event.bond.kind == "marriage":
            pairs.add(tuple(sorted((event.agent_id, event.bond.partner_id))))  # type: ignore[arg-type]
        elif event.type == E.EVENT_TYPE_AGENT_BORN:
            for parent in event.agent_born.parent_ids:
                pairs.add(tuple(sorted((parent, event.agent_id))))  # type: ignore[arg-type]
    return pairs


def _sheltered_together(
    first: list[tuple[str, int, int]], second: list[tuple[str, int, int]],
    shelters: dict[str, list[tuple[int, int]]],
) -> dict[str, int]:  # fmt: skip
    """Per place, the tick at which two agents had lived there HOUSEHOLD_TICKS ticks together
    while a shelter stood there (only places where they did)."""
    pieces: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for place, a_start, a_end in first:
        for other, b_start, b_end in second:
            if other != place:
                continue
            for s_start, s_end in shelters.get(place, []):
                start, end = max(a_start, b_start, s_start), min(a_end, b_end, s_end)
                if end > start:
                    pieces[place].append((start, end))
    reached = {}
    for place, spans in pieces.items():
        total, covered_to = 0, -1
        for start, end in sorted(spans):
            start = max(start, covered_to)
            if end <= start:
                continue
            if total + end - start >= HOUSEHOLD_TICKS:
                reached[place] = start + HOUSEHOLD_TICKS - total
                break
            total, covered_to = total + end - start, end
    return reached


def households(events: Sequence[event_pb2.Event], last_tick: int) -> list[Construct]:
    stays = _stays(events, last_tick)
    shelters = _shelter_spans(events, last_tick)
    links: dict[str, list[tuple[int, str, str]]] = defaultdict(list)  # place -> (tick, a, b)
    for first, second in sorted(_kin(events)):
        if first in stays and second in stays:
            for place, tick in _sheltered_together(stays[first], stays[second], shelters).items():
                links[place].append((tick, first, second))
    found = []
    for place, pairs in sorted(links.items()):
        for members, formed in _components(pairs):
            construct = _make(
                "household", f"{place}:{members[0]}", f"the household at {place} of {members[0]}",
                members[0], formed, adherent_ids=members, properties={"place": place},
            )  # fmt: skip
            found.append(construct)
    return found


def _components(pairs: list[tuple[int, str, str]]) -> list[tuple[list[str], int]]:
    """Kin linked at one place, grouped: (members sorted, the first tick a link formed)."""
    parent: dict[str, str] = {}

    def root(agent: str) -> str:
        while parent.setdefault(agent, agent) != agent:
            agent = parent[agent]
        return agent

    for _, first, second in pairs:
        parent[root(first)] = root(second)
    groups: dict[str, list[str]] = defaultdict(list)
    formed: dict[str, int] = {}
    for agent in sorted(parent):
        groups[root(agent)].append(agent)
    for tick, first, _ in pairs:
        key = root(first)
        formed[key] = min(formed.get(key, tick), tick)
    return sorted(((members, formed[key]) for key, members in groups.items()), key=lambda g: g[0])


# ----- economic: standing prices and tribute --------------------------------------------------
def standing_prices(events: Sequence[event_pb2.Event], last_tick: int) -> list[Construct]:
    by_pair: dict[tuple[int, int], list[tuple[int, float, str, str]]] = defaultdict(list)
    for event in _of(events, E.EVENT_TYPE_TRADE_COMPLETED):
        details = event.trade
        if len(details.given) != 1 or len(details.received) != 1:
            continue
        given, received = details.given[0], details.received[0]
        if given.resource == received.resource or not given.quantity or not received.quantity:
            continue
        # Price of the good with the lower enum value, in units of the other.
        if given.resource < received.resource:
            key, price = (given.resource, received.resource), received.quantity / given.quantity
        else:
            key, price = (received.resource, given.resource), given.quantity / received.quantity
        by_pair[key].append((event.tick, price, details.offerer_id, details.accepter_id))
    found = []
    for (good, money), trades in sorted(by_pair.items()):
        construct = _standing_price(good, money, trades, last_tick)
        if construct is not None:
            found.append(construct)
    return found


def _standing_price(
    good: int, money: int, trades: list[tuple[int, float, str, str]], last_tick: int
) -> Construct | None:
    common = Counter(round(price, 2) for _, price, _, _ in trades).most_common(1)[0][0]
    at_price = [t for t in trades if abs(t[1] - common) <= PRICE_TOLERANCE * common]
    for index, (tick, _, _, _) in enumerate(at_price):
        window = [t for t in at_price[: index + 1] if t[0] > tick - PRICE_WINDOW_TICKS]
        traders = {agent for t in window for agent in t[2:]}
        if len(window) >= PRICE_TRADES and len(traders) >= PRICE_TRADERS:
            good_name = enum_label(common_pb2.Resource, good, "RESOURCE_")
            money_name = enum_label(common_pb2.Resource, money, "RESOURCE_")
            construct = _make(
                "standing price", f"{good_name}:{money_name}",
                f"{common:g} {money_name} for a {good_name}", window[0][2], tick,
                adherent_ids=sorted({agent for t in at_price for agent in t[2:]}),
                properties={"good": good_name, "paid_in": money_name, "price": f"{common:g}",
                            "trades_at_price": str(len(at_price)), "trades": str(len(trades))},
            )  # fmt: skip
            construct.disbanded_tick = _lapsed(
                [(t[0], t[2]) for t in at_price], PRICE_WINDOW_TICKS, last_tick
            )
            return construct
    return None


def tributes(events: Sequence[event_pb2.Event]) -> list[Construct]:
    members = _group_members(events)
    gifts: dict[tuple[str, str], list[int]] = defaultdict(list)  # (giver, taker) -> ticks
    for event in _of(events, E.EVENT_TYPE_ITEMS_GIVEN):
        gifts[(event.trade.offerer_id, event.trade.accepter_id)].append(event.tick)
    found = []
    for group_id, group in sorted(members.items()):
        for taker in sorted(group):
            givers = sorted(
                giver for giver in group - {taker}
                if len(gifts.get((giver, taker), [])) >= TRIBUTE_GIFTS and not gifts.get((taker, giver))
            )  # fmt: skip
            if len(givers) < TRIBUTE_GIVERS:
                continue
            # Formed when the last of the first TRIBUTE_GIVERS givers had given enough.
            ready = sorted(sorted(gifts[(giver, taker)])[TRIBUTE_GIFTS - 1] for giver in givers)
            found.append(
                _make(
                    "tribute",
                    f"{group_id}:{taker}",
                    f"tribute to {taker} in {group_id}",
                    taker,
                    ready[TRIBUTE_GIVERS - 1],
                    adherent_ids=[taker, *givers],
                    properties={
                        "group_id": group_id,
                        "receiver_id": taker,
                        "givers": str(len(givers)),
                    },
                )
            )
    return found


# ----- cultural: customs and traditions -------------------------------------------------------
def _act_text(text: str) -> str:
    return " ".join(text.lower().split())[:120]


def customs(events: Sequence[event_pb2.Event], last_tick: int) -> list[Construct]:
    acts: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for event in _of(events, E.EVENT_TYPE_FREEFORM_ACT):
        if not event.freeform.mapped_to and event.freeform.text.strip():
            acts[_act_text(event.freeform.text)].append((event.tick, event.agent_id))
    found = []
    for text, done in sorted(acts.items()):
        formed = _repeated(done, CUSTOM_TIMES, CUSTOM_AGENTS)
        if formed is None:
            continue
        construct = _make(
            "custom", text, f"the custom: {text}", sorted(done)[0][1], formed,
            adherent_ids=sorted({agent for _, agent in done}),
            properties={"act": text, "times": str(len(done))},
        )  # fmt: skip
        construct.disbanded_tick = _lapsed(done, CUSTOM_SILENCE_TICKS, last_tick)
        found.append(construct)
    return found


def traditions(events: Sequence[event_pb2.Event], kept: Sequence[Construct]) -> list[Construct]:
    """Customs and rituals kept by an agent born in the run after the practice began."""
    born = {
        e.agent_id: e.tick
        for e in _of(events, E.EVENT_TYPE_AGENT_BORN)
        if e.agent_born.origin == "birth"
    }
    doers: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for event in _of(events, E.EVENT_TYPE_FREEFORM_ACT):
        if not event.freeform.mapped_to:
            doers[f"custom:{_act_text(event.freeform.text)}"].append((event.tick, event.agent_id))
    for event in _of(events, E.EVENT_TYPE_PRAYER):
        key = f"ritual:{event.prayer.construct}@{event.location_id}"
        doers[key].append((event.tick, event.agent_id))
    found = []
    for practice in kept:
        first_tick = min((tick for tick, _ in doers.get(practice.id, [])), default=None)
        if first_tick is None:
            continue
        heirs = sorted(
            (tick, agent) for tick, agent in doers[practice.id]
            if agent in born and born[agent] > first_tick and tick >= practice.formed_tick
        )  # fmt: skip
        if not heirs:
            continue
        found.append(
            _make(
                "tradition",
                practice.id,
                f"the tradition of {practice.name.removeprefix('the ')}",
                practice.founder_id,
                heirs[0][0],
                adherent_ids=sorted({*practice.adherent_ids, *(agent for _, agent in heirs)}),
                properties={"practice": practice.id, "heirs": str(len({a for _, a in heirs}))},
            )
        )
    return found


# ----- everything -----------------------------------------------------------------------------
def detected(events: Sequence[event_pb2.Event], last_tick: int) -> list[Construct]:
    """The constructs detected here (not the engine's), in a stable order."""
    practices = [*rituals(events, last_tick), *customs(events, last_tick)]
    found = [
        *practices,
        *traditions(events, practices),
        *enforced_laws(events),
        *marriages(events),
        *households(events, last_tick),
        *standing_prices(events, last_tick),
        *tributes(events),
    ]
    return sorted(found, key=lambda construct: (construct.formed_tick, construct.id))


def all_constructs(events: Sequence[event_pb2.Event], last_tick: int) -> list[Construct]:
    """The engine's stored constructs and the ones detected here, by the tick they formed."""
    every = [*stored(events), *detected(events, last_tick)]
    return sorted(every, key=lambda construct: (construct.formed_tick, construct.id))


def construct_counts(constructs: Sequence[Construct]) -> dict[str, float]:
    """`constructs` and `constructs.<kind>` (spaces as underscores) for the society benchmark."""
    counts = Counter(construct.kind.replace(" ", "_") for construct in constructs)
    figures = {"constructs": float(len(constructs))}
    figures.update({f"constructs.{kind}": float(n) for kind, n in sorted(counts.items())})
    return figures
