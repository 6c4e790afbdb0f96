"""The experiments control plane over real gRPC, PostgreSQL and one engine process per run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import yaml

from bench.batch import overlapping_pairs
from bench.society import StubOptions, StubProcess, llm_settings
from emergence.audit import audit_run
from emergence.experiments.app import HostedControlPlane, control_plane
from emergence.mesh.channels import insecure_channel, wait_until_serving
from emergence.mesh.settings import load_settings
from emergence.v1 import event_pb2, experiments_service_pb2_grpc, run_pb2
from emergence.v1 import experiments_service_pb2 as messages
from engine.adapters.event_store import open_event_store
from engine.core.knowledge import seed_knowledge
from engine.rebuild import rebuild
from tests.contract.test_processes import free_port
from tests.services import ROOT, ServiceProcesses

Stub = experiments_service_pb2_grpc.ExperimentsStub


@pytest.fixture
async def plane(postgres_dsn: str, tmp_path: Path) -> AsyncIterator[HostedControlPlane]:
    settings = load_settings(None, environ={})
    async with control_plane(
        settings, store_url=postgres_dsn, log_folder=tmp_path, reports_folder=tmp_path / "reports"
    ) as hosted:
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
        # The engine writes the run's report when the run ends and records where.
        done = await until(stub, survivor, lambda run: ended(run) and bool(run.report_path))
        assert (done.status, done.current_tick) == (run_pb2.RUN_STATUS_COMPLETED, 150)
        assert done.current_tick > dead.current_tick
        report = Path(done.report_path)
        assert report.parent == plane.plane.reports_folder.resolve()
        assert survivor in await asyncio.to_thread(report.read_text, encoding="utf-8")
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
        compared = await stub.CompareRuns(messages.CompareRunsRequest(run_ids=[parent.id, fork.id]))
        assert [run.run_id for run in compared.runs] == [parent.id, fork.id]
        ticks = {a.metric: a for a in compared.aggregates}["ticks"]
        assert (ticks.runs, ticks.mean, ticks.ci95_low < 40 < 45 < ticks.ci95_high) == (
            2,
            42.5,
            True,
        )
        report = await stub.GetReport(messages.GetReportRequest(run_id=fork.id))
        assert report.html.lower().startswith("<!doctype html>") and report.path.endswith(
            f"{fork.id}.html"
        )
        written = await asyncio.to_thread(Path(report.path).read_text, encoding="utf-8")
        assert written == report.html

    store = open_event_store(postgres_dsn)
    await store.open()
    try:
        first = await store.events(fork.id, 26, 26, [event_pb2.EVENT_TYPE_OPERATOR_ACTION])
        assert [e.operator_action.parameters["kind"] for e in first] == ["plague"]
        # The fork's own history replays from its first tick to the same hash.
        replayed = await rebuild(store, fork.id, from_genesis=True)
        assert replayed.matches and replayed.tick == 45
        audit = await audit_run(fork.id, store=postgres_dsn, ledger_store=postgres_dsn, out="runs")
        assert audit.ok, audit.lines()
        # Its world at the fork tick was the parent's (same holdings, same agents).
        parent_rows = {row.tick: row for row in await store.tick_rows(parent.id, 25)}
        fork_rows = {row.tick: row for row in await store.tick_rows(fork.id, 25)}
        assert fork_rows[25].summary.alive == parent_rows[25].summary.alive
        assert fork_rows[25].ledger_digest == parent_rows[25].ledger_digest
    finally:
        await store.close()


async def test_an_llm_run_replays_from_its_decisions_without_the_model(
    plane: HostedControlPlane, postgres_dsn: str
) -> None:
    """The run's llm section reaches its runner through the assignment; with the model server
    gone, the stored decisions alone rebuild the history to the same hash."""
    token = (("authorization", f"Bearer {plane.operator_token}"),)
    stub_process = StubProcess(StubOptions(latency_ms=1, seed=5))
    await stub_process.start()
    try:
        sections = {"run": {"brain": "llm"}, "llm": llm_settings(stub_process.base_url)}
        wanted = config(12, agents=4, yaml=yaml.safe_dump(sections))
        async with insecure_channel(plane.address) as channel:
            stub = Stub(channel)
            run = (
                await stub.CreateRun(messages.CreateRunRequest(config=wanted), metadata=token)
            ).run
            assert run.config.brain == run_pb2.BRAIN_KIND_LLM
            done = await stub.StepRun(
                messages.StepRunRequest(run_id=run.id, ticks=12), metadata=token, timeout=120
            )
            assert done.run.status == run_pb2.RUN_STATUS_COMPLETED
    finally:
        await stub_process.close()  # no model from here on
    store = open_event_store(postgres_dsn)
    await store.open()
    try:
        decisions = await store.decisions(run.id, 1)
        models = {d.record.model for d in decisions if d.record.brain == run_pb2.BRAIN_KIND_LLM}
        assert models and models <= {"stub-small", "stub-large"}
        replayed = await rebuild(store, run.id, from_genesis=True)
    finally:
        await store.close()
    assert replayed.matches and replayed.tick == 12
    assert replayed.history_hash == done.run.history_hash


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


async def test_runners_decide_with_the_runs_seed_not_their_own(tmp_path: Path) -> None:
    """A runner started with another seed (and its own brain flag) decides with the seed the
    engine's assignment carries: the mesh run's history is the embedded run's of that seed."""
    embedded = _emergence(
        "run", "--agents", "5", "--ticks", "25", "--seed", "7", "--quiet", "--json",
        "--out", str(tmp_path / "embedded"),
    )  # fmt: skip
    assert embedded.returncode == 0, embedded.stderr
    expected = json.loads(embedded.stdout.splitlines()[-1])["history_hash"]

    ledger, engine = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    settings = tmp_path / "emergence.yaml"
    settings.write_text("run: {agents: 5, ticks: 25, seed: 7}\n")
    with ServiceProcesses(tmp_path) as services:
        services.start(
            "ledger", "ledger_service.app", "--address", ledger,
            "--store", f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        )  # fmt: skip
        services.start(
            "engine", "engine.app", "--address", engine, "--ledger", ledger,
            "--store", f"sqlite:///{tmp_path / 'history.sqlite'}", "--config", str(settings),
        )  # fmt: skip
        await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
        services.start(
            "runner", "runner.app", "--engine", engine, "--seed", "99", "--brain", "heuristic",
            "--status-address", f"127.0.0.1:{free_port()}",
        )  # fmt: skip
        async with insecure_channel(engine) as channel:
            for _ in range(600):
                runs = (await Stub(channel).ListRuns(messages.ListRunsRequest(), timeout=5)).runs
                if runs and ended(runs[-1]):
                    break
                await asyncio.sleep(0.1)
    assert runs[-1].current_tick == 25 and runs[-1].history_hash == expected


def _emergence(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emergence.cli", *arguments],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_batch_runs_two_engines_at_once(postgres_dsn: str, tmp_path: Path) -> None:
    """`emergence batch --seeds 1..4 --parallel 2` against one after the other: both compare four
    runs; only the parallel one has runs in progress together. The wall times are printed (the
    benchmark `emergence bench batch` records them; no timed assertion here)."""
    results = {}
    for parallel in (1, 2):
        done = _emergence(
            "batch", "--seeds", "1..4", "--parallel", str(parallel), "--agents", "4",
            "--ticks", "40", "--store", postgres_dsn, "--out", str(tmp_path), "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        results[parallel] = json.loads(done.stdout.splitlines()[-1])
    for parallel, result in results.items():
        print(f"batch of 4 runs, {parallel} at once: {result['wall_seconds']:.1f} s")
        assert sorted(run["seed"] for run in result["runs"]) == [1, 2, 3, 4]
        assert not result["failed"] and result["aggregates"]["ticks"]["mean"] == 40
        assert result["aggregates"]["population_start"]["runs"] == 4
    assert overlapping_pairs(results[1]["periods"]) == 0
    assert overlapping_pairs(results[2]["periods"]) >= 1
    hashes = {run["run_id"] for result in results.values() for run in result["runs"]}
    assert len(hashes) == 8  # eight runs, each its own


def test_bad_batch_and_fork_commands_exit_2_and_create_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.sqlite'}"
    for arguments, words in (
        (("batch", "--seeds", "5..1"), "zero seeds"),
        (("batch", "--seeds", "x"), "use 1..10"),
        (("batch", "--seeds", "1..3", "--parallel", "0"), "--parallel"),
        (("fork", "nope", "--at", "3", "--store", store), "no run"),
        (("fork", "nope", "--at", "3", "--inject", "volcano", "--store", store), "unknown event"),
        (("compare", "nope", "--store", store), "no run"),
    ):
        done = _emergence(*arguments, "--out", str(tmp_path))
        assert done.returncode == 2, (arguments, done.stdout, done.stderr)
        assert words in done.stderr and len(done.stderr) < 1_000, done.stderr
    assert not list(tmp_path.glob("batch-*"))
