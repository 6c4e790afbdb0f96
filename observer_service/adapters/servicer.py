"""The Observer servicer: every read of every run in the store; it never writes anything.

Worlds at a tick come from the latest snapshot plus replay of the stored decisions (cached);
lists page with keysets in SQL; streams catch up from the store and then follow it, woken by
the bus (a tick summary is published after its tick is committed), so they have no gaps.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from emergence.mesh import metrics
from emergence.mesh.errors import InvalidArgument, NotFound, OutOfRange
from emergence.mesh.redact import redacted_run
from emergence.mesh.validation import quoted
from emergence.v1 import (
    event_pb2,
    observer_service_pb2,
    observer_service_pb2_grpc,
    run_pb2,
)
from engine.adapters import convert
from engine.adapters.bus import EventBus, tick_subject
from engine.adapters.event_store import MAX_TICK, EventStore, Selection
from observer_service.adapters import series as named_series
from observer_service.adapters import views
from observer_service.adapters.states import Rebuilt, StateCache

Context = Any
ENDED = (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED)
# Without a bus message, a live stream looks at the store this often (a bus outage only delays).
POLL_SECONDS = 1.0
STREAM_PAGE = 1000
DEFAULT_DECISIONS = 50
MAX_DECISIONS = 1000
MEMORIES = 50
MAX_METRICS = 64


class ObserverServicer(observer_service_pb2_grpc.ObserverServicer):
    def __init__(self, store: EventStore, bus: EventBus, *, default_run_id: str = "") -> None:
        self.store = store
        self.bus = bus
        self.states = StateCache(store)
        # An engine hosting the Observer answers an empty run_id with its own run.
        self.default_run_id = default_run_id

    # ----- runs and ticks --------------------------------------------------------------------
    async def _run(self, run_id: str) -> run_pb2.Run:
        run_id = run_id or self.default_run_id
        if not run_id:
            raise InvalidArgument("run_id is required", hint="ListStoredRuns lists the runs")
        run = await self.store.get_run(run_id)
        if run is None:
            raise NotFound(
                f"no run {quoted(run_id, 80)} in the store", hint="ListStoredRuns lists the runs"
            )
        return run

    async def _last_tick(self, run: run_pb2.Run) -> int:
        last = await self.store.last_tick(run.id)
        if last < 0:
            raise NotFound(f"run {run.id} has no stored tick yet", hint="try again in a moment")
        return last

    async def _tick(self, run: run_pb2.Run, wanted: int | None) -> int:
        last = await self._last_tick(run)
        if wanted is None:
            return last
        if wanted > last:
            raise OutOfRange(
                f"tick {wanted} is in the future of run {run.id}: its last stored tick is {last}"
            )
        return wanted

    async def _world(self, run: run_pb2.Run, wanted: int | None) -> Rebuilt:
        return await self.states.get(run.id, await self._tick(run, wanted))

    async def ListStoredRuns(
        self, request: observer_service_pb2.ListStoredRunsRequest, context: Context
    ) -> observer_service_pb2.ListStoredRunsResponse:
        runs = await self.store.list_runs()
        runs.sort(key=lambda run: run.id, reverse=True)  # UUIDv7 ids: newest first
        return observer_service_pb2.ListStoredRunsResponse(runs=[redacted_run(r) for r in runs])

    # ----- the world and its agents ----------------------------------------------------------
    async def GetWorld(
        self, request: observer_service_pb2.GetWorldRequest, context: Context
    ) -> observer_service_pb2.GetWorldResponse:
        run = await self._run(request.run_id)
        rebuilt = await self._world(run, request.tick if request.HasField("tick") else None)
        return observer_service_pb2.GetWorldResponse(
            world=convert.world_view(rebuilt.state, run.id), run=redacted_run(run)
        )

    async def GetStateAtTick(
        self, request: observer_service_pb2.GetStateAtTickRequest, context: Context
    ) -> observer_service_pb2.GetStateAtTickResponse:
        run = await self._run(request.run_id)
        rebuilt = await self._world(run, request.tick)
        state = rebuilt.state
        return observer_service_pb2.GetStateAtTickResponse(
            world=convert.world_view(state, run.id),
            agents=[convert.agent_to_proto(a, state) for _, a in sorted(state.agents.items())],
            snapshot_tick=rebuilt.snapshot_tick,
            events_replayed=rebuilt.events_replayed,
        )

    async def ListAgents(
        self, request: observer_service_pb2.ListAgentsRequest, context: Context
    ) -> observer_service_pb2.ListAgentsResponse:
        after = views.parse_agent_token(request.page_token)
        run = await self._run(request.run_id)
        rebuilt = await self._world(run, request.tick if request.HasField("tick") else None)
        size = views.page_size(request.page_size)
        chosen = [
            agent
            for agent_id, agent in sorted(rebuilt.state.agents.items())
            if agent_id > after and (agent.alive or request.include_dead)
        ]
        page = chosen[:size]
        more = len(chosen) > size
        return observer_service_pb2.ListAgentsResponse(
            agents=[convert.agent_to_proto(agent, rebuilt.state) for agent in page],
            next_page_token=views.agent_token(page[-1].id) if more else "",
            tick=rebuilt.tick,
        )

    async def GetAgent(
        self, request: observer_service_pb2.GetAgentRequest, context: Context
    ) -> observer_service_pb2.GetAgentResponse:
        if not request.agent_id:
            raise InvalidArgument("agent_id is required", hint="ListAgents lists them")
        run = await self._run(request.run_id)
        rebuilt = await self._world(run, request.tick if request.HasField("tick") else None)
        state = rebuilt.state
        agent = state.agents.get(request.agent_id)
        if agent is None:
            raise NotFound(
                f"no agent {quoted(request.agent_id, 80)} in run {run.id} at tick {rebuilt.tick}",
                hint="ListAgents with include_dead lists every agent",
            )
        limit = min(request.decision_limit or DEFAULT_DECISIONS, MAX_DECISIONS)
        mine = Selection(to_tick=rebuilt.tick, agent_id=agent.id, newest_first=True)
        decisions = await self.store.decisions_page(
            run.id, dataclasses.replace(mine, key_columns=("tick", "agent_id")), limit
        )
        memories = []
        if request.include_memories:
            events = await self.store.events_page(run.id, mine, MEMORIES)
            memories = [views.memory_entry(event) for event in events]
        return observer_service_pb2.GetAgentResponse(
            agent=convert.agent_to_proto(agent, state),
            memories=memories,
            recent_decisions=decisions,
            child_ids=sorted(a.id for a in state.agents.values() if agent.id in a.parent_ids),
            tick=rebuilt.tick,
        )

    async def GetSocialGraph(
        self, request: observer_service_pb2.GetSocialGraphRequest, context: Context
    ) -> observer_service_pb2.GetSocialGraphResponse:
        if not 0.0 <= request.min_abs_trust <= 1.0:  # NaN fails this too
            raise InvalidArgument(
                f"min_abs_trust must be between 0 and 1, got {request.min_abs_trust}"
            )
        run = await self._run(request.run_id)
        # tick 0 means "now": the graph at genesis has no edges worth drawing
        rebuilt = await self._world(run, request.tick or None)
        conflicts = await self.store.events(run.id, 0, rebuilt.tick, list(views.CONFLICT_EVENTS))
        return views.social_graph(rebuilt.state, conflicts, request.min_abs_trust)

    # ----- history ----------------------------------------------------------------------------
    async def _event_selection(
        self, run: run_pb2.Run, request: observer_service_pb2.QueryEventsRequest
    ) -> Selection:
        to_tick = _tick_range(request.from_tick, request.to_tick)
        return Selection(
            from_tick=_clamp(request.from_tick),
            to_tick=to_tick,
            types=_event_types(request.types),
            agent_id=request.agent_id,
            location_ids=await self._places(run, request.region, request.location_id),
            after=views.parse_event_token(request.page_token),
        )

    async def _places(self, run: run_pb2.Run, region: str, location_id: str) -> list[str] | None:
        """The locations a region or location filter stands for, checked against the map."""
        if not region and not location_id:
            return None
        genesis = (await self.states.get(run.id, 0)).state
        if location_id and location_id not in genesis.locations:
            raise InvalidArgument(
                f"no location {quoted(location_id, 80)} in run {run.id}",
                hint="GetWorld lists the locations",
            )
        if not region:
            return [location_id]
        regions = sorted({location.region for location in genesis.locations.values()})
        if region not in regions:
            raise InvalidArgument(
                f"no region {quoted(region, 80)} in run {run.id}",
                hint=f"regions: {', '.join(regions)[:300]}",
            )
        places = sorted(i for i, loc in genesis.locations.items() if loc.region == region)
        return [p for p in places if not location_id or p == location_id]

    async def QueryEvents(
        self, request: observer_service_pb2.QueryEventsRequest, context: Context
    ) -> observer_service_pb2.QueryEventsResponse:
        run = await self._run(request.run_id)
        selection = await self._event_selection(run, request)
        size = views.page_size(request.page_size)
        events = await self.store.events_page(run.id, selection, size + 1)
        more = len(events) > size
        return observer_service_pb2.QueryEventsResponse(
            events=events[:size],
            next_page_token=views.event_token(events[size - 1]) if more else "",
        )

    async def ListDecisions(
        self, request: observer_service_pb2.ListDecisionsRequest, context: Context
    ) -> observer_service_pb2.ListDecisionsResponse:
        after = views.parse_decision_token(request.page_token)
        run = await self._run(request.run_id)
        to_tick = _tick_range(request.from_tick, request.to_tick)
        size = views.page_size(request.page_size)
        selection = Selection(
            from_tick=_clamp(request.from_tick),
            to_tick=to_tick,
            agent_id=request.agent_id,
            after=after,
            key_columns=("tick", "agent_id"),
        )
        decisions = await self.store.decisions_page(run.id, selection, size + 1)
        more = len(decisions) > size
        last = decisions[size - 1] if more else None
        return observer_service_pb2.ListDecisionsResponse(
            decisions=decisions[:size],
            next_page_token=views.decision_token(last.tick, last.agent_id) if last else "",
        )

    async def ListAlerts(
        self, request: observer_service_pb2.ListAlertsRequest, context: Context
    ) -> observer_service_pb2.ListAlertsResponse:
        run = await self._run(request.run_id)
        alerts = await self.store.alerts(run.id, _clamp(request.from_tick))
        return observer_service_pb2.ListAlertsResponse(alerts=alerts)

    async def ListConstructs(
        self, request: observer_service_pb2.ListConstructsRequest, context: Context
    ) -> observer_service_pb2.ListConstructsResponse:
        """Every construct of the run: those the engine recorded as it ran and those detected
        afterwards from the stored history (emergence/analysis/constructs.py), by formation."""
        from emergence.analysis.constructs import CONSTRUCT_EVENT_TYPES, all_constructs

        run = await self._run(request.run_id)
        events = await self.store.events(run.id, types=list(CONSTRUCT_EVENT_TYPES))
        last_tick = await self.store.last_tick(run.id)
        constructs = [found.to_proto() for found in all_constructs(events, last_tick)]
        return observer_service_pb2.ListConstructsResponse(constructs=constructs)

    async def ListDiscoveries(
        self, request: observer_service_pb2.ListDiscoveriesRequest, context: Context
    ) -> observer_service_pb2.ListDiscoveriesResponse:
        run = await self._run(request.run_id)
        rebuilt = await self._world(run, request.tick if request.HasField("tick") else None)
        state = rebuilt.state
        events = await self.store.events(
            run.id, 0, rebuilt.tick, [event_pb2.EVENT_TYPE_KNOWLEDGE_DISCOVERED]
        )
        response = observer_service_pb2.ListDiscoveriesResponse(tick=rebuilt.tick)
        for event in events:
            if not event.knowledge.first_in_run:
                continue
            item = event.knowledge.knowledge
            discoverer = state.agents.get(event.agent_id)
            response.discoveries.add(
                knowledge=item,
                tick=event.tick,
                agent_id=event.agent_id,
                agent_name=discoverer.name if discoverer else "",
                known_by=sum(1 for a in state.living_agents() if item in a.knowledge),
            )
        return response

    async def GetSeries(
        self, request: observer_service_pb2.GetSeriesRequest, context: Context
    ) -> observer_service_pb2.GetSeriesResponse:
        metrics = list(request.metrics) or list(named_series.DEFAULT_METRICS)
        if len(metrics) > MAX_METRICS:
            raise InvalidArgument(
                f"{len(metrics)} metrics asked for; at most {MAX_METRICS} in one call"
            )
        for metric in metrics:
            named_series.check_metric(metric)
        run = await self._run(request.run_id)
        to_tick = _tick_range(request.from_tick, request.to_tick)
        rows = await self.store.tick_rows(run.id, _clamp(request.from_tick), to_tick)
        chosen = rows[:: max(1, request.step)]
        response = observer_service_pb2.GetSeriesResponse()
        for metric in metrics:
            if metric == "lorenz":
                rebuilt = await self._world(run, rows[-1].tick if rows else None)
                response.series.append(named_series.lorenz(rebuilt.state))
            elif metric.startswith("knowledge."):
                response.series.append(await self._knowledge(run, metric, chosen))
            else:
                points = [
                    observer_service_pb2.SeriesPoint(
                        tick=row.tick, value=named_series.summary_metric(row.summary, metric)
                    )
                    for row in chosen
                ]
                response.series.add(metric=metric, points=points)
        return response

    async def _knowledge(
        self, run: run_pb2.Run, metric: str, rows: list[Any]
    ) -> observer_service_pb2.Series:
        ticks = [row.tick for row in rows]
        genesis = (await self.states.get(run.id, 0)).state
        last = ticks[-1] if ticks else 0
        events = await self.store.events(run.id, 1, last, named_series.KNOWLEDGE_EVENTS)
        return named_series.knowledge_spread(metric.partition(".")[2], genesis, events, ticks)

    # ----- live streams -------------------------------------------------------------------------
    async def StreamTicks(
        self, request: observer_service_pb2.StreamTicksRequest, context: Context
    ) -> AsyncIterator[observer_service_pb2.StreamTicksResponse]:
        """Summaries after from_tick (all of them when it is 0); ends with OK once the run has."""
        run = await self._run(request.run_id)
        next_tick = _clamp(request.from_tick + 1) if request.from_tick else 0
        async with _Wakeup(self.bus, tick_subject(run.id), "ticks") as wakeup:
            while True:
                # Asked before reading: an ended run's last tick is stored before it is marked
                # ended, so a read after seeing "ended" holds everything there will ever be.
                ended = await self._ended(run.id)
                rows = await self.store.tick_rows(
                    run.id, next_tick, _clamp(next_tick + STREAM_PAGE - 1)
                )
                for row in rows:
                    yield observer_service_pb2.StreamTicksResponse(summary=row.summary)
                if rows:
                    next_tick = rows[-1].tick + 1
                elif ended:
                    return
                else:
                    await wakeup.wait()

    async def StreamEvents(
        self, request: observer_service_pb2.StreamEventsRequest, context: Context
    ) -> AsyncIterator[observer_service_pb2.StreamEventsResponse]:
        """Stored events from from_tick, then new ones as they are committed, without gaps."""
        run = await self._run(request.run_id)
        selection = Selection(
            from_tick=_clamp(request.from_tick),
            types=_event_types(request.types),
            agent_id=request.agent_id,
        )
        async with _Wakeup(self.bus, tick_subject(run.id), "events") as wakeup:
            while True:
                ended = await self._ended(run.id)  # before reading, as in StreamTicks
                events = await self.store.events_page(run.id, selection, STREAM_PAGE)
                for event in events:
                    yield observer_service_pb2.StreamEventsResponse(event=event)
                if events:
                    last = events[-1]
                    selection = dataclasses.replace(selection, after=(last.tick, last.sequence))
                elif ended:
                    return
                else:
                    await wakeup.wait()

    async def _ended(self, run_id: str) -> bool:
        run = await self.store.get_run(run_id)
        return run is not None and run.status in ENDED


class _Wakeup:
    """Set by every bus message on a subject; waiting also ends after POLL_SECONDS regardless."""

    def __init__(self, bus: EventBus, subject: str, kind: str) -> None:
        self._bus = bus
        self._subject = subject
        self._open = metrics.OBSERVER_STREAMS_OPEN.labels(kind)
        self._signal = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Wakeup:
        self._task = asyncio.create_task(self._pump())
        self._open.inc()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._open.dec()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _pump(self) -> None:
        try:
            async for _message in self._bus.subscribe(self._subject):
                self._signal.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bus outage: the poll keeps the stream going from the store
            return

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._signal.wait(), POLL_SECONDS)
        self._signal.clear()


def _clamp(tick: int) -> int:
    """Ticks are uint64 on the wire and signed 64-bit in the stores."""
    return min(tick, MAX_TICK)


def _tick_range(from_tick: int, to_tick: int) -> int | None:
    """The upper bound of a [from_tick, to_tick] filter; to_tick 0 means no bound."""
    if not to_tick:
        return None
    if to_tick < from_tick:
        raise InvalidArgument(f"to_tick {to_tick} is before from_tick {from_tick}")
    return _clamp(to_tick)


def _event_types(types: Any) -> list[int] | None:
    known = event_pb2.EventType.DESCRIPTOR.values_by_number
    for value in types:
        if value not in known or value == event_pb2.EVENT_TYPE_UNSPECIFIED:
            raise InvalidArgument(
                f"unknown event type {value}", hint="use the EventType names of event.proto"
            )
    return sorted(set(types)) or None
