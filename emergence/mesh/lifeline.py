"""Child processes that die with the process that started them (Linux PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once here, so the child between fork and exec only makes the call.
_PRCTL = _load_prctl()


def die_with_parent(death_signal: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen: the child receives `death_signal` when the thread
    that started it ends – also when its parent is SIGKILLed and can clean up nothing. The
    setting survives exec, so it holds for foreign binaries (Envoy, nats-server) as well.
    Start children from the main thread. None where the kernel offers no such thing."""
    if _PRCTL is None:
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent:
            # The parent died before the call above: no one is left to send the signal.
            os.kill(os.getpid(), death_signal)

    return arm
