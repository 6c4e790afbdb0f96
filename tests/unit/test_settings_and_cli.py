"""Settings validation and the CLI's answer to bad configuration: one line naming the key, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_architecture() -> None:
    settings = load_settings(environ={})
    assert (settings.run.agents, settings.run.ticks, settings.run.seed) == (20, 1000, 42)
    assert settings.run.brain == "heuristic" and settings.run.tick_interval_ms == 0


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "emergence.yaml"
    config.write_text("storage:\n  database_url: postgresql://from-file\nrun:\n  agents: 5\n")
    settings = load_settings(
        config, environ={"DATABASE_URL": "postgresql://from-env", "DRAGONFLY_URL": "redis://df"}
    )
    assert settings.storage.database_url == "postgresql://from-env"
    assert settings.storage.redis_url == "redis://df"
    assert settings.run.agents == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run:\n  agentz: 3\n", "run.agentz: unknown key"),
        ("run:\n  agents: lots\n", "run.agents: must be a whole number"),
        ("run:\n  agents: -1\n", "run.agents: must not be negative"),
        ("run:\n  brain: oracle\n", "run.brain: must be one of heuristic, llm, hybrid"),
        ("storage: 12\n", "storage: must be a mapping"),
        ("- a\n- b\n", "must hold a mapping at the top level"),
        ("run: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "emergence.yaml"
    config.write_text(text)
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")):
        load_settings(config, environ={})


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="file not found"):
        load_settings(tmp_path / "nope.yaml", environ={})


def run_cli(
    *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT), **(environment or {})}
    return subprocess.run(
        [sys.executable, "-m", "emergence.cli", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("run:\n  tickz: 5\n", "run.tickz: unknown key"),
        ("run:\n  seed: abc\n", "run.seed: must be a whole number"),
    ],
)
def test_cli_bad_config_is_one_line_and_exit_2(tmp_path: Path, content: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(content)
    result = run_cli("run", "--config", str(config), "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_cli_missing_config_file_exit_2(tmp_path: Path) -> None:
    result = run_cli("run", "--config", str(tmp_path / "missing.yaml"))
    assert (
        result.returncode == 2
        and "file not found" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_cli_unreachable_database_names_the_address(tmp_path: Path) -> None:
    pytest.importorskip("ledger_service.app", reason="the ledger service is not built yet")
    pytest.importorskip("runner.app", reason="the runner service is not built yet")
    result = run_cli(
        "run",
        "--ticks",
        "2",
        "--out",
        str(tmp_path),
        "--quiet",
        environment={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
    )
    assert result.returncode == 2, result.stderr
    assert "127.0.0.1:1" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"


@pytest.mark.parametrize("program", ["ledger_service.app", "engine.app"])
def test_a_service_whose_database_is_unreachable_says_so_in_one_line(
    tmp_path: Path, program: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", program, "--address", "127.0.0.1:0", "--store", UNREACHABLE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "127.0.0.1:1" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_verify_finds_a_mesh_run_in_the_database_the_services_were_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emergence.audit import locate_run

    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        locate_run("some-run", None, None, str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/history")
    assert locate_run("some-run", None, None, str(tmp_path)) == (
        "some-run",
        "postgresql://db.example/history",
        "postgresql://db.example/history",
    )
    folder = tmp_path / "local-run"
    folder.mkdir()
    (folder / "history.sqlite").write_bytes(b"")
    # a run folder of an embedded run wins over the environment
    assert locate_run("local-run", None, None, str(tmp_path))[1].startswith("sqlite:///")
