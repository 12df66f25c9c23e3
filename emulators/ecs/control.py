"""The control API under /_emulator/ for other processes (the demo, multi-process tests).

Unsigned, and never subject to injected faults. Every answer is JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from emulators.ecs.faults import FaultConfig
from emulators.ecs.records import RecordedCall
from emulators.ecs.tasks import SeedError
from emulators.ecs.timefmt import format_iso

CONTROL_PREFIX = "/_emulator/"
GET = "GET"
POST = "POST"


class ControlTarget(Protocol):
    faults: FaultConfig

    @property
    def calls(self) -> list[RecordedCall]: ...

    def reset_calls(self) -> None: ...

    def add_task(self, **fields: Any) -> str: ...

    def advance(self, seconds: float) -> datetime: ...

    def task_now(self) -> datetime: ...


@dataclass(frozen=True)
class ControlAnswer:
    status: int
    payload: Any

    def body(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode()


def handle_control(target: ControlTarget, method: str, path: str, body: bytes) -> ControlAnswer:
    route = path[len(CONTROL_PREFIX) :].strip("/")
    try:
        return _route(target, method.upper(), route, body)
    except (ValueError, TypeError, SeedError) as exc:
        # Bad JSON or bad values: say what was wrong, as a client error.
        return ControlAnswer(400, {"error": str(exc)})


def _route(target: ControlTarget, method: str, route: str, body: bytes) -> ControlAnswer:
    if (method, route) == (GET, "calls"):
        return ControlAnswer(200, [call.as_json() for call in target.calls])
    if (method, route) == (POST, "reset-calls"):
        target.reset_calls()
        return ControlAnswer(200, {"ok": True})
    if (method, route) == (GET, "now"):
        return ControlAnswer(200, {"now": format_iso(target.task_now())})
    if (method, route) == (POST, "advance"):
        seconds = float(_json_object(body).get("seconds", 0))
        return ControlAnswer(200, {"now": format_iso(target.advance(seconds))})
    if (method, route) == (GET, "faults"):
        return ControlAnswer(200, target.faults.as_dict())
    if (method, route) == (POST, "faults"):
        target.faults.update(_json_object(body))
        return ControlAnswer(200, target.faults.as_dict())
    if (method, route) == (POST, "tasks"):
        return ControlAnswer(200, {"TaskId": target.add_task(**_json_object(body))})
    return ControlAnswer(404, {"error": f"no control route {method} {CONTROL_PREFIX}{route}"})


def _json_object(body: bytes) -> Mapping[str, Any]:
    data = json.loads(body or b"{}")
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data
