"""EventBridge's delivery of ActionTrail API-call events to a function, for tests, the demo and the bench.

`api_call_event` builds one CloudEvent in the documented shape (see README.md for the pages); `event_from_call`
builds the one ActionTrail would publish for a call the ECS emulator recorded, naming who made it.
`EventBridgeStandIn.publish` hands it to the handler as bytes, once — or, by the injected random source,
twice or late.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emulators.ecs.records import RecordedCall

FIXTURES = Path(__file__).parent / "fixtures"
ACTIONTRAIL = ("acs.actiontrail", "actiontrail:ActionTrail:ApiCall")
ECS_SOURCE = ("acs.ecs", "ecs:ActionTrail:ApiCall")


def _sample() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "actiontrail-apicall.json").read_text(encoding="utf-8"))
    return loaded


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_call_event(
    *,
    action: str,
    region_id: str,
    account_id: str,
    at: datetime,
    user: str | None = None,
    session: tuple[str, str] | None = None,
    request: Mapping[str, Any] | None = None,
    response: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    form: tuple[str, str] = ACTIONTRAIL,
) -> dict[str, Any]:
    """One API-call CloudEvent. `user`: a RAM user's name; `session`: (role name, session name) of an assumed
    role; neither: the account's root."""
    event = _sample()
    data = event["data"]
    event["id"] = event_id or str(uuid.uuid4())
    event["source"], event["type"] = form
    event["aliyunaccountid"] = account_id
    event["aliyunregionid"] = region_id
    event["time"] = _time(at)
    event["subject"] = f"acs:{form[0].split('.')[-1]}:{region_id}:{account_id}:{action}"
    identity: dict[str, Any] = copy.deepcopy(data["userIdentity"])
    identity["accountId"] = account_id
    if session is not None:
        identity.update(type="assumed-role", userName=f"{session[0]}:{session[1]}")
        identity["accessKeyId"] = "STS.NUQNP4PiGyckMsNiGEL****"
    elif user is not None:
        identity.update(type="ram-user", userName=user)
    else:
        identity = {"type": "root-account", "principalId": account_id, "accountId": account_id}
    data.update(
        eventId=event["id"],
        eventTime=_time(at),
        acsRegion=region_id,
        eventName=action,
        userIdentity=identity,
        requestParameters={"RegionId": region_id, **(request or {})},
        responseElements={"RequestId": data["requestId"], **(response or {})},
    )
    return event


def event_from_call(call: RecordedCall, *, form: tuple[str, str] = ACTIONTRAIL) -> dict[str, Any]:
    """ActionTrail's event for a write call the ECS emulator answered, with its caller and its answer."""
    caller = call.caller
    if caller is None or call.region_id is None or call.http_status != 200:
        raise ValueError("ActionTrail records calls that were authenticated and answered")
    who: dict[str, Any] = {}
    if caller.type == "ram-user":
        who["user"] = caller.user_name
    elif caller.type == "assumed-role" and caller.user_name:
        role, _, session = caller.user_name.partition(":")
        who["session"] = (role, session)
    event = api_call_event(
        action=call.action,
        region_id=call.region_id,
        account_id=caller.account_id,
        at=call.at,
        request={k: v for k, v in call.params.items() if k not in ("Action", "Version", "Format")},
        response=call.result or {},
        # ActionTrail's event id for the call: the same call always makes the same event.
        event_id=call.request_id,
        form=form,
        **who,
    )
    event["data"]["requestId"] = call.request_id
    return event


@dataclass
class EventBridgeStandIn:
    """Publishes events to `deliver` (the handler, called with bytes) at least once: `duplicate_rate` of them
    twice, `late_rate` of them only on `flush` (after later ones), by the injected `rand` (0 <= x < 1)."""

    deliver: Callable[[bytes], Any]
    rand: Callable[[], float] = lambda: 1.0
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    duplicated: int = 0
    delivered: int = 0
    held: list[bytes] = field(default_factory=list)

    def publish(self, event: Mapping[str, Any] | list[Mapping[str, Any]]) -> list[Any]:
        body = json.dumps(event).encode("utf-8")
        if self.rand() < self.late_rate:
            self.held.append(body)
            return []
        answers = [self._send(body)]
        if self.rand() < self.duplicate_rate:
            self.duplicated += 1
            answers.append(self._send(body))
        return answers

    def flush(self) -> list[Any]:
        """Deliver what was held back (late), in order."""
        held, self.held = self.held, []
        return [self._send(body) for body in held]

    def _send(self, body: bytes) -> Any:
        self.delivered += 1
        return self.deliver(body)
