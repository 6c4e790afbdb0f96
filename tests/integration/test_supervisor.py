"""The supervisor with small real processes: start gating, restarts, giving up, stop order."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from emergence.mesh.supervisor import (
    STOP_FIRST,
    STOP_SECOND,
    RestartPolicy,
    Service,
    Supervisor,
)

FAST = RestartPolicy(first_delay_seconds=0.05, max_delay_seconds=0.2, max_crashes=3)


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def sleeper(name: str, journal: Path) -> tuple[str, ...]:
    """Writes `name up` when started and `name down` on SIGTERM, then exits 0."""
    return python(
        "import signal, sys, time\n"
        f"journal = open({str(journal)!r}, 'a')\n"
        "def down(*_):\n"
        f"    journal.write({name!r} + ' down\\n'); journal.flush(); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, down)\n"
        f"journal.write({name!r} + ' up\\n'); journal.flush()\n"
        "while True: time.sleep(0.05)\n"
    )


def journal_says(journal: Path, line: str) -> bool:
    return journal.exists() and line in journal.read_text().splitlines()


def supervise(services: list[Service], folder: Path, lines: list[str]) -> Supervisor:
    return Supervisor(services, folder, dict(os.environ), policy=FAST, say=lines.append)


def stop_later(supervisor: Supervisor, when: threading.Event, seconds: float = 0.0) -> None:
    """What a SIGTERM does to a running supervisor, without signalling the test process."""

    def send() -> None:
        if when.wait(20):
            threading.Event().wait(seconds)
        supervisor._on_signal(signal.SIGTERM, None)

    threading.Thread(target=send, daemon=True).start()


def test_a_service_that_keeps_crashing_is_given_up_on_naming_it_and_its_log(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    crasher = Service("flaky", python("import sys; sys.exit(3)"), lambda: False)
    code = supervise([crasher], tmp_path, lines).run()
    assert code == 1
    restarts = [line for line in lines if "exited with code 3; restarting it in" in line]
    assert len(restarts) == 2, lines
    assert (
        f"flaky crashed 3 times within 60 s (last exit code 3); giving up (log {tmp_path / 'flaky.log'})"
        in lines[-1]
    )
    assert (tmp_path / "flaky.log").read_text().count("restarted by emergence up") == 2


def test_a_configuration_error_is_not_retried(tmp_path: Path) -> None:
    lines: list[str] = []
    broken = Service("ledger", python("import sys; sys.exit(2)"), lambda: False)
    assert supervise([broken], tmp_path, lines).run() == 1
    assert not any("restarting" in line for line in lines)
    assert "ledger exited with code 2 (a configuration error" in lines[-1]


def test_dependents_wait_for_readiness_and_stop_in_phases(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    ready = threading.Event()

    def all_up() -> bool:
        if journal_says(journal, "runner up"):
            ready.set()
        return journal_says(journal, "runner up")

    services = [
        Service("ledger", sleeper("ledger", journal), lambda: journal_says(journal, "ledger up")),
        Service(
            "engine",
            sleeper("engine", journal),
            lambda: journal_says(journal, "engine up"),
            depends_on=("ledger",),
            stop_phase=STOP_SECOND,
        ),
        Service(
            "runner",
            sleeper("runner", journal),
            all_up,
            depends_on=("engine",),
            stop_phase=STOP_FIRST,
        ),
    ]
    lines: list[str] = []
    supervisor = supervise(services, tmp_path, lines)
    stop_later(supervisor, ready, 0.2)
    assert supervisor.run() == 0, lines
    assert journal.read_text().split("\n")[:-1] == [
        "ledger up",
        "engine up",
        "runner up",
        "runner down",
        "engine down",
        "ledger down",
    ]
    assert [line.split()[0] for line in lines if " stopped in " in line] == [
        "runner",
        "engine",
        "ledger",
    ]


@pytest.mark.parametrize("exit_code", [9, 2])
def test_a_crashed_service_is_restarted_with_its_restart_arguments(
    tmp_path: Path, exit_code: int
) -> None:
    """Also exit code 2 once the service has served: a dependency missed at a restart heals."""
    journal = tmp_path / "journal"
    # The first life crashes once it is ready; the second is told it is a restart.
    code = (
        "import sys, time\n"
        f"journal = open({str(journal)!r}, 'a')\n"
        "journal.write(' '.join(sys.argv[1:]) + '\\n'); journal.flush()\n"
        "time.sleep(0.3)\n"
        f"sys.exit(0 if '--again' in sys.argv else {exit_code})\n"
    )
    service = Service(
        "engine",
        python(code),
        lambda: journal.exists(),
        finishes=True,
        restart_arguments=lambda log: ("--again",),
    )
    lines: list[str] = []
    supervisor = supervise([service], tmp_path, lines)
    finished = threading.Event()
    original = supervisor.say

    def say(line: str) -> None:
        original(line)
        if "finished" in line:
            finished.set()

    supervisor.say = say
    stop_later(supervisor, finished)
    assert supervisor.run() == 0, lines
    assert journal.read_text().split("\n")[:-1] == ["", "--again"]
    assert any(
        f"engine       exited with code {exit_code}; restarting it in" in line for line in lines
    )
    assert any("engine       back in" in line for line in lines)
