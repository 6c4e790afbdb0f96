"""Model backends over httpx: OpenAI-compatible chat completions and Anthropic Messages, with a
concurrency limit, retries with backoff and jitter on 429/5xx while the deadline allows, token
counts and costs. httpx errors are translated here into BackendError and its kinds."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import httpx

from emergence.mesh.errors import ConfigurationError
from emergence.v1 import runner_service_pb2

KINDS = ("openai", "anthropic")


class BackendError(Exception):
    """A model call that produced no reply; `retryable` says whether trying again may help."""

    retryable = False


class BackendTimeout(BackendError):
    retryable = True


class BackendRateLimited(BackendError):
    retryable = True


class BackendUnavailable(BackendError):
    retryable = True


class BackendRejected(BackendError):
    """4xx other than 429: the request itself is wrong (bad key, unknown model)."""


class BackendMalformed(BackendError):
    """The server answered 200 with a body that is not a completion."""


@dataclass(frozen=True)
class BackendSettings:
    """One entry of the `llm:` settings section."""

    name: str
    kind: str = "openai"
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "model"
    api_key_env: str = ""
    timeout_ms: int = 20_000
    max_concurrent: int = 8
    price_in_per_million: float = 0.0
    price_out_per_million: float = 0.0
    max_tokens: int = 300
    temperature: float = 0.7
    max_retries: int = 4

    @classmethod
    def from_mapping(cls, name: str, raw: Mapping[str, Any]) -> BackendSettings:
        known = {item.name for item in fields(cls)} - {"name"}
        for key in raw:
            if key not in known:
                raise ConfigurationError(
                    f"llm.{name}.{key}",
                    "unknown key",
                    hint=f"known keys: {', '.join(sorted(known))}",
                )
        settings = cls(name=name, **dict(raw))
        if settings.kind not in KINDS:
            raise ConfigurationError(f"llm.{name}.kind", f"must be one of {', '.join(KINDS)}")
        return settings


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cost_usd: float
    retries: int
    model: str


@dataclass
class BackendFigures:
    calls: int = 0
    failures: int = 0
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def p95_ms(self) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms[-1000:])
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


class ModelBackend:
    """Calls one configured endpoint; share one instance per backend so the limit holds."""

    def __init__(
        self,
        settings: BackendSettings,
        *,
        client: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        environment = os.environ if environ is None else environ
        self.api_key = environment.get(settings.api_key_env, "") if settings.api_key_env else ""
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_ms / 1000)
        self._owns_client = client is None
        self.semaphore = asyncio.Semaphore(max(1, settings.max_concurrent))
        self.figures = BackendFigures()
        # Jitter spreads retries in time only; it never shapes a decision.
        self._rng = rng or random.Random(settings.name)

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def complete(self, system: str, user: str, deadline_monotonic: float) -> Completion:
        """One reply, retrying 429/5xx/timeouts with backoff while the deadline allows."""
        started = time.perf_counter()
        retries = 0
        async with self.semaphore:
            while True:
                try:
                    text, tokens_in, tokens_out = await self._call_once(
                        system, user, deadline_monotonic
                    )
                    break
                except BackendError as error:
                    delay = 0.05 * 2**retries * (0.5 + self._rng.random())
                    time_left = deadline_monotonic - time.monotonic()
                    if (
                        not error.retryable
                        or retries >= self.settings.max_retries
                        or (time_left < delay + 0.05)
                    ):
                        self.figures.calls += 1
                        self.figures.failures += 1
                        self.figures.retries += retries
                        raise
                    retries += 1
                    await asyncio.sleep(delay)
        return self._record(text, tokens_in, tokens_out, started, retries)

    def _record(
        self, text: str, tokens_in: int, tokens_out: int, started: float, retries: int
    ) -> Completion:
        settings = self.settings
        cost = (
            tokens_in * settings.price_in_per_million + tokens_out * settings.price_out_per_million
        ) / 1_000_000
        latency_ms = (time.perf_counter() - started) * 1000
        figures = self.figures
        figures.calls += 1
        figures.retries += retries
        figures.tokens_in += tokens_in
        figures.tokens_out += tokens_out
        figures.cost_usd += cost
        figures.latencies_ms.append(latency_ms)
        return Completion(text, tokens_in, tokens_out, latency_ms, cost, retries, settings.model)

    async def _call_once(
        self, system: str, user: str, deadline_monotonic: float
    ) -> tuple[str, int, int]:
        timeout = min(self.settings.timeout_ms / 1000, deadline_monotonic - time.monotonic())
        if timeout <= 0:
            raise BackendTimeout("no time left before the decision deadline")
        url, headers, body = self._request(system, user)
        try:
            response = await self.client.post(url, json=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException as error:
            raise BackendTimeout(
                f"{self.settings.name}: no reply within {timeout:.1f} s"
            ) from error
        except httpx.HTTPError as error:
            raise BackendUnavailable(
                f"{self.settings.name}: {type(error).__name__}: {error}"
            ) from error
        if response.status_code == 429:
            raise BackendRateLimited(f"{self.settings.name}: rate limited (429)")
        if response.status_code >= 500:
            raise BackendUnavailable(f"{self.settings.name}: server error {response.status_code}")
        if response.status_code >= 400:
            raise BackendRejected(
                f"{self.settings.name}: {response.status_code} {response.text[:200]}"
            )
        try:
            return self._reply(response.json())
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise BackendMalformed(f"{self.settings.name}: unexpected body: {error}") from error

    def _request(self, system: str, user: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        settings = self.settings
        base = settings.base_url.rstrip("/")
        if settings.kind == "anthropic":
            headers = {"x-api-key": self.api_key, "anthropic-version": "2023-06-01"}
            body = {
                "model": settings.model,
                "max_tokens": settings.max_tokens,
                "temperature": settings.temperature,
                "system": system,
                "messages": [{"role": "user", "content": user}],
            }
            return f"{base}/messages", headers, body
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {
            "model": settings.model,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
        }
        return f"{base}/chat/completions", headers, body

    def _reply(self, data: dict[str, Any]) -> tuple[str, int, int]:
        usage = data.get("usage") or {}
        if self.settings.kind == "anthropic":
            text = "".join(part.get("text", "") for part in data["content"])
            return text, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
        text = data["choices"][0]["message"]["content"] or ""
        return text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))

    def status(self) -> runner_service_pb2.BackendStatus:
        figures = self.figures
        return runner_service_pb2.BackendStatus(
            name=self.settings.name, model=self.settings.model, calls=figures.calls,
            failures=figures.failures, retries=figures.retries, tokens_in=figures.tokens_in,
            tokens_out=figures.tokens_out, cost_usd=figures.cost_usd,
            p95_latency_ms=figures.p95_ms(),
        )  # fmt: skip


def backends_from_settings(raw: Mapping[str, Any]) -> dict[str, BackendSettings]:
    """The `llm:` section: a mapping of backend name -> settings."""
    found = {}
    for name, value in sorted(raw.items()):
        if not isinstance(value, Mapping):
            raise ConfigurationError(f"llm.{name}", "must be a mapping of backend settings")
        found[name] = BackendSettings.from_mapping(name, value)
    return found
