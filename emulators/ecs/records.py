"""What the emulator was asked: one record per ECS request, for tests and the demo to assert on."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from emulators.ecs.timefmt import format_iso


@dataclass(frozen=True)
class Caller:
    """Who made a call, as ActionTrail's `userIdentity` names them: a RAM user (by the AccessKey the emulator
    was told is theirs), a role's session (STS credentials), or the account's root (any other key)."""

    type: str  # "ram-user", "assumed-role" or "root-account"
    account_id: str
    user_name: str | None = None  # a RAM user's name; for a session, `role:session` as ActionTrail writes it


@dataclass(frozen=True)
class RecordedCall:
    action: str
    region_id: str | None
    # The call's own parameters (V1 signing parameters left out), so V1 and V3 calls compare alike.
    params: dict[str, str]
    signature_version: str  # "v1" or "v3"
    http_status: int | None  # None when the connection was dropped on purpose
    error_code: str | None
    request_id: str | None
    method: str
    at: datetime
    access_key_id: str | None = None  # set once the signature checked out
    fault: str | None = None  # the injected fault, if any ("drop", "5xx", "throttle", "malformed")
    caller: Caller | None = None  # set once the signature checked out
    result: dict[str, Any] | None = None  # a write call's answer (ImportImage's TaskId), for ActionTrail's event

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = format_iso(self.at)
        return data


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []

    def append(self, call: RecordedCall) -> None:
        with self._lock:
            self._calls.append(call)

    def snapshot(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
