"""`emergence gateway`: render the Envoy config for this host's addresses, then become Envoy."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from emergence.mesh.errors import ConfigurationError
from emergence.mesh.settings import Settings, load_settings
from gateway.launcher import envoy_command
from gateway.render import LOCAL_ORIGIN_REGEX, render_envoy_config

DEFAULT_ADMIN_PORT = 9901


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emergence gateway",
        description=(
            "Serve the dashboard, grpc-web and REST under /api/v1 through Envoy. The config is "
            "rendered from gateway/envoy.yaml.j2 at start, so a container needs only flags."
        ),
    )
    parser.add_argument("--config", default=None, help="emergence.yaml (services, observer_port)")
    parser.add_argument("--listen-host", default="127.0.0.1", help="0.0.0.0 in a container")
    parser.add_argument(
        "--port", type=int, default=None, help="listen port (default observer_port, 8080)"
    )
    parser.add_argument("--admin-port", type=int, default=DEFAULT_ADMIN_PORT)
    parser.add_argument("--engine", default=None, help="engine address (default services.engine)")
    parser.add_argument(
        "--observer", default=None, help="emergence-observer address (default services.observer)"
    )
    parser.add_argument(
        "--experiments",
        default=None,
        help="emergence-experiments address; without it the engine answers Experiments",
    )
    parser.add_argument("--static-dir", default=None, help="the built dashboard (observer/dist)")
    parser.add_argument(
        "--allowed-origin-regex",
        default=LOCAL_ORIGIN_REGEX,
        help="browser origins allowed to call across origins (default: localhost only)",
    )
    parser.add_argument(
        "--print", action="store_true", help="print the rendered config and exit, Envoy not started"
    )
    return parser


def render(arguments: argparse.Namespace) -> str:
    settings = load_settings(arguments.config)
    static_dir = arguments.static_dir
    if static_dir is not None and not _is_folder(static_dir):
        raise ConfigurationError(
            "--static-dir", f"{static_dir[:120]!r} is not a folder", hint="build the dashboard"
        )
    return render_envoy_config(
        arguments.port if arguments.port is not None else settings.observer_port,
        arguments.engine or settings.services.engine,
        arguments.admin_port,
        static_dir,
        listen_host=arguments.listen_host,
        allowed_origin_regex=arguments.allowed_origin_regex,
        service_addresses=_service_addresses(arguments, settings),
        upstream_tls=settings.security,  # TLS_*_FILE: TLS to the services when a CA is set
    )


def _service_addresses(arguments: argparse.Namespace, settings: Settings) -> dict[str, str]:
    """The Observer has its own process; Experiments only where one is deployed (--experiments),
    since a single engine without a control plane answers Experiments itself."""
    addresses = {"emergence.v1.Observer": arguments.observer or settings.services.observer}
    if arguments.experiments:
        addresses["emergence.v1.Experiments"] = arguments.experiments
    return addresses


def _is_folder(path: str) -> bool:
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):  # a name too long for the file system, or a NUL byte in it
        return False


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    config_text = render(arguments)
    if arguments.print:
        sys.stdout.write(config_text)
        return 0
    folder = Path(tempfile.mkdtemp(prefix="emergence-gateway-"))
    config_path = folder / "envoy.yaml"
    config_path.write_text(config_text)
    command = envoy_command(config_path)
    print(f"gateway: Envoy on {arguments.listen_host}, config {config_path}", flush=True)
    # exec, not a child: Envoy gets the signals (SIGTERM drains) and its exit code is ours.
    os.execv(command[0], command)
    return 0  # not reached
