"""Social construct detection: the observer's reading of the history, never an input to a mind.

Each tick the detector looks at the world and the tick's events and says which constructs formed
or dissolved (observer.md §1, agents.md "social construct detection"):

- religion: at least 3 living agents prayed to the same named object within a window;
- governance: a group that has passed a law or chosen a leader;
- family: two parents with a living child, the parents and their living children;
- economic: a resource used as a medium of exchange (in many trades, by several agents, against
  several other goods).

Only formation and dissolution are events; who adheres now is read with `constructs()`. Nothing
here changes the world: the agents never see it.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from emergence.v1 import event_pb2, run_pb2
from engine.core.events import DomainEvent
from engine.core.state import WorldState

RELIGION_WINDOW_TICKS = 200  # prayers that count towards a shared faith
RELIGION_FOLLOWERS = 3
RELIGION_SILENCE_TICKS = 300  # a faith nobody prays to for this long has died out
MONEY_WINDOW_TICKS = 100
MONEY_TRADES = 10
MONEY_CIRCULATORS = 4  # agents who both took it in a trade and gave it in another
MONEY_COUNTERPARTS = 3  # distinct goods it was exchanged against


@dataclass
class Construct:
    id: str
    name: str
    category: int
    founder_id: str
    formed_tick: int
    adherent_ids: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    disbanded_tick: int = 0
    history: list[str] = field(default_factory=list)

    def to_proto(self) -> run_pb2.SocialConstruct:
        return run_pb2.SocialConstruct(
            id=self.id,
            name=self.name,
            category=self.category,  # type: ignore[arg-type]
            founder_id=self.founder_id,
            adherent_ids=self.adherent_ids,
            properties=self.properties,
            formed_tick=self.formed_tick,
            disbanded_tick=self.disbanded_tick,
            history=self.history,
        )


@dataclass(frozen=True)
class Sighting:
    """What one rule sees in one tick: a construct that stands now, with its current shape."""

    id: str
    name: str
    category: int
    founder_id: str
    adherent_ids: list[str]
    properties: dict[str, str]


class ConstructDetector:
    def __init__(self) -> None:
        self.known: dict[str, Construct] = {}
        self._prayers: deque[tuple[int, str, str]] = deque()  # (tick, construct name, agent)
        self._first_prayer: dict[str, str] = {}
        # (tick, resource, giver, taker, what it was exchanged against)
        self._trades: deque[tuple[int, str, str, str, frozenset[str]]] = deque()

    def constructs(self) -> list[run_pb2.SocialConstruct]:
        return [self.known[key].to_proto() for key in sorted(self.known)]

    def observe(
        self, state: WorldState, tick: int, events: list[DomainEvent]
    ) -> list[event_pb2.Event]:
        """The SocialConstructFormed/Disbanded events of this tick, in a stable order."""
        self._remember(tick, events)
        standing = {
            sighting.id: sighting
            for sighting in [
                *self._religions(state, tick),
                *_governments(state),
                *_families(state),
                *self._money(),
            ]
        }
        found: list[event_pb2.Event] = []
        for key in sorted(standing):
            sighting = standing[key]
            construct = self.known.get(key)
            if construct is None or construct.disbanded_tick:
                construct = self.known[key] = Construct(
                    key,
                    sighting.name,
                    sighting.category,
                    sighting.founder_id,
                    tick,
                    sighting.adherent_ids,
                    sighting.properties,
                    history=[f"tick {tick}: formed"],
                )
                found.append(_event(event_pb2.EVENT_TYPE_SOCIAL_CONSTRUCT_FORMED, construct))
            construct.adherent_ids = sighting.adherent_ids
            construct.properties = sighting.properties
        for key in sorted(self.known):
            construct = self.known[key]
            if key not in standing and not construct.disbanded_tick:
                construct.disbanded_tick = tick
                construct.history.append(f"tick {tick}: disbanded")
                found.append(_event(event_pb2.EVENT_TYPE_SOCIAL_CONSTRUCT_DISBANDED, construct))
        return found

    # ----- what the history says ----------------------------------------------------------
    def _remember(self, tick: int, events: list[DomainEvent]) -> None:
        for event in events:
            if event.type == "PRAYER" and event.details.get("construct"):
                name = str(event.details["construct"])
                self._prayers.append((tick, name, event.agent_id))
                self._first_prayer.setdefault(name, event.agent_id)
            elif event.type == "TRADE_COMPLETED":
                offerer = str(event.details["offerer_id"])
                accepter = str(event.details["accepter_id"])
                given = _resources(event.details.get("given"))  # offerer -> accepter
                received = _resources(event.details.get("received"))  # accepter -> offerer
                for resource in sorted(given):
                    self._trades.append((tick, resource, offerer, accepter, received))
                for resource in sorted(received):
                    self._trades.append((tick, resource, accepter, offerer, given))
        horizon = tick - max(RELIGION_WINDOW_TICKS, RELIGION_SILENCE_TICKS)
        while self._prayers and self._prayers[0][0] <= horizon:
            self._prayers.popleft()
        while self._trades and self._trades[0][0] <= tick - MONEY_WINDOW_TICKS:
            self._trades.popleft()

    def _religions(self, state: WorldState, tick: int) -> list[Sighting]:
        recent: dict[str, set[str]] = {}
        places: dict[str, Counter[str]] = {}
        last_prayer: dict[str, int] = {}
        for when, name, agent_id in self._prayers:
            last_prayer[name] = when
            agent = state.agents.get(agent_id)
            if when > tick - RELIGION_WINDOW_TICKS and agent is not None and agent.alive:
                recent.setdefault(name, set()).add(agent_id)
                places.setdefault(name, Counter())[agent.location_id] += 1
        sightings = []
        for name in sorted(last_prayer):
            followers = recent.get(name, set())
            standing = self.known.get(f"religion:{name}")
            needed = (
                2 if standing is not None and not standing.disbanded_tick else RELIGION_FOLLOWERS
            )
            if len(followers) < needed or tick - last_prayer[name] >= RELIGION_SILENCE_TICKS:
                continue
            place = places[name].most_common(1)[0][0]
            sightings.append(
                Sighting(
                    f"religion:{name}",
                    f"the faith of {name}",
                    event_pb2.CONSTRUCT_CATEGORY_RELIGION,
                    self._first_prayer.get(name, ""),
                    sorted(followers),
                    {"object": name, "place": place},
                )
            )
        return sightings

    def _money(self) -> list[Sighting]:
        """A medium of exchange circulates: several agents take it in one trade to pass it on in
        another, against several different goods. A standing one needs only half of that to last,
        so it does not flicker at the threshold."""
        trades: Counter[str] = Counter()
        givers: dict[str, set[str]] = {}
        takers: dict[str, set[str]] = {}
        counterparts: dict[str, set[str]] = {}
        for _when, resource, giver, taker, against in self._trades:
            trades[resource] += 1
            givers.setdefault(resource, set()).add(giver)
            takers.setdefault(resource, set()).add(taker)
            counterparts.setdefault(resource, set()).update(against - {resource})
        sightings = []
        for resource in sorted(trades):
            circulating = givers[resource] & takers[resource]
            standing = self.known.get(f"economic:{resource}")
            share = 2 if standing is not None and not standing.disbanded_tick else 1
            if (
                trades[resource] * share < MONEY_TRADES
                or len(circulating) * share < MONEY_CIRCULATORS
                or len(counterparts[resource]) * share < MONEY_COUNTERPARTS
            ):
                continue
            word = resource.removeprefix("RESOURCE_").lower()
            goods = sorted(r.removeprefix("RESOURCE_").lower() for r in counterparts[resource])
            sightings.append(
                Sighting(
                    f"economic:{resource}",
                    f"{word} as money",
                    event_pb2.CONSTRUCT_CATEGORY_ECONOMIC,
                    "",
                    sorted(givers[resource] | takers[resource]),
                    {
                        "medium": word,
                        "trades_in_window": str(trades[resource]),
                        "passed_on_by": str(len(circulating)),
                        "exchanged_for": ", ".join(goods),
                    },
                )
            )
        return sightings


def _governments(state: WorldState) -> list[Sighting]:
    sightings = []
    for group in sorted(state.groups.values(), key=lambda found: found.id):
        living = sorted(m for m in group.member_ids if m in state.agents and state.agents[m].alive)
        leaders = sorted(a for a, role in group.roles.items() if role == "leader")
        if not living or not (group.rules or leaders):
            continue
        properties = {"group_id": group.id, "laws": str(len(group.rules))}
        if leaders:
            properties["leader_id"] = leaders[0]
        sightings.append(
            Sighting(
                f"governance:{group.id}",
                f"the rule of {group.name}",
                event_pb2.CONSTRUCT_CATEGORY_GOVERNANCE,
                group.founder_id,
                living,
                properties,
            )
        )
    return sightings


def _families(state: WorldState) -> list[Sighting]:
    children: dict[tuple[str, str], list[str]] = {}
    for agent in state.agents.values():
        if agent.alive and len(agent.parent_ids) == 2:
            first, second = sorted(agent.parent_ids)
            children.setdefault((first, second), []).append(agent.id)
    sightings = []
    for (first, second), kids in sorted(children.items()):
        parents = [state.agents[p] for p in (first, second) if p in state.agents]
        members = sorted([p.id for p in parents if p.alive] + kids)
        names = " and ".join(sorted(p.name for p in parents)) or "unknown parents"
        sightings.append(
            Sighting(
                f"family:{first}:{second}",
                f"the family of {names}",
                event_pb2.CONSTRUCT_CATEGORY_FAMILY,
                first,
                members,
                {"children": str(len(kids))},
            )
        )
    return sightings


def _resources(amounts: object) -> frozenset[str]:
    return frozenset(str(amount["resource"]) for amount in amounts or [])  # type: ignore[attr-defined]


def _event(event_type: int, construct: Construct) -> event_pb2.Event:
    return event_pb2.Event(
        type=event_type,  # type: ignore[arg-type]
        agent_id=construct.founder_id,
        construct=event_pb2.ConstructDetails(
            construct_id=construct.id,
            name=construct.name,
            category=construct.category,  # type: ignore[arg-type]
            founder_id=construct.founder_id,
            adherent_ids=construct.adherent_ids,
            properties=construct.properties,
        ),
    )
