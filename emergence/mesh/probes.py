"""Readiness probes for supervised services: grpc.health.v1 SERVING, an HTTP page saying ready."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from emergence.health import TlsFiles, check_health

PROBE_TIMEOUT_SECONDS = 0.5


def grpc_serving(address: str, tls: TlsFiles | None = None) -> Callable[[], bool]:
    """True once the server at `address` answers SERVING (over TLS when `tls` names a CA)."""

    def probe() -> bool:
        result = check_health(
            address, timeout_ms=int(PROBE_TIMEOUT_SECONDS * 1000), tls=tls or TlsFiles()
        )
        return result.serving

    return probe


def http_says(url: str, expected: str) -> Callable[[], bool]:
    """True once GET `url` answers 200 with a body that contains `expected`."""

    def probe() -> bool:
        try:
            response = httpx.get(url, timeout=PROBE_TIMEOUT_SECONDS)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and expected in response.text

    return probe
