"""Knowing when the handler's deferred work is done, so each ack is timed alone (benchmark harness only)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from threading import Lock
from typing import Any

from functions import http

WORKERS = 8
THREAD_PREFIX = "bench-deferred"


class TrackingExecutor(ThreadPoolExecutor):
    """A thread pool that remembers what it was given until `drain()` has waited for it."""

    def __init__(self) -> None:
        super().__init__(max_workers=WORKERS, thread_name_prefix=THREAD_PREFIX)
        self._pending: list[Future[Any]] = []
        self._lock = Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.append(future)
        return future

    def drain(self, timeout: float = 30.0) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        _, not_done = wait(pending, timeout=timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} deferred runs still running after {timeout} s")
        for future in pending:
            future.result()  # a deferred run that raised is a broken benchmark, not a figure


def track_deferred_work(app: Any) -> TrackingExecutor:
    """Run the app's deferred work on a tracking pool (outside Function Compute it runs on threads)."""
    deferral = http.thread_deferral()
    if deferral is None:
        raise TypeError("expected deferred work on threads, not async invocations")
    executor = TrackingExecutor()
    deferral.executor = executor
    return executor
