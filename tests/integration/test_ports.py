"""Ports: one port, one server; a port in TIME_WAIT is free; two gateways share a machine."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.probes import grpc_serving
from emergence.mesh.server import port_is_free, start_server
from emergence.up import free_port
from gateway.launcher import start_envoy
from gateway.render import render_envoy_config
from tests.services import ServiceProcesses


async def test_a_second_server_on_the_same_port_is_refused() -> None:
    first = await start_server("127.0.0.1:0", [])
    try:
        # Without grpc.so_reuseport=0 grpc binds this one too and the kernel splits the
        # connections between the two (two engines would each get half of the runners).
        with pytest.raises(ConfigurationError, match=f"cannot listen on {first.address}"):
            await start_server(first.address, [])
    finally:
        await first.stop(0)


def _port_left_in_time_wait() -> int:
    """A port whose server closed first: the kernel keeps the connection in TIME_WAIT."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as grpc servers do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the active close: TIME_WAIT stays on the server's side
        client.recv(1)
        client.close()
    return port


def test_a_port_in_time_wait_is_free_and_a_listening_one_is_not() -> None:
    port = _port_left_in_time_wait()
    # what a check without SO_REUSEADDR would wrongly conclude
    with socket.socket() as naive, pytest.raises(OSError):
        naive.bind(("127.0.0.1", port))
    assert port_is_free(f"127.0.0.1:{port}")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert not port_is_free(f"127.0.0.1:{listener.getsockname()[1]}")


async def test_two_gateways_run_side_by_side(tmp_path: Path) -> None:
    engine = f"127.0.0.1:{free_port()}"
    configs = [render_envoy_config(free_port(), engine, free_port(), None) for _ in range(2)]
    first = await start_envoy(configs[0], work_dir=tmp_path / "first")
    try:
        async with (
            await start_envoy(configs[1], work_dir=tmp_path / "second") as second,
            httpx.AsyncClient(timeout=2) as client,
        ):
            for envoy in (first, second):
                ready = await client.get(f"{envoy.admin_url}/ready")
                assert (ready.status_code, ready.text.strip()) == (200, "LIVE")
    finally:
        await first.stop()


def test_a_second_engine_on_a_busy_port_exits_2_and_creates_no_run(tmp_path: Path) -> None:
    ledger, engine = (f"127.0.0.1:{free_port()}" for _ in range(2))
    with ServiceProcesses(tmp_path, {"EMERGENCE_LOG_LEVEL": "WARNING"}) as services:
        services.start(
            "ledger",
            "ledger_service.app",
            "--address",
            ledger,
            "--store",
            f"sqlite:///{tmp_path / 'l.db'}",
        )
        first = services.start(
            "engine-1",
            "engine.app",
            *("--address", engine, "--ledger", ledger, "--store", f"sqlite:///{tmp_path / 'a.db'}"),
        )
        deadline = time.monotonic() + 60
        while not grpc_serving(engine)() and time.monotonic() < deadline:
            assert first.poll() is None, (tmp_path / "engine-1.log").read_text()[-800:]
            time.sleep(0.1)
        second = services.start(
            "engine-2",
            "engine.app",
            *("--address", engine, "--ledger", ledger, "--store", f"sqlite:///{tmp_path / 'b.db'}"),
        )
        assert second.wait(60) == 2
        assert first.poll() is None
    assert f"'{engine}' is already in use" in (tmp_path / "engine-2.log").read_text()
    assert not (tmp_path / "b.db").exists(), "the refused engine must not have created a run"
