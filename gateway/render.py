"""Renders the Envoy gateway config (envoy.yaml.j2): which service goes where, and the dashboard.

Routes are data: each public service has its own upstream cluster, the engine's address unless
`service_addresses` names another process for it (the Observer is emergence-observer).
"""

from __future__ import annotations

import ipaddress
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.security import load_tls
from emergence.mesh.settings import SecuritySettings

GATEWAY_FOLDER = Path(__file__).resolve().parent
DESCRIPTOR_PATH = GATEWAY_FOLDER / "emergence.pb"
# Generated from the protos' HTTP annotations by `make proto`; served at /api/v1/openapi.json.
OPENAPI_PATH = GATEWAY_FOLDER / "openapi.json"
TEMPLATE_NAME = "envoy.yaml.j2"
# Only these services are reachable from browsers and scripts; WorldEngine, Ledger and Runner
# stay inside the mesh.
PUBLIC_SERVICES = ("emergence.v1.Observer", "emergence.v1.Operator", "emergence.v1.Experiments")
# Dashboards run on localhost during development; a deployment passes its own origin pattern.
LOCAL_ORIGIN_REGEX = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?$"
MAX_STATIC_FILE_BYTES = 16 * 1024 * 1024
# The transcoder buffers a whole REST reply to turn it into JSON: as large as the services send
# (emergence.mesh.server.MAX_MESSAGE_BYTES), so the largest page never fails at the gateway.
MAX_TRANSCODED_BODY_BYTES = 64 * 1024 * 1024
MAX_REST_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where one public service is answered: its own Envoy cluster, health-checked on its name."""

    service: str
    cluster: str
    host: str
    port: int
    cluster_type: str


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One dashboard file: the URL path it answers, where it lives, and its content type."""

    url_path: str
    file_path: str
    content_type: str


def render_envoy_config(
    listen_port: int,
    engine_address: str,
    admin_port: int,
    static_dir: Path | str | None,
    *,
    listen_host: str = "127.0.0.1",
    allowed_origin_regex: str = LOCAL_ORIGIN_REGEX,
    descriptor_path: Path | str = DESCRIPTOR_PATH,
    service_addresses: Mapping[str, str] | None = None,
    openapi_path: Path | str | None = OPENAPI_PATH,
    upstream_tls: SecuritySettings | None = None,
) -> str:
    """Envoy YAML: grpc-web + CORS + REST under /api/v1 to each service, dashboard files at /.

    `service_addresses` maps a public service's full name to the host:port answering it; the
    others go to `engine_address`. With `upstream_tls` naming a CA (the mesh's TLS settings) the
    gateway dials every service over TLS, as the services dial each other.
    """
    _check_port("gateway listen port", listen_port)
    _check_port("gateway admin port", admin_port)
    if listen_port == admin_port:
        raise ConfigurationError(
            "gateway admin port",
            f"{admin_port} is also the listen port",
            hint="give the admin interface its own port",
        )
    routed = upstreams(engine_address, service_addresses or {})
    descriptor = Path(descriptor_path).resolve()
    if not descriptor.is_file():
        raise ConfigurationError(
            "gateway descriptor set",
            f"{descriptor} does not exist",
            hint="run 'make proto' to generate gateway/emergence.pb",
        )
    _check_origin_regex(allowed_origin_regex)
    openapi = Path(openapi_path).resolve() if openapi_path is not None else None
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(
        listen_host=listen_host,
        listen_port=listen_port,
        admin_port=admin_port,
        upstreams=routed,
        rest_preflight_cluster=routed[0].cluster,
        services=list(PUBLIC_SERVICES),
        descriptor_path=str(descriptor),
        openapi_path=str(openapi) if openapi is not None and openapi.is_file() else "",
        allowed_origin_regex=allowed_origin_regex,
        static_files=static_files(static_dir),
        max_static_file_bytes=MAX_STATIC_FILE_BYTES,
        max_transcoded_body_bytes=MAX_TRANSCODED_BODY_BYTES,
        max_rest_request_bytes=MAX_REST_REQUEST_BYTES,
        upstream_tls=_upstream_tls(upstream_tls),
    )


def _upstream_tls(security: SecuritySettings | None) -> dict[str, str] | None:
    """The PEM files Envoy reads for TLS to the services (checked readable here), or None."""
    if security is None or not security.tls_ca_file:
        return None
    load_tls(security)  # a missing file or a certificate without its key fails here, by name
    return {
        key: str(Path(path).resolve()) if path else ""
        for key, path in (
            ("ca_file", security.tls_ca_file),
            ("cert_file", security.tls_cert_file),
            ("key_file", security.tls_key_file),
        )
    }


def upstreams(engine_address: str, service_addresses: Mapping[str, str]) -> list[Upstream]:
    """One upstream per public service, in PUBLIC_SERVICES order; unknown names are refused."""
    unknown = sorted(set(service_addresses) - set(PUBLIC_SERVICES))
    if unknown:
        raise ConfigurationError(
            "gateway services",
            f"{', '.join(unknown)[:200]} is not a public service",
            hint=f"route one of {', '.join(PUBLIC_SERVICES)}",
        )
    routed = []
    for service in PUBLIC_SERVICES:
        cluster = service.rsplit(".", 1)[-1].lower()
        if service in service_addresses:
            host, port = parse_address(service_addresses[service], f"{cluster} address")
        else:
            host, port = parse_address(engine_address)
        routed.append(
            Upstream(service, cluster, host, port, "STATIC" if _is_ip(host) else "STRICT_DNS")
        )
    return routed


def parse_address(address: str, key: str = "engine address") -> tuple[str, int]:
    """Split 'host:port' (or '[v6]:port'); a clear error when either half is missing."""
    host, separator, port_text = address.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not separator or not host or not port_text.isdigit():
        raise ConfigurationError(
            key,
            f"{address[:200]!r} is not host:port",
            hint="use the engine's gRPC address, for example 127.0.0.1:50051",
        )
    port = int(port_text)
    _check_port("engine address port", port)
    return host, port


def static_files(static_dir: Path | str | None) -> list[StaticFile]:
    """Every file under the dashboard folder, in path order; index.html also answers '/'."""
    if static_dir is None:
        return []
    folder = Path(static_dir).resolve()
    if not folder.is_dir():
        raise ConfigurationError(
            "dashboard folder",
            f"{folder} is not a folder",
            hint="build the dashboard first or start the gateway without one",
        )
    files: list[StaticFile] = []
    for path in sorted(candidate for candidate in folder.rglob("*") if candidate.is_file()):
        _check_size(path)
        relative = path.relative_to(folder).as_posix()
        content_type = _content_type(path)
        files.append(StaticFile("/" + quote(relative), str(path), content_type))
        if relative == "index.html":
            files.append(StaticFile("/", str(path), content_type))
    return files


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(GATEWAY_FOLDER),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML: every string goes through tojson instead
    )


def _check_port(key: str, port: int) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigurationError(key, f"{port!r} is not a TCP port", hint="use 1 to 65535")


def _check_origin_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ConfigurationError(
            "allowed origin pattern",
            f"{pattern!r} is not a regular expression: {error}",
            hint=r"for example ^https://dashboard\.example\.org$",
        ) from error


def _check_size(path: Path) -> None:
    size_bytes = path.stat().st_size
    if size_bytes > MAX_STATIC_FILE_BYTES:
        raise ConfigurationError(
            "dashboard folder",
            f"{path} has {size_bytes} bytes, more than the {MAX_STATIC_FILE_BYTES} the gateway serves",
            hint="split the bundle or serve it from a web server",
        )


def _content_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    content_type = guessed or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript",):
        return f"{content_type}; charset=utf-8"
    return content_type


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
