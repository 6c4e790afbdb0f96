"""`emergence run --runner-process`: the runner decides in a process of its own, with the same
history as the runner in the engine's process."""

from __future__ import annotations

from pathlib import Path

from emergence.embedded import embedded_run
from emergence.mesh.settings import load_settings


async def test_a_runner_process_makes_the_same_history_as_the_runner_in_process(
    tmp_path: Path,
) -> None:
    hashes = []
    for runner_process in (False, True):
        settings = load_settings(
            environ={},
            overrides={
                "run.agents": 6,
                "run.ticks": 12,
                "run.seed": 5,
                "run.out": str(tmp_path / str(runner_process)),
            },
        )
        summary = await embedded_run(settings, progress=False, runner_process=runner_process)
        assert summary.ticks == 12 and summary.ledger_verified
        hashes.append(summary.history_hash)
    assert hashes[0] == hashes[1]
    logs = list((tmp_path / "True").glob("*/runner.log"))
    assert len(logs) == 1
