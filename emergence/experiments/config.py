"""A run's configuration: resolved once at creation, stored whole, and applied as stored.

A run's config is the `run`, `world`, `runner` and `llm` sections of the settings (never storage,
addresses or tokens: those belong to the processes). `resolve_run_config` checks every key with the
same validators the engine and the runner use, so a config the engine could not apply is refused
before anything is created, and returns the RunConfig with the canonical YAML in `config_yaml`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from emergence.mesh.errors import ConfigurationError, InvalidArgument
from emergence.mesh.settings import BRAINS, RunSettings, Settings, load_settings
from emergence.v1 import run_pb2

# Experiments RPCs that change something: they need the operator token (read-only ones do not).
STATE_CHANGING_METHODS = tuple(
    f"/emergence.v1.Experiments/{name}"
    for name in ("CreateRun", "StartRun", "StepRun", "ForkRun", "RunBatch")
)
RUN_SECTIONS = ("run", "world", "runner", "llm")
# Process concerns, not a run's: refused in a run's config with a pointer to where they go.
PROCESS_KEYS = ("storage", "services", "operator_api_token", "observer_port")
# `run.out` is where an embedded run writes its files: a property of the process.
PROCESS_RUN_KEYS = ("out",)
# Shapes of tick 0 only: a fork starts from a world that already exists.
GENESIS_ONLY_KEYS = (
    "run.agents",
    "run.map",
    "run.generated_locations",
    "run.personality_mode",
    "run.knowledge_level",
)
MAX_AGENTS = 10_000
MAX_TICKS = 10_000_000
MAX_INTERVAL_MS = 3_600_000
BRAIN_BY_NAME = {
    "heuristic": run_pb2.BRAIN_KIND_HEURISTIC,
    "llm": run_pb2.BRAIN_KIND_LLM,
    "hybrid": run_pb2.BRAIN_KIND_HYBRID,
}
NAME_BY_BRAIN = {kind: name for name, kind in BRAIN_BY_NAME.items()}


def short(text: str, limit: int = 60) -> str:
    """At most a short slice of what a caller sent, for an error message."""
    text = text.replace("\x00", "\\0")
    return text if len(text) <= limit else text[:limit] + "…"


def parse_sections(config_yaml: str) -> dict[str, Any]:
    """The YAML of a run's config as a mapping of its sections; anything else is refused."""
    if len(config_yaml) > 1_000_000:
        raise InvalidArgument("config_yaml is larger than 1 MB")
    try:
        raw = yaml.safe_load(config_yaml) if config_yaml.strip() else {}
    except yaml.YAMLError as error:
        raise InvalidArgument(f"config_yaml is not valid YAML: {short(str(error), 120)}") from error
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidArgument(
            "config_yaml must hold a mapping of sections (run, world, runner, llm)"
        )
    for key in raw:
        if key in PROCESS_KEYS:
            raise InvalidArgument(
                f"{key}: not part of a run's config",
                hint="storage, addresses and tokens are settings of the services that run it",
            )
        if key not in RUN_SECTIONS:
            raise InvalidArgument(
                f"{short(str(key))}: unknown key",
                hint=f"a run's config holds {', '.join(RUN_SECTIONS)}",
            )
        if not isinstance(raw[key], dict):
            raise InvalidArgument(f"{key}: must be a mapping")
    for key in PROCESS_RUN_KEYS:
        if key in raw.get("run", {}):
            raise InvalidArgument(f"run.{key}: not part of a run's config (the service decides)")
    return raw


def proto_fields(config: run_pb2.RunConfig) -> dict[str, Any]:
    """The RunConfig fields that were set, as `run:` settings (zero means: not set)."""
    values: dict[str, Any] = {}
    for name in (
        "seed",
        "agents",
        "map",
        "generated_locations",
        "tick_interval_ms",
        "decision_deadline_ms",
        "personality_mode",
        "knowledge_level",
        "snapshot_every_ticks",
    ):
        value = getattr(config, name)
        if value:
            values[name] = value
    if config.brain:
        if config.brain not in NAME_BY_BRAIN:
            raise InvalidArgument(
                f"brain {run_pb2.BrainKind.Name(config.brain)} cannot drive agents",
                hint="use BRAIN_KIND_HEURISTIC, BRAIN_KIND_LLM or BRAIN_KIND_HYBRID",
            )
        values["brain"] = NAME_BY_BRAIN[config.brain]
    if config.end.max_ticks:
        values["ticks"] = config.end.max_ticks
    return values


def settings_from_sections(sections: Mapping[str, Any]) -> Settings:
    """Settings holding exactly these sections (no file, no environment)."""
    try:
        return load_settings(
            None,
            environ={},
            overrides={key: sections[key] for key in RUN_SECTIONS if key in sections},
        )
    except ConfigurationError as error:
        raise InvalidArgument(str(error)) from error


def check_settings(settings: Settings) -> None:
    """Every setting of a run checked as the engine and the runner will apply it."""
    from engine.app import world_config_for
    from runner.app import runner_config

    run = settings.run
    limits = (
        ("run.agents", run.agents, 1, MAX_AGENTS),
        ("run.ticks", run.ticks, 1, MAX_TICKS),
        ("run.tick_interval_ms", run.tick_interval_ms, 0, MAX_INTERVAL_MS),
        ("run.decision_deadline_ms", run.decision_deadline_ms, 1, MAX_INTERVAL_MS),
        ("run.snapshot_every_ticks", run.snapshot_every_ticks, 1, MAX_TICKS),
        ("run.generated_locations", run.generated_locations, 0, 5_000),
        ("run.seed", run.seed, 0, 2**63 - 1),
    )
    for key, value, low, high in limits:
        if not low <= value <= high:
            raise InvalidArgument(
                f"{key}: must be between {low} and {high}, got {short(str(value))}"
            )
    if run.map not in ("default", "generated") and run.generated_locations == 0:
        _check_map(run.map)
    try:
        world_config_for(settings)
        runner_config(settings.runner, run.brain)
        _check_backends(settings, run.brain)
    except ConfigurationError as error:
        raise InvalidArgument(str(error)) from error


def _check_map(name: str) -> None:
    from engine.worlds import bundled_maps

    if name not in bundled_maps():
        raise InvalidArgument(
            f"run.map: unknown map {short(name)!r}",
            hint=f"choose one of {', '.join(bundled_maps())} or 'generated'"
            " (world files are not read from a path given over the API)",
        )


def _check_backends(settings: Settings, brain: str) -> None:
    from runner.llm.backends import backends_from_settings

    if not backends_from_settings(settings.llm) and brain in ("llm", "hybrid"):
        raise ConfigurationError(
            "llm", f"the {brain} brain needs at least one model backend in the llm section"
        )


def canonical_sections(settings: Settings) -> dict[str, Any]:
    run = {
        item.name: getattr(settings.run, item.name)
        for item in dataclasses.fields(RunSettings)
        if item.name not in PROCESS_RUN_KEYS
    }
    return {
        "run": run,
        "world": dict(settings.world),
        "runner": dict(settings.runner),
        "llm": dict(settings.llm),
    }


def to_yaml(sections: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(sections), sort_keys=True, default_flow_style=False)


def resolve_run_config(requested: run_pb2.RunConfig) -> run_pb2.RunConfig:
    """The full, checked config of a new run: `config_yaml`'s sections, then the set fields."""
    if requested.end.era:
        raise InvalidArgument("end.era: ending a run at an era is not built; use end.max_ticks")
    sections = parse_sections(requested.config_yaml)
    run_section = {**sections.get("run", {}), **proto_fields(requested)}
    settings = settings_from_sections({**sections, "run": run_section})
    return run_config_of(settings, requested)


def run_config_of(settings: Settings, requested: run_pb2.RunConfig) -> run_pb2.RunConfig:
    """The RunConfig that says what `settings` will do (checked), named as the caller asked."""
    check_settings(settings)
    if settings.run.brain not in BRAINS:
        raise InvalidArgument(f"run.brain: must be one of {', '.join(BRAINS)}")
    run = settings.run
    return run_pb2.RunConfig(
        name=requested.name[:200] or f"seed {run.seed}, {run.agents} agents",
        description=requested.description[:10_000],
        seed=run.seed,
        agents=run.agents,
        map=run.map,
        generated_locations=run.generated_locations,
        brain=BRAIN_BY_NAME[run.brain],
        tick_interval_ms=run.tick_interval_ms,
        decision_deadline_ms=run.decision_deadline_ms,
        end=run_pb2.EndConditions(
            max_ticks=run.ticks,
            time_limit_seconds=requested.end.time_limit_seconds,
            stop_on_extinction=True,
        ),
        config_yaml=to_yaml(canonical_sections(settings)),
        personality_mode=run.personality_mode,
        knowledge_level=run.knowledge_level,
        snapshot_every_ticks=run.snapshot_every_ticks,
    )


def settings_for_run(config: run_pb2.RunConfig, base: Settings | None = None) -> Settings:
    """The settings a run's processes use: its stored sections on top of the process's own
    storage, addresses and tokens (`base`)."""
    sections = parse_sections(config.config_yaml) if config.config_yaml else {}
    if not sections:
        sections = {"run": proto_fields(config)}
    run_settings = settings_from_sections(sections)
    if base is None:
        return run_settings
    return dataclasses.replace(
        base,
        run=dataclasses.replace(run_settings.run, out=base.run.out),
        world=run_settings.world,
        runner=run_settings.runner,
        llm=run_settings.llm,
    )


def parse_override(text: str) -> tuple[list[str], Any]:
    """`world.population.mutation=0.2` -> (["world", "population", "mutation"], 0.2)."""
    key, separator, raw_value = text.partition("=")
    key = key.strip()
    if not separator or not key:
        raise InvalidArgument(f"override {short(text)!r} is not key=value")
    path = key.split(".")
    if path[0] not in RUN_SECTIONS or len(path) < 2 or not all(path):
        raise InvalidArgument(
            f"override key {short(key)!r} is not a setting",
            hint=f"start with one of {', '.join(RUN_SECTIONS)}, e.g. run.ticks=800",
        )
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else ""
    except yaml.YAMLError as error:
        raise InvalidArgument(f"override {short(key)}: value is not YAML") from error
    return path, value


def apply_overrides(sections: dict[str, Any], overrides: Iterable[str]) -> list[str]:
    """Set each `key=value` in `sections` (in place); the dotted keys changed, in order.
    Unknown keys are caught by the validators that run on the result."""
    changed = []
    for text in overrides:
        path, value = parse_override(text)
        target = sections
        for part in path[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise InvalidArgument(f"override {short('.'.join(path))}: {part} is not a section")
            target = child
        target[path[-1]] = value
        changed.append(".".join(path))
    return changed
