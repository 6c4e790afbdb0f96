"""emergence-observer over a finished run in a SQLite store: every read, paging, replay, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from emergence.mesh import metrics
from emergence.v1 import event_pb2, observer_service_pb2, observer_service_pb2_grpc
from engine.adapters import convert
from engine.adapters.event_store import open_event_store
from engine.rebuild import state_at
from engine.simulation import deserialize_state
from observer_service.app import create_observer_server
from tests.observed_run import FinishedRun, finished_run

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    return finished_run(tmp_path_factory.mktemp("observed"))


@pytest.fixture
async def observer(run: FinishedRun) -> AsyncIterator[observer_service_pb2_grpc.ObserverStub]:
    server = await create_observer_server("127.0.0.1:0", run.store_url)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield observer_service_pb2_grpc.ObserverStub(channel)
    finally:
        await server.close()


async def test_world_now_and_at_a_past_tick(
    observer: observer_service_pb2_grpc.ObserverStub, run: FinishedRun
) -> None:
    runs = (await observer.ListStoredRuns(observer_service_pb2.ListStoredRunsRequest())).runs
    assert [r.id for r in runs] == [run.run_id]
    now = await observer.GetWorld(observer_service_pb2.GetWorldRequest(run_id=run.run_id))
    assert now.world.clock.tick == run.ticks and now.run.current_tick == run.ticks
    assert now.world.locations and now.world.population > 0
    rebuilds = metrics.sample("emergence_observer_rebuilds_total")
    past = await observer.GetWorld(observer_service_pb2.GetWorldRequest(run_id=run.run_id, tick=37))
    assert past.world.clock.tick == 37
    assert metrics.sample("emergence_observer_rebuilds_total") == rebuilds + 1
    state = await observer.GetStateAtTick(
        observer_service_pb2.GetStateAtTickRequest(run_id=run.run_id, tick=37)
    )
    assert state.world == past.world
    assert state.snapshot_tick == 0 and state.events_replayed > 0
    assert {a.born_tick for a in state.agents} == {0}


class EarlySnapshotsOnly:
    """The store as if only the snapshots up to tick 100 existed, so tick 150 must be replayed."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def snapshot_at_or_before(self, run_id: str, tick: int) -> tuple[int, bytes] | None:
        return await self.store.snapshot_at_or_before(run_id, min(tick, 100))  # type: ignore[no-any-return]


async def test_replay_from_a_snapshot_gives_the_stored_final_world(run: FinishedRun) -> None:
    store = open_event_store(run.store_url)
    await store.open()
    try:
        final = await store.snapshot_at_or_before(run.run_id, run.ticks)
        assert final is not None and final[0] == run.ticks
        replayed = await state_at(EarlySnapshotsOnly(store), run.run_id, run.ticks)  # type: ignore[arg-type]
        assert replayed.snapshot_tick == 100
        stored_final = deserialize_state(final[1])
        assert convert.world_view(replayed.state) == convert.world_view(stored_final)
        assert [
            convert.agent_to_proto(a, replayed.state) for a in replayed.state.agents.values()
        ] == [convert.agent_to_proto(a, stored_final) for a in stored_final.agents.values()]
    finally:
        await store.close()


async def test_agents_page_through_every_agent_and_one_opens_with_its_decisions(
    observer: observer_service_pb2_grpc.ObserverStub, run: FinishedRun
) -> None:
    seen: list[str] = []
    token = ""
    while True:
        page = await observer.ListAgents(
            observer_service_pb2.ListAgentsRequest(
                run_id=run.run_id, include_dead=True, page_size=3, page_token=token
            )
        )
        assert len(page.agents) <= 3
        seen += [agent.id for agent in page.agents]
        token = page.next_page_token
        if not token:
            break
    state = await observer.GetStateAtTick(
        observer_service_pb2.GetStateAtTickRequest(run_id=run.run_id, tick=run.ticks)
    )
    assert seen == sorted(a.id for a in state.agents)
    opened = await observer.GetAgent(
        observer_service_pb2.GetAgentRequest(
            run_id=run.run_id, agent_id=seen[0], include_memories=True, decision_limit=5
        )
    )
    assert opened.agent.id == seen[0] and opened.agent.personality.ByteSize() > 0
    assert [d.tick for d in opened.recent_decisions] == list(range(run.ticks, run.ticks - 5, -1))
    assert all(d.record.brain for d in opened.recent_decisions)
    assert opened.memories and all(m.tick <= run.ticks for m in opened.memories)
    graph = await observer.GetSocialGraph(
        observer_service_pb2.GetSocialGraphRequest(run_id=run.run_id, min_abs_trust=0.0)
    )
    assert sorted(n.agent_id for n in graph.nodes) == sorted(seen)
    assert {e.kind for e in graph.edges} >= {"trust"}


async def test_events_page_in_key_order_with_every_filter(
    observer: observer_service_pb2_grpc.ObserverStub, run: FinishedRun
) -> None:
    request = observer_service_pb2.QueryEventsRequest(
        run_id=run.run_id, from_tick=5, to_tick=20, page_size=7
    )
    keys: list[tuple[int, int]] = []
    while True:
        page = await observer.QueryEvents(request)
        keys += [(e.tick, e.sequence) for e in page.events]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert keys == sorted(set(keys)) and keys[0] == (5, 0) and keys[-1][0] == 20
    world = (await observer.GetWorld(observer_service_pb2.GetWorldRequest(run_id=run.run_id))).world
    gathered = await observer.QueryEvents(
        observer_service_pb2.QueryEventsRequest(
            run_id=run.run_id, types=[event_pb2.EVENT_TYPE_RESOURCE_GATHERED], page_size=10_000
        )
    )
    place = gathered.events[0].location_id
    region = next(loc.region for loc in world.locations if loc.id == place)
    in_region = {loc.id for loc in world.locations if loc.region == region}
    by_region = await observer.QueryEvents(
        observer_service_pb2.QueryEventsRequest(
            run_id=run.run_id, region=region, types=[event_pb2.EVENT_TYPE_RESOURCE_GATHERED]
        )
    )
    assert by_region.events and {e.location_id for e in by_region.events} <= in_region
    expected = [e for e in gathered.events if e.location_id in in_region]
    assert list(by_region.events) == expected
    agent = gathered.events[0].agent_id
    by_agent = await observer.QueryEvents(
        observer_service_pb2.QueryEventsRequest(
            run_id=run.run_id, agent_id=agent, location_id=place
        )
    )
    assert by_agent.events and {(e.agent_id, e.location_id) for e in by_agent.events} == {
        (agent, place)
    }


async def test_decisions_alerts_constructs_discoveries_and_series(
    observer: observer_service_pb2_grpc.ObserverStub, run: FinishedRun
) -> None:
    first = await observer.ListDecisions(
        observer_service_pb2.ListDecisionsRequest(run_id=run.run_id, page_size=4)
    )
    second = await observer.ListDecisions(
        observer_service_pb2.ListDecisionsRequest(
            run_id=run.run_id, page_size=4, page_token=first.next_page_token
        )
    )
    keys = [(d.tick, d.agent_id) for d in [*first.decisions, *second.decisions]]
    assert len(keys) == 8 and keys == sorted(set(keys))
    await observer.ListAlerts(observer_service_pb2.ListAlertsRequest(run_id=run.run_id))
    constructs = await observer.ListConstructs(
        observer_service_pb2.ListConstructsRequest(run_id=run.run_id)
    )
    assert all(c.formed_tick and c.history for c in constructs.constructs)
    found = await observer.ListDiscoveries(
        observer_service_pb2.ListDiscoveriesRequest(run_id=run.run_id)
    )
    assert found.discoveries and all(d.agent_name for d in found.discoveries)
    item = found.discoveries[0].knowledge
    series = await observer.GetSeries(
        observer_service_pb2.GetSeriesRequest(
            run_id=run.run_id,
            metrics=[
                "population.alive",
                "gini",
                "lorenz",
                f"knowledge.{item}",
                "llm.cost_usd",
                "timings.previous_persist_ms",
            ],
            step=10,
        )
    )
    by_name = {s.metric: s.points for s in series.series}
    assert [p.tick for p in by_name["population.alive"]] == list(range(0, run.ticks + 1, 10))
    assert by_name["lorenz"][-1].value == pytest.approx(1.0)
    assert any(point.value > 0 for point in by_name["timings.previous_persist_ms"])
    assert by_name[f"knowledge.{item}"][-1].value >= 1


async def test_streams_of_a_finished_run_send_the_rest_and_end_with_ok(
    observer: observer_service_pb2_grpc.ObserverStub, run: FinishedRun
) -> None:
    ticks = [
        reply.summary.tick
        async for reply in observer.StreamTicks(
            observer_service_pb2.StreamTicksRequest(run_id=run.run_id, from_tick=140), timeout=20
        )
    ]
    assert ticks == list(range(141, run.ticks + 1))
    events = [
        reply.event
        async for reply in observer.StreamEvents(
            observer_service_pb2.StreamEventsRequest(run_id=run.run_id, from_tick=run.ticks),
            timeout=20,
        )
    ]
    assert events and events[-1].type == event_pb2.EVENT_TYPE_TICK_END
    assert metrics.sample("emergence_observer_streams_open", {"kind": "events"}) == 0


@pytest.mark.parametrize(
    ("name", "request_message", "code"),
    [
        ("GetWorld", observer_service_pb2.GetWorldRequest(tick=10**9), grpc.StatusCode.OUT_OF_RANGE),
        ("GetAgent", observer_service_pb2.GetAgentRequest(agent_id="nobody"), grpc.StatusCode.NOT_FOUND),
        ("GetAgent", observer_service_pb2.GetAgentRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        ("QueryEvents", observer_service_pb2.QueryEventsRequest(region="Atlantis"), grpc.StatusCode.INVALID_ARGUMENT),
        ("QueryEvents", observer_service_pb2.QueryEventsRequest(types=[999]), grpc.StatusCode.INVALID_ARGUMENT),
        ("QueryEvents", observer_service_pb2.QueryEventsRequest(from_tick=9, to_tick=3), grpc.StatusCode.INVALID_ARGUMENT),
        ("QueryEvents", observer_service_pb2.QueryEventsRequest(page_token="42"), grpc.StatusCode.INVALID_ARGUMENT),
        ("GetSeries", observer_service_pb2.GetSeriesRequest(metrics=["bogus"]), grpc.StatusCode.INVALID_ARGUMENT),
        ("GetSeries", observer_service_pb2.GetSeriesRequest(metrics=["gini"] * 65), grpc.StatusCode.INVALID_ARGUMENT),
        ("GetSocialGraph", observer_service_pb2.GetSocialGraphRequest(min_abs_trust=float("nan")), grpc.StatusCode.INVALID_ARGUMENT),
    ],
)  # fmt: skip
async def test_bad_requests_get_a_clear_status(
    observer: observer_service_pb2_grpc.ObserverStub,
    run: FinishedRun,
    name: str,
    request_message: object,
    code: grpc.StatusCode,
) -> None:
    request_message.run_id = run.run_id  # type: ignore[attr-defined]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(observer, name)(request_message, timeout=10)
    assert raised.value.code() == code
    assert raised.value.details()


async def test_unknown_and_missing_runs(observer: observer_service_pb2_grpc.ObserverStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await observer.GetWorld(observer_service_pb2.GetWorldRequest(run_id="r" * 70_000))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(raised.value.details()) < 400
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await observer.ListAgents(observer_service_pb2.ListAgentsRequest())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_store_file_is_not_written(run: FinishedRun) -> None:
    path = Path(run.store_url.removeprefix("sqlite:///"))
    assert path.is_file()


@pytest.mark.postgres
async def test_a_run_in_postgresql_is_observed_the_same_way(
    postgres_dsn: str, tmp_path: Path
) -> None:
    stored = finished_run(tmp_path, agents=5, ticks=40, database_url=postgres_dsn)
    assert stored.store_url.startswith("postgresql://")
    server = await create_observer_server("127.0.0.1:0", postgres_dsn)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            observer = observer_service_pb2_grpc.ObserverStub(channel)
            past = await observer.GetWorld(
                observer_service_pb2.GetWorldRequest(run_id=stored.run_id, tick=17)
            )
            assert past.world.clock.tick == 17
            some = await observer.QueryEvents(
                observer_service_pb2.QueryEventsRequest(
                    run_id=stored.run_id, types=[event_pb2.EVENT_TYPE_ACTION_SUCCEEDED]
                )
            )
            place = next(e.location_id for e in some.events if e.location_id)
            region = next(loc.region for loc in past.world.locations if loc.id == place)
            first = await observer.QueryEvents(
                observer_service_pb2.QueryEventsRequest(
                    run_id=stored.run_id, region=region, page_size=3
                )
            )
            second = await observer.QueryEvents(
                observer_service_pb2.QueryEventsRequest(
                    run_id=stored.run_id, region=region, page_size=3,
                    page_token=first.next_page_token,
                )
            )  # fmt: skip
            keys = [(e.tick, e.sequence) for e in [*first.events, *second.events]]
            assert len(keys) == 6 and keys == sorted(set(keys))
            ticks = [
                reply.summary.tick
                async for reply in observer.StreamTicks(
                    observer_service_pb2.StreamTicksRequest(run_id=stored.run_id, from_tick=35),
                    timeout=20,
                )
            ]
            assert ticks == [36, 37, 38, 39, 40]
            for hostile in ("run\x00id", "r" * 70_000):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await observer.GetAgent(
                        observer_service_pb2.GetAgentRequest(run_id=stored.run_id, agent_id=hostile)
                    )
                assert raised.value.code() in (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.NOT_FOUND,
                )
                assert len(raised.value.details()) < 500
    finally:
        await server.close()


async def test_emergence_observer_process_serves_over_tls(run: FinishedRun, tmp_path: Path) -> None:
    """The command reads TLS_* like every service: TLS clients are answered, plaintext is not."""
    from emergence.mesh.channels import mesh_channel, wait_until_serving
    from emergence.mesh.security import configure_tls
    from emergence.mesh.settings import SecuritySettings
    from tests.integration.test_tls_mesh import free_port, make_certificates
    from tests.services import ServiceProcesses

    security = make_certificates(tmp_path)
    address = f"127.0.0.1:{free_port()}"
    environment = {
        "TLS_CERT_FILE": security.tls_cert_file,
        "TLS_KEY_FILE": security.tls_key_file,
        "TLS_CA_FILE": security.tls_ca_file,
    }
    configure_tls(security)
    try:
        with ServiceProcesses(tmp_path, environment) as services:
            services.start(
                "observer", "observer_service.app", "--address", address, "--store", run.store_url
            )
            await wait_until_serving(address, "emergence.v1.Observer", timeout_seconds=30)
            async with mesh_channel(address) as channel:
                world = await observer_service_pb2_grpc.ObserverStub(channel).GetWorld(
                    observer_service_pb2.GetWorldRequest(run_id=run.run_id), timeout=10
                )
            assert world.world.clock.tick == run.ticks
            async with grpc.aio.insecure_channel(address) as plain:
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await observer_service_pb2_grpc.ObserverStub(plain).GetWorld(
                        observer_service_pb2.GetWorldRequest(run_id=run.run_id), timeout=3
                    )
                assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        configure_tls(SecuritySettings())
