"""A short run of the mesh as processes over mutual TLS with certificates made for this test,
tokens on every write, and /metrics served: plaintext and certificate-less clients get nowhere."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from emergence.mesh.channels import insecure_channel, mesh_channel, wait_until_serving
from emergence.mesh.security import configure_tls
from emergence.mesh.settings import SecuritySettings
from emergence.v1 import experiments_service_pb2, experiments_service_pb2_grpc, run_pb2
from tests.services import ServiceProcesses

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

TICKS = 12


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 signer: ec.EllipticCurvePrivateKey, *, ca: bool) -> x509.Certificate:  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def make_certificates(folder: Path) -> SecuritySettings:
    """A CA and one leaf (server and client) certificate for 127.0.0.1, written as PEM files."""
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emergence test CA")])
    ca = _certificate("emergence test CA", ca_key, ca_name, ca_key, ca=True)
    leaf = _certificate("emergence mesh", leaf_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "mesh.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "mesh.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return SecuritySettings(
        runner_token="runner-secret",
        service_token="service-secret",
        tls_cert_file=str(folder / "mesh.pem"),
        tls_key_file=str(folder / "mesh.key"),
        tls_ca_file=str(folder / "ca.pem"),
    )


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[SecuritySettings]:
    security = make_certificates(tmp_path)
    configure_tls(security)  # this test process dials the mesh like any of its services
    try:
        yield security
    finally:
        configure_tls(SecuritySettings())


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


async def _runs(engine: str) -> list[run_pb2.Run]:
    async with mesh_channel(engine) as channel:
        stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
        reply = await stub.ListRuns(experiments_service_pb2.ListRunsRequest(), timeout=5)
        return list(reply.runs)


async def test_a_short_run_over_mutual_tls(tmp_path: Path, tls: SecuritySettings) -> None:
    ledger, engine = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    metrics_port = free_port()
    config = tmp_path / "emergence.yaml"
    config.write_text(f"run: {{ticks: {TICKS}, agents: 4, seed: 3, decision_deadline_ms: 3000}}\n")
    environment = {
        "RUNNER_TOKEN": tls.runner_token,
        "SERVICE_TOKEN": tls.service_token,
        "TLS_CERT_FILE": tls.tls_cert_file,
        "TLS_KEY_FILE": tls.tls_key_file,
        "TLS_CA_FILE": tls.tls_ca_file,
    }
    with ServiceProcesses(tmp_path, environment) as services:
        services.start("ledger", "ledger_service.app", "--address", ledger,
                       "--store", f"sqlite:///{tmp_path / 'ledger.sqlite'}")  # fmt: skip
        services.start("engine", "engine.app", "--address", engine, "--ledger", ledger,
                       "--store", f"sqlite:///{tmp_path / 'history.sqlite'}",
                       "--config", str(config), "--metrics-port", str(metrics_port))  # fmt: skip
        await wait_until_serving(engine, "emergence.v1.WorldEngine", timeout_seconds=30)
        services.start("runner", "runner.app", "--engine", engine,
                       "--status-address", f"127.0.0.1:{free_port()}")  # fmt: skip
        for _ in range(600):
            runs = await _runs(engine)
            if runs and runs[-1].status == run_pb2.RUN_STATUS_COMPLETED:
                break
            await asyncio.sleep(0.1)
        assert runs[-1].status == run_pb2.RUN_STATUS_COMPLETED, (
            tmp_path / "engine.log"
        ).read_text()
        assert runs[-1].current_tick == TICKS

        # Plaintext gets no answer from a TLS server ...
        async with insecure_channel(engine) as plain:
            stub = experiments_service_pb2_grpc.ExperimentsStub(plain)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.ListRuns(experiments_service_pb2.ListRunsRequest(), timeout=3)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        # ... nor does a client that trusts the CA but shows no certificate of its own.
        anonymous = grpc.ssl_channel_credentials(await asyncio.to_thread(_read, tls.tls_ca_file))
        async with grpc.aio.secure_channel(engine, anonymous) as channel:
            stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.ListRuns(experiments_service_pb2.ListRunsRequest(), timeout=3)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE

        # The read-only Observer and the experiments control plane speak the same TLS.
        observer, experiments = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        services.start("observer", "observer_service.app", "--address", observer,
                       "--store", f"sqlite:///{tmp_path / 'history.sqlite'}")  # fmt: skip
        services.start("experiments", "emergence.experiments.app", "--address", experiments,
                       "--store", f"sqlite:///{tmp_path / 'plane.sqlite'}")  # fmt: skip
        await wait_until_serving(observer, "emergence.v1.Observer", timeout_seconds=30)
        await wait_until_serving(experiments, "emergence.v1.Experiments", timeout_seconds=30)
        async with insecure_channel(observer) as plain:
            health = health_pb2_grpc.HealthStub(plain)
            with pytest.raises(grpc.aio.AioRpcError):
                await health.Check(health_pb2.HealthCheckRequest(), timeout=3)  # type: ignore[attr-defined]

        exposition = await asyncio.to_thread(_scrape, f"http://127.0.0.1:{metrics_port}/metrics")
        assert f"emergence_engine_ticks_total {float(TICKS)}" in exposition
        assert 'emergence_engine_decisions_total{brain="heuristic"}' in exposition
