"""Where a model backend finds its API key: its own variable, else LLM_<NAME>_API_KEY."""

from __future__ import annotations

from runner.llm.backends import BackendSettings, ModelBackend


async def test_each_backend_reads_its_key_from_the_environment() -> None:
    environment = {
        "LLM_DEFAULT_API_KEY": "default-key",
        "LLM_ESCALATION_API_KEY": "escalation-key",
        "MY_KEY": "mine",
    }
    backends = [
        ModelBackend(BackendSettings("default"), environ=environment),
        ModelBackend(BackendSettings("escalation"), environ=environment),
        ModelBackend(BackendSettings("escalation", api_key_env="MY_KEY"), environ=environment),
        ModelBackend(BackendSettings("default"), environ={}),
    ]
    try:
        assert [backend.api_key for backend in backends] == [
            "default-key",
            "escalation-key",
            "mine",
            "",
        ]
    finally:
        for backend in backends:
            await backend.close()
