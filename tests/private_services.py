"""Test helper: private PostgreSQL, Redis and NATS instances on free ports, so a test may stop them.

The shared services on the default ports are never touched. Each instance keeps its data in a
temporary folder across a stop and a start, as a real outage would (PostgreSQL's data directory,
Redis's dump written on shutdown, JetStream's store).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POSTGRES_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout_seconds: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_seconds} s")


def missing_binaries() -> list[str]:
    wanted = ["redis-server", "redis-cli", "nats-server"]
    missing = [name for name in wanted if shutil.which(name) is None]
    return missing + ([] if POSTGRES_BIN else ["postgresql (initdb, pg_ctl)"])


class PrivatePostgres:
    """initdb once, then pg_ctl start/stop; as root the server runs as the `postgres` user."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="emergence-pg-"))
        self.port = free_port()
        self.data = self.folder / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_of(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(POSTGRES_BIN[-1] / program), *arguments]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateProcessServer:
    """A server started from a command line, stopped and started again with the same one."""

    def __init__(self, command: list[str], port: int, folder: Path) -> None:
        self.command, self.port, self.folder = command, port, folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis(PrivateProcessServer):
    """Stopped with SHUTDOWN SAVE, so what it held is there again after the restart."""

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="emergence-redis-"))
        port = free_port()
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
        super().__init__([*command, "--save", "", "--appendonly", "no"], port, folder)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "shutdown", "save"],
                capture_output=True,
                timeout=20,
            )
        super().stop()


class PrivateNats(PrivateProcessServer):
    """nats-server with JetStream; its store folder survives a restart."""

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="emergence-nats-"))
        port = free_port()
        binary = shutil.which("nats-server") or "nats-server"
        command = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(folder / "js")]
        super().__init__(command, port, folder)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"
