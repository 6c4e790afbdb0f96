"""Model backends over httpx: OpenAI-compatible chat completions and Anthropic Messages, with a
concurrency limit, retries with backoff and jitter on 429/5xx while the deadline allows, a circuit
breaker, token counts and costs. httpx errors are translated here into BackendError and its kinds.

The breaker: after `failure_threshold` consecutive failed calls (connection errors, timeouts,
429/5xx past the retries) the backend is open for `cooldown_ms`; calls then fail at once with
BackendCircuitOpen and make no request. After the cool-down one probe call goes through
(half-open); a reply closes the breaker, a failure opens it for another cool-down."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import httpx

from emergence.mesh.errors import ConfigurationError
from emergence.v1 import runner_service_pb2
from runner.core.routing import circuit_open_reason

KINDS = ("openai", "anthropic")


class BackendError(Exception):
    """A model call that produced no reply; `retryable` says whether trying again may help."""

    retryable = False
    # Set when this failure opened the backend's circuit breaker.
    opened_circuit = False


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


class BackendCircuitOpen(BackendError):
    """The breaker is open: no request was made."""


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
    # Consecutive failed calls that open the breaker (0: never), and how long it stays open.
    failure_threshold: int = 5
    cooldown_ms: int = 30_000
    # Append the perception as JSON to the prompt: only a machine reader (the stub) needs it.
    include_perception_json: bool = False

    @property
    def key_variable(self) -> str:
        """Where the API key is read: `api_key_env`, else LLM_<NAME>_API_KEY (LLM_DEFAULT_API_KEY
        for the default backend, LLM_ESCALATION_API_KEY for the escalation one)."""
        return self.api_key_env or f"LLM_{self.name.upper()}_API_KEY"

    @classmethod
    def from_mapping(cls, name: str, raw: Mapping[str, Any]) -> BackendSettings:
        """One backend's settings; unknown keys and values of the wrong kind are errors."""
        known = {item.name for item in fields(cls)} - {"name"}
        values = dict(raw)
        for key, value in raw.items():
            if key not in known:
                raise ConfigurationError(
                    f"llm.{name}.{key}",
                    "unknown key",
                    hint=f"known keys: {', '.join(sorted(known))}",
                )
            values[key] = _checked(name, key, value, getattr(cls(name=name), key))
        settings = cls(name=name, **values)
        if settings.kind not in KINDS:
            raise ConfigurationError(f"llm.{name}.kind", f"must be one of {', '.join(KINDS)}")
        for key in ("failure_threshold", "cooldown_ms", "max_retries", "timeout_ms"):
            if getattr(settings, key) < 0:
                raise ConfigurationError(f"llm.{name}.{key}", "must not be negative")
        return settings


def _checked(name: str, key: str, value: Any, default: Any) -> Any:
    """`value` in the kind of `default`, or a ConfigurationError naming the key."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigurationError(f"llm.{name}.{key}", f"must be true or false, got {value!r}")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"llm.{name}.{key}", f"must be a number, got {value!r}")
        if isinstance(default, int) and value != int(value):
            raise ConfigurationError(f"llm.{name}.{key}", f"must be a whole number, got {value!r}")
        return type(default)(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigurationError(f"llm.{name}.{key}", f"must be text, got {value!r}")
    return value


class CircuitBreaker:
    """Closed -> open after `threshold` consecutive failures -> half-open (one probe) after
    `cooldown_s` -> closed on success, open again on failure. `threshold` 0 never opens."""

    def __init__(
        self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.state = "closed"
        self.consecutive_failures = 0
        self.open_until = 0.0
        self.opens = 0
        self.short_circuited = 0

    def blocked(self) -> bool:
        """Would a call be refused now? (Looks only; `admit` decides.)"""
        if self.state == "half-open":
            return True  # the probe is in flight
        return self.state == "open" and self.clock() < self.open_until

    def refuses(self) -> bool:
        """Would a call be refused now? Counted as short-circuited if so; never takes the probe
        (call `admit` for that)."""
        if self.blocked():
            self.short_circuited += 1
            return True
        return False

    def admit(self) -> bool:
        """May a call go out now? After the cool-down the first caller is the probe."""
        if self.state == "closed":
            return True
        if self.state == "open" and self.clock() >= self.open_until:
            self.state = "half-open"
            return True
        self.short_circuited += 1
        return False

    def succeeded(self) -> None:
        self.state = "closed"
        self.consecutive_failures = 0

    def failed(self) -> bool:
        """Count a failed call; True when this failure opened the breaker."""
        if self.state == "open":
            return False  # a call that went out before the breaker opened
        self.consecutive_failures += 1
        if self.state == "half-open" or (
            self.threshold > 0 and self.consecutive_failures >= self.threshold
        ):
            self.state = "open"
            self.open_until = self.clock() + self.cooldown_s
            self.opens += 1
            return True
        return False

    def abandoned(self) -> None:
        """A call given up without an answer (cancelled at the deadline): if it was the probe,
        the next caller probes instead."""
        if self.state == "half-open":
            self.state = "open"
            self.open_until = self.clock()


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
        self.api_key = environment.get(settings.key_variable, "")
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_ms / 1000)
        self._owns_client = client is None
        self.semaphore = asyncio.Semaphore(max(1, settings.max_concurrent))
        self.figures = BackendFigures()
        self.breaker = CircuitBreaker(settings.failure_threshold, settings.cooldown_ms / 1000)
        # Jitter spreads retries in time only; it never shapes a decision.
        self._rng = rng or random.Random(settings.name)

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def complete(self, system: str, user: str, deadline_monotonic: float) -> Completion:
        """One reply, retrying 429/5xx/timeouts with backoff while the deadline allows; with the
        breaker open, BackendCircuitOpen at once."""
        breaker = self.breaker
        if not breaker.admit():
            raise BackendCircuitOpen(circuit_open_reason(self.settings.name))
        try:
            completion = await self._complete(system, user, deadline_monotonic)
        except BackendCircuitOpen:
            raise
        except BackendError as error:
            if error.retryable:
                error.opened_circuit = breaker.failed()
            else:
                breaker.succeeded()  # the server answered, if not usefully
            raise
        except BaseException:
            breaker.abandoned()
            raise
        breaker.succeeded()
        return completion

    async def _complete(self, system: str, user: str, deadline_monotonic: float) -> Completion:
        started = time.perf_counter()
        retries = 0
        async with self.semaphore:
            if self.breaker.state == "open" and self.breaker.refuses():
                # It opened while this call waited its turn: no request after all.
                raise BackendCircuitOpen(circuit_open_reason(self.settings.name))
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
                        or self.breaker.state == "open"  # others found it down meanwhile
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
