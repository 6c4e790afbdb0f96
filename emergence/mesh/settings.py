"""Settings: one YAML file (`emergence.yaml`) plus environment overrides, validated key by key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from emergence.mesh.errors import ConfigurationError


@dataclass(frozen=True)
class RunSettings:
    agents: int = 20
    ticks: int = 1000
    seed: int = 42
    brain: str = "heuristic"
    tick_interval_ms: int = 0
    decision_deadline_ms: int = 8000
    snapshot_every_ticks: int = 100
    map: str = "default"
    generated_locations: int = 0
    out: str = "runs"
    personality_mode: str = "random"
    knowledge_level: int = 1


@dataclass(frozen=True)
class ServiceAddresses:
    engine: str = "127.0.0.1:50051"
    ledger: str = "127.0.0.1:50052"
    runner_status: str = "127.0.0.1:50053"
    observer: str = "127.0.0.1:50054"
    experiments: str = "127.0.0.1:50055"


@dataclass(frozen=True)
class StorageSettings:
    database_url: str = ""
    redis_url: str = ""
    nats_url: str = ""


@dataclass(frozen=True)
class SecuritySettings:
    """Secrets and certificates of the mesh; empty means off (the embedded run and `emergence up`
    generate their own tokens)."""

    # Runners present it on WorldEngine.Connect.
    runner_token: str = ""
    # The engine presents it (bound to the run id) on the ledger's CommitTick and Rewind.
    service_token: str = ""
    # PEM files: with cert and key every server speaks TLS; with a CA clients verify the server
    # (and a server with a CA requires client certificates: mutual TLS).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_ca_file: str = ""


@dataclass(frozen=True)
class Settings:
    run: RunSettings = field(default_factory=RunSettings)
    services: ServiceAddresses = field(default_factory=ServiceAddresses)
    storage: StorageSettings = field(default_factory=StorageSettings)
    operator_api_token: str = ""
    observer_port: int = 8080
    security: SecuritySettings = field(default_factory=SecuritySettings)
    # Prometheus /metrics of the service; 0 is off.
    metrics_port: int = 0
    # Free-form sections validated by the component that owns them.
    world: Mapping[str, Any] = field(default_factory=dict)
    runner: Mapping[str, Any] = field(default_factory=dict)
    llm: Mapping[str, Any] = field(default_factory=dict)


BRAINS = ("heuristic", "llm", "hybrid")

ENVIRONMENT_OVERRIDES: dict[str, tuple[str, ...]] = {
    "DATABASE_URL": ("storage", "database_url"),
    "REDIS_URL": ("storage", "redis_url"),
    "DRAGONFLY_URL": ("storage", "redis_url"),
    "NATS_URL": ("storage", "nats_url"),
    "OPERATOR_API_TOKEN": ("operator_api_token",),
    "OBSERVER_PORT": ("observer_port",),
    "METRICS_PORT": ("metrics_port",),
    "RUNNER_TOKEN": ("security", "runner_token"),
    "SERVICE_TOKEN": ("security", "service_token"),
    "TLS_CERT_FILE": ("security", "tls_cert_file"),
    "TLS_KEY_FILE": ("security", "tls_key_file"),
    "TLS_CA_FILE": ("security", "tls_ca_file"),
}
# Variables whose value is a port number.
PORT_VARIABLES = frozenset({"OBSERVER_PORT", "METRICS_PORT"})


def _build(cls: type, raw: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigurationError(
            prefix.rstrip(".") or "config", f"must be a mapping, got {type(raw).__name__}"
        )
    hints = get_type_hints(cls)
    known = {item.name for item in fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigurationError(
                f"{prefix}{key}", "unknown key", hint=f"known keys here: {', '.join(sorted(known))}"
            )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        expected = hints[key]
        dotted = f"{prefix}{key}"
        if is_dataclass(expected):
            values[key] = _build(expected, value, dotted + ".")  # type: ignore[arg-type]
        elif expected is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigurationError(dotted, f"must be a whole number, got {value!r}")
            if value < 0:
                raise ConfigurationError(dotted, f"must not be negative, got {value}")
            values[key] = value
        elif expected is str:
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise ConfigurationError(dotted, f"must be text, got {value!r}")
            values[key] = str(value)
        else:
            if not isinstance(value, Mapping):
                raise ConfigurationError(dotted, f"must be a mapping, got {value!r}")
            values[key] = dict(value)
    return cls(**values)


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for variable, path in ENVIRONMENT_OVERRIDES.items():
        value = environ.get(variable)
        if not value:
            continue
        target = raw
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if variable in PORT_VARIABLES:
            if not value.isdigit():
                raise ConfigurationError(variable, f"must be a port number, got {value!r}")
            target[path[-1]] = int(value)
        else:
            target[path[-1]] = value


def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read `path` (if given; a missing file is an error), apply environment and CLI overrides."""
    raw: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigurationError(
                "config", f"file not found: {file}", hint="pass an existing YAML file"
            )
        try:
            loaded = yaml.safe_load(file.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigurationError("config", f"{file} is not valid YAML: {error}") from error
        if not isinstance(loaded, dict):
            raise ConfigurationError("config", f"{file} must hold a mapping at the top level")
        raw = loaded
    _apply_environment(raw, os.environ if environ is None else environ)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        target = raw
        parts = dotted.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    settings: Settings = _build(Settings, raw, "")
    if settings.metrics_port > 65_535:
        raise ConfigurationError(
            "metrics_port", f"must be a port number (0 = off), got {settings.metrics_port}"
        )
    if settings.run.brain not in BRAINS:
        raise ConfigurationError(
            "run.brain", f"must be one of {', '.join(BRAINS)}, got {settings.run.brain!r}"
        )
    return settings
