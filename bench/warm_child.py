"""Warm DescribeTasks round trips in one process: `python -m bench.warm_child KIND CALLS WARMUP`.

KIND is `ours` (the production wiring: `build_ecs_client(Settings())`, JSON logs configured as the FC handler
configures them) or `sdk` (the official SDK's client). After WARMUP unmeasured calls, each of CALLS calls is
timed with `perf_counter` (wall) and `process_time` (this process's CPU: the client's own work, since the
emulator runs in another process). Prints the samples in seconds. With `--split` it also prints the mean CPU
per call spent in urllib3 and below, under both clients' own work. With `--parts` (ours only) it prints
instead, for each part of our own work, the CPU of CALLS calls with it and of CALLS calls without it, in
alternating blocks: what leaving that part out saves.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.env import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ENV_ECS_URL, PAGE_SIZE, REGION, STATUS, emit_result

KIND_OURS = "ours"
KIND_SDK = "sdk"
# Also time the CPU in urllib3 and below: a separate run, as the timing itself costs a little.
SPLIT_FLAG = "--split"
# Time our calls with and without each part of our own work (PARTS), in alternating blocks of PART_BLOCK.
PARTS_FLAG = "--parts"
PART_BLOCK = 50
PART_LOG_LINE = "log_line"
PART_LOG_WRITE = "log_write"
PART_VALIDATION = "validation"

Call = Callable[[], int]


def our_call() -> Call:
    from bot.wiring.build import build_ecs_client
    from shared.config import Settings
    from shared.log import configure_logging

    configure_logging()
    client = build_ecs_client(Settings())

    def call() -> int:
        return len(client.describe_tasks(REGION, status=STATUS, page_size=PAGE_SIZE).tasks)

    return call


def sdk_call() -> Call:
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi import models as open_api_models

    config = open_api_models.Config(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        endpoint=os.environ[ENV_ECS_URL].split("://", 1)[1],
        protocol="http",
        region_id=REGION,
    )
    client = Client(config)

    def call() -> int:
        request = ecs_models.DescribeTasksRequest(
            region_id=REGION, task_status=STATUS, page_number=1, page_size=PAGE_SIZE
        )
        return len(client.describe_tasks(request).body.task_set.task)

    return call


class HttpSendClock:
    """The CPU spent in urllib3 and below (http.client, the socket): sending a request and reading its answer's
    body, which ours and the SDK's both do through requests over urllib3. What a call costs below requests."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0

    def install(self) -> None:
        from urllib3.connectionpool import HTTPConnectionPool
        from urllib3.response import HTTPResponse

        HTTPConnectionPool.urlopen = self._timed(HTTPConnectionPool.urlopen)  # type: ignore[method-assign]
        HTTPResponse.read = self._timed(HTTPResponse.read)  # type: ignore[method-assign]

    def _timed(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:  # already inside one of them: counted there
                return function(*args, **kwargs)
            self._depth += 1
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - started
                self._depth -= 1

        return timed


def measure(call: Call, calls: int, warmup: int, http: HttpSendClock | None = None) -> dict[str, Any]:
    for _ in range(warmup):
        call()
    wall: list[float] = []
    cpu: list[float] = []
    listed = 0
    if http is not None:
        http.seconds = 0.0
    for _ in range(calls):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        listed += call()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    result: dict[str, Any] = {"wall": wall, "cpu": cpu, "listed": listed}
    if http is not None:
        result["http_cpu"] = http.seconds / calls
    return result


class Part:
    """One part of our own work per call, and how to leave it out for a block of calls (and put it back)."""

    def __init__(self, leave_out: Callable[[], None], put_back: Callable[[], None]) -> None:
        self.leave_out, self.put_back = leave_out, put_back


def our_parts() -> dict[str, Part]:
    """The JSON log line (the record, its formatting and its write to stderr); its write alone (formatted,
    then dropped); and validating the answer into typed models (a `TaskPage` made without validation
    instead, which the caller reads the same way)."""
    import logging

    from shared.ecs.models import TaskPage
    from shared.log import JsonFormatter, logger

    class FormatOnly(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)

    format_only = FormatOnly()
    format_only.setFormatter(JsonFormatter())
    handlers: list[logging.Handler] = []

    def drop_writes() -> None:
        handlers[:] = logger.handlers
        logger.handlers = [format_only]

    def restore_writes() -> None:
        logger.handlers = list(handlers)

    def unvalidated(cls: type[TaskPage], /, data: Any, **_: Any) -> TaskPage:
        return cls.model_construct(region_id=str(data.get("RegionId") or REGION))

    def skip_validation() -> None:
        TaskPage.model_validate = classmethod(unvalidated)  # type: ignore[assignment, method-assign]

    def validate_again() -> None:
        del TaskPage.model_validate

    return {
        PART_LOG_LINE: Part(lambda: logger.setLevel(logging.WARNING), lambda: logger.setLevel(logging.INFO)),
        PART_LOG_WRITE: Part(drop_writes, restore_writes),
        PART_VALIDATION: Part(skip_validation, validate_again),
    }


def measure_parts(call: Call, parts: dict[str, Part], calls: int, warmup: int) -> dict[str, Any]:
    """Per part, the CPU seconds of `calls` calls with it and of `calls` without it, in alternating blocks of
    PART_BLOCK: both halves see the same moments of the machine."""
    for _ in range(warmup):
        call()
    result: dict[str, Any] = {}
    for name, part in parts.items():
        with_part = without_part = 0.0
        for _ in range(max(1, calls // PART_BLOCK)):
            started = time.process_time()
            for _ in range(PART_BLOCK):
                call()
            with_part += time.process_time() - started
            part.leave_out()
            try:
                started = time.process_time()
                for _ in range(PART_BLOCK):
                    call()
                without_part += time.process_time() - started
            finally:
                part.put_back()
        result[name] = {"with": with_part, "without": without_part}
    return result


def main(argv: list[str]) -> None:
    kind, calls, warmup = argv[0], int(argv[1]), int(argv[2])
    if PARTS_FLAG in argv[3:] and kind != KIND_OURS:
        raise SystemExit(f"{PARTS_FLAG} times the parts of our own client's work: only with {KIND_OURS}")
    http = HttpSendClock() if SPLIT_FLAG in argv[3:] else None
    factories = {KIND_OURS: our_call, KIND_SDK: sdk_call}
    call = factories[kind]()
    if PARTS_FLAG in argv[3:]:
        emit_result(measure_parts(call, our_parts(), calls, warmup))
        return
    if http is not None:
        http.install()
    emit_result(measure(call, calls, warmup, http))


if __name__ == "__main__":
    main(sys.argv[1:])
