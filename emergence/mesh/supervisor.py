"""A process supervisor: start in dependency order on readiness, restart crashes, stop in order."""

from __future__ import annotations

import collections
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from emergence.mesh.lifeline import dying_with_parent

# Services exit with 2 on a configuration error: starting them again cannot help.
EXIT_CONFIGURATION = 2
POLL_SECONDS = 0.1

# Stop phases: runners leave first, then the engine ends its run, then everything else.
STOP_FIRST = 0
STOP_SECOND = 1
STOP_LAST = 2

Probe = Callable[[], bool]


@dataclass(frozen=True)
class Service:
    """One process of the mesh, as data: adding a service is one more entry in the list."""

    name: str
    command: tuple[str, ...]
    ready: Probe  # True once the service serves (grpc health SERVING, an HTTP ready page)
    address: str = ""  # shown in the start line
    depends_on: tuple[str, ...] = ()  # started only once these are ready
    stop_phase: int = STOP_LAST
    finishes: bool = False  # exit code 0 means done, not crashed (runners leave after the run)
    start_timeout_seconds: float = 60.0
    stop_timeout_seconds: float = 15.0
    # Extra arguments for a restart, read from the service's own log (the engine's run id).
    restart_arguments: Callable[[Path], tuple[str, ...]] | None = None


@dataclass(frozen=True)
class RestartPolicy:
    """Capped exponential backoff; give up after `max_crashes` within `window_seconds`."""

    first_delay_seconds: float = 0.5
    max_delay_seconds: float = 10.0
    max_crashes: int = 5
    window_seconds: float = 60.0

    def delay(self, recent_crashes: int) -> float:
        return min(self.max_delay_seconds, self.first_delay_seconds * 2.0 ** (recent_crashes - 1))


@dataclass
class Child:
    """The supervisor's view of one service: its current process and its history."""

    service: Service
    log_path: Path
    state: str = "waiting"  # waiting, starting, ready, backoff, finished, stopped
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    spawned_at: float = 0.0
    ready_once: bool = False
    restart_at: float = 0.0
    lives: int = 0
    crashes: collections.deque[float] = field(default_factory=collections.deque)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Runs `services` until a shutdown signal (exit 0 if everything stopped cleanly) or until a
    service fails for good (exit 1, naming it and its log)."""

    def __init__(
        self,
        services: Sequence[Service],
        folder: Path,
        environment: dict[str, str],
        *,
        policy: RestartPolicy | None = None,
        say: Callable[[str], None] | None = None,
        on_ready: Callable[[Child], None] | None = None,
    ) -> None:
        names = [service.name for service in services]
        for position, service in enumerate(services):
            unknown = [d for d in service.depends_on if d not in names[:position]]
            if unknown:
                raise ValueError(f"{service.name} depends on {unknown}, not listed before it")
        self.children = [Child(s, folder / f"{s.name}.log") for s in services]
        self.environment = environment
        self.policy = policy or RestartPolicy()
        self.say = say or (lambda line: print(line, flush=True))
        self.on_ready = on_ready
        self.signals: list[str] = []
        self.failure = ""

    # ----- the main loop -------------------------------------------------------------------
    def run(self) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in self._signals()}
        try:
            while not self.signals and not self.failure:
                now = time.monotonic()
                for child in self.children:
                    self._advance(child, now)
                    if self.failure:
                        break
                time.sleep(POLL_SECONDS)
            if self.failure:
                self.say(f"emergence up: {self.failure}; stopping the mesh")
            else:
                self.say(f"\n{self.signals[0]}: stopping the mesh")
            clean = self.stop()
            return 0 if clean and not self.failure else 1
        finally:
            self.kill_all()
            for number, handler in previous.items():
                signal.signal(number, handler)

    @staticmethod
    def _signals() -> tuple[signal.Signals, ...]:
        return (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def _on_signal(self, number: int, _frame: FrameType | None) -> None:
        self.signals.append(signal.Signals(number).name)

    def _advance(self, child: Child, now: float) -> None:
        if (child.state == "waiting" and self._dependencies_ready(child)) or (
            child.state == "backoff" and now >= child.restart_at
        ):
            self._spawn(child, now)
        elif child.state in ("starting", "ready") and not child.alive:
            self._exited(child, now)
        elif child.state == "starting":
            self._check_ready(child, now)

    def _dependencies_ready(self, child: Child) -> bool:
        ready = {c.service.name for c in self.children if c.ready_once}
        return all(name in ready for name in child.service.depends_on)

    # ----- starting ------------------------------------------------------------------------
    def _spawn(self, child: Child, now: float) -> None:
        service = child.service
        command = list(service.command)
        if child.lives and service.restart_arguments is not None:
            command += service.restart_arguments(child.log_path)
        if child.log_file is None:
            child.log_file = child.log_path.open("ab")
        if child.lives:
            stamp = time.strftime("%H:%M:%S")
            child.log_file.write(f"\n--- restarted by emergence up at {stamp} ---\n".encode())
            child.log_file.flush()
        child.process = subprocess.Popen(
            dying_with_parent(command),
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl-C in the terminal reaches `up` alone, which then
            # stops the services in order instead of all of them at once.
            process_group=0,
        )
        child.lives += 1
        child.spawned_at = now
        child.state = "starting"

    def _check_ready(self, child: Child, now: float) -> None:
        service = child.service
        if service.ready():
            child.state = "ready"
            child.ready_once = True
            took = time.monotonic() - child.spawned_at
            verb = "ready" if child.lives == 1 else "back"
            pid = child.process.pid if child.process else 0
            self.say(
                f"  {service.name:<12} {verb} in {took:4.1f} s  pid {pid:<7}"
                f" {service.address:<21} log {child.log_path}"
            )
            if self.on_ready is not None:
                self.on_ready(child)
        elif now - child.spawned_at > service.start_timeout_seconds:
            self.failure = (
                f"{service.name} did not become ready within"
                f" {service.start_timeout_seconds:.0f} s (log {child.log_path})"
            )

    # ----- crashes -------------------------------------------------------------------------
    def _exited(self, child: Child, now: float) -> None:
        assert child.process is not None
        code = child.process.returncode
        service = child.service
        if service.finishes and code == 0:
            child.state = "finished"
            self.say(f"  {service.name:<12} finished with the run")
            return
        if code == EXIT_CONFIGURATION and not child.ready_once:
            # A configuration error at the first start cannot heal; after the service has served,
            # a 2 is a dependency it could not reach at a restart: retried like any crash.
            self.failure = (
                f"{service.name} exited with code 2 (a configuration error; log {child.log_path})"
            )
            return
        child.crashes.append(now)
        while child.crashes and now - child.crashes[0] > self.policy.window_seconds:
            child.crashes.popleft()
        recent = len(child.crashes)
        window = f"{self.policy.window_seconds:.0f} s"
        if recent >= self.policy.max_crashes:
            self.failure = (
                f"{service.name} crashed {recent} times within {window} (last exit code {code});"
                f" giving up (log {child.log_path})"
            )
            return
        delay = self.policy.delay(recent)
        child.state = "backoff"
        child.restart_at = now + delay
        self.say(
            f"  {service.name:<12} exited with code {code}; restarting it in {delay:.1f} s"
            f" (crash {recent} of {self.policy.max_crashes} allowed within {window};"
            f" log {child.log_path})"
        )

    # ----- stopping ------------------------------------------------------------------------
    def stop(self) -> bool:
        """Stop phase by phase; True if every service stopped cleanly. The services of an early
        phase (the runners) stop together; the last phase stops one by one in the reverse of the
        start order, so each service outlives what depends on it (NATS outlives the Observer)."""
        clean = True
        for phase in sorted({child.service.stop_phase for child in self.children}):
            group = [c for c in reversed(self.children) if c.service.stop_phase == phase]
            batches = [group] if phase < STOP_LAST else [[child] for child in group]
            for batch in batches:
                clean = self._stop_group(batch) and clean
        return clean

    def _stop_group(self, group: list[Child]) -> bool:
        running = [child for child in group if child.alive]
        for child in group:
            if not child.alive and child.state in ("waiting", "backoff"):
                child.state = "stopped"
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        clean = True
        for child in running:
            clean = self._await_stop(child) and clean
        return clean

    def _await_stop(self, child: Child) -> bool:
        assert child.process is not None
        service = child.service
        asked = time.monotonic()
        deadline = asked + service.stop_timeout_seconds
        while child.process.poll() is None and time.monotonic() < deadline:
            if len(self.signals) >= 2:
                break  # asked twice: no more waiting
            time.sleep(POLL_SECONDS)
        child.state = "stopped"
        code = child.process.poll()
        if code is None:
            child.process.kill()
            child.process.wait()
            self.say(
                f"  {service.name:<12} did not stop within {service.stop_timeout_seconds:.0f} s;"
                f" killed it (log {child.log_path})"
            )
            return False
        if code not in (0, -signal.SIGTERM):
            self.say(f"  {service.name:<12} stopped with exit code {code} (log {child.log_path})")
            return False
        self.say(f"  {service.name:<12} stopped in {time.monotonic() - asked:.1f} s")
        return True

    def kill_all(self) -> None:
        """Last resort on the way out: nothing started here outlives the supervisor."""
        for child in self.children:
            if child.alive:
                assert child.process is not None
                child.process.kill()
                child.process.wait()
            if child.log_file is not None:
                child.log_file.close()
                child.log_file = None
