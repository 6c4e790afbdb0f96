"""Runs the society for the emergence benchmark: embedded run, optionally against the stub LLM."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from emergence.embedded import RunSummary, embedded_run
from emergence.mesh.settings import load_settings


@contextlib.asynccontextmanager
async def stub_llm_backends(arguments: argparse.Namespace) -> AsyncIterator[dict[str, Any]]:
    """A stub OpenAI-compatible server on loopback, and the `llm:` settings that point at it."""
    if arguments.brain == "heuristic":
        yield {}
        return
    from runner.llm.stub_server import start_stub_llm

    server = await start_stub_llm(
        seed=arguments.seed,
        latency_ms=getattr(arguments, "latency_ms", 5),
        malformed_rate=getattr(arguments, "malformed_rate", 0.0),
        rate_limit_rate=getattr(arguments, "rate_limit_rate", 0.0),
    )
    base_url = f"http://127.0.0.1:{server.port}/v1"
    try:
        yield {
            "default": {
                "kind": "openai",
                "base_url": base_url,
                "model": "stub-small",
                "api_key_env": "LLM_DEFAULT_API_KEY",
                "timeout_ms": 5000,
            },
            "escalation": {
                "kind": "openai",
                "base_url": base_url,
                "model": "stub-large",
                "api_key_env": "LLM_ESCALATION_API_KEY",
                "timeout_ms": 5000,
            },
        }
    finally:
        await server.close()


async def run_society(arguments: argparse.Namespace) -> tuple[RunSummary, str]:
    async with stub_llm_backends(arguments) as llm:
        overrides: dict[str, Any] = {
            "run.agents": arguments.agents,
            "run.ticks": arguments.ticks,
            "run.seed": arguments.seed,
            "run.brain": arguments.brain,
            "run.out": getattr(arguments, "out", None) or "runs",
        }
        if llm:
            overrides["llm"] = llm
        settings = load_settings(None, overrides=overrides)
        summary = await embedded_run(settings, progress=not arguments.json)
    return summary, summary.store
