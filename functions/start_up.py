"""An instance's start-up, with Python's cyclic garbage collector paused.

A cold instance's first request imports pydantic, slack_sdk, Bolt and requests and builds the app: some 80,000
objects that live as long as the instance. The collector counts allocations, and every 700 of them it walks the
young objects looking for cycles, so it walks these again and again, finding none worth freeing: about a tenth
of the start-up's CPU (what pausing it saved is in docs/benchmarks.md, under the cold start).

So the first piece of work an instance does (its first request, or the initializer hook) runs with the
collector paused. When it is done, what the start-up allocated is frozen (`gc.freeze`: later collections, warm
requests' included, skip it) and the collector resumes: the order `gc.freeze`'s documentation gives for a
pre-fork server (disable early, freeze, enable). Reference counting frees everything else as usual meanwhile;
only cycles wait, and only for the first request.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_started = False


@contextmanager
def collector_paused_once() -> Iterator[None]:
    """The collector paused for the body of the first `with` in this process; later ones change nothing.

    Concurrent first requests: the first to enter pauses, and it alone freezes and resumes when it leaves."""
    global _started
    with _lock:
        first = not _started and gc.isenabled()
        _started = True
        if first:
            gc.disable()
    try:
        yield
    finally:
        if first:
            gc.freeze()
            gc.enable()
