"""`emergence health ADDRESS`: one grpc.health.v1 check, for container healthchecks and scripts."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.security import channel_credentials, load_tls
from emergence.mesh.settings import SecuritySettings

# Docker reads 0 as healthy and 1 as unhealthy (2 is reserved), so every failed check is 1;
# a malformed command line is 2 like every other configuration error of the project.
EXIT_SERVING = 0
EXIT_NOT_SERVING = 1
EXIT_CONFIGURATION = 2
DEFAULT_TIMEOUT_MS = 2000
MAX_QUOTED_CHARACTERS = 80
# A DNS name, an IPv4 address or a bracketed IPv6 address; nothing a terminal would interpret.
HOST_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a TLS check: the CA that signed the server, and our own pair for mutual TLS."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def settings(self) -> SecuritySettings:
        return SecuritySettings(
            tls_cert_file=self.cert_file, tls_key_file=self.key_file, tls_ca_file=self.ca_file
        )


@dataclass(frozen=True)
class HealthResult:
    serving: bool
    description: str


class HealthUsageError(Exception):
    """The command line cannot be acted on (bad address, unreadable file, bad timeout)."""


def check_health(
    address: str,
    *,
    service: str = "",
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    tls: TlsFiles | None = None,
) -> HealthResult:
    """Ask `address` once whether `service` ("" = the whole server) is SERVING."""
    _check_address(address)
    if timeout_ms <= 0:
        raise HealthUsageError(f"--timeout-ms must be positive, got {timeout_ms}")
    channel = _channel(address, tls)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=service)
        reply = stub.Check(request, timeout=timeout_ms / 1000)  # type: ignore[attr-defined]
    except grpc.RpcError as error:
        return HealthResult(False, _describe_error(error, address, service, timeout_ms))
    finally:
        channel.close()
    status_name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    return HealthResult(serving, f"{_target(address, service)}: {status_name}")


def _check_address(address: str) -> None:
    host, separator, port_text = address.rpartition(":")
    port_ok = port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536
    if not separator or not HOST_PATTERN.fullmatch(host) or not port_ok:
        raise HealthUsageError(f"{_quote(address)} is not host:port (for example 127.0.0.1:50051)")


def _channel(address: str, tls: TlsFiles | None) -> grpc.Channel:
    """Plain, or TLS exactly as the services dial each other (a CA file turns it on)."""
    try:
        credentials = channel_credentials(load_tls((tls or TlsFiles()).settings()))
    except ConfigurationError as error:
        raise HealthUsageError(_shorten(str(error))) from error
    if credentials is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, credentials)


def _describe_error(error: grpc.RpcError, address: str, service: str, timeout_ms: int) -> str:
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    target = _target(address, service)
    if code == grpc.StatusCode.NOT_FOUND:
        return f"{target}: the server does not know this service"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"{target}: no answer within {timeout_ms} ms"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"{target}: unreachable (is the service running there?)"
    details = error.details() if isinstance(error, grpc.Call) else str(error)
    return f"{target}: {code.name} {_quote(details or '')}"


def _target(address: str, service: str) -> str:
    return f"{address} {_quote(service)}" if service else address


def _shorten(message: str) -> str:
    return message if len(message) <= 3 * MAX_QUOTED_CHARACTERS else message[:240] + "…"


def _quote(text: str) -> str:
    """Error messages quote at most a short slice of what they were handed."""
    if len(text) <= MAX_QUOTED_CHARACTERS:
        return repr(text)
    return repr(text[:MAX_QUOTED_CHARACTERS]) + f"… ({len(text)} characters)"


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emergence health",
        description="Check a service's grpc.health.v1 status once: exit 0 when SERVING, else 1.",
    )
    parser.add_argument("address", help="host:port of the service, e.g. 127.0.0.1:50051")
    parser.add_argument("--service", default="", help="a service name (default: the server)")
    parser.add_argument(
        "--timeout-ms", type=int, default=DEFAULT_TIMEOUT_MS, help="wait this long for the answer"
    )
    for name in ("ca", "cert", "key"):
        variable = f"TLS_{name.upper()}_FILE"
        parser.add_argument(
            f"--tls-{name}-file",
            default=environ.get(variable, ""),
            help=f"PEM file (default ${variable}){'; turns TLS on' if name == 'ca' else ''}",
        )
    return parser


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = build_parser(os.environ if environ is None else environ)
    arguments = parser.parse_args(argv)
    tls = TlsFiles(arguments.tls_ca_file, arguments.tls_cert_file, arguments.tls_key_file)
    try:
        result = check_health(
            arguments.address, service=arguments.service, timeout_ms=arguments.timeout_ms, tls=tls
        )
    except HealthUsageError as error:
        print(f"emergence health: {error}", file=sys.stderr)
        return EXIT_CONFIGURATION
    print(result.description, file=sys.stdout if result.serving else sys.stderr)
    return EXIT_SERVING if result.serving else EXIT_NOT_SERVING


if __name__ == "__main__":
    sys.exit(main())
