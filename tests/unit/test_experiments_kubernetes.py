"""The Kubernetes Job of one run: a valid manifest naming the engine's real flags, no injection."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from emergence.experiments.kubernetes import JobSettings, render_engine_job
from emergence.mesh.errors import InvalidArgument
from engine.app import _arguments as engine_arguments

RUN_ID = "01a2269f-a5a5-7bbb-bb2e-5e66e04449aa"


def test_the_job_runs_the_stored_run_with_the_engines_own_flags() -> None:
    job = yaml.safe_load(render_engine_job(RUN_ID, JobSettings(namespace="lab", cpu_limit="3")))
    kubernetes_validate.validate(job, "1.30", strict=True)
    assert (job["kind"], job["metadata"]["name"]) == ("Job", f"engine-run-{RUN_ID}")
    assert job["metadata"]["namespace"] == "lab"
    container = job["spec"]["template"]["spec"]["containers"][0]
    command, *flags = container["args"]
    assert command == "emergence-engine"
    parsed = engine_arguments(flags)
    assert (parsed.run, parsed.in_process_runner, parsed.exit_at_end) == (RUN_ID, True, True)
    assert parsed.ledger == "ledger:50052" and not parsed.manual
    secrets = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert {"DATABASE_URL", "RUNNER_TOKEN", "SERVICE_TOKEN", "OPERATOR_API_TOKEN"} <= secrets
    assert container["resources"]["limits"]["cpu"] == "3"


@pytest.mark.parametrize(
    "run_id, settings",
    [
        ("x\n  hostNetwork: true", JobSettings()),
        (RUN_ID.upper(), JobSettings()),
        (RUN_ID, JobSettings(namespace="Lab")),
        (RUN_ID, JobSettings(image='evil"\n  privileged: true')),
        (RUN_ID, JobSettings(ledger_address="ledger:50052\n- --manual")),
        (RUN_ID, JobSettings(config_map="a" * 64)),
    ],
)
def test_hostile_values_are_refused_not_rendered(run_id: str, settings: JobSettings) -> None:
    with pytest.raises(InvalidArgument):
        render_engine_job(run_id, settings)
