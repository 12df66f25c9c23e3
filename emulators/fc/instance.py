"""Function Compute 3.0 instances, as the stand-in runs them: the function's initializer runs once per
instance, before the instance's first invocation; an initializer that raises, or runs past its timeout, fails
the instance, that invocation is answered with an `InitializationError`, and the next invocation gets a new
instance that runs the initializer again.

The stand-in serves every invocation in this one process, so it keeps one instance at a time: invocations that
arrive while it initializes wait for it, where Function Compute might start several instances (each would run
the initializer once). The handler's module state belongs to the process, not to the instance: a new instance
here does not forget what the handler's module built; a test that needs that resets it itself.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

Initializer = Callable[[Any], None]  # the initializer hook: `initialize(context)`, as template.yml names it
# The header and error type Function Compute answers a failed initialization with (emulators/fc/README.md
# gives the documentation page).
ERROR_TYPE_HEADER = "x-fc-error-type"
INITIALIZATION_ERROR = "InitializationError"


class InitializationFailed(Exception):
    """The instance's initializer raised or timed out: the instance is failed, the invocation is answered
    with `answer()`."""

    def __init__(self, error_type: str, message: str, stack_trace: list[list[str]]) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace

    def answer(self) -> dict[str, Any]:
        """The error body Function Compute documents for a Python function's error."""
        return {"errorMessage": self.message, "errorType": self.error_type, "stackTrace": self.stack_trace}


@dataclass
class Instance:
    """One instance: initialized once, or failed for good."""

    instance_id: str
    initialized: bool = False
    failed: bool = False

    def initialize(self, initializer: Initializer, context: Any, timeout_s: float) -> None:
        """Run the initializer once; raises InitializationFailed (and marks this instance failed) when it
        raises or is still running after `timeout_s`."""
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                initializer(context)
            except BaseException as error:  # noqa: BLE001 - handed to the caller, which fails the instance
                outcome.append(error)
            else:
                outcome.append(None)

        # A thread of its own, so a hung initializer can be given up on; Function Compute would stop the
        # instance, this process cannot stop the thread, which is left to finish (a daemon) unobserved.
        worker = threading.Thread(target=run, name=f"fc-initializer-{self.instance_id}", daemon=True)
        worker.start()
        worker.join(timeout_s)
        if not outcome:
            self.failed = True
            raise InitializationFailed(
                "InitializationTimeout", f"the initializer did not finish within {timeout_s:g} s", []
            )
        error = outcome[0]
        if error is not None:
            self.failed = True
            raise InitializationFailed(type(error).__name__, str(error), _stack_trace(error.__traceback__))
        self.initialized = True


@dataclass
class Instances:
    """The instance invocations run on: initialized before its first invocation, replaced when it fails, and
    replaced on demand (`cold_start()`)."""

    started: list[Instance] = field(default_factory=list)  # every instance, oldest first
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.cold_start()

    @property
    def current(self) -> Instance:
        return self.started[-1]

    def cold_start(self) -> Instance:
        """A new instance for the next invocation; its initializer runs before that invocation."""
        instance = Instance(instance_id=f"fc-instance-{next(self._numbers)}")
        self.started.append(instance)
        return instance

    def ready(self, initializer: Initializer | None, context: Callable[[], Any], timeout_s: float) -> Instance:
        """The instance the next invocation runs on, initialized (`initializer` called with a fresh
        `context()`); raises InitializationFailed when the initializer fails, after which the next call starts
        a new instance."""
        with self._lock:
            instance = self.current
            if instance.failed:
                instance = self.cold_start()
            if not instance.initialized:
                if initializer is None:
                    instance.initialized = True
                else:
                    instance.initialize(initializer, context(), timeout_s)
            return instance


def _stack_trace(tb: TracebackType | None) -> list[list[str]]:
    """The frames in the shape Function Compute documents for Python: [file, line, function, source]."""
    return [
        [f'File "{frame.filename}"', f"line {frame.lineno}", f"in {frame.name}", frame.line or ""]
        for frame in traceback.extract_tb(tb)
    ]
