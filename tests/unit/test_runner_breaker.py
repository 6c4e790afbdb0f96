"""The per-backend circuit breaker, its settings, and how its fallbacks are counted."""

from __future__ import annotations

import pytest

from emergence.mesh.errors import ConfigurationError
from emergence.v1 import run_pb2
from runner.core.actions import DecisionOutcome, make_action
from runner.core.routing import (
    RouteCounters,
    RunnerConfig,
    circuit_event,
    circuit_open_reason,
    circuit_opened_note,
    finish,
    make_record,
)
from runner.llm.backends import BackendSettings, CircuitBreaker, backends_from_settings
from tests.unit.test_runner_fixtures import first_perception


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_and_probes_once_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 30.0, clock)
    assert breaker.admit() and not breaker.failed()
    assert breaker.admit() and not breaker.failed()
    assert breaker.admit() and breaker.failed()  # the third consecutive failure opens it
    assert breaker.state == "open" and breaker.opens == 1
    assert breaker.blocked() and not breaker.admit() and not breaker.admit()
    assert breaker.short_circuited == 2
    assert not breaker.failed()  # a call from before the opening changes nothing
    clock.now += 29.9
    assert not breaker.admit()
    clock.now += 0.2
    assert not breaker.blocked()
    assert breaker.admit() and breaker.state == "half-open"  # the probe
    assert breaker.blocked() and not breaker.admit()  # only one probe at a time
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.consecutive_failures == 0
    assert breaker.admit() and not breaker.blocked()


def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 5.0, clock)
    assert breaker.admit() and breaker.failed()
    clock.now += 5
    assert breaker.admit() and breaker.failed()
    assert breaker.state == "open" and breaker.opens == 2 and breaker.open_until == clock.now + 5


def test_a_probe_cancelled_at_the_deadline_lets_the_next_caller_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 5.0, clock)
    breaker.failed()
    clock.now += 6
    assert breaker.admit()
    breaker.abandoned()
    assert breaker.state == "open" and breaker.admit() and breaker.state == "half-open"


def test_success_resets_the_count_and_zero_never_opens() -> None:
    breaker = CircuitBreaker(2, 1.0, Clock())
    breaker.failed()
    breaker.succeeded()
    assert not breaker.failed() and breaker.state == "closed"
    never = CircuitBreaker(0, 1.0, Clock())
    assert not any(never.failed() for _ in range(100)) and never.admit()


def test_breaker_and_prompt_settings_are_checked_like_the_rest() -> None:
    found = backends_from_settings(
        {"default": {"failure_threshold": 3, "cooldown_ms": 500, "include_perception_json": True}}
    )["default"]
    assert (found.failure_threshold, found.cooldown_ms, found.include_perception_json) == (
        3,
        500,
        True,
    )
    defaults = BackendSettings("x")
    assert defaults.failure_threshold == 5 and defaults.cooldown_ms == 30_000
    assert defaults.include_perception_json is False
    with pytest.raises(ConfigurationError, match=r"llm\.default\.cooldown_secs.*unknown key"):
        backends_from_settings({"default": {"cooldown_secs": 3}})
    with pytest.raises(ConfigurationError, match=r"known keys: .*failure_threshold"):
        backends_from_settings({"default": {"failure_treshold": 3}})
    with pytest.raises(ConfigurationError, match=r"include_perception_json.*true or false"):
        backends_from_settings({"default": {"include_perception_json": "yes"}})
    with pytest.raises(ConfigurationError, match=r"failure_threshold.*number"):
        backends_from_settings({"default": {"failure_threshold": "five"}})
    with pytest.raises(ConfigurationError, match=r"cooldown_ms.*negative"):
        backends_from_settings({"default": {"cooldown_ms": -1}})


def test_circuit_fallbacks_are_counted_per_backend() -> None:
    assert circuit_event(circuit_open_reason("default")) == ("open", "default")
    failed = f"model call failed: default: ConnectError: refused; {circuit_opened_note('big')}"
    assert circuit_event(failed) == ("opened", "big")
    assert circuit_event("unusable reply: no JSON") == ("", "")

    found = first_perception()
    counters = RouteCounters()
    outcome = DecisionOutcome(
        make_action(found.agent_id, "REST"), "", "", run_pb2.BRAIN_KIND_HEURISTIC
    )
    for reason in (failed, circuit_open_reason("big"), circuit_open_reason("big"), "x"):
        record = make_record(outcome, "llm:big", fallback=True, fallback_reason=reason)
        finish(found, outcome, record, RunnerConfig(), counters)
    assert counters.circuit_opens == {"big": 1}
    assert counters.circuit_open_fallbacks == {"big": 2}
    assert counters.fallbacks == 4 and counters.by_route == {"llm:big": 4}
