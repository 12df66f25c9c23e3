"""Peak memory of a process doing the work: `python -m bench.memory_child KIND FILE [REQUESTS]`.

KIND `ours`: serves the FC events in the JSON file FILE (slash commands and Refresh clicks the parent built
and signed) through the FC handler, each deferred answer waited for, then runs one timer-trigger poller tick over
the watches the parent put in the store. KIND `sdk`: the official SDK's client making the same ECS calls:
REQUESTS DescribeTasks pages, then one call per batch of watched task ids in FILE (`[[region, "id,id,..."]]`,
as the tick batches them). Either way only the code under test and the standard library are loaded (the
harness adds `bench.env` and `bench.deferred_tracking`). Prints its peak RSS (VmHWM) in bytes.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from bench.env import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    ENV_ECS_URL,
    PAGE_SIZE,
    REGION,
    STATUS,
    emit_result,
    peak_rss_bytes,
)

KIND_OURS = "ours"
KIND_SDK = "sdk"
HTTP_OK = 200
TASK_IDS_PER_CALL = 100
TASK_ID_PREFIX = "t-"  # a card listing tasks shows their ids


class _Context:
    """What the handlers read of Function Compute's context (no function: the default timeout)."""

    request_id = "bench-memory"
    function = None


def ours(events_path: str) -> dict[str, Any]:
    with open(events_path) as handle:
        events: list[str] = json.load(handle)
    from bench.deferred_tracking import track_deferred_work
    from functions import http, timer

    deferred = track_deferred_work(http.get_app())
    in_ack: list[int] = []  # the requests whose card came back in the acknowledgement (slash commands)
    for number, event in enumerate(events):
        response = http.handler(event.encode(), _Context())
        if response["statusCode"] != HTTP_OK:
            raise RuntimeError(f"the handler answered {response['statusCode']}")
        if TASK_ID_PREFIX in (response.get("body") or ""):
            in_ack.append(number)
        deferred.drain()
    report = timer.handler(b"{}", _Context())
    return {"describe_calls": len(events) + int(report["describe_calls"]), "tick": report, "in_ack": in_ack}


def sdk(batches_path: str, requests: int) -> dict[str, Any]:
    with open(batches_path) as handle:
        batches: list[list[str]] = json.load(handle)
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
    for _ in range(requests):  # one DescribeTasks per command and per click
        request = ecs_models.DescribeTasksRequest(
            region_id=REGION, task_status=STATUS, page_number=1, page_size=PAGE_SIZE
        )
        client.describe_tasks(request)
    for region_id, task_ids in batches:
        wanted = len(task_ids.split(","))
        request = ecs_models.DescribeTasksRequest(region_id=region_id, task_ids=task_ids, page_size=TASK_IDS_PER_CALL)
        listed = client.describe_tasks(request).body.task_set.task
        if len(listed) != wanted:
            raise RuntimeError(f"{region_id}: the SDK listed {len(listed)} of {wanted} watched tasks")
    return {"describe_calls": requests + len(batches)}


def main(argv: list[str]) -> None:
    kind, path = argv[0], argv[1]
    result = ours(path) if kind == KIND_OURS else sdk(path, int(argv[2]))
    result["peak_rss_bytes"] = peak_rss_bytes()
    emit_result(result)


if __name__ == "__main__":
    main(sys.argv[1:])
