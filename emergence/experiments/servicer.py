"""The Experiments service of the control plane: the run registry (the store's runs), one engine
per run through the launcher, forks, seed batches and comparisons."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from emergence.analysis.metrics import aggregates, load_figures, metric_names, value
from emergence.experiments import config as run_configs
from emergence.experiments.kubernetes import JobSettings, apply_engine_job
from emergence.experiments.launcher import EngineProcess, LocalLauncher
from emergence.experiments.registry import find_run
from emergence.mesh.channels import mesh_channel
from emergence.mesh.errors import (
    FailedPrecondition,
    InvalidArgument,
    from_rpc_error,
)
from emergence.mesh.redact import redact_url
from emergence.v1 import experiments_service_pb2 as messages
from emergence.v1 import experiments_service_pb2_grpc, run_pb2
from engine.adapters.api_servicers import public_run
from engine.adapters.event_store import EventStore
from engine.app import new_run_id

log = logging.getLogger("emergence.experiments")

Context = Any
ENDED = (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED)
MAX_STEP_TICKS = 100_000
MAX_BATCH_SEEDS = 1_000
MAX_COMPARED_RUNS = 200
DEFAULT_PAGE_SIZE = 100
WATCH_INTERVAL_SECONDS = 0.5
JOB_WATCH_INTERVAL_SECONDS = 2.0


@dataclass
class ControlPlane:
    """What the servicer works with: the store (registry), the launcher and the operator token
    it passes to the engines it launched."""

    store: EventStore
    launcher: LocalLauncher
    operator_token: str
    reports_folder: Path = Path("runs") / "reports"
    # Set when runs are launched as Kubernetes Jobs instead of local engine processes.
    jobs: JobSettings | None = None
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Runs advancing on their own (StartRun, batches): the task that ends their engine.
    watchers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    batches: set[asyncio.Task[None]] = field(default_factory=set)

    def refuse_for_jobs(self, what: str) -> None:
        if self.jobs is not None:
            raise FailedPrecondition(
                f"runs of this control plane are Kubernetes Jobs, which advance on their own to"
                f" their end and cannot be {what} through it (start it with StartRun; a control"
                " plane with the local launcher steps runs)"
            )

    def lock(self, run_id: str) -> asyncio.Lock:
        return self.locks.setdefault(run_id, asyncio.Lock())

    async def run(self, run_id: str) -> run_pb2.Run:
        return await find_run(self.store, run_id)

    async def call_engine(
        self,
        engine: EngineProcess,
        method: str,
        request: Message,
        timeout_seconds: float,
        stub_class: Any = experiments_service_pb2_grpc.ExperimentsStub,
    ) -> Any:
        """One call (Experiments unless `stub_class` says otherwise) to the run's engine, with
        the operator token it was given."""
        metadata = (("authorization", f"Bearer {self.operator_token}"),)
        async with mesh_channel(engine.address) as channel:
            stub = stub_class(channel)
            try:
                return await getattr(stub, method)(
                    request, timeout=timeout_seconds, metadata=metadata
                )
            except grpc.aio.AioRpcError as error:
                raise from_rpc_error(error, call=f"the engine of run {engine.run_id}") from error

    async def live_run(self, run: run_pb2.Run) -> run_pb2.Run:
        """The engine's view of a run it serves (fresher than the store's), else the store's."""
        engine = self.launcher.engine(run.id)
        if engine is None or not engine.address:
            return run
        request = messages.GetRunRequest(run_id=run.id)
        with contextlib.suppress(Exception):
            reply: messages.GetRunResponse = await self.call_engine(engine, "GetRun", request, 5)
            return reply.run
        return run

    async def start(self, run_id: str) -> run_pb2.Run:
        """Launch the run's engine if needed and let it advance to its end on its own."""
        async with self.lock(run_id):
            run = await self.run(run_id)
            _refuse_ended(run)
            if self.jobs is not None:
                # The Job's engine advances the run to its end and records it in the store.
                name = await apply_engine_job(run_id, self.jobs)
                log.info("run %s: Kubernetes Job %s applied", run_id, name)
                return run
            engine = await self.launcher.start(run_id)
            request = messages.StartRunRequest(run_id=run_id)
            reply: messages.StartRunResponse = await self.call_engine(
                engine, "StartRun", request, 30
            )
            if run_id not in self.watchers or self.watchers[run_id].done():
                self.watchers[run_id] = asyncio.create_task(self._end_engine_when_done(engine))
            return reply.run

    async def _end_engine_when_done(self, engine: EngineProcess) -> None:
        """Stop a run's engine once its run has ended; record a run whose engine died as failed."""
        request = messages.GetRunRequest(run_id=engine.run_id)
        while engine.alive:
            with contextlib.suppress(Exception):
                reply: messages.GetRunResponse = await self.call_engine(
                    engine, "GetRun", request, 5
                )
                if reply.run.status in ENDED:
                    await self.launcher.stop(engine.run_id)
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(engine.exited.wait(), WATCH_INTERVAL_SECONDS)

    async def record_engine_death(self, engine: EngineProcess) -> None:
        if engine.stopping:
            return
        run = await self.store.get_run(engine.run_id)
        if run is None or run.status in ENDED:
            return
        run.status = run_pb2.RUN_STATUS_FAILED
        run.end_reason = run_pb2.END_REASON_ERROR
        run.failure_reason = (
            f"its engine process exited with {engine.process.returncode} before the run ended"
            f" (log: {engine.log_path.name})"
        )
        run.current_tick = max(run.current_tick, await self.store.last_tick(run.id))
        run.ended_at.GetCurrentTime()
        await self.store.save_run(run)
        log.error(
            "run %s: its engine exited with %s before the run ended",
            run.id,
            engine.process.returncode,
        )

    async def step(self, run_id: str, ticks: int) -> messages.StepRunResponse:
        if not 1 <= ticks <= MAX_STEP_TICKS:
            raise InvalidArgument(f"ticks must be between 1 and 100 000, got {ticks}")
        self.refuse_for_jobs("stepped")
        watcher = self.watchers.get(run_id)
        if watcher is not None and not watcher.done():
            raise FailedPrecondition(
                "the run is advancing on its own (StartRun); it cannot be stepped as well"
            )
        lock = self.lock(run_id)
        if lock.locked():
            raise FailedPrecondition(f"run {run_id} is already being started or stepped")
        async with lock:
            run = await self.run(run_id)
            _refuse_ended(run)
            engine = await self.launcher.start(run_id)
            request = messages.StepRunRequest(run_id=run_id, ticks=ticks)
            reply: messages.StepRunResponse = await self.call_engine(
                engine, "StepRun", request, 3600
            )
            if reply.run.status in ENDED:
                await self.launcher.stop(run_id)
            return reply

    async def wait_until_ended(self, run_id: str) -> None:
        watcher = self.watchers.get(run_id)
        if watcher is not None:
            await watcher
        if self.jobs is None:
            return
        # A Job's engine records the run's end in the store; nothing here hears of it sooner.
        while (await self.run(run_id)).status not in ENDED:  # noqa: ASYNC110
            await asyncio.sleep(JOB_WATCH_INTERVAL_SECONDS)

    async def close(self) -> None:
        for task in [*self.watchers.values(), *self.batches]:
            task.cancel()
        await self.launcher.stop_all()


def _refuse_ended(run: run_pb2.Run) -> None:
    if run.status in ENDED:
        reason = run_pb2.EndReason.Name(run.end_reason).removeprefix("END_REASON_").lower()
        raise FailedPrecondition(
            f"run {run.id} has ended at tick {run.current_tick} ({reason})",
            hint="fork it (ForkRun) to go on from any of its ticks",
        )


class ExperimentsControlServicer(experiments_service_pb2_grpc.ExperimentsServicer):
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    async def CreateRun(
        self, request: messages.CreateRunRequest, context: Context
    ) -> messages.CreateRunResponse:
        config = run_configs.resolve_run_config(request.config)
        run = run_pb2.Run(
            id=new_run_id(),
            config=config,
            status=run_pb2.RUN_STATUS_CREATED,
            store=redact_url(self.plane.store.location),
        )
        await self.plane.store.save_run(run)
        return messages.CreateRunResponse(run=public_run(run))

    async def StartRun(
        self, request: messages.StartRunRequest, context: Context
    ) -> messages.StartRunResponse:
        return messages.StartRunResponse(run=public_run(await self.plane.start(request.run_id)))

    async def StepRun(
        self, request: messages.StepRunRequest, context: Context
    ) -> messages.StepRunResponse:
        reply = await self.plane.step(request.run_id, request.ticks)
        return messages.StepRunResponse(run=public_run(reply.run), summaries=reply.summaries)

    async def GetRun(
        self, request: messages.GetRunRequest, context: Context
    ) -> messages.GetRunResponse:
        run = await self.plane.live_run(await self.plane.run(request.run_id))
        return messages.GetRunResponse(run=public_run(run))

    async def ListRuns(
        self, request: messages.ListRunsRequest, context: Context
    ) -> messages.ListRunsResponse:
        size = min(request.page_size or DEFAULT_PAGE_SIZE, 1_000)
        if request.page_token and not request.page_token.isdigit():
            raise InvalidArgument(
                f"page_token {run_configs.short(request.page_token)!r} is not one this server issued"
            )
        offset = int(request.page_token or 0)
        runs = sorted(await self.plane.store.list_runs(), key=lambda run: run.id)
        window = [await self.plane.live_run(run) for run in runs[offset : offset + size]]
        next_token = str(offset + size) if offset + size < len(runs) else ""
        return messages.ListRunsResponse(
            runs=[public_run(run) for run in window], next_page_token=next_token
        )

    async def ForkRun(
        self, request: messages.ForkRunRequest, context: Context
    ) -> messages.ForkRunResponse:
        from emergence.experiments.forks import fork_run

        run = await fork_run(self.plane.store, request)
        return messages.ForkRunResponse(run=public_run(run))

    async def CompareRuns(
        self, request: messages.CompareRunsRequest, context: Context
    ) -> messages.CompareRunsResponse:
        if not request.run_ids:
            raise InvalidArgument("run_ids is empty: name the runs to compare")
        if len(request.run_ids) > MAX_COMPARED_RUNS:
            raise InvalidArgument(f"at most {MAX_COMPARED_RUNS} runs can be compared at once")
        for run_id in request.run_ids:
            await self.plane.run(run_id)  # NOT_FOUND for an unknown or impossible id
        figures = [await load_figures(self.plane.store, run_id) for run_id in request.run_ids]
        names = metric_names(figures)
        wanted = list(request.metrics) or names
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise InvalidArgument(
                f"unknown metric {run_configs.short(unknown[0])!r}",
                hint=f"these runs have {', '.join(names)}",
            )
        return messages.CompareRunsResponse(
            runs=[
                messages.RunMetrics(
                    run_id=f.run_id,
                    seed=f.seed,
                    ticks=f.ticks,
                    metrics={name: value(f, name) for name in wanted},
                    first_discovery_tick=f.first_discovery_tick,
                )
                for f in figures
            ],
            aggregates=[
                messages.MetricAggregate(
                    metric=a.metric,
                    runs=a.interval.count,
                    mean=a.interval.mean,
                    stddev=a.stddev,
                    ci95_low=a.interval.low,
                    ci95_high=a.interval.high,
                )
                for a in aggregates(figures, wanted)
            ],
        )

    async def GetReport(
        self, request: messages.GetReportRequest, context: Context
    ) -> messages.GetReportResponse:
        """The run's report, rendered from its stored history as it is now (a live run's too),
        and written under the reports folder; an ended run records where in `report_path`."""
        from emergence.report import write_stored_run_report

        run = await self.plane.run(request.run_id)
        if await self.plane.store.last_tick(run.id) < 0:
            raise FailedPrecondition(f"run {run.id} has no history yet; step or start it first")
        html, path = await write_stored_run_report(
            self.plane.store, run.id, self.plane.reports_folder
        )
        if run.status in ENDED and self.plane.launcher.engine(run.id) is None:
            run.report_path = str(path)  # its engine is gone: no one else writes the record
            await self.plane.store.save_run(run)
        return messages.GetReportResponse(html=html, path=str(path))

    async def RunBatch(
        self, request: messages.RunBatchRequest, context: Context
    ) -> messages.RunBatchResponse:
        seeds = list(request.seeds)
        if not seeds:
            raise InvalidArgument("a batch needs at least one seed")
        if len(seeds) > MAX_BATCH_SEEDS:
            raise InvalidArgument(f"a batch has at most {MAX_BATCH_SEEDS} seeds, got {len(seeds)}")
        if len(set(seeds)) != len(seeds):
            raise InvalidArgument("a batch's seeds must differ (a repeated seed repeats a run)")
        parallel = max(1, min(request.parallel or 1, len(seeds), 64))
        batch_id = str(uuid.uuid4())
        runs = []
        for seed in seeds:  # every config is checked before any run is stored
            config = copy.deepcopy(request.config)
            config.config_yaml = _with_seed(config.config_yaml, seed)
            config.seed = 0
            runs.append(
                run_pb2.Run(
                    id=new_run_id(),
                    config=run_configs.resolve_run_config(config),
                    status=run_pb2.RUN_STATUS_CREATED,
                    store=redact_url(self.plane.store.location),
                    batch_id=batch_id,
                )
            )
        for run in runs:
            await self.plane.store.save_run(run)
        task = asyncio.create_task(self._run_batch([run.id for run in runs], parallel))
        self.plane.batches.add(task)
        task.add_done_callback(self.plane.batches.discard)
        return messages.RunBatchResponse(batch_id=batch_id, runs=[public_run(r) for r in runs])

    async def _run_batch(self, run_ids: list[str], parallel: int) -> None:
        slots = asyncio.Semaphore(parallel)

        async def one(run_id: str) -> None:
            async with slots:
                try:
                    await self.plane.start(run_id)
                    await self.plane.wait_until_ended(run_id)
                except Exception:
                    log.exception("batch run %s could not run", run_id)

        await asyncio.gather(*(one(run_id) for run_id in run_ids))


def _with_seed(config_yaml: str, seed: int) -> str:
    sections = run_configs.parse_sections(config_yaml)
    sections.setdefault("run", {})["seed"] = seed
    return run_configs.to_yaml(sections)
