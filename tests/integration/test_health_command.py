"""`emergence health ADDRESS` against real grpc servers: serving, draining, unknown, gone, TLS."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from emergence.health import EXIT_CONFIGURATION, EXIT_NOT_SERVING, EXIT_SERVING, main
from emergence.mesh.server import RunningServer, ServiceBinding, start_server

SERVICE = "emergence.v1.Ledger"


async def _server() -> RunningServer:
    # A named binding that registers nothing: health answers for it like for a real service.
    return await start_server("127.0.0.1:0", [ServiceBinding(SERVICE, lambda server: None)])


async def _health(*argv: str) -> int:
    # The check is a blocking call; the server under test lives on this event loop.
    return await asyncio.to_thread(main, list(argv), {})


async def test_serving_server_and_service_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    running = await _server()
    try:
        assert await _health(running.address) == EXIT_SERVING
        assert await _health(running.address, "--service", SERVICE) == EXIT_SERVING
    finally:
        await running.stop(0)
    assert f"{running.address}: SERVING" in capsys.readouterr().out


async def test_draining_server_says_not_serving(capsys: pytest.CaptureFixture[str]) -> None:
    running = await _server()
    try:
        # What RunningServer.stop announces first, so balancers drain before the port closes.
        await running.health.set(SERVICE, 2)  # NOT_SERVING
        assert await _health(running.address, "--service", SERVICE) == EXIT_NOT_SERVING
    finally:
        await running.stop(0)
    assert "NOT_SERVING" in capsys.readouterr().err


async def test_unknown_service_and_stopped_server_fail(capsys: pytest.CaptureFixture[str]) -> None:
    running = await _server()
    address = running.address
    try:
        assert await _health(address, "--service", "emergence.v1.Nothing") == EXIT_NOT_SERVING
        assert "does not know this service" in capsys.readouterr().err
    finally:
        await running.stop(0)
    assert await _health(address, "--timeout-ms", "500") == EXIT_NOT_SERVING
    assert "unreachable" in capsys.readouterr().err


@pytest.mark.parametrize(
    "address",
    [
        "",
        "nonsense",
        "127.0.0.1:0",
        "127.0.0.1:99999",
        "host:port",
        "a\x00b:1",
        "\x1b[2J:1",
        "x" * 100_000,
        "[::1]:5\x00",
    ],
)
def test_hostile_addresses_are_refused_with_a_short_message(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([address], {}) == EXIT_CONFIGURATION
    message = capsys.readouterr().err
    assert "is not host:port" in message
    assert len(message) < 300


def test_nonpositive_timeout_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["127.0.0.1:1", "--timeout-ms", "0"], {}) == EXIT_CONFIGURATION
    assert "--timeout-ms must be positive" in capsys.readouterr().err


def test_command_line_exits_one_when_nothing_listens() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "emergence.cli", "health", "127.0.0.1:1", "--timeout-ms", "500"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == EXIT_NOT_SERVING, completed.stderr
    assert "127.0.0.1:1: unreachable" in completed.stderr


def _certificates(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) made with the openssl command."""
    certificate, key = folder / "server.pem", folder / "server.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return certificate, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_tls_check_uses_the_ca_file_from_the_environment(tmp_path: Path) -> None:
    from grpc_health.v1 import health, health_pb2_grpc

    certificate, key = _certificates(tmp_path)
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    credentials = grpc.ssl_server_credentials([(key.read_bytes(), certificate.read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    address = f"127.0.0.1:{port}"
    try:
        environ = {"TLS_CA_FILE": str(certificate)}
        assert await asyncio.to_thread(main, [address], environ) == EXIT_SERVING
        # Without the CA the same server is not trusted, and the check fails instead of hanging.
        assert await _health(address, "--timeout-ms", "1000") == EXIT_NOT_SERVING
        missing = str(tmp_path / "missing.pem")
        assert await _health(address, "--tls-ca-file", missing) == EXIT_CONFIGURATION
    finally:
        await server.stop(0)
