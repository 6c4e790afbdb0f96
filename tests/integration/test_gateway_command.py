"""`emergence gateway`: the config it renders for a container network validates, and it runs Envoy."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.command import build_parser, render
from gateway.launcher import validate_config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_config_for_a_container_network_validates(tmp_path: Path) -> None:
    arguments = build_parser().parse_args(
        ["--listen-host", "0.0.0.0", "--engine", "engine:50051", "--static-dir", str(tmp_path)]
    )
    config_text = render(arguments)

    assert '"0.0.0.0", port_value: 8080' in config_text
    assert "type: STRICT_DNS" in config_text  # a service name is resolved by DNS, not parsed as IP
    await validate_config(config_text)


def test_a_missing_dashboard_folder_is_a_configuration_error() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "emergence.cli", "gateway", "--static-dir", "missing-" * 5000],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "--static-dir" in completed.stderr
    assert len(completed.stderr) < 400


def test_gateway_serves_the_dashboard_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>Emergence</title>")
    port, admin_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "emergence.cli", "gateway", "--port", str(port)),
            *("--admin-port", str(admin_port), "--static-dir", str(tmp_path)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        ready = False
        while time.monotonic() < deadline and process.poll() is None and not ready:
            try:
                ready = (
                    httpx.get(f"http://127.0.0.1:{admin_port}/ready", timeout=1).text == "LIVE\n"
                )
            except httpx.HTTPError:
                time.sleep(0.1)
        assert ready, f"gateway never became LIVE (exit code {process.poll()})"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200
        assert "<title>Emergence</title>" in page.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_bad_ports_are_refused(port: str) -> None:
    from emergence.mesh.errors import ConfigurationError

    arguments = build_parser().parse_args(["--port", port])
    with pytest.raises(ConfigurationError, match="port"):
        render(arguments)


def test_experiments_are_routed_to_the_control_plane_only_when_given() -> None:
    import yaml

    def clusters(*flags: str) -> dict[str, str]:
        config = yaml.safe_load(
            render(build_parser().parse_args(["--engine", "engine:50051", *flags]))
        )
        found = {}
        for cluster in config["static_resources"]["clusters"]:
            endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
            address = endpoint["address"]["socket_address"]
            found[cluster["name"]] = f"{address['address']}:{address['port_value']}"
        return found

    assert "experiments:50055" not in clusters().values()
    assert "experiments:50055" in clusters("--experiments", "experiments:50055").values()
