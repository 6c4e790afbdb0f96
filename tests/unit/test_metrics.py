"""Prometheus metrics: one registry per process, served over HTTP, recorded by the services."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from emergence.mesh import metrics
from emergence.mesh.errors import ConfigurationError
from emergence.mesh.settings import load_settings
from emergence.v1 import run_pb2


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


def test_metrics_are_served_in_the_text_format() -> None:
    server = metrics.start_metrics_server(0)
    try:
        before = metrics.sample("emergence_engine_ticks_total")
        metrics.observe_tick_timings(
            {"wake_ms": 1.0, "perceive_ms": 2.0, "decide_ms": 30.0, "resolve_ms": 3.0}
        )
        text = _scrape(server.url)
    finally:
        server.close()
    assert metrics.sample("emergence_engine_ticks_total") == before + 1
    assert 'emergence_engine_phase_seconds_count{phase="decide"}' in text
    assert "emergence_engine_tick_seconds_bucket" in text


def test_brain_labels_come_from_a_fixed_set() -> None:
    assert metrics.brain_label(run_pb2.BRAIN_KIND_HEURISTIC) == "heuristic"
    assert metrics.brain_label(run_pb2.BRAIN_KIND_ENGINE) == "engine"
    assert metrics.brain_label(999) == "other"


def test_metrics_port_comes_from_the_environment_and_zero_is_off() -> None:
    assert load_settings(environ={}).metrics_port == 0
    assert load_settings(environ={"METRICS_PORT": "9464"}).metrics_port == 9464
    with pytest.raises(ConfigurationError, match="METRICS_PORT"):
        load_settings(environ={"METRICS_PORT": "lots"})
    with pytest.raises(ConfigurationError, match="metrics_port"):
        load_settings(environ={"METRICS_PORT": "70000"})
    assert metrics.serve_service_metrics("127.0.0.1:50051", 0) is None


def test_a_taken_metrics_port_is_a_configuration_error() -> None:
    server = metrics.start_metrics_server(0)
    try:
        with pytest.raises(ConfigurationError, match="cannot serve /metrics"):
            metrics.serve_service_metrics("127.0.0.1:0", server.port)
    finally:
        server.close()


def test_emergence_up_gives_each_process_its_own_metrics_port(tmp_path: Path) -> None:
    from emergence.up import mesh_environment, mesh_services

    settings = load_settings(environ={"METRICS_PORT": "9400"})
    plan = mesh_services(
        settings, tmp_path, runners=2, gateway=False, config_path=None, nats_url="nats://x"
    )
    ports = {
        service.name: service.command[service.command.index("--metrics-port") + 1]
        for service in plan
        if "--metrics-port" in service.command
    }
    assert ports == {
        "ledger": "9400", "engine": "9401", "observer": "9402", "experiments": "9403",
        "runner-1": "9404", "runner-2": "9405",
    }  # fmt: skip
    off = mesh_services(
        load_settings(environ={}), tmp_path, runners=1, gateway=False, config_path=None,
        nats_url="nats://x",
    )  # fmt: skip
    assert all(s.command[s.command.index("--metrics-port") + 1] == "0" for s in off)
    assert "METRICS_PORT" not in mesh_environment("nats://x")
