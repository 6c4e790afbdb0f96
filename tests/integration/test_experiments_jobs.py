"""The control plane's Kubernetes launcher: StartRun applies the run's Job with kubectl.

No cluster is reachable here, so kubectl is the boundary: a stand-in script on loopback's side
records what it was asked to apply (or refuses, as a cluster would). Everything else is real:
the control plane process code, its store, its gRPC API.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import yaml

from emergence.experiments.app import HostedControlPlane, control_plane
from emergence.experiments.kubernetes import JobSettings, apply_engine_job
from emergence.mesh.channels import insecure_channel
from emergence.mesh.errors import FailedPrecondition
from emergence.mesh.settings import load_settings
from emergence.v1 import experiments_service_pb2 as messages
from emergence.v1 import (
    experiments_service_pb2_grpc,
    operator_service_pb2,
    operator_service_pb2_grpc,
    run_pb2,
)


def fake_kubectl(folder: Path, *, refuse: str = "") -> Path:
    """A kubectl that keeps its arguments and the manifest it was given, or refuses."""
    script = folder / "kubectl"
    body = (
        f'echo "{refuse}" >&2; exit 1'
        if refuse
        else f'echo "$@" > {folder / "arguments"}; cat > {folder / "manifest.yaml"}'
    )
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
async def jobs_plane(tmp_path: Path) -> AsyncIterator[HostedControlPlane]:
    jobs = JobSettings(image="registry.example/emergence:1", kubectl=str(fake_kubectl(tmp_path)))
    async with control_plane(
        load_settings(None, environ={}),
        store_url=f"sqlite:///{tmp_path / 'history.sqlite'}",
        log_folder=tmp_path / "engines",
        reports_folder=tmp_path / "reports",
        jobs=jobs,
    ) as hosted:
        yield hosted


async def test_start_applies_the_runs_job_and_stepping_is_refused(
    jobs_plane: HostedControlPlane, tmp_path: Path
) -> None:
    token = (("authorization", f"Bearer {jobs_plane.operator_token}"),)
    async with insecure_channel(jobs_plane.address) as channel:
        stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
        config = run_pb2.RunConfig(seed=4, agents=5, end=run_pb2.EndConditions(max_ticks=20))
        created = await stub.CreateRun(messages.CreateRunRequest(config=config), metadata=token)
        run_id = created.run.id
        started = await stub.StartRun(messages.StartRunRequest(run_id=run_id), metadata=token)
        assert started.run.id == run_id

        arguments = (tmp_path / "arguments").read_text().split()
        assert arguments == ["apply", "--namespace", "emergence", "-f", "-"]
        job = yaml.safe_load((tmp_path / "manifest.yaml").read_text())
        assert (job["kind"], job["metadata"]["name"]) == ("Job", f"engine-run-{run_id}")
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "registry.example/emergence:1"
        assert container["args"][:3] == ["emergence-engine", "--run", run_id]
        assert "--exit-at-end" in container["args"]
        assert not jobs_plane.plane.launcher.engines, "no local engine for a Job's run"

        for refused_call in (
            stub.StepRun(messages.StepRunRequest(run_id=run_id, ticks=5), metadata=token),
            operator_service_pb2_grpc.OperatorStub(channel).Pause(
                operator_service_pb2.PauseRequest(run_id=run_id), metadata=token
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await refused_call
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "Kubernetes Jobs" in (refused.value.details() or "")


async def test_a_cluster_that_refuses_the_job_is_a_clear_unavailable(tmp_path: Path) -> None:
    refusing = fake_kubectl(tmp_path, refuse='jobs.batch is forbidden: User "ci" cannot create')
    async with control_plane(
        load_settings(None, environ={}),
        store_url=f"sqlite:///{tmp_path / 'history.sqlite'}",
        log_folder=tmp_path / "engines",
        jobs=JobSettings(kubectl=str(refusing)),
    ) as hosted:
        token = (("authorization", f"Bearer {hosted.operator_token}"),)
        async with insecure_channel(hosted.address) as channel:
            stub = experiments_service_pb2_grpc.ExperimentsStub(channel)
            config = run_pb2.RunConfig(seed=4, agents=5, end=run_pb2.EndConditions(max_ticks=20))
            created = await stub.CreateRun(messages.CreateRunRequest(config=config), metadata=token)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.StartRun(messages.StartRunRequest(run_id=created.run.id), metadata=token)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "forbidden" in (refused.value.details() or "")


async def test_without_kubectl_a_job_is_refused_with_what_to_install(tmp_path: Path) -> None:
    missing = JobSettings(kubectl=str(tmp_path / "no-such-kubectl"))
    with pytest.raises(FailedPrecondition, match="need kubectl and a kubeconfig"):
        await apply_engine_job("01a22700-0000-7000-8000-000000000001", missing)
