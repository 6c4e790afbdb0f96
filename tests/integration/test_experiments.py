"""The experiments control plane over real gRPC, PostgreSQL and one engine process per run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from emergence.experiments.app import HostedControlPlane, control_plane
from emergence.mesh.channels import insecure_channel
from emergence.mesh.settings import load_settings
from emergence.v1 import event_pb2, experiments_service_pb2_grpc, run_pb2
from emergence.v1 import experiments_service_pb2 as messages
from engine.adapters.event_store import open_event_store
from engine.core.knowledge import seed_knowledge
from engine.rebuild import rebuild

Stub = experiments_service_pb2_grpc.ExperimentsStub


@pytest.fixture
async def plane(postgres_dsn: str, tmp_path: Path) -> AsyncIterator[HostedControlPlane]:
    settings = load_settings(None, environ={})
    async with control_plane(settings, store_url=postgres_dsn, log_folder=tmp_path) as hosted:
        yield hosted


def config(ticks: int, *, seed: int = 3, agents: int = 5, yaml: str = "") -> run_pb2.RunConfig:
    return run_pb2.RunConfig(
        seed=seed, agents=agents, end=run_pb2.EndConditions(max_ticks=ticks), config_yaml=yaml
    )


async def until(stub: Stub, run_id: str, check: object, seconds: float = 60) -> run_pb2.Run:
    run = run_pb2.Run()
    for _ in range(int(seconds * 10)):
        run = (await stub.GetRun(messages.GetRunRequest(run_id=run_id), timeout=10)).run
        if check(run):  # type: ignore[operator]
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} never got there: {run}")


def ended(run: run_pb2.Run) -> bool:
    return run.status in (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED)


async def test_two_runs_progress_at_once_and_a_killed_engine_spares_the_other(
    plane: HostedControlPlane,
) -> None:
    token = (("authorization", f"Bearer {plane.operator_token}"),)
    async with insecure_channel(plane.address) as channel:
        stub = Stub(channel)
        slow = "run: {tick_interval_ms: 20}\n"
        created = [
            (await stub.CreateRun(messages.CreateRunRequest(config=config(150, seed=seed, yaml=slow)), metadata=token)).run
            for seed in (1, 2)
        ]  # fmt: skip
        doomed, survivor = (run.id for run in created)
        for run in created:
            assert run.status == run_pb2.RUN_STATUS_CREATED and run.store == ""
            await stub.StartRun(messages.StartRunRequest(run_id=run.id), metadata=token, timeout=60)
        engines = plane.plane.launcher.engines
        assert engines[doomed].process.pid != engines[survivor].process.pid
        both = [
            await until(stub, run_id, lambda r: r.current_tick >= 10)
            for run_id in created_ids(created)
        ]
        assert all(run.status == run_pb2.RUN_STATUS_RUNNING for run in both)

        engines[doomed].process.kill()
        dead = await until(stub, doomed, ended)
        assert (dead.status, dead.end_reason) == (
            run_pb2.RUN_STATUS_FAILED,
            run_pb2.END_REASON_ERROR,
        )
        done = await until(stub, survivor, ended)
        assert (done.status, done.current_tick) == (run_pb2.RUN_STATUS_COMPLETED, 150)
        assert done.current_tick > dead.current_tick
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.StartRun(messages.StartRunRequest(run_id=doomed), metadata=token)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        listed = (await stub.ListRuns(messages.ListRunsRequest())).runs
        assert {run.id for run in listed} == {doomed, survivor}
        assert all(run.store == "" for run in listed)


def created_ids(runs: list[run_pb2.Run]) -> list[str]:
    return [run.id for run in runs]


async def test_a_fork_starts_from_the_parents_tick_with_its_changes_and_replays(
    plane: HostedControlPlane, postgres_dsn: str
) -> None:
    token = (("authorization", f"Bearer {plane.operator_token}"),)
    async with insecure_channel(plane.address) as channel:
        stub = Stub(channel)
        parent = (
            await stub.CreateRun(messages.CreateRunRequest(config=config(40)), metadata=token)
        ).run
        stepped = await stub.StepRun(
            messages.StepRunRequest(run_id=parent.id, ticks=40), metadata=token, timeout=120
        )
        assert [s.tick for s in stepped.summaries] == list(range(1, 41))
        assert stepped.run.status == run_pb2.RUN_STATUS_COMPLETED
        plague = run_pb2.WorldEventSpec(plague=run_pb2.Plague(region="Central Valley", ticks=5))
        request = messages.ForkRunRequest(
            run_id=parent.id,
            at_tick=25,
            overrides=["run.ticks=45", "world.population.mutation=0.3"],
            inject=[plague],
        )
        fork = (await stub.ForkRun(request, metadata=token)).run
        assert (fork.parent_run_id, fork.forked_at_tick) == (parent.id, 25)
        assert fork.config.end.max_ticks == 45 and "mutation: 0.3" in fork.config.config_yaml
        forked = await stub.StepRun(
            messages.StepRunRequest(run_id=fork.id, ticks=100), metadata=token, timeout=120
        )
        assert [s.tick for s in forked.summaries] == list(range(26, 46))
        assert forked.run.start_tick == 25 and forked.run.current_tick == 45

    store = open_event_store(postgres_dsn)
    await store.open()
    try:
        first = await store.events(fork.id, 26, 26, [event_pb2.EVENT_TYPE_OPERATOR_ACTION])
        assert [e.operator_action.parameters["kind"] for e in first] == ["plague"]
        # The fork's own history replays from its first tick to the same hash.
        replayed = await rebuild(store, fork.id, from_genesis=True)
        assert replayed.matches and replayed.tick == 45
        # Its world at the fork tick was the parent's (same holdings, same agents).
        parent_rows = {row.tick: row for row in await store.tick_rows(parent.id, 25)}
        fork_rows = {row.tick: row for row in await store.tick_rows(fork.id, 25)}
        assert fork_rows[25].summary.alive == parent_rows[25].summary.alive
        assert fork_rows[25].ledger_digest == parent_rows[25].ledger_digest
    finally:
        await store.close()


async def test_the_stored_config_is_what_the_world_got(
    plane: HostedControlPlane, postgres_dsn: str
) -> None:
    token = (("authorization", f"Bearer {plane.operator_token}"),)
    async with insecure_channel(plane.address) as channel:
        stub = Stub(channel)
        wanted = config(5, agents=8, yaml="run: {personality_mode: balanced, knowledge_level: 0}")
        run = (await stub.CreateRun(messages.CreateRunRequest(config=wanted), metadata=token)).run
        assert (run.config.personality_mode, run.config.knowledge_level) == ("balanced", 0)
        await stub.StepRun(
            messages.StepRunRequest(run_id=run.id, ticks=1), metadata=token, timeout=60
        )
    store = open_event_store(postgres_dsn)
    await store.open()
    try:
        born = await store.events(run.id, 0, 0, [event_pb2.EVENT_TYPE_AGENT_BORN])
    finally:
        await store.close()
    assert len(born) == 8
    for event in born:
        traits = event.agent_born.personality
        values = [getattr(traits, field.name) for field in traits.DESCRIPTOR.fields]
        assert all(0.39 <= value <= 0.61 for value in values), values  # balanced: 0.5 ± 0.1
        assert set(event.agent_born.knowledge) == seed_knowledge(0) != seed_knowledge(1)


async def refused(call: object, code: grpc.StatusCode, words: str = "") -> str:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    assert raised.value.code() == code, raised.value.details()
    details = raised.value.details() or ""
    assert words in details, details
    assert len(details) < 600  # a short slice of any input, never all of it
    return details


async def test_bad_input_is_refused_with_a_clear_status_and_creates_nothing(
    plane: HostedControlPlane,
) -> None:
    token = (("authorization", f"Bearer {plane.operator_token}"),)
    invalid, missing = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
    async with insecure_channel(plane.address) as channel:
        stub = Stub(channel)
        create = messages.CreateRunRequest(config=config(3))
        await refused(stub.CreateRun(create), grpc.StatusCode.UNAUTHENTICATED, "token")
        await refused(
            stub.CreateRun(create, metadata=(("authorization", "Bearer nope"),)),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        for yaml, words in (
            ("run: {colour: red}", "run.colour: unknown key"),
            ("world: {population: {mutaton: 0.2}}", "mutaton"),
            ("storage: {database_url: x}", "not part of a run's config"),
            ("run: {personality_mode: chaotic}", "personality_mode"),
            ("run: {brain: llm}", "needs at least one model backend"),
            ("run: {map: /etc/passwd.yaml}", "unknown map"),
            ("world: {population: {personality_mode: balanced}}", "set it once"),
            ("[1, 2", "not valid YAML"),
            ("run: {seed: 1}\n" + "x" * 2_000_000, "larger than 1 MB"),
        ):
            bad = messages.CreateRunRequest(config=config(3, yaml=yaml))
            await refused(stub.CreateRun(bad, metadata=token), invalid, words)
        for bad_config in (
            run_pb2.RunConfig(agents=4_000_000_000),
            run_pb2.RunConfig(end=run_pb2.EndConditions(max_ticks=2**63)),
            run_pb2.RunConfig(brain=run_pb2.BRAIN_KIND_ENGINE),
            run_pb2.RunConfig(map="no\x00such" * 100),
        ):
            bad = messages.CreateRunRequest(config=bad_config)
            await refused(stub.CreateRun(bad, metadata=token), invalid)
        assert not (await stub.ListRuns(messages.ListRunsRequest())).runs

        await refused(stub.GetRun(messages.GetRunRequest(run_id="x" * 10_000)), missing, "no run")
        await refused(
            stub.StepRun(messages.StepRunRequest(run_id="nope", ticks=1), metadata=token), missing
        )
        await refused(
            stub.ForkRun(messages.ForkRunRequest(run_id="nope\x00", at_tick=1), metadata=token),
            invalid,
            "NUL",
        )
        batch = messages.RunBatchRequest(config=config(3), seeds=[])
        await refused(stub.RunBatch(batch, metadata=token), invalid, "at least one seed")

        run = (await stub.CreateRun(create, metadata=token)).run
        step = messages.StepRunRequest(run_id=run.id, ticks=0)
        await refused(stub.StepRun(step, metadata=token), invalid, "between 1 and 100 000")
        await stub.StepRun(messages.StepRunRequest(run_id=run.id, ticks=3), metadata=token)
        for fork, words in (
            (messages.ForkRunRequest(run_id=run.id, at_tick=4), "outside run"),
            (messages.ForkRunRequest(run_id=run.id, at_tick=2**63), "outside run"),
            (messages.ForkRunRequest(run_id=run.id, at_tick=1, overrides=["run.colour=red"]), "colour"),
            (messages.ForkRunRequest(run_id=run.id, at_tick=1, overrides=["world.nope.x=1"]), "nope"),
            (messages.ForkRunRequest(run_id=run.id, at_tick=1, overrides=["ticks"]), "key=value"),
            (messages.ForkRunRequest(run_id=run.id, at_tick=1, overrides=["run.agents=50"]), "tick 0 only"),
            (
                messages.ForkRunRequest(
                    run_id=run.id,
                    at_tick=1,
                    inject=[run_pb2.WorldEventSpec(plague=run_pb2.Plague(region="Atlantis"))],
                ),
                "plague",
            ),
            (messages.ForkRunRequest(run_id=run.id, at_tick=1, inject=[run_pb2.WorldEventSpec()]), "empty"),
        ):  # fmt: skip
            await refused(stub.ForkRun(fork, metadata=token), invalid, words)
        assert [r.id for r in (await stub.ListRuns(messages.ListRunsRequest())).runs] == [run.id]
        done = await stub.GetRun(messages.GetRunRequest(run_id=run.id))
        assert done.run.status == run_pb2.RUN_STATUS_COMPLETED
        ended_words = "has ended at tick 3"
        await refused(
            stub.StepRun(messages.StepRunRequest(run_id=run.id, ticks=1), metadata=token),
            grpc.StatusCode.FAILED_PRECONDITION,
            ended_words,
        )
        await refused(
            stub.StartRun(messages.StartRunRequest(run_id=run.id), metadata=token),
            grpc.StatusCode.FAILED_PRECONDITION,
            ended_words,
        )


async def test_start_and_step_exclude_each_other(plane: HostedControlPlane) -> None:
    token = (("authorization", f"Bearer {plane.operator_token}"),)
    async with insecure_channel(plane.address) as channel:
        stub = Stub(channel)
        slow = config(400, yaml="run: {tick_interval_ms: 20}")
        run = (await stub.CreateRun(messages.CreateRunRequest(config=slow), metadata=token)).run
        await stub.StepRun(messages.StepRunRequest(run_id=run.id, ticks=2), metadata=token)
        await stub.StartRun(messages.StartRunRequest(run_id=run.id), metadata=token)
        await refused(
            stub.StepRun(messages.StepRunRequest(run_id=run.id, ticks=1), metadata=token),
            grpc.StatusCode.FAILED_PRECONDITION,
            "advancing on its own",
        )
        running = await until(stub, run.id, lambda r: r.current_tick > 2)
        assert running.status == run_pb2.RUN_STATUS_RUNNING
