"""ForkRun: a new run that starts from any stored tick of another run, with changed settings and
injected world events. Everything is checked before the fork is stored; its engine then rebuilds
the parent's world at that tick (snapshot + replay) and opens the fork's books with it."""

from __future__ import annotations

import copy
from typing import Any

from emergence.experiments import config as run_configs
from emergence.experiments.registry import find_run
from emergence.mesh.errors import FailedPrecondition, InvalidArgument
from emergence.mesh.redact import redact_url
from emergence.v1 import experiments_service_pb2 as messages
from emergence.v1 import run_pb2
from engine.adapters.event_store import EventStore
from engine.app import new_run_id

MAX_OVERRIDES = 200
MAX_INJECTED = 100


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` on top of `base`, section by section (a partial table changes only its keys)."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


async def fork_run(store: EventStore, request: messages.ForkRunRequest) -> run_pb2.Run:
    parent = await find_run(store, request.run_id, purpose="fork")
    if len(request.overrides) > MAX_OVERRIDES or len(request.inject) > MAX_INJECTED:
        raise InvalidArgument(
            f"at most {MAX_OVERRIDES} overrides and {MAX_INJECTED} injected events per fork"
        )
    last = await store.last_tick(parent.id)
    if last < 0:
        raise FailedPrecondition(f"run {parent.id} has no stored tick yet; step or start it first")
    if not parent.start_tick <= request.at_tick <= last:
        raise InvalidArgument(
            f"at_tick {request.at_tick} is outside run {parent.id}: its stored ticks are"
            f" {parent.start_tick}..{last}"
        )
    config = _fork_config(parent, request)
    await _check_injections(store, parent.id, request, config)
    named = request.config.name[:200]
    config.name = named or f"fork of {parent.config.name[:150]} at tick {request.at_tick}"
    fork = run_pb2.Run(
        id=new_run_id(),
        config=config,
        status=run_pb2.RUN_STATUS_CREATED,
        store=redact_url(store.location),
        parent_run_id=parent.id,
        forked_at_tick=request.at_tick,
        injected_at_fork=request.inject,
    )
    await store.save_run(fork)
    return fork


def _fork_config(parent: run_pb2.Run, request: messages.ForkRunRequest) -> run_pb2.RunConfig:
    """The parent's stored sections, then the request's config, then the key=value overrides."""
    sections = run_configs.parse_sections(parent.config.config_yaml)
    sections = merge(sections, run_configs.parse_sections(request.config.config_yaml))
    fields = run_configs.proto_fields(request.config)
    if fields:
        sections = merge(sections, {"run": fields})
    run_configs.apply_overrides(sections, request.overrides)
    settings = run_configs.settings_from_sections(sections)
    before = run_configs.settings_for_run(parent.config)
    for key in run_configs.GENESIS_ONLY_KEYS:
        name = key.removeprefix("run.")
        if getattr(settings.run, name) != getattr(before.run, name):
            raise InvalidArgument(
                f"{key} cannot change in a fork: it shapes the world at tick 0 only",
                hint="create a new run with it instead",
            )
    return run_configs.run_config_of(settings, request.config)


async def _check_injections(
    store: EventStore, parent_id: str, request: messages.ForkRunRequest, config: run_pb2.RunConfig
) -> None:
    """Each event is applied to a copy of the parent's world at the fork tick now, so a bad one
    is refused here (the same check Operator.InjectEvent makes)."""
    from engine.adapters.convert import world_event_from_proto
    from engine.app import world_config_for
    from engine.core.world_events import WorldEventError, apply_world_event
    from engine.rebuild import rebuild

    rebuilt = await rebuild(store, parent_id, from_genesis=False, until_tick=request.at_tick)
    if not rebuilt.matches:
        raise FailedPrecondition(
            f"run {parent_id}: replaying to tick {request.at_tick} does not give the stored"
            " history, so it cannot be forked faithfully (run `emergence verify`)"
        )
    if not request.inject:
        return
    state = rebuilt.state
    state.config = world_config_for(run_configs.settings_for_run(config))
    for index, spec in enumerate(request.inject):
        kind, parameters = world_event_from_proto(spec)
        if not kind:
            raise InvalidArgument(f"inject[{index}] is empty: set one kind of world event")
        try:
            apply_world_event(copy.deepcopy(state), kind, parameters)
        except WorldEventError as error:
            raise InvalidArgument(f"inject[{index}] {kind}: {error}") from error
