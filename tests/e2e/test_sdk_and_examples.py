"""The researcher SDKs against the real services: the betterproto2 (grpclib) Python SDK and the
protoc-gen-es + connect-node example talk to emergence-experiments and emergence-observer
processes (grpcio), and the examples print their tables."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emergence.client import Experiment, ExperimentError, compare, plague, v1
from emergence.mesh.channels import wait_until_serving
from tests.services import ServiceProcesses

ROOT = Path(__file__).resolve().parents[2]
NODE_EXAMPLE = ROOT / "examples" / "node"
TOKEN = "sdk-test-token"
REGION = "Central Valley"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("sdk-mesh")
    store = f"sqlite:///{folder / 'history.sqlite'}"
    settings = folder / "emergence.yaml"
    settings.write_text(f"run: {{out: {folder / 'runs'}}}\n")
    addresses = {
        "experiments": f"127.0.0.1:{free_port()}",
        "observer": f"127.0.0.1:{free_port()}",
    }
    environment = {
        "OPERATOR_API_TOKEN": TOKEN,
        "EMERGENCE_LOG_LEVEL": "WARNING",
        "DATABASE_URL": "",
        "NATS_URL": "",
        "REDIS_URL": "",
    }
    with ServiceProcesses(folder, environment) as processes:
        processes.start(
            "experiments", "emergence.experiments.app",
            "--address", addresses["experiments"], "--store", store, "--config", str(settings),
        )  # fmt: skip
        processes.start(
            "observer", "observer_service.app",
            "--address", addresses["observer"], "--store", store, "--nats", "",
        )  # fmt: skip
        for address in addresses.values():
            asyncio.run(wait_until_serving(address, timeout_seconds=30))
        yield addresses


async def test_the_betterproto2_sdk_drives_the_grpcio_services(mesh: dict[str, str]) -> None:
    address = mesh["experiments"]
    async with Experiment.create(
        address, seed=11, agents=6, ticks=40, token=TOKEN, observer=mesh["observer"]
    ) as run:
        assert run.run.status == v1.RunStatus.CREATED
        assert run.run.config.seed == 11

        first = await run.step(25)
        effective_tick = await run.inject(plague(REGION, 5))
        rest = await run.step(15)

        assert [s.tick for s in first + rest] == list(range(1, 41))
        assert effective_tick == 26
        outbreaks = await run.events(v1.EventType.WORLD_EVENT)
        assert [(e.tick, e.world_event.kind, e.world_event.region) for e in outbreaks] == [
            (26, "plague", REGION)
        ]
        assert run.run.status == v1.RunStatus.COMPLETED and run.tick == 40
        fork = await run.fork(20, inject=[plague(REGION, 10)], overrides={"run.ticks": 35})
        assert (fork.run.parent_run_id, fork.run.forked_at_tick) == (run.run_id, 20)
        forked_summaries = await fork.step(20)
        # The override ends the fork at tick 35, before the 20 ticks asked for.
        assert [s.tick for s in forked_summaries] == list(range(21, 36))
        assert fork.run.status == v1.RunStatus.COMPLETED and fork.tick == 35

        rows = await run.series("population.alive", "gini", frame=False)
        assert [row["tick"] for row in rows][-1] == 40
        assert rows[-1]["population.alive"] == rest[-1].alive
        assert (await run.refresh()).history_hash

        compared = await run.compare(fork, metrics=["population_end", "trades"], frame=False)
        assert [row["run_id"] for row in compared.runs] == [run.run_id, fork.run_id]
        assert compared.runs[0]["population_end"] == rest[-1].alive
        ends = {a["metric"]: a for a in compared.aggregates}
        assert ends["trades"]["runs"] == 2
        assert ends["trades"]["ci95_low"] <= ends["trades"]["mean"] <= ends["trades"]["ci95_high"]

        page = await fork.report()
        assert page.startswith("<!doctype html>") and fork.run_id in page
        assert page.count('class="chart"') == 12

        found = await Experiment.attach(address, fork.run_id, token=TOKEN)
        try:
            assert found.run.parent_run_id == run.run_id
        finally:
            found.close()


async def test_a_started_run_advances_on_its_own_until_it_ends(mesh: dict[str, str]) -> None:
    async with Experiment.create(
        mesh["experiments"], seed=4, agents=4, ticks=15, token=TOKEN
    ) as run:
        await run.start()
        ended = await run.wait(timeout_seconds=120)

        assert ended.status == v1.RunStatus.COMPLETED
        assert ended.current_tick == 15 and ended.end_reason == v1.EndReason.MAX_TICKS


async def refused(call: object) -> ExperimentError:
    with pytest.raises(ExperimentError) as caught:
        await call  # type: ignore[misc]
    assert len(str(caught.value)) < 400
    return caught.value


async def test_refusals_reach_the_sdk_as_statuses(mesh: dict[str, str]) -> None:
    address = mesh["experiments"]

    without_token = await refused(Experiment.create(address, seed=1, agents=4, ticks=5))
    unknown = await refused(Experiment.attach(address, "no-such-run", token=TOKEN))
    huge = await refused(Experiment.attach(address, "r" * 100_000, token=TOKEN))
    async with Experiment.create(address, seed=2, agents=4, ticks=10, token=TOKEN) as run:
        async with Experiment.attach(address, run.run_id) as anonymous:
            no_token_inject = await refused(anonymous.inject(plague(REGION)))
        bad_region = await refused(run.inject(plague("Atlantis")))
        await run.step(10)
        beyond = await refused(run.fork(10_000))
        ended = await refused(run.step(1))
        ended_inject = await refused(run.inject(plague(REGION)))
    nobody = await refused(compare(address, [], token=TOKEN))

    assert without_token.status == "UNAUTHENTICATED"
    assert no_token_inject.status == "UNAUTHENTICATED"
    assert bad_region.status == "INVALID_ARGUMENT" and "Atlantis" in bad_region.message
    assert ended_inject.status == "FAILED_PRECONDITION"
    assert unknown.status == "NOT_FOUND"
    assert huge.status in ("NOT_FOUND", "INVALID_ARGUMENT")
    assert beyond.status == "INVALID_ARGUMENT"
    assert ended.status == "FAILED_PRECONDITION"
    assert nobody.status == "INVALID_ARGUMENT"
    unreachable = await refused(Experiment.attach(f"127.0.0.1:{free_port()}", "any", token=TOKEN))
    assert unreachable.status == "UNAVAILABLE"


def run_node_example(address: str) -> list[dict[str, object]]:
    if not (NODE_EXAMPLE / "node_modules" / "@connectrpc" / "connect-node").is_dir():
        message = "examples/node/node_modules is missing: run 'make install'"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    npm, node = shutil.which("npm"), shutil.which("node")
    assert npm and node, "Node 20 is needed (see README)"
    built = subprocess.run(
        [npm, "run", "-s", "build"], cwd=NODE_EXAMPLE, capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr
    finished = subprocess.run(
        [node, "dist/experiment.mjs", "--address", address, "--token", TOKEN, "--ticks", "30", "--fork-at", "12"],
        cwd=NODE_EXAMPLE, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    return [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]


def test_the_node_example_does_the_same_through_the_generated_typescript(
    mesh: dict[str, str],
) -> None:
    lines = {line["step"]: line for line in run_node_example(mesh["experiments"])}

    assert lines["created"]["status"] == "CREATED"
    assert lines["stepped"]["tick"] == 30 and lines["stepped"]["summaries"] == 30
    assert lines["forked"]["parent"] == lines["created"]["runId"]
    assert lines["forked"]["forkedAt"] == 12
    assert lines["fork stepped"]["tick"] == 30
    assert lines["queried"]["status"] == "COMPLETED"
    assert set(lines["compared"]["metrics"]) == {"population_end", "deaths"}  # type: ignore[arg-type]
    assert lines["unknown run"]["code"] == "NotFound"


def run_example(name: str, *arguments: str) -> str:
    finished = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *arguments, "--token", TOKEN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert finished.returncode == 0, finished.stderr
    print(finished.stdout)  # the table, for whoever reads the test log
    return finished.stdout


def test_the_ab_example_prints_intervals_and_a_verdict(mesh: dict[str, str]) -> None:
    output = run_example(
        "ab_personality.py", "--address", mesh["experiments"],
        "--seeds", "1..3", "--agents", "8", "--ticks", "100", "--parallel", "2",
    )  # fmt: skip

    rows = [line for line in output.splitlines() if line.startswith(("trades", "gini_mean"))]
    assert len(rows) == 2
    for row in rows:
        intervals = re.findall(r"(-?\d+\.\d+) \[\s*(-?\d+\.\d+),\s*(-?\d+\.\d+)\]", row)
        assert len(intervals) == 2, row
        for mean, low, high in intervals:
            assert float(low) <= float(mean) <= float(high)
        assert row.endswith(("differs", "no clear difference"))
    assert re.search(r"(\d+ of 9 metrics differ measurably|no metric differs measurably)", output)


def test_the_plague_example_compares_the_fork_with_the_unforked_run(
    mesh: dict[str, str],
) -> None:
    output = run_example(
        "plague_fork.py", "--address", mesh["experiments"],
        "--agents", "8", "--ticks", "120", "--fork-at", "60", "--plague-ticks", "40",
    )  # fmt: skip

    assert "injected into a fork at tick 60" in output
    deaths = re.search(r"deaths after fork\s+(\d+\.\d+)\s+(\d+\.\d+)", output)
    assert deaths, output
    assert "alive by tick (unforked/plague fork):" in output
