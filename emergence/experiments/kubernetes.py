"""A run as a Kubernetes Job: the manifest of the engine that runs one stored run to its end.

The local launcher starts engine processes on this machine; where a cluster runs the mesh, the
control plane's Job for a run is this rendering of `deploy/k8s/jobs/engine-run-job.yaml.j2`
(applied with `kubectl apply -f -`). It names the same command and flags as the local launcher.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from emergence.mesh.errors import FailedPrecondition, InvalidArgument, Unavailable

TEMPLATE = (
    Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "jobs" / "engine-run-job.yaml.j2"
)
# DNS-1123 labels: what Kubernetes accepts as a Job name and a namespace.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ADDRESS = re.compile(r"^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$")


@dataclass(frozen=True)
class JobSettings:
    image: str = "emergence:latest"
    namespace: str = "emergence"
    ledger_address: str = "ledger:50052"
    redis_url: str = "redis://dragonfly:6379/0"
    nats_url: str = "nats://nats:4222"
    # The settings ConfigMap's name as applied (kustomize may add a hash suffix to it).
    config_map: str = "emergence-config"
    cpu_request: str = "1"
    cpu_limit: str = "2"
    backoff_limit: int = 3
    active_deadline_seconds: int = 7 * 24 * 3600
    # The client that applies the Job: whatever cluster its kubeconfig names.
    kubectl: str = "kubectl"


def job_name(run_id: str) -> str:
    return f"engine-run-{run_id}"


def render_engine_job(run_id: str, settings: JobSettings | None = None) -> str:
    """The Job manifest (YAML) for one stored run; ids and names are checked, never pasted raw."""
    chosen = settings or JobSettings()
    if not RUN_ID.match(run_id):
        raise InvalidArgument(f"run id {run_id[:60]!r} is not one the control plane issues")
    for key, value in (("namespace", chosen.namespace), ("config_map", chosen.config_map)):
        if not DNS_LABEL.match(value):
            raise InvalidArgument(f"{key} {value[:60]!r} is not a Kubernetes name")
    if not ADDRESS.match(chosen.ledger_address):
        raise InvalidArgument(f"ledger address {chosen.ledger_address[:60]!r} is not host:port")
    for key, text in (
        ("image", chosen.image),
        ("redis_url", chosen.redis_url),
        ("nats_url", chosen.nats_url),
    ):
        if not text or any(c in text for c in "\"'\n\\ {}") or len(text) > 500:
            raise InvalidArgument(f"{key} {text[:60]!r} cannot go into a manifest")
    template = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML: every value is checked above instead
    ).get_template(TEMPLATE.name)
    return template.render(
        job_name=job_name(run_id),
        run_id=run_id,
        **{key: getattr(chosen, key) for key in JobSettings.__dataclass_fields__},
    )


KUBECTL_TIMEOUT_SECONDS = 60.0


async def apply_engine_job(run_id: str, settings: JobSettings) -> str:
    """Render the run's Job and `kubectl apply` it; returns the Job's name. A client that is
    missing or a cluster that refuses is a clear status naming what kubectl said."""
    manifest = render_engine_job(run_id, settings)
    kubectl = shutil.which(settings.kubectl)
    if kubectl is None:
        raise FailedPrecondition(
            f"{settings.kubectl[:60]!r} is not installed here: runs launched as Kubernetes Jobs"
            " need kubectl and a kubeconfig for the cluster"
        )
    process = await asyncio.create_subprocess_exec(
        *(kubectl, "apply", "--namespace", settings.namespace, "-f", "-"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _output, errors = await asyncio.wait_for(
            process.communicate(manifest.encode()), KUBECTL_TIMEOUT_SECONDS
        )
    except TimeoutError as error:
        process.kill()
        await process.wait()
        raise Unavailable(
            f"kubectl apply of the Job of run {run_id} gave no answer in 60 s"
        ) from error
    if process.returncode != 0:
        said = errors.decode(errors="replace").strip()[-300:]
        raise Unavailable(f"the cluster did not take the Job of run {run_id}: {said}")
    return job_name(run_id)
