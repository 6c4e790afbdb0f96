"""Child processes that die with the process that started them (Linux parent-death signal)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

# util-linux's setpriv sets PR_SET_PDEATHSIG and then execs the command: the child keeps its
# pid, and the setting survives exec, so it holds for foreign binaries (Envoy, nats-server).
# It is a wrapper and not a preexec_fn on purpose: a preexec_fn runs Python in a forked copy of a
# process with grpc's threads, and such children crashed at start (epoll on a closed fd).
SETPRIV = shutil.which("setpriv") if sys.platform.startswith("linux") else None


def dying_with_parent(command: Sequence[str], death_signal: str = "KILL") -> list[str]:
    """`command`, wrapped so the child receives `death_signal` when the thread that started it
    ends – also when its parent is SIGKILLed and can clean up nothing. Start children from the
    main thread. Unchanged where setpriv is missing (then nothing protects against orphans)."""
    if SETPRIV is None:
        return list(command)
    return [SETPRIV, "--pdeathsig", death_signal, "--", *command]
