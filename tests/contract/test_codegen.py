"""Generated bindings match the contracts: regenerate into a temporary folder and compare."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATE = ROOT / "scripts" / "gen_proto.sh"
NODE_BIN = ROOT / "observer" / "node_modules" / ".bin"
PYTHON_OUTPUT = (
    "emergence/v1",
    "emergence/client/pb",
    "gateway/emergence.pb",
    "gateway/openapi.json",
)
TYPESCRIPT_OUTPUT = ("observer/src/gen",)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_node_modules() -> None:
    """The TypeScript half needs observer/node_modules; only CI insists on it."""
    if (NODE_BIN / "protoc-gen-es").exists():
        return
    message = "observer/node_modules is missing: run 'npm ci' in observer/ (or 'make install')"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def generate(out_root: Path, *, typescript: bool) -> None:
    environment = dict(os.environ, PYTHON=sys.executable)
    if not typescript:
        environment["SKIP_TYPESCRIPT"] = "1"
    finished = subprocess.run(
        ["bash", str(GENERATE), str(out_root)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, f"gen_proto.sh failed:\n{finished.stderr}"


def generated_files(root: Path, paths: tuple[str, ...]) -> set[str]:
    files: set[str] = set()
    for path in paths:
        start = root / path
        candidates = [start] if start.is_file() else start.rglob("*")
        files.update(
            candidate.relative_to(root).as_posix()
            for candidate in candidates
            if candidate.is_file() and "__pycache__" not in candidate.parts
        )
    return files


def differences(committed: Path, fresh: Path, paths: tuple[str, ...]) -> list[str]:
    committed_files = generated_files(committed, paths)
    fresh_files = generated_files(fresh, paths)
    found = [f"missing in the repository: {name}" for name in sorted(fresh_files - committed_files)]
    found += [
        f"no longer generated (stale): {name}" for name in sorted(committed_files - fresh_files)
    ]
    found += [
        f"differs: {name}"
        for name in sorted(committed_files & fresh_files)
        if not filecmp.cmp(committed / name, fresh / name, shallow=False)
    ]
    return found


def test_committed_python_bindings_and_descriptor_set_match_the_contracts(tmp_path: Path) -> None:
    generate(tmp_path, typescript=False)

    found = differences(ROOT, tmp_path, PYTHON_OUTPUT)

    assert not found, "run 'make proto' and commit the result:\n" + "\n".join(found)


def test_committed_typescript_bindings_match_the_contracts(tmp_path: Path) -> None:
    require_node_modules()
    generate(tmp_path, typescript=True)

    found = differences(ROOT, tmp_path, TYPESCRIPT_OUTPUT)

    assert not found, "run 'make proto' and commit the result:\n" + "\n".join(found)


def test_every_contract_has_python_and_typescript_bindings(tmp_path: Path) -> None:
    require_node_modules()
    generate(tmp_path, typescript=True)
    stems = sorted(path.stem for path in (ROOT / "proto" / "emergence" / "v1").glob("*.proto"))

    missing = [
        expected
        for stem in stems
        for expected in (
            f"emergence/v1/{stem}_pb2.py",
            f"emergence/v1/{stem}_pb2.pyi",
            f"emergence/v1/{stem}_pb2_grpc.py",
            f"observer/src/gen/emergence/v1/{stem}_pb.ts",
        )
        if not (tmp_path / expected).is_file()
    ]

    assert stems, "proto/emergence/v1 holds no .proto file"
    assert not missing, f"generation left out: {missing}"


def test_generated_typescript_type_checks() -> None:
    require_node_modules()
    finished = subprocess.run(
        [str(NODE_BIN / "tsc"), "-p", str(ROOT / "observer"), "--noEmit"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 0, f"tsc found errors:\n{finished.stdout}{finished.stderr}"


def test_difference_report_names_the_changed_file(tmp_path: Path) -> None:
    committed = tmp_path / "committed"
    fresh = tmp_path / "fresh"
    for root, text in ((committed, "old"), (fresh, "new")):
        (root / "emergence" / "v1").mkdir(parents=True)
        (root / "emergence" / "v1" / "world_pb2.py").write_text(text)
    (fresh / "emergence" / "v1" / "agent_pb2.py").write_text("added")

    found = differences(committed, fresh, ("emergence/v1",))

    assert found == [
        "missing in the repository: emergence/v1/agent_pb2.py",
        "differs: emergence/v1/world_pb2.py",
    ]
