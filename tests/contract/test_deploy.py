"""deploy/ checked offline: compose parses, kustomize renders, and every name they use exists.

Nothing here needs a Docker engine or a cluster: Debian's `docker-compose config` and
`kubectl kustomize` (both installed by `make install`) render the files, and the rendered
commands, flags, ports and environment variables are checked against the project itself.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from emergence.cli import build_parser
from emergence.experiments.kubernetes import render_engine_job
from emergence.mesh.settings import ENVIRONMENT_OVERRIDES, ServiceAddresses, load_settings
from runner.llm.backends import BackendSettings
from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("base", "overlays/production", "overlays/production-tls")
# The oldest Kubernetes the manifests are for: native grpc probes are GA since 1.27.
KUBERNETES_VERSION = "1.30.0"
BIN = Path(sys.executable).parent

# Which settings address each service of ours serves on.
ADDRESS_KEYS = {
    "engine": "engine",
    "ledger": "ledger",
    "runner": "runner_status",
    "observer": "observer",
    "experiments": "experiments",
}
GATEWAY_PORT = 8080  # settings observer_port: the gateway's listen port


@dataclass
class Container:
    """One container that runs our image, from compose or a rendered Kubernetes manifest."""

    origin: str
    service: str
    argv: list[str]
    environment: set[str]
    ports: set[int] = field(default_factory=set)
    health_argvs: list[list[str]] = field(default_factory=list)


def _require(command: str) -> str:
    path = shutil.which(command)
    if path is None:
        message = f"{command} is not installed: run `make install` (scripts/system_packages.sh)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@cache
def _kustomize_major_version() -> int:
    completed = _run([_require("kubectl"), "version", "--client"])
    found = re.search(r"Kustomize Version: v(\d+)", completed.stdout)
    return int(found.group(1)) if found else 0


def _require_kustomize() -> None:
    """deploy/k8s uses kustomize 4+ fields (replicas, patches, generator options): kubectl 1.21+."""
    _require("kubectl")
    if _kustomize_major_version() < 4:
        message = "kubectl's kustomize is older than v4; deploy/k8s needs kubectl 1.21 or newer"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _run(argv: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **options)


# ----- rendering -----------------------------------------------------------------------------


def _compose(env_file: Path) -> subprocess.CompletedProcess[str]:
    compose = _require("docker-compose")
    return _run(
        [compose, "--env-file", str(env_file), "-f", "compose.yaml", "config"],
        cwd=DEPLOY,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
    )


@pytest.fixture(scope="module")
def compose_config() -> dict[str, Any]:
    completed = _compose(DEPLOY / ".env.example")
    assert completed.returncode == 0, completed.stderr
    config: dict[str, Any] = yaml.safe_load(completed.stdout)
    return config


@cache
def _kustomize(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    completed = _run([kubectl, "kustomize", str(DEPLOY / "k8s" / overlay)])
    assert completed.returncode == 0, completed.stderr
    return [document for document in yaml.safe_load_all(completed.stdout) if document]


@pytest.fixture(scope="module", params=OVERLAYS)
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    _require_kustomize()
    return _kustomize(request.param)


def _ours(image: str) -> bool:
    name = image.rsplit("/", 1)[-1].split(":", 1)[0]
    return name == "emergence"


def _compose_argv(command: list[str]) -> list[str]:
    """`sh -c 'exec emergence-runner ...'` is the runner's command: what it execs is checked."""
    if command[:2] == ["sh", "-c"]:
        words = shlex.split(command[2])
        return words[1:] if words[0] == "exec" else words
    return list(command)


def compose_containers(config: dict[str, Any]) -> list[Container]:
    found = []
    for name, service in config["services"].items():
        if not _ours(service.get("image", "")):
            continue
        test = service["healthcheck"]["test"]
        found.append(
            Container(
                origin=f"compose service {name}",
                service=name,
                argv=_compose_argv(service["command"]),
                environment=set(service.get("environment", {})),
                ports={int(port["target"]) for port in service.get("ports", [])},
                health_argvs=[test[1:]] if test[0] == "CMD" else [],
            )
        )
    return found


def _workloads(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for document in documents:
        if document["kind"] in ("Deployment", "StatefulSet"):
            yield document


def k8s_containers(documents: list[dict[str, Any]], kinds: tuple[str, ...] = ()) -> list[Container]:
    found = []
    extra = [document for document in documents if document["kind"] in kinds]
    for workload in [*_workloads(documents), *extra]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            if not _ours(container["image"]):
                continue
            probes = [container.get(key, {}) for key in ("readinessProbe", "livenessProbe")]
            found.append(
                Container(
                    origin=f"{workload['kind']}/{workload['metadata']['name']}",
                    # A run's Job is an engine too: the component says which service it is.
                    service=workload["metadata"]["labels"]["app.kubernetes.io/component"],
                    argv=[*container.get("command", []), *container.get("args", [])],
                    environment={item["name"] for item in container.get("env", [])},
                    ports={port["containerPort"] for port in container.get("ports", [])},
                    health_argvs=[probe["exec"]["command"] for probe in probes if "exec" in probe],
                )
            )
    return found


# ----- what the project has ------------------------------------------------------------------


@cache
def console_scripts() -> frozenset[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return frozenset(project["project"]["scripts"])


@cache
def cli_commands() -> frozenset[str]:
    parser = build_parser()
    for action in parser._actions:
        if action.dest == "command":
            return frozenset(action.choices or ())
    raise AssertionError("the emergence parser has no subcommands")


@cache
def help_text(program: tuple[str, ...]) -> str:
    completed = _run([str(BIN / program[0]), *program[1:], "--help"])
    assert completed.returncode == 0, f"{' '.join(program)} --help failed: {completed.stderr}"
    return completed.stdout


def _program(argv: list[str]) -> tuple[str, ...]:
    """The part of a command line that names the program: a script, or `emergence SUBCOMMAND`."""
    return tuple(argv[:2]) if argv[0] == "emergence" else (argv[0],)


@cache
def variables_read_by_the_project() -> frozenset[str]:
    """Settings overrides, the LLM backends' key variables, and every literal os.environ read."""
    names = set(ENVIRONMENT_OVERRIDES)
    names |= {BackendSettings(name=name).key_variable for name in ("default", "escalation")}
    pattern = re.compile(r"""environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
    for package in ("emergence", "engine", "ledger_service", "runner", "gateway"):
        for source in (ROOT / package).rglob("*.py"):
            names |= set(pattern.findall(source.read_text()))
    return frozenset(names)


def default_port(service: str) -> int:
    key = ADDRESS_KEYS[service]
    address: str = getattr(load_settings(DEPLOY / "emergence.yaml").services, key)
    if service == "runner":
        return int(address.rsplit(":", 1)[1])
    return int(getattr(ServiceAddresses(), key).rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def containers(compose_config: dict[str, Any]) -> list[Container]:
    """Every container of ours, from compose and from each kustomization."""
    _require_kustomize()
    found = compose_containers(compose_config)
    for overlay in OVERLAYS:
        found += k8s_containers(_kustomize(overlay))
    # The Job the control plane renders for one run (deploy/k8s/jobs) names the same things.
    job = yaml.safe_load(render_engine_job("01a22698-ede1-70c6-84f8-66942bcb1b18"))
    return found + k8s_containers([job], kinds=("Job",))


# ----- rendering works -----------------------------------------------------------------------


def test_compose_config_parses_with_the_example_env_file(compose_config: dict[str, Any]) -> None:
    services = set(compose_config["services"])
    assert services == {
        *("postgres", "dragonfly", "nats", "ledger", "engine", "runner"),
        *("observer", "experiments", "gateway"),
    }
    assert compose_config["services"]["runner"]["deploy"]["replicas"] >= 2
    assert set(compose_config["volumes"]) == {"postgres-data", "dragonfly-data", "nats-data"}


def test_compose_without_secrets_names_the_missing_one(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    completed = _compose(empty)
    assert completed.returncode != 0
    assert "set POSTGRES_PASSWORD in deploy/.env" in completed.stderr


def test_kustomize_renders_every_part(manifests: list[dict[str, Any]]) -> None:
    kinds: dict[str, set[str]] = {}
    for document in manifests:
        kinds.setdefault(document["kind"], set()).add(document["metadata"]["name"])
    ours = {"ledger", "engine", "runner", "observer", "experiments", "gateway"}
    assert kinds["Deployment"] == ours
    assert kinds["StatefulSet"] == {"postgres", "nats", "dragonfly"}
    assert kinds["Service"] >= ours | {"postgres", "nats", "dragonfly"}
    assert kinds["HorizontalPodAutoscaler"] == {"runner"}
    assert "runner" in kinds["PodDisruptionBudget"]
    assert any(name.startswith("emergence-config") for name in kinds["ConfigMap"])


def test_manifests_match_the_kubernetes_schema(manifests: list[dict[str, Any]]) -> None:
    """Strict: a misspelt or misplaced field fails here, not at `kubectl apply` time."""
    import kubernetes_validate

    for document in manifests:
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = f"{document['kind']}/{document['metadata']['name']}"
            raise AssertionError(f"{where}: {error.message} at {list(error.path)}") from None


# ----- every name the manifests use exists ---------------------------------------------------


def test_every_command_is_a_program_of_the_project(containers: list[Container]) -> None:
    for container in containers:
        for argv in [container.argv, *container.health_argvs]:
            if argv[0] == "python":
                continue  # the gateway's probe of Envoy's admin interface
            assert argv[0] in console_scripts(), (container.origin, argv)
            if argv[0] == "emergence":
                assert argv[1] in cli_commands(), (container.origin, argv)


def test_every_flag_is_accepted_by_its_program(containers: list[Container]) -> None:
    command_lines = [
        argv
        for container in containers
        for argv in [container.argv, *container.health_argvs]
        if argv[0] != "python"
    ]
    programs = sorted({_program(argv) for argv in command_lines})
    with ThreadPoolExecutor(max_workers=4) as pool:  # each --help is a process start
        texts = dict(zip(programs, pool.map(help_text, programs), strict=True))
    for argv in command_lines:
        for word in argv:
            flag = word.split("=", 1)[0]
            if flag.startswith("--"):
                assert re.search(rf"{re.escape(flag)}\b", texts[_program(argv)]), (argv, flag)


def test_service_ports_are_the_settings_defaults(containers: list[Container]) -> None:
    for container in containers:
        if container.service == "gateway":
            port = GATEWAY_PORT
        else:
            port = default_port(container.service)
            if "--address" in container.argv:
                address = container.argv[container.argv.index("--address") + 1]
                assert address == f"0.0.0.0:{port}", container.origin
        for argv in container.health_argvs:
            if argv[:2] == ["emergence", "health"]:
                assert argv[2] == f"127.0.0.1:{port}", container.origin
        if container.origin.startswith("compose"):
            assert container.ports <= {GATEWAY_PORT}, container.origin
        else:
            assert port in container.ports, container.origin


def test_every_environment_variable_is_read_by_the_project(containers: list[Container]) -> None:
    known = variables_read_by_the_project()
    for container in containers:
        # POD_NAME is Kubernetes' own, substituted into the runner's --runner-id.
        unknown = container.environment - known - {"POD_NAME"}
        assert not unknown, (container.origin, sorted(unknown))


def test_settings_files_load_and_agree() -> None:
    settings = load_settings(DEPLOY / "emergence.yaml", environ={})
    assert settings.services.engine == "engine:50051"
    assert settings.services.ledger == "ledger:50052"
    assert settings.services.observer == "observer:50054"
    assert settings.services.experiments == "experiments:50055"
    copy = DEPLOY / "k8s" / "base" / "emergence.yaml"
    assert copy.read_text() == (DEPLOY / "emergence.yaml").read_text()


def test_dockerfile_copies_only_what_exists() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    sources = []
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(word.startswith("--from") for word in words):
            sources += words[1:-1]
    assert sources, "no COPY from the build context"
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"{package}/" in sources, f"the package {package} is not copied into the image"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for local_only in ("**/.venv", "**/node_modules", "observer/dist", "deploy/.env"):
        assert local_only in ignored, f"{local_only} would be sent into the image"
    stages = re.findall(r"^FROM \S+ AS (\w+)", dockerfile, re.MULTILINE)
    assert stages == ["dashboard", "builder", "runtime"]


# ----- health, limits and exposure -----------------------------------------------------------


def test_every_compose_service_has_a_healthcheck(compose_config: dict[str, Any]) -> None:
    for name, service in compose_config["services"].items():
        assert service.get("healthcheck", {}).get("test"), name


def test_every_pod_has_probes_and_resources(manifests: list[dict[str, Any]]) -> None:
    for workload in _workloads(manifests):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            where = f"{workload['metadata']['name']}/{container['name']}"
            assert "readinessProbe" in container and "livenessProbe" in container, where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            if _ours(container["image"]) and workload["metadata"]["name"] != "gateway":
                # grpc.health.v1 either way: natively, or through `emergence health` under TLS.
                probe = container["readinessProbe"]
                command = probe.get("exec", {}).get("command", [])
                assert "grpc" in probe or command[:2] == ["emergence", "health"], where


def test_only_the_gateway_is_reachable_from_outside(manifests: list[dict[str, Any]]) -> None:
    policies = {d["metadata"]["name"]: d["spec"] for d in manifests if d["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for name, spec in policies.items():
        for rule in spec.get("ingress", []):
            if "from" not in rule:  # open to every source
                assert name == "gateway-ingress", name
    for service in (d for d in manifests if d["kind"] == "Service"):
        if service["metadata"]["name"] != "gateway":
            assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]


def test_compose_publishes_only_the_gateway(compose_config: dict[str, Any]) -> None:
    published = {name for name, s in compose_config["services"].items() if s.get("ports")}
    assert published == {"gateway"}
    assert compose_config["networks"]["mesh"]["internal"] is True


def test_every_secret_key_is_documented(manifests: list[dict[str, Any]]) -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    for workload in _workloads(manifests):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for item in container.get("env", []):
                reference = item.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["name"] == "emergence-secrets"
                    assert f"{reference['key']}=" in operations, reference["key"]


def test_every_metric_the_operations_guide_names_exists() -> None:
    from emergence.mesh import metrics

    served = set()
    for family in metrics.REGISTRY.collect():
        # A counter's family is named without the _total its series carry.
        served |= (
            {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
        )
    guide = (ROOT / "docs" / "operations.md").read_text()
    named = set(re.findall(r"`(emergence_[a-z_]+)(?![a-z_*])", guide))
    assert named, "the guide names no metric"
    assert named <= served, sorted(named - served)


def test_every_variable_the_operations_guide_names_exists() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    named = set(re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", guide))
    compose_only = set(
        re.findall(r"^([A-Z][A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), re.M)
    )
    assert named, "the guide names no variable"
    from grpc_health.v1 import health_pb2

    statuses = set(health_pb2.HealthCheckResponse.ServingStatus.keys())  # NOT_SERVING, …
    unknown = named - variables_read_by_the_project() - compose_only - statuses
    assert not unknown, sorted(unknown)
