"""buf guards the contracts: lint is clean, and breaking changes against an earlier commit fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "observer" / "node_modules" / ".bin" / "buf"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def require_buf() -> None:
    if BUF.exists():
        return
    message = "buf is missing: run 'npm ci' in observer/ (or 'make install')"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def run_script(repo: Path, name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(repo / "scripts" / name), *arguments],
        cwd=repo,
        env=dict(os.environ, BUF=str(BUF), PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=120,
    )


def git(repo: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Contracts", "-c", "user.email=contracts@example.org", *arguments],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def contract_repo(tmp_path: Path) -> Path:
    """A throwaway git repository holding today's contracts, buf.yaml and scripts, one commit."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "proto", repo / "proto")
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    shutil.copy(ROOT / "buf.yaml", repo / "buf.yaml")
    (repo / ".gitignore").write_text("/third_party/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "contracts")
    return repo


def test_buf_lint_is_clean() -> None:
    finished = run_script(ROOT, "buf_lint.sh")

    assert finished.returncode == 0, f"buf lint:\n{finished.stdout}{finished.stderr}"


def test_lint_still_rejects_what_the_standard_rules_forbid(contract_repo: Path) -> None:
    world = contract_repo / "proto" / "emergence" / "v1" / "world.proto"
    world.write_text(world.read_text() + "\nmessage badly_named_message {}\n")

    finished = run_script(contract_repo, "buf_lint.sh")

    assert finished.returncode != 0
    assert "badly_named_message" in finished.stdout + finished.stderr


def test_breaking_check_of_the_working_tree_passes() -> None:
    finished = run_script(ROOT, "buf_breaking.sh")

    assert finished.returncode == 0, f"buf breaking:\n{finished.stdout}{finished.stderr}"


def test_breaking_check_without_an_earlier_commit_says_so_and_passes(contract_repo: Path) -> None:
    finished = run_script(contract_repo, "buf_breaking.sh")

    assert finished.returncode == 0, finished.stderr
    assert "nothing to check" in finished.stdout


def test_renumbered_field_is_a_breaking_change(contract_repo: Path) -> None:
    git(contract_repo, "commit", "-q", "--allow-empty", "-m", "second commit")
    world = contract_repo / "proto" / "emergence" / "v1" / "world.proto"
    text = world.read_text()
    first_field = re.search(r"^(\s+\w+ (\w+) = )(\d+);", text, flags=re.MULTILINE)
    assert first_field is not None, "world.proto has no scalar field to renumber"
    renumbered = f"{first_field.group(1)}{int(first_field.group(3)) + 900};"
    world.write_text(text.replace(first_field.group(0), renumbered, 1))

    finished = run_script(contract_repo, "buf_breaking.sh")

    assert finished.returncode != 0, "renumbering a field went unnoticed"
    assert first_field.group(2) in finished.stdout + finished.stderr


def test_unknown_reference_is_an_error_with_advice(contract_repo: Path) -> None:
    finished = run_script(contract_repo, "buf_breaking.sh", "no-such-branch")

    assert finished.returncode == 2
    assert "give a branch, tag or commit id" in finished.stderr
