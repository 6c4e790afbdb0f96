"""The `emergence-runner` process: dial the engine, decide for the assigned agents, serve Status."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.metrics import add_metrics_port_argument, serve_service_metrics
from emergence.mesh.security import configure_tls
from emergence.mesh.server import on_shutdown_signal, run_service, start_server
from emergence.v1 import engine_service_pb2, run_pb2
from runner.adapters.engine_client import EngineClient
from runner.adapters.status_servicer import RunnerStatusServicer, status_binding
from runner.core.routing import RunnerConfig, RunnerConfigError
from runner.decider import Decider

if TYPE_CHECKING:
    from runner.adapters.memory_store import MemoryStore
    from runner.llm.brain import LlmBrain

log = logging.getLogger("emergence.runner")

BRAIN_NAMES = {
    run_pb2.BRAIN_KIND_HEURISTIC: "heuristic",
    run_pb2.BRAIN_KIND_LLM: "llm",
    run_pb2.BRAIN_KIND_HYBRID: "hybrid",
}
# Stored memories of a run expire a week after their last write.
MEMORY_TTL_SECONDS = 7 * 24 * 3600


def runner_config(raw: Mapping[str, Any] | None, brain: str | None = None) -> RunnerConfig:
    """The `runner:` settings section as a RunnerConfig; bad keys become a ConfigurationError."""
    try:
        return RunnerConfig.from_mapping(raw, brain=brain)
    except RunnerConfigError as error:
        key, _, problem = str(error).partition(": ")
        raise ConfigurationError(key, problem) from error


class Deciders:
    """Builds the decider for a run's decision config and rebuilds it when an assignment names
    another one: a runner decides with the run's brain, seed and sections, not its own."""

    def __init__(self, store: MemoryStore | None) -> None:
        self.store = store
        self.key: tuple[int, str, str, str] | None = None
        self.model: LlmBrain | None = None

    def build(
        self,
        brain: str,
        seed: int,
        config: Mapping[str, Any] | None,
        llm: Mapping[str, Any] | None,
    ) -> Decider:
        settings = runner_config(config, brain)
        model = None
        if settings.brain in ("llm", "hybrid"):
            from runner.llm.brain import create_model_brain

            model = create_model_brain(llm or {}, settings, seed=seed)
        self.model = model
        return Decider(settings, seed=seed, model=model, store=self.store)

    def initial(
        self,
        brain: str,
        seed: int,
        config: Mapping[str, Any] | None,
        llm: Mapping[str, Any] | None,
    ) -> Decider:
        """The decider until the first assignment. A model brain without local backends waits
        for the run's `llm:` section from the engine (every engine sends it) instead of failing."""
        if brain in ("llm", "hybrid") and not (llm or {}):
            log.info("no local llm backends: the run's own come with the engine's assignment")
            return self.build("heuristic", seed, config, None)
        return self.build(brain, seed, config, llm)

    async def for_assignment(
        self, assignment: engine_service_pb2.Assignment, current: Decider
    ) -> Decider:
        if not assignment.brain:
            return current  # an engine that sends no decision config: keep the local settings
        key = (
            int(assignment.seed),
            BRAIN_NAMES.get(assignment.brain, ""),
            assignment.runner_config_yaml,
            assignment.llm_config_yaml,
        )
        if key == self.key:
            return current
        if not key[1]:
            raise ConfigurationError(
                "assignment.brain", f"cannot decide with brain {assignment.brain}"
            )
        previous_model = self.model
        decider = self.build(key[1], key[0], _sections(key[2], "runner"), _sections(key[3], "llm"))
        self.key = key
        if previous_model is not None:
            await previous_model.close()
        log.info(
            "deciding for run %s with the %s brain, seed %d", assignment.run_id, key[1], key[0]
        )
        return decider

    async def close(self) -> None:
        if self.model is not None:
            await self.model.close()


def _sections(text: str, name: str) -> Mapping[str, Any]:
    loaded = yaml.safe_load(text) if text.strip() else {}
    if not isinstance(loaded, Mapping):
        raise ConfigurationError(f"assignment.{name}", "the run's section is not a mapping")
    return loaded


async def run_runner(
    engine_address: str,
    *,
    brain: str = "heuristic",
    runner_id: str = "runner-1",
    config: Mapping[str, Any] | None = None,
    llm: Mapping[str, Any] | None = None,
    seed: int = 0,
    stop_event: asyncio.Event | None = None,
    status_address: str | None = None,
    redis_url: str = "",
    auth_token: str = "",
) -> None:
    """Run one runner until the run ends or `stop_event` is set (the embedded run uses this).
    With `redis_url` agent memories are kept in Redis, so another runner can take an agent on.
    `brain`, `config`, `llm` and `seed` apply until the engine's assignment names the run's own."""
    closers = []
    store = None
    if redis_url:
        from runner.adapters.memory_store import RedisMemoryStore

        store = RedisMemoryStore(redis_url, ttl_seconds=MEMORY_TTL_SECONDS)
        closers.append(store.close)
        log.info("agent memories in Redis at %s", redis_url)
    deciders = Deciders(store)
    decider = deciders.initial(brain, seed, config, llm)
    closers.append(deciders.close)
    client = EngineClient(
        engine_address,
        decider,
        runner_id=runner_id,
        brain=decider.config.brain,
        stop_event=stop_event,
        auth_token=auth_token,
        reconfigure=deciders.for_assignment,
    )
    status = None
    if status_address:
        figures = deciders.model.backend_figures if deciders.model is not None else None
        servicer = RunnerStatusServicer(client, figures)
        status = await start_server(status_address, [status_binding(servicer)])
    try:
        await client.run()
    finally:
        if status is not None:
            await status.stop(1.0)
        for close in closers:
            await close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emergence-runner", description="Decide for the agents the engine assigns."
    )
    parser.add_argument("--engine", default=None, help="engine address host:port")
    parser.add_argument("--runner-id", default="runner-1", help="unique name of this runner")
    parser.add_argument("--brain", choices=("heuristic", "llm", "hybrid"), default=None)
    parser.add_argument("--status-address", default=None, help="serve Runner/Status here")
    parser.add_argument("--config", default=None, help="emergence.yaml (runner: and llm:)")
    parser.add_argument("--seed", type=int, default=None)
    add_metrics_port_argument(parser)
    return parser


async def _main(arguments: argparse.Namespace) -> int:
    from emergence.mesh.settings import load_settings

    settings = load_settings(arguments.config)
    configure_tls(settings.security)
    metrics_port = (
        settings.metrics_port if arguments.metrics_port is None else arguments.metrics_port
    )
    status_address = arguments.status_address or settings.services.runner_status
    metrics_server = serve_service_metrics(status_address, metrics_port)
    stop = asyncio.Event()
    on_shutdown_signal(lambda _name: stop.set())
    await run_runner(
        arguments.engine or settings.services.engine,
        brain=arguments.brain or settings.run.brain,
        runner_id=arguments.runner_id,
        config=dict(settings.runner),
        llm=dict(settings.llm),
        seed=settings.run.seed if arguments.seed is None else arguments.seed,
        stop_event=stop,
        status_address=status_address,
        redis_url=settings.storage.redis_url,
        auth_token=settings.security.runner_token,
    )
    if metrics_server is not None:
        metrics_server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    from emergence.mesh.logs import configure_logging

    configure_logging()
    arguments = build_parser().parse_args(argv)
    return run_service("emergence-runner", _main(arguments))


if __name__ == "__main__":
    sys.exit(main())
