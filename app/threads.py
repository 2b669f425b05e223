"""Threads: helper pools, made on first use and kept for the life of the process (a
reader that runs a query beside another, the queue's count beside its page, would
otherwise start a thread every time); and the interpreter tuned for bulk work across
threads."""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

# A thread that steps SQLite lets go of the GIL for every call and then waits for the busy
# thread (an event loop parsing or rendering pages, the detectors judging) to hand it
# back: by default up to 5 ms each time, for every statement or row. 0.5 ms keeps it
# flowing beside the work that feeds it.
SWITCH_INTERVAL = 0.0005
# Bulk work allocates millions of short-lived objects in bursts (a page, its rows), each
# living until it is written or sent. With the default threshold (700) the collector runs
# thousands of times and walks each page's objects again as they age (a third of a big
# read's time); collecting the young generation every 50,000 allocations keeps that
# small, memory still bounded.
GC_YOUNG_THRESHOLD = 50_000

_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def helpers(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """The process's pool called `name` (its threads are named after it)."""
    with _lock:
        if name not in _pools:
            _pools[name] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        return _pools[name]


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """The switch interval and the collector's young threshold above, while it lasts."""
    interval, threshold = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    gc.set_threshold(max(threshold[0], GC_YOUNG_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*threshold)
