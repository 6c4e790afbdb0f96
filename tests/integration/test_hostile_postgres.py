"""Hostile numbers against a real PostgreSQL store: 3·10⁹ tokens are refused at the edge (the
decision columns are int32), the largest accepted figure is stored intact, and the store URL's
password never leaves the engine in a ListRuns reply."""

from __future__ import annotations

import asyncio

import asyncpg

from emergence.mesh.channels import insecure_channel
from emergence.mesh.limits import LIMITS
from emergence.mesh.settings import load_settings
from emergence.v1 import engine_service_pb2, experiments_service_pb2, experiments_service_pb2_grpc
from engine.app import create_engine
from ledger_service.app import create_ledger_server
from tests.integration.test_hostile_runners import TOKEN, Runner, hostile, rest

PASSWORD = "decoy-password-never-shown"


def at_the_limit(batch: engine_service_pb2.PerceptionBatch) -> engine_service_pb2.DecisionBatch:
    return engine_service_pb2.DecisionBatch(
        tick=batch.tick,
        decisions=[
            rest(p.agent_id, batch.tick, tokens_in=LIMITS.tokens, tokens_out=LIMITS.tokens)
            for p in batch.perceptions
        ],
    )


async def test_overflowing_tokens_never_reach_postgresql(postgres_dsn: str) -> None:
    store_url = postgres_dsn.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    assert PASSWORD in store_url
    settings = load_settings(
        environ={"RUNNER_TOKEN": TOKEN, "SERVICE_TOKEN": "service-secret"},
        overrides={"run.agents": 4, "run.ticks": 3, "run.decision_deadline_ms": 3000},
    )
    ledger = await create_ledger_server(
        "127.0.0.1:0", store_url, service_token=settings.security.service_token
    )
    host = await create_engine(settings, ledger_address=ledger.address, store_url=store_url)
    assert host.server is not None
    villain = Runner(host.server.address, "a", hostile(tokens_in=3_000_000_000)).start()
    honest = Runner(host.server.address, "b", at_the_limit).start()
    try:
        assert await host.hub.wait_for_runners(2, 10)
        await asyncio.sleep(0.2)
        report = await host.simulation.step()
        await villain.ended()
        assert villain.details.startswith("decisions[") and "tokens_in: at most" in villain.details
        assert report.summary.tick == 1

        database = await asyncpg.connect(postgres_dsn)
        try:
            rows = await database.fetch(
                "SELECT agent_id, tokens_in, tokens_out FROM history.decisions WHERE tick = 1"
            )
        finally:
            await database.close()
        assert len(rows) == 4  # every agent decided, none by the refused runner
        assert {row["tokens_in"] for row in rows} == {LIMITS.tokens}

        async with insecure_channel(host.server.address) as channel:
            stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
            listed = await stub.ListRuns(experiments_service_pb2.ListRunsRequest(), timeout=5)
        assert any(run.id == host.run.id for run in listed.runs)
        assert PASSWORD.encode() not in listed.SerializeToString()
        assert PASSWORD not in host.run.store and "postgres:***@" in host.run.store
    finally:
        await villain.stop()
        await honest.stop()
        await host.close()
        await ledger.close()
