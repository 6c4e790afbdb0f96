"""Garbage collection for a process that makes a world's worth of new objects every tick.

Each tick works on a fresh copy of the world (tens of thousands of objects at 1 000 agents) and
builds as many perceptions and messages. With Python's default thresholds (a young collection
every 700 new objects) that means hundreds of collections a tick and, since last tick's world
is freed as the new one is made, nearly one full collection of the whole heap every tick: about a
fifth of the engine's CPU at 1 000 agents. The world's objects hold no reference cycles, so
reference counting frees them; the collector is only needed for the cycles the service
machinery makes (futures, exceptions, streams), which fewer and later collections still find.
"""

from __future__ import annotations

import gc

# New objects between young collections, young collections between middle ones, middle ones
# between full ones. A young collection costs what is alive among the objects made since the last
# one, and a tick's world and perceptions live through the tick: at 1 000 agents a collection
# every 50 000 objects still cost about 20 ms a tick (one or two a tick, each scanning a world),
# every 200 000 about 5. A full collection comes every 200 million new objects.
THRESHOLDS = (200_000, 50, 20)


def tune_for_ticks() -> None:
    """Collect less often (for the whole process: the ledger and runner an embedded run hosts
    make objects at the same pace)."""
    gc.set_threshold(*THRESHOLDS)
