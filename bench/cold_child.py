"""One cold start, in the fresh interpreter the parent just spawned: `python -m bench.cold_child KIND SPAWNED [EVENT]`.

KIND is `handler` (our FC handler serves its first request, a slash command or a click, whose card is in the
acknowledgement or at the response_url before the acknowledgement returns), `client` (our ECS client alone:
import, build from settings, first DescribeTasks) or `sdk` (the official SDK: import, build the client, the
same DescribeTasks). SPAWNED is the parent's `time.monotonic()` just before it spawned this process: on Linux
that clock is system-wide, so every time reported here counts from the spawn, interpreter start-up included.
Only the standard library is imported before the measured imports.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from bench.env import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    ENV_ECS_URL,
    PAGE_SIZE,
    REGION,
    STATUS,
    emit_result,
)

KIND_HANDLER = "handler"
KIND_CLIENT = "client"
KIND_SDK = "sdk"
# Reported, so the parent can say what the cold path loaded (and a regression shows in the document).
WATCHED_MODULES = ("sqlalchemy", "alibabacloud_ecs20140526", "pydantic_settings", "requests", "slack_bolt")


def loaded_modules() -> dict[str, bool]:
    return {name: name in sys.modules for name in WATCHED_MODULES}


def cold_handler(spawned: float, event_path: str) -> dict[str, Any]:
    with open(event_path, "rb") as handle:
        event = handle.read()
    started = time.monotonic()
    from functions import http

    imported = time.monotonic()
    response = http.handler(event, _Context())
    answered = time.monotonic()  # inline: the card is in this ack, or was at the response_url before it
    return {
        "started": started - spawned,
        "imported": imported - spawned,
        "answered": answered - spawned,
        "status": response["statusCode"],
        "body": response.get("body") or "",
        "modules": loaded_modules(),
    }


def cold_client(spawned: float) -> dict[str, Any]:
    started = time.monotonic()
    from bot.wiring.build import build_ecs_client
    from shared.config import Settings

    imported = time.monotonic()
    client = build_ecs_client(Settings())
    page = client.describe_tasks(REGION, status=STATUS, page_size=PAGE_SIZE)
    answered = time.monotonic()
    return {
        "started": started - spawned,
        "imported": imported - spawned,
        "answered": answered - spawned,
        "tasks": len(page.tasks),
    }


def cold_sdk(spawned: float) -> dict[str, Any]:
    started = time.monotonic()
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi import models as open_api_models

    imported = time.monotonic()
    host = os.environ[ENV_ECS_URL].split("://", 1)[1]
    config = open_api_models.Config(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        endpoint=host,
        protocol="http",
        region_id=REGION,
    )
    client = Client(config)
    request = ecs_models.DescribeTasksRequest(region_id=REGION, task_status=STATUS, page_number=1, page_size=PAGE_SIZE)
    response = client.describe_tasks(request)
    answered = time.monotonic()
    return {
        "started": started - spawned,
        "imported": imported - spawned,
        "answered": answered - spawned,
        "tasks": len(response.body.task_set.task),
    }


class _Context:
    """The attribute of Function Compute's context that the handler reads."""

    request_id = "bench-cold-start"


def main(argv: list[str]) -> None:
    kind, spawned = argv[0], float(argv[1])
    if kind == KIND_HANDLER:
        result = cold_handler(spawned, argv[2])
    elif kind == KIND_CLIENT:
        result = cold_client(spawned)
    elif kind == KIND_SDK:
        result = cold_sdk(spawned)
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    emit_result(result)


if __name__ == "__main__":
    main(sys.argv[1:])
