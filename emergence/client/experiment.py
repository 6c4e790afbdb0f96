"""`Experiment`: one run driven from a script or notebook through the public gRPC API.

It speaks plain gRPC with the betterproto2-generated grpclib stubs, so it needs nothing of the
services' own code: create, start, step, inject, fork, series, compare, report.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from grpclib.client import Channel
from grpclib.exceptions import GRPCError, StreamTerminatedError

from emergence.client.pb.emergence import v1

ENDED = (v1.RunStatus.COMPLETED, v1.RunStatus.FAILED)
# How long StepRun may take: a base plus a model's decision deadline for every tick.
STEP_TIMEOUT_SECONDS = 120.0
STEP_TIMEOUT_PER_TICK_SECONDS = 10.0
# Longest slice of a server's message an error repeats.
MESSAGE_LIMIT = 300


class ExperimentError(Exception):
    """A call the service refused or could not answer: `status` is the gRPC status name."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message[:MESSAGE_LIMIT]}")
        self.status = status
        self.message = message[:MESSAGE_LIMIT]


def split_address(address: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port); anything else is refused here, not by a socket."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {address[:80]!r}")
    return host.strip("[]"), int(port)


def have_pandas() -> bool:
    return importlib.util.find_spec("pandas") is not None


def series_table(response: v1.GetSeriesResponse, *, frame: bool | None = None) -> Any:
    """Rows by tick, one column per metric: a pandas DataFrame when pandas is installed (or
    `frame=True`), else a list of dicts `{"tick": t, metric: value, ...}`."""
    rows: dict[int, dict[str, float]] = {}
    for series in response.series:
        for point in series.points:
            rows.setdefault(point.tick, {})[series.metric] = point.value
    table = [{"tick": tick, **values} for tick, values in sorted(rows.items())]
    if frame is False or (frame is None and not have_pandas()):
        return table
    import pandas

    columns = ["tick", *(series.metric for series in response.series)]
    return pandas.DataFrame(table, columns=columns).set_index("tick")


def metrics_table(rows: Sequence[Mapping[str, Any]], *, frame: bool | None = None) -> Any:
    if frame is False or (frame is None and not have_pandas()):
        return [dict(row) for row in rows]
    import pandas

    return pandas.DataFrame(list(rows))


@dataclass
class Comparison:
    """CompareRuns as tables: `runs` (one row per run) and `aggregates` (mean and 95 % interval
    per metric across the runs); `response` is the message itself."""

    runs: Any
    aggregates: Any
    response: v1.CompareRunsResponse


def plague(region: str, ticks: int = 50) -> v1.WorldEventSpec:
    return v1.WorldEventSpec(plague=v1.Plague(region=region, ticks=ticks))


def run_config(
    config: v1.RunConfig | None,
    *,
    seed: int | None,
    agents: int | None,
    ticks: int | None,
    config_yaml: str | None,
    name: str | None,
) -> v1.RunConfig:
    """The request's config: the given one with the keyword arguments laid over it."""
    chosen = copy.deepcopy(config) if config is not None else v1.RunConfig()
    if seed is not None:
        chosen.seed = seed
    if agents is not None:
        chosen.agents = agents
    if ticks is not None:
        chosen.end = chosen.end or v1.EndConditions()
        chosen.end.max_ticks = ticks
    if config_yaml is not None:
        chosen.config_yaml = config_yaml
    if name is not None:
        chosen.name = name
    return chosen


class Connection:
    """One grpclib channel with the bearer token on every call."""

    def __init__(
        self,
        address: str,
        token: str = "",
        *,
        observer_address: str = "",
        timeout_seconds: float = 120.0,
    ) -> None:
        host, port = split_address(address)
        self.address = address
        self.channel = Channel(host, port)
        # The Observer may be its own service (emergence-observer) or share the address.
        self.observer_channel = self.channel
        if observer_address and observer_address != address:
            self.observer_channel = Channel(*split_address(observer_address))
        metadata = {"authorization": f"Bearer {token}"} if token else None
        self.experiments = v1.ExperimentsStub(
            self.channel, timeout=timeout_seconds, metadata=metadata
        )
        self.operator = v1.OperatorStub(self.channel, timeout=timeout_seconds, metadata=metadata)
        self.observer = v1.ObserverStub(self.observer_channel, timeout=timeout_seconds)

    async def call(self, method: Any, request: Any, *, timeout_seconds: float | None = None) -> Any:
        """Await one RPC; the service's refusal becomes an ExperimentError naming the status."""
        try:
            return await method(request, timeout=timeout_seconds)
        except GRPCError as error:
            raise ExperimentError(error.status.name, error.message or "") from error
        except TimeoutError as error:  # before OSError, of which it is a kind
            raise ExperimentError(
                "DEADLINE_EXCEEDED", f"{self.address}: no answer in time"
            ) from error
        except (ConnectionError, OSError, StreamTerminatedError) as error:
            raise ExperimentError("UNAVAILABLE", f"{self.address}: {error}") from error

    def close(self) -> None:
        self.channel.close()
        if self.observer_channel is not self.channel:
            self.observer_channel.close()


class _Opening:
    """What `Experiment.create(...)` returns: `async with` it, or `await` it (then close it)."""

    def __init__(self, open_experiment: Any) -> None:
        self._open = open_experiment
        self._experiment: Experiment | None = None

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> Experiment:
        self._experiment = await self._open()
        return self._experiment

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._experiment is not None:
            self._experiment.close()


class Experiment:
    """One run of the Experiments service, and the calls a researcher makes on it."""

    def __init__(
        self, connection: Connection, run: v1.Run, *, owns_connection: bool = True
    ) -> None:
        self.connection = connection
        self.run = run
        self._owns_connection = owns_connection

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def tick(self) -> int:
        return self.run.current_tick

    @classmethod
    def create(
        cls,
        address: str,
        *,
        config: v1.RunConfig | None = None,
        seed: int | None = None,
        agents: int | None = None,
        ticks: int | None = None,
        config_yaml: str | None = None,
        name: str | None = None,
        token: str = "",
        observer: str = "",
    ) -> _Opening:
        """CreateRun with `config` (a RunConfig) and any of the keyword arguments laid over it;
        `observer` is the Observer's address when it is not `address`."""
        request = v1.CreateRunRequest(
            config=run_config(
                config, seed=seed, agents=agents, ticks=ticks, config_yaml=config_yaml, name=name
            )
        )

        async def open_experiment() -> Experiment:
            connection = Connection(address, token, observer_address=observer)
            try:
                created = await connection.call(connection.experiments.create_run, request)
            except BaseException:
                connection.close()
                raise
            return cls(connection, created.run)

        return _Opening(open_experiment)

    @classmethod
    def attach(cls, address: str, run_id: str, *, token: str = "", observer: str = "") -> _Opening:
        """An experiment for a run that already exists (GetRun)."""

        async def open_experiment() -> Experiment:
            connection = Connection(address, token, observer_address=observer)
            try:
                found = await connection.call(
                    connection.experiments.get_run, v1.GetRunRequest(run_id=run_id)
                )
            except BaseException:
                connection.close()
                raise
            return cls(connection, found.run)

        return _Opening(open_experiment)

    def close(self) -> None:
        if self._owns_connection:
            self.connection.close()

    async def refresh(self) -> v1.Run:
        found = await self.connection.call(
            self.connection.experiments.get_run, v1.GetRunRequest(run_id=self.run_id)
        )
        self.run = found.run
        return self.run

    async def step(self, ticks: int) -> list[v1.TickSummary]:
        """Advance the run by exactly `ticks` ticks (StepRun) and return their summaries."""
        # A tick can take a model's whole decision deadline: the wait grows with the ticks asked.
        stepped = await self.connection.call(
            self.connection.experiments.step_run,
            v1.StepRunRequest(run_id=self.run_id, ticks=ticks),
            timeout_seconds=STEP_TIMEOUT_SECONDS + STEP_TIMEOUT_PER_TICK_SECONDS * max(ticks, 0),
        )
        self.run = stepped.run
        return list(stepped.summaries)

    async def start(self) -> v1.Run:
        started = await self.connection.call(
            self.connection.experiments.start_run, v1.StartRunRequest(run_id=self.run_id)
        )
        self.run = started.run
        return self.run

    async def wait(self, timeout_seconds: float = 600.0, poll_seconds: float = 0.2) -> v1.Run:
        """Until the run has completed or failed (after `start`)."""
        deadline = time.monotonic() + timeout_seconds
        while (await self.refresh()).status not in ENDED:
            if time.monotonic() > deadline:
                raise ExperimentError(
                    "DEADLINE_EXCEEDED", f"run {self.run_id} still {self.run.status.name}"
                )
            await asyncio.sleep(poll_seconds)
        return self.run

    async def inject(self, event: v1.WorldEventSpec, *, at_tick: int = 0) -> int:
        """Operator.InjectEvent on this run (next tick when `at_tick` is 0); the effective tick."""
        injected = await self.connection.call(
            self.connection.operator.inject_event,
            v1.InjectEventRequest(run_id=self.run_id, event=event, at_tick=at_tick),
        )
        return int(injected.effective_tick)

    async def fork(
        self,
        at_tick: int,
        *,
        overrides: Mapping[str, object] | Iterable[str] = (),
        inject: Sequence[v1.WorldEventSpec] = (),
        config: v1.RunConfig | None = None,
    ) -> Experiment:
        """ForkRun: a new run from this one's state at `at_tick`, with `key=value` overrides and
        world events injected at its first tick. It shares this experiment's connection."""
        pairs = (
            [f"{key}={value}" for key, value in overrides.items()]
            if isinstance(overrides, Mapping)
            else list(overrides)
        )
        request = v1.ForkRunRequest(
            run_id=self.run_id,
            at_tick=at_tick,
            overrides=pairs,
            inject=list(inject),
            config=config,
        )
        forked = await self.connection.call(self.connection.experiments.fork_run, request)
        return Experiment(self.connection, forked.run, owns_connection=False)

    async def series(
        self,
        *metrics: str,
        from_tick: int = 0,
        to_tick: int = 0,
        step: int = 0,
        frame: bool | None = None,
    ) -> Any:
        """Observer.GetSeries as a table by tick (pandas when installed, else a list of dicts)."""
        request = v1.GetSeriesRequest(
            run_id=self.run_id,
            metrics=list(metrics) or ["population.alive", "gini"],
            from_tick=from_tick,
            to_tick=to_tick,
            step=step,
        )
        response = await self.connection.call(self.connection.observer.get_series, request)
        return series_table(response, frame=frame)

    async def events(
        self, *types: v1.EventType, from_tick: int = 0, to_tick: int = 0, limit: int = 1000
    ) -> list[v1.Event]:
        """Observer.QueryEvents: this run's events of the given types (all types if none), at
        most `limit` of them, following the pages."""
        found: list[v1.Event] = []
        token = ""
        while len(found) < limit:
            request = v1.QueryEventsRequest(
                run_id=self.run_id,
                types=list(types),
                from_tick=from_tick,
                to_tick=to_tick,
                page_size=min(limit - len(found), 1000),
                page_token=token,
            )
            page = await self.connection.call(self.connection.observer.query_events, request)
            found.extend(page.events)
            token = page.next_page_token
            if not token or not page.events:
                break
        return found[:limit]

    async def compare(
        self, *others: Experiment | str, metrics: Sequence[str] = (), frame: bool | None = None
    ) -> Comparison:
        run_ids = [self.run_id] + [o.run_id if isinstance(o, Experiment) else o for o in others]
        return await compare_on(self.connection, run_ids, metrics=metrics, frame=frame)

    async def report(self) -> str:
        """GetReport: the run's report as one HTML page."""
        found = await self.connection.call(
            self.connection.experiments.get_report, v1.GetReportRequest(run_id=self.run_id)
        )
        return str(found.html)


async def compare_on(
    connection: Connection,
    run_ids: Sequence[str],
    *,
    metrics: Sequence[str] = (),
    frame: bool | None = None,
) -> Comparison:
    response = await connection.call(
        connection.experiments.compare_runs,
        v1.CompareRunsRequest(run_ids=list(run_ids), metrics=list(metrics)),
    )
    runs = [
        {
            "run_id": run.run_id,
            "seed": run.seed,
            "ticks": run.ticks,
            **dict(sorted(run.metrics.items())),
        }
        for run in response.runs
    ]
    aggregates = [
        {
            "metric": aggregate.metric,
            "runs": aggregate.runs,
            "mean": aggregate.mean,
            "ci95_low": aggregate.ci95_low,
            "ci95_high": aggregate.ci95_high,
        }
        for aggregate in response.aggregates
    ]
    return Comparison(
        metrics_table(runs, frame=frame), metrics_table(aggregates, frame=frame), response
    )


async def compare(
    address: str,
    run_ids: Sequence[str],
    *,
    metrics: Sequence[str] = (),
    token: str = "",
    frame: bool | None = None,
) -> Comparison:
    """CompareRuns over any stored runs: per-run metrics and their mean with a 95 % interval."""
    connection = Connection(address, token)
    try:
        return await compare_on(connection, run_ids, metrics=metrics, frame=frame)
    finally:
        connection.close()


async def batch(
    address: str,
    *,
    config: v1.RunConfig,
    seeds: Sequence[int],
    parallel: int = 1,
    token: str = "",
    wait: bool = True,
    timeout_seconds: float = 900.0,
) -> list[v1.Run]:
    """RunBatch: one run per seed from the same config, `parallel` engines at once; with `wait`,
    returns the runs once every one has completed or failed."""
    connection = Connection(address, token)
    try:
        started = await connection.call(
            connection.experiments.run_batch,
            v1.RunBatchRequest(config=config, seeds=list(seeds), parallel=parallel),
        )
        runs = [Experiment(connection, run, owns_connection=False) for run in started.runs]
        if wait:
            for run in runs:
                await run.wait(timeout_seconds)
        return [run.run for run in runs]
    finally:
        connection.close()
