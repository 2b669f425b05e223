"""Helper thread pools, made on first use and kept for the life of the process: a reader
that runs a query beside another (the queue's count beside its page, health's active
exceptions beside the closed ones) would otherwise start a thread every time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def helpers(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """The process's pool called `name` (its threads are named after it)."""
    with _lock:
        if name not in _pools:
            _pools[name] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        return _pools[name]
