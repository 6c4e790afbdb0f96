"""The engine service: composes the world core, stores, bus, ledger client and gRPC servicers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import signal
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from emergence.experiments.config import settings_for_run
from emergence.history import HistoryHasher
from emergence.mesh.collector import tune_for_ticks
from emergence.mesh.errors import ConfigurationError, FailedPrecondition
from emergence.mesh.interceptors import BearerTokenInterceptor
from emergence.mesh.logs import configure_logging
from emergence.mesh.metrics import add_metrics_port_argument, serve_service_metrics
from emergence.mesh.redact import redact_url
from emergence.mesh.security import configure_tls
from emergence.mesh.server import (
    RunningServer,
    ServiceBinding,
    port_is_free,
    run_service,
    serve_until_signal,
    start_server,
)
from emergence.mesh.settings import Settings, load_settings
from emergence.mesh.validation import quoted
from emergence.v1 import (
    engine_service_pb2,
    event_pb2,
    experiments_service_pb2_grpc,
    operator_service_pb2_grpc,
    run_pb2,
)
from engine.adapters import convert
from engine.adapters.api_servicers import ExperimentsServicer, OperatorServicer
from engine.adapters.bus import EventBus, open_bus
from engine.adapters.event_store import EventStore, open_event_store
from engine.adapters.hot_state import HotState, open_hot_state
from engine.adapters.ledger_client import LedgerClient
from engine.adapters.runner_hub import RunnerHub, hub_binding
from engine.constructs import ConstructDetector
from engine.core.config import ConfigError, WorldConfig, load_world_config
from engine.core.entries import Entry, state_balances
from engine.core.events import DomainEvent
from engine.core.knowledge import SEED_LEVELS
from engine.core.state import WorldState
from engine.core.world import new_world
from engine.simulation import Simulation, SimulationOptions, serialize_state
from observer_service.adapters.servicer import ObserverServicer
from observer_service.app import observer_binding

log = logging.getLogger("emergence.engine")

PERSONALITY_MODES = ("random", "balanced")
BRAIN_KINDS = {
    "heuristic": run_pb2.BRAIN_KIND_HEURISTIC,
    "llm": run_pb2.BRAIN_KIND_LLM,
    "hybrid": run_pb2.BRAIN_KIND_HYBRID,
}


def new_run_id() -> str:
    """Run ids are unique per run (wall-clock UUIDv7); they are not part of the history hash."""
    return str(uuid.uuid7()) if hasattr(uuid, "uuid7") else _uuid7_fallback()


def _uuid7_fallback() -> str:
    import os
    import time

    from emergence.mesh.ids import uuid7_shaped

    return uuid7_shaped(int(time.time() * 1000), int.from_bytes(os.urandom(10), "big"))


def world_config_for(settings: Settings) -> WorldConfig:
    """The world rules of a run: the `world:` section, with the run's personality mode and
    knowledge level applied (they live under `run:`; naming them differently under `world:` too
    is refused rather than one silently winning)."""
    try:
        world = load_world_config(settings.world)
    except ConfigError as error:
        raise ConfigurationError(f"world.{error.key}", str(error)) from error
    run = settings.run
    if run.personality_mode not in PERSONALITY_MODES:
        raise ConfigurationError(
            "run.personality_mode",
            f"must be one of {', '.join(PERSONALITY_MODES)}, got {run.personality_mode[:40]!r}",
        )
    if not 0 <= run.knowledge_level < len(SEED_LEVELS):
        raise ConfigurationError(
            "run.knowledge_level",
            f"must be between 0 and {len(SEED_LEVELS) - 1}, got {run.knowledge_level}",
        )
    named = settings.world
    for section, key, value in (
        ("population", "personality_mode", run.personality_mode),
        ("knowledge", "seed_level", run.knowledge_level),
    ):
        given = (named.get(section) or {}).get(key)
        if given is not None and given != value:
            raise ConfigurationError(
                f"world.{section}.{key}",
                f"says {given!r} but the run says {value!r}",
                hint=f"set it once, as run.{'personality_mode' if section == 'population' else 'knowledge_level'}",
            )
    return dataclasses.replace(
        world,
        population=dataclasses.replace(world.population, personality_mode=run.personality_mode),
        knowledge=dataclasses.replace(world.knowledge, seed_level=run.knowledge_level),
    )


def run_config(settings: Settings) -> run_pb2.RunConfig:
    """The RunConfig stored with a run: every field it applies, and the full sections as YAML."""
    from emergence.experiments.config import canonical_sections, to_yaml

    run = settings.run
    return run_pb2.RunConfig(
        config_yaml=to_yaml(canonical_sections(settings)),
        name=f"seed {run.seed}, {run.agents} agents",
        seed=run.seed,
        agents=run.agents,
        map=run.map,
        generated_locations=run.generated_locations,
        brain=BRAIN_KINDS[run.brain],
        tick_interval_ms=run.tick_interval_ms,
        decision_deadline_ms=run.decision_deadline_ms,
        end=run_pb2.EndConditions(max_ticks=run.ticks, stop_on_extinction=True),
        personality_mode=run.personality_mode,
        knowledge_level=run.knowledge_level,
        snapshot_every_ticks=run.snapshot_every_ticks,
    )


@dataclass
class EngineHost:
    settings: Settings
    run: run_pb2.Run
    simulation: Simulation
    store: EventStore
    bus: EventBus
    hot_state: HotState
    ledger: LedgerClient
    hub: RunnerHub
    server: RunningServer | None = None
    step_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loop_task: asyncio.Task[int] | None = None
    # Set when the run failed for good: the process stops serving and exits non-zero.
    failed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def loop_running(self) -> bool:
        return self.loop_task is not None and not self.loop_task.done()

    def start_loop(self) -> None:
        if not self.loop_running:
            self.loop_task = asyncio.create_task(self._run_loop())

    async def _run_loop(self) -> int:
        """The tick loop; an error it cannot hold through fails the run loudly, never silently."""
        try:
            return await self.simulation.run_until_end()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Handled here (the run is marked FAILED and the process told to exit 1), not left
            # in the task for nobody to retrieve.
            await self.fail(error)
            return run_pb2.END_REASON_ERROR

    async def fail(self, error: BaseException) -> None:
        """Mark the run FAILED with its reason, say NOT_SERVING, and tell the runners it ended."""
        run, tick = self.run, self.simulation.state.tick
        reason = f"{type(error).__name__}: {error}"[:500]
        log.error("run %s failed at tick %d: %s", run.id, tick, reason, exc_info=error)
        run.status = run_pb2.RUN_STATUS_FAILED
        run.end_reason = run_pb2.END_REASON_ERROR
        run.failure_reason = reason
        run.held_by = ""
        run.ended_at.GetCurrentTime()
        try:
            await asyncio.wait_for(self.simulation.save_run_record(), timeout=5)
        except Exception as save_error:  # the store may be what failed: the log keeps the reason
            log.error("could not record the failure of run %s: %s", run.id, save_error)
        if self.server is not None:
            await self.server.set_not_serving()
        self.hub.end_run(run_pb2.END_REASON_ERROR, tick)
        self.failed.set()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.stop(1.0)
        await self.simulation.stop_persisting()
        await self.ledger.close()
        await self.bus.close()
        await self.hot_state.close()
        await self.store.close()


async def create_engine(
    settings: Settings,
    *,
    ledger_address: str,
    store_url: str,
    address: str = "127.0.0.1:0",
    run_id: str | None = None,
    resume_run_id: str | None = None,
    resume_unfinished: bool = False,
    stored_run_id: str | None = None,
) -> EngineHost:
    """Build the world (or rebuild a run that stopped), open stores, commit genesis and serve.

    `stored_run_id` names a run the experiments control plane created in the store: its stored
    config (not `settings`' run sections) makes the world, a fork's from its parent's state."""
    tune_for_ticks()
    store = open_event_store(store_url)
    bus = open_bus(settings.storage.nats_url)
    hot_state = open_hot_state(settings.storage.redis_url)
    for part in (store, bus, hot_state):
        await part.open()
    ledger = LedgerClient(ledger_address, service_token=settings.security.service_token)
    constructs = ConstructDetector()
    entries: list[Entry] = []
    events: list[DomainEvent] = []
    if stored_run_id:
        run = await _stored_run(store, stored_run_id, store_url)
        if run.status != run_pb2.RUN_STATUS_CREATED:
            resume_run_id = stored_run_id
        settings = settings_for_run(run.config, settings)
    elif resume_run_id is None and not run_id and resume_unfinished:
        resume_run_id = await _unfinished_run(store, run_config(settings))
    elif run_id and await _is_unfinished(store, run_id):
        resume_run_id = run_id
    claimed = resume_run_id or stored_run_id
    try:
        if claimed and not await store.claim_run(claimed):
            raise FailedPrecondition(
                f"run {claimed} is being run by another engine on the same store",
                hint="stop that engine first, or start a new run",
            )
        if resume_run_id:
            run, state, history_hash, last_results = await _resumed(
                store, ledger, resume_run_id, store_url, constructs
            )
            settings = settings_for_run(run.config, settings)
        elif stored_run_id:
            state, events, entries = await _world_of_stored_run(store, run, settings)
    except BaseException:
        # A run that cannot be resumed or forked (a refused snapshot, a diverging replay)
        # leaves nothing open behind it: no store claim, no connections.
        for close in (ledger.close, hot_state.close, bus.close, store.close):
            with contextlib.suppress(Exception):
                await close()
        raise
    if not claimed:
        state, events, entries = _new_world(settings)
        run = run_pb2.Run(
            id=run_id or new_run_id(),
            config=run_config(settings),
            status=run_pb2.RUN_STATUS_CREATED,
            store=redact_url(store_url),
        )
    options = _options(run.config)
    hub = RunnerHub(
        run_id=run.id,
        seed=run.config.seed,
        runner_token=settings.security.runner_token,
        decision_config=decision_config(settings),
    )
    hub.set_living(state.living_agent_ids())
    simulation = Simulation(
        run, state, store, ledger, hub, bus, hot_state, options, constructs=constructs
    )
    host = EngineHost(settings, run, simulation, store, bus, hot_state, ledger, hub)
    if resume_run_id:
        hub.remember_results(
            state.tick, {a: convert.result_to_proto(r) for a, r in last_results.items()}
        )
        simulation.hasher = HistoryHasher(history_hash)
        run.status = run_pb2.RUN_STATUS_RUNNING
        await store.save_run(run)
        await _refresh_hot_state(store, hot_state, run.id, state)
    else:
        await store.claim_run(run.id)
        run.store = redact_url(store_url)
        await simulation.genesis(events, entries)
        simulation.pending_operator_events.extend(injection_events(run.injected_at_fork))
    host.server = await start_server(address, _bindings(host), interceptors=_interceptors(settings))
    return host


async def _refresh_hot_state(
    store: EventStore, hot_state: HotState, run_id: str, state: WorldState
) -> None:
    """Hot state may be behind (or ahead of) the store after a crash: rewrite it from the store."""
    rows = await store.tick_rows(run_id, state.tick)
    summary = rows[0].summary.SerializeToString() if rows else b""
    await hot_state.write_tick(run_id, state.tick, summary, {}, serialize_state(state))


def _new_world(settings: Settings) -> tuple[WorldState, list[DomainEvent], list[Entry]]:
    run_settings = settings.run
    return new_world(
        world_config_for(settings),
        seed=run_settings.seed,
        agents=run_settings.agents,
        map_name=run_settings.map,
        generated_locations=run_settings.generated_locations,
    )


async def _stored_run(store: EventStore, run_id: str, store_url: str) -> run_pb2.Run:
    run = await store.get_run(run_id)
    if run is None:
        raise ConfigurationError(
            "run",
            f"no run {run_id[:60]!r} in the store",
            hint="create it with Experiments.CreateRun",
        )
    if run.status in (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED):
        raise ConfigurationError("run", f"run {run_id} has already ended")
    return run


async def _world_of_stored_run(
    store: EventStore, run: run_pb2.Run, settings: Settings
) -> tuple[WorldState, list[DomainEvent], list[Entry]]:
    """A new run's tick-0 world, or a fork's world: its parent's at the fork tick, replayed from
    the stored decisions, with the fork's config and seed, its books opened with the holdings."""
    if not run.parent_run_id:
        return _new_world(settings)
    from engine.rebuild import rebuild

    rebuilt = await rebuild(
        store, run.parent_run_id, from_genesis=False, until_tick=run.forked_at_tick
    )
    if not rebuilt.matches:
        raise FailedPrecondition(
            f"run {run.parent_run_id}: replaying to tick {run.forked_at_tick} does not give the "
            "stored history, so it cannot be forked faithfully (run `emergence verify`)"
        )
    state = rebuilt.state
    state.config = world_config_for(settings)
    state.seed = settings.run.seed
    return state, [], opening_entries(state)


def opening_entries(state: WorldState) -> list[Entry]:
    """Every holding of the world as an OPENING entry out of WORLD (a fork's first tick)."""
    return [
        Entry("OPENING", "WORLD", "", entity_type, entity_id, resource, quantity)
        for (entity_type, entity_id, resource), quantity in sorted(state_balances(state).items())
        if quantity > 0
    ]


def injection_events(specs: Iterable[run_pb2.WorldEventSpec]) -> list[event_pb2.Event]:
    """A fork's world events as the operator injections the next tick applies and records."""
    from engine.adapters.convert import world_event_from_proto
    from engine.simulation import INJECT_ACTION

    events = []
    for spec in specs:
        kind, parameters = world_event_from_proto(spec)
        if kind:
            details = event_pb2.OperatorActionDetails(
                action=INJECT_ACTION, parameters={"kind": kind, **parameters}
            )
            events.append(
                event_pb2.Event(type=event_pb2.EVENT_TYPE_OPERATOR_ACTION, operator_action=details)
            )
    return events


def decision_config(settings: Settings) -> engine_service_pb2.Assignment:
    """What every runner of this run is told to decide with (see RunnerHub.decision_config)."""
    from emergence.experiments.config import to_yaml

    return engine_service_pb2.Assignment(
        brain=BRAIN_KINDS[settings.run.brain],
        runner_config_yaml=to_yaml(settings.runner),
        llm_config_yaml=to_yaml(settings.llm),
    )


def _bindings(host: EngineHost) -> list[ServiceBinding]:
    return [
        hub_binding(host.hub),
        # The same read-only Observer as emergence-observer, over this engine's store and bus.
        observer_binding(ObserverServicer(host.store, host.bus, default_run_id=host.run.id)),
        ServiceBinding(
            "emergence.v1.Operator",
            lambda s: operator_service_pb2_grpc.add_OperatorServicer_to_server(
                OperatorServicer(host), s
            ),
        ),
        ServiceBinding(
            "emergence.v1.Experiments",
            lambda s: experiments_service_pb2_grpc.add_ExperimentsServicer_to_server(
                ExperimentsServicer(host),  # type: ignore[abstract]
                s,
            ),
        ),
    ]


def _interceptors(settings: Settings) -> list[grpc.aio.ServerInterceptor]:
    from emergence.experiments.config import STATE_CHANGING_METHODS

    return [
        BearerTokenInterceptor(
            settings.operator_api_token,
            ["emergence.v1.Operator"],
            protected_methods=STATE_CHANGING_METHODS,
        )
    ]


def _options(config: run_pb2.RunConfig) -> SimulationOptions:
    options = SimulationOptions(
        decision_deadline_ms=config.decision_deadline_ms,
        tick_interval_ms=config.tick_interval_ms,
        snapshot_every_ticks=config.snapshot_every_ticks,
        max_ticks=config.end.max_ticks,
        # A way of running the engine, not part of the run: the history is the same either way.
        # Off only to measure what the overlap saves (`emergence bench mesh`).
        overlap_persistence=os.environ.get("EMERGENCE_OVERLAP_PERSISTENCE", "1") != "0",
    )
    if config.end.time_limit_seconds:
        options.time_limit_seconds = config.end.time_limit_seconds
    return options


RESUME_WAIT_SECONDS = 10.0
UNFINISHED = (run_pb2.RUN_STATUS_CREATED, run_pb2.RUN_STATUS_RUNNING, run_pb2.RUN_STATUS_PAUSED)


async def _is_unfinished(store: EventStore, run_id: str) -> bool:
    run = await store.get_run(run_id)
    return run is not None and run.status in UNFINISHED and await store.last_tick(run_id) >= 0


async def _unfinished_run(store: EventStore, config: run_pb2.RunConfig) -> str | None:
    """The latest run in the store that has not ended, was started with these same settings and
    that no other engine holds: an engine started again with its usual flags carries it on."""
    for run in sorted(await store.list_runs(), key=lambda found: found.id, reverse=True):
        if run.status not in UNFINISHED or await store.last_tick(run.id) < 0:
            continue
        if run.config != config:
            log.info("run %s is unfinished but has other settings; --resume continues it", run.id)
            continue
        if await store.claim_run(run.id):
            return run.id
    return None


async def _resumed(
    store: EventStore,
    ledger: LedgerClient,
    run_id: str,
    store_url: str,
    constructs: ConstructDetector,
) -> tuple[run_pb2.Run, WorldState, str, dict[str, object]]:
    """A run whose engine stopped: the store's last tick is the truth; the ledger rewinds to it.

    The world is replayed from tick 0 with the construct detector watching, so the resumed run
    forms its constructs when an uninterrupted one would and has the same history hash (the
    detector's windows reach hundreds of ticks back, past any snapshot).
    """
    from engine.rebuild import rebuild

    run = await store.get_run(run_id)
    if run is None:
        raise ConfigurationError(
            "resume",
            f"no run {run_id!r} in {redact_url(store_url)}",
            hint="pass the run id and its --store",
        )
    if run.status in (run_pb2.RUN_STATUS_COMPLETED, run_pb2.RUN_STATUS_FAILED):
        raise ConfigurationError(
            "resume",
            f"run {run_id} has already ended (tick {run.current_tick})",
            hint="start a new run instead",
        )
    rebuilt = await rebuild(store, run_id, from_genesis=True, detector=constructs)
    if not rebuilt.matches:
        raise FailedPrecondition(
            f"run {run_id}: replaying the stored decisions up to tick {rebuilt.tick} does not give "
            "the stored history, so it cannot be continued faithfully (run `emergence verify`)"
        )
    # The ledger may hold a tick the store never got (a crash between the two commits).
    await ledger.rewind(run_id, rebuilt.tick)
    run.current_tick = rebuilt.tick
    run.history_hash = rebuilt.stored_history_hash
    run.held_by = ""
    log.warning(
        "resuming run %s after tick %d (replayed %d ticks from the last snapshot)",
        run_id,
        rebuilt.tick,
        rebuilt.replayed_ticks,
    )
    return run, rebuilt.state, rebuilt.stored_history_hash, rebuilt.last_results


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="emergence-engine", description="Run the world engine service."
    )
    parser.add_argument(
        "--address", default=None, help="host:port to serve on (default from settings)"
    )
    parser.add_argument("--ledger", default=None, help="ledger service address")
    parser.add_argument(
        "--store", default=None, help="event store URL: sqlite:///FILE or postgresql://..."
    )
    parser.add_argument("--config", default=None, help="emergence.yaml")
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--ticks", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--runners", type=int, default=1, help="wait for this many runners before ticking"
    )
    parser.add_argument(
        "--manual", action="store_true", help="do not tick on its own; wait for Experiments.StepRun"
    )
    parser.add_argument(
        "--run",
        default=None,
        metavar="RUN_ID",
        help="serve a run the experiments control plane created in --store (its stored config"
        " makes the world; a fork starts from its parent's state)",
    )
    parser.add_argument(
        "--stop-with-parent",
        type=int,
        default=None,
        metavar="PID",
        help="shut down when process PID, which started this one, dies (a launched run's engine)",
    )
    parser.add_argument(
        "--exit-at-end",
        action="store_true",
        help="stop serving once the run has ended (a Kubernetes Job's engine)",
    )
    parser.add_argument(
        "--in-process-runner",
        action="store_true",
        help="host one runner in this process (a run launched by the control plane)",
    )
    parser.add_argument(
        "--resume",
        default=None,
        metavar="RUN_ID",
        help="continue a run whose engine stopped, from the last tick in --store",
    )
    parser.add_argument(
        "--reports",
        default=None,
        metavar="DIR",
        help="where the run's HTML report is written when it ends (default: run.out/reports)",
    )
    add_metrics_port_argument(parser)
    return parser.parse_args(argv)


def stop_with_parent(parent_pid: int) -> None:
    """SIGTERM this process when its parent dies, even by SIGKILL (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent_pid:  # it died before the line above: nothing would signal us
        raise ConfigurationError("--stop-with-parent", f"process {parent_pid} is gone")


async def _serve(arguments: argparse.Namespace) -> int:
    if arguments.stop_with_parent is not None:
        stop_with_parent(arguments.stop_with_parent)
    settings = load_settings(
        arguments.config,
        overrides={
            "run.agents": arguments.agents,
            "run.ticks": arguments.ticks,
            "run.seed": arguments.seed,
        },
    )
    configure_tls(settings.security)
    address = arguments.address or settings.services.engine
    ledger_address = arguments.ledger or settings.services.ledger
    store_url = (
        arguments.store
        or settings.storage.database_url
        or f"sqlite:///{Path(settings.run.out) / 'engine.sqlite'}"
    )
    if not port_is_free(address):
        # Before a run is created: a second engine on a busy port must leave no run behind.
        raise ConfigurationError(
            "address",
            f"{quoted(address)} is already in use",
            hint="stop what uses it or pick another",
        )
    host = await create_engine(
        settings,
        ledger_address=ledger_address,
        store_url=store_url,
        address=address,
        resume_run_id=arguments.resume,
        resume_unfinished=True,
        stored_run_id=arguments.run,
    )
    assert host.server is not None
    metrics_port = (
        settings.metrics_port if arguments.metrics_port is None else arguments.metrics_port
    )
    metrics_server = serve_service_metrics(address, metrics_port)
    if not settings.security.runner_token:
        log.warning("no RUNNER_TOKEN: any process that reaches the engine may join as a runner")
    runner = _in_process_runner(host) if arguments.in_process_runner else None
    reports_folder = Path(arguments.reports or Path(settings.run.out) / "reports")
    host.simulation.on_finish = functools.partial(write_report_at_end, host.store, reports_folder)
    if arguments.manual and host.run.status == run_pb2.RUN_STATUS_RUNNING:
        host.run.status = run_pb2.RUN_STATUS_PAUSED  # advances only when stepped
        await host.store.save_run(host.run)
    print(f"engine serving on {host.server.address}, run {host.run.id}", flush=True)
    if not arguments.manual:

        async def start_when_ready() -> None:
            # A resumed run does not wait long for all its runners (one may have died with the
            # old engine): the tick loop itself holds while no runner at all is connected.
            resumed = host.run.current_tick > 0
            await host.hub.wait_for_runners(
                arguments.runners, timeout_seconds=RESUME_WAIT_SECONDS if resumed else 3600
            )
            host.start_loop()
            if arguments.exit_at_end and host.loop_task is not None:
                # A batch Job's pod ends with its run: the same graceful path as a SIGTERM.
                await asyncio.wait([host.loop_task])
                os.kill(os.getpid(), signal.SIGTERM)

        starter = asyncio.create_task(start_when_ready())

    ended_cleanly = True

    async def drain() -> None:
        nonlocal ended_cleanly
        host.simulation.request_stop("shutdown")
        if not arguments.manual:
            starter.cancel()
        if not host.loop_running and host.run.status == run_pb2.RUN_STATUS_RUNNING:
            # No runner came yet, or the run is stepped by hand: it still ends as `manual`.
            host.loop_task = asyncio.create_task(_close_run(host))
        if host.loop_task is not None:
            # The tick in progress finishes (never half of it): at most one decision deadline.
            timeout_seconds = host.run.config.decision_deadline_ms / 1000 + 30
            done, _ = await asyncio.wait([host.loop_task], timeout=timeout_seconds)
            ended_cleanly = bool(done) and host.run.status == run_pb2.RUN_STATUS_COMPLETED
            if not ended_cleanly:
                log.error("run %s did not end cleanly on shutdown", host.run.id)
        if runner is not None:
            await runner.stop()  # its stream closed first, the server stops without waiting

    serving = asyncio.create_task(serve_until_signal(host.server, on_shutdown=drain))
    failure = asyncio.create_task(host.failed.wait())
    await asyncio.wait([serving, failure], return_when=asyncio.FIRST_COMPLETED)
    failed = host.failed.is_set()
    if failed:
        # The run failed for good: stop serving and exit non-zero so a supervisor sees it.
        serving.cancel()
    else:
        failure.cancel()
        await serving
    await host.close()
    if metrics_server is not None:
        metrics_server.close()
    if failed:
        print(
            f"emergence-engine: run {host.run.id} failed: {host.run.failure_reason}",
            file=sys.stderr,
        )
        return 1
    return 0 if ended_cleanly else 1


async def write_report_at_end(store: EventStore, folder: Path, run: run_pb2.Run) -> None:
    """Every run's report is written when it ends; a report that fails never fails the run."""
    from emergence.report import write_stored_run_report

    try:
        _html, path = await write_stored_run_report(store, run.id, folder)
        run.report_path = str(path)
        await store.save_run(run)
    except Exception as error:
        log.warning("run %s: its report could not be written: %s", run.id, error)
        return
    log.info("run %s: report written to %s", run.id, path)


async def _close_run(host: EngineHost) -> int:
    async with host.step_lock:
        return await host.simulation.run_until_end()


@dataclass
class InProcessRunner:
    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def stop(self) -> None:
        self.stop_event.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self.task, 10)


def _in_process_runner(host: EngineHost) -> InProcessRunner:
    """One runner in the engine's process, dialing it over loopback gRPC like any runner; it
    decides with the run's brain, seed and sections (sent in the assignment)."""
    from runner.app import run_runner

    assert host.server is not None
    settings = host.settings
    stop_event = asyncio.Event()
    task = asyncio.create_task(
        run_runner(
            host.server.address,
            brain=settings.run.brain,
            runner_id=f"runner-of-{host.run.id}",
            config=dict(settings.runner),
            llm=dict(settings.llm),
            seed=settings.run.seed,
            stop_event=stop_event,
            redis_url=settings.storage.redis_url,
            auth_token=settings.security.runner_token,
        )
    )
    return InProcessRunner(task, stop_event)


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    arguments = _arguments(argv)
    return run_service("emergence-engine", _serve(arguments))


if __name__ == "__main__":
    sys.exit(main())
