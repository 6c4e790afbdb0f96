"""The mesh's credentials: generated tokens, run-scoped ledger keys, TLS credentials from settings.

Tokens are bearer secrets compared in constant time. The engine never sends the service token
itself to the ledger: it sends a run key, HMAC-SHA256(service token, run id), so a key taken from
one run's traffic cannot write or rewind another run, and a control plane could one day hand an
engine the key of its run only. TLS is one configuration per process (`configure_tls`), read by
every server this process starts and every channel it opens.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.settings import SecuritySettings, Settings

RUN_KEY_HEADER = "authorization"


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def with_generated_tokens(settings: Settings) -> Settings:
    """Settings whose empty runner and service tokens are replaced by fresh random ones (the
    embedded run and `emergence up` start every process themselves, so they can share them)."""
    security = settings.security
    filled = dataclasses.replace(
        security,
        runner_token=security.runner_token or new_token(),
        service_token=security.service_token or new_token(),
    )
    return dataclasses.replace(settings, security=filled)


def fill_mesh_environment(environment: MutableMapping[str, str]) -> None:
    """RUNNER_TOKEN and SERVICE_TOKEN for the processes `emergence up` starts: kept when the
    operator set them, generated for this mesh otherwise."""
    for variable in ("RUNNER_TOKEN", "SERVICE_TOKEN"):
        if not environment.get(variable):
            environment[variable] = new_token()


def run_key(service_token: str, run_id: str) -> str:
    """The engine's credential for one run at the ledger: HMAC-SHA256(service token, run id)."""
    return hmac.new(service_token.encode(), run_id.encode(), hashlib.sha256).hexdigest()


def run_key_matches(service_token: str, run_id: str, supplied: str) -> bool:
    return hmac.compare_digest(run_key(service_token, run_id).encode(), supplied.encode())


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return ((RUN_KEY_HEADER, f"Bearer {token}"),) if token else ()


# ----- TLS ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TlsFiles:
    """PEM contents read once at start: server cert and key, and the CA clients trust."""

    cert: bytes = b""
    key: bytes = b""
    ca: bytes = b""

    @property
    def serves_tls(self) -> bool:
        return bool(self.cert and self.key)

    @property
    def dials_tls(self) -> bool:
        return bool(self.ca)


_TLS = TlsFiles()


def _read(key: str, path: str) -> bytes:
    if not path:
        return b""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ConfigurationError(
            f"security.{key}",
            f"cannot read {path}: {error.strerror}",
            hint="point it at a PEM file",
        ) from error


def load_tls(security: SecuritySettings) -> TlsFiles:
    """The PEM files the settings name; a cert without its key (or the reverse) is an error."""
    if bool(security.tls_cert_file) != bool(security.tls_key_file):
        raise ConfigurationError(
            "security.tls_cert_file",
            "a certificate and its key go together: set both TLS_CERT_FILE and TLS_KEY_FILE",
        )
    return TlsFiles(
        _read("tls_cert_file", security.tls_cert_file),
        _read("tls_key_file", security.tls_key_file),
        _read("tls_ca_file", security.tls_ca_file),
    )


def configure_tls(security: SecuritySettings) -> TlsFiles:
    """Make the settings' TLS files this process's configuration (servers and channels)."""
    global _TLS
    _TLS = load_tls(security)
    return _TLS


def current_tls() -> TlsFiles:
    return _TLS


def server_credentials(tls: TlsFiles | None = None) -> grpc.ServerCredentials | None:
    """TLS for a server when cert and key are set; with a CA too, clients must present a
    certificate it signed (mutual TLS)."""
    tls = tls or _TLS
    if not tls.serves_tls:
        return None
    return grpc.ssl_server_credentials(
        [(tls.key, tls.cert)],
        root_certificates=tls.ca or None,
        require_client_auth=bool(tls.ca),
    )


def channel_credentials(tls: TlsFiles | None = None) -> grpc.ChannelCredentials | None:
    """TLS for a client when a CA is set, presenting this process's cert when it has one."""
    tls = tls or _TLS
    if not tls.dials_tls:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=tls.ca,
        private_key=tls.key or None,
        certificate_chain=tls.cert or None,
    )
