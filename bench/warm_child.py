"""Warm DescribeTasks round trips in one process: `python -m bench.warm_child KIND CALLS WARMUP`.

KIND is `ours` (the production wiring: `build_ecs_client(Settings())`, JSON logs configured as the FC handler
configures them) or `sdk` (the official SDK's client). After WARMUP unmeasured calls, each of CALLS calls is
timed with `perf_counter` (wall) and `process_time` (this process's CPU: the client's own work, since the
emulator runs in another process). Prints the samples in seconds.
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


def measure(call: Call, calls: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        call()
    wall: list[float] = []
    cpu: list[float] = []
    listed = 0
    for _ in range(calls):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        listed += call()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return {"wall": wall, "cpu": cpu, "listed": listed}


def main(argv: list[str]) -> None:
    kind, calls, warmup = argv[0], int(argv[1]), int(argv[2])
    factories = {KIND_OURS: our_call, KIND_SDK: sdk_call}
    emit_result(measure(factories[kind](), calls, warmup))


if __name__ == "__main__":
    main(sys.argv[1:])
