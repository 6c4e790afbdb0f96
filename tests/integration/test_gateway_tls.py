"""The gateway dials a mesh that speaks mutual TLS: Envoy's health checks reach a TLS service with
the mesh CA and certificate, and the same service refuses the gateway that dials in plaintext."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.security import configure_tls
from emergence.mesh.server import RunningServer, ServiceBinding, start_server
from emergence.mesh.settings import SecuritySettings
from gateway.launcher import start_envoy, validate_config
from gateway.render import PUBLIC_SERVICES, render_envoy_config
from tests.integration.test_tls_mesh import free_port, make_certificates


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[SecuritySettings]:
    security = make_certificates(tmp_path)
    configure_tls(security)  # servers started by this test process serve mutual TLS
    try:
        yield security
    finally:
        configure_tls(SecuritySettings())


async def _tls_service() -> RunningServer:
    # Health says SERVING for each public service name, which is what Envoy checks.
    bindings = [ServiceBinding(name, lambda server: None) for name in PUBLIC_SERVICES]
    return await start_server("127.0.0.1:0", bindings)


async def _first_check(admin_url: str, cluster: str) -> str:
    """The outcome of Envoy's first finished health check of the cluster: success or failure
    (counted by Envoy itself, so a host's initial state is never mistaken for a verdict)."""
    deadline = time.monotonic() + 30
    prefix = f"cluster.{cluster}.health_check."
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            reply = await client.get(f"{admin_url}/stats", params={"filter": prefix})
            counts = dict(line.split(": ", 1) for line in reply.text.splitlines() if ": " in line)
            if int(counts.get(f"{prefix}success", 0)):
                return "success"
            if int(counts.get(f"{prefix}failure", 0)):
                return "failure"
            await asyncio.sleep(0.1)
    raise AssertionError(f"Envoy never finished a health check of {cluster}")


async def test_gateway_reaches_tls_services_only_with_the_mesh_certificate(
    tls: SecuritySettings,
) -> None:
    service = await _tls_service()
    try:
        for upstream_tls, expected in ((tls, "success"), (None, "failure")):
            config = render_envoy_config(
                free_port(), service.address, free_port(), None, upstream_tls=upstream_tls
            )
            await validate_config(config)
            async with await start_envoy(config) as envoy:
                outcome = await _first_check(envoy.admin_url, "observer")
            assert outcome == expected, (upstream_tls is not None, outcome)
    finally:
        await service.stop(0)


def test_unreadable_tls_files_are_named(tmp_path: Path) -> None:
    security = SecuritySettings(tls_ca_file=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ConfigurationError, match="tls_ca_file"):
        render_envoy_config(18080, "engine:50051", 19901, None, upstream_tls=security)


def test_tls_to_a_named_service_checks_that_name(tls: SecuritySettings) -> None:
    config = render_envoy_config(18080, "engine:50051", 19901, None, upstream_tls=tls)
    assert 'sni: "engine"' in config
    assert 'san_type: DNS\n              matcher: { exact: "engine" }' in config
