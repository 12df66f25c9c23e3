"""ActionTrail's API-call events, as EventBridge delivers them: read and checked where they enter.

EventBridge hands Function Compute a CloudEvent (a batch: a JSON array of them). Alibaba documents two forms
of the same ActionTrail record: `source` `acs.actiontrail` with `type` `actiontrail:ActionTrail:ApiCall`
(EventBridge's "ActionTrail events" page) and ECS's own event source, `acs.ecs` with `ecs:ActionTrail:ApiCall`
(ECS's events page). Both carry the management event in `data` (ActionTrail's "management event structure":
`eventName`, `acsRegion`, `eventTime`, `eventId`, `userIdentity`, `requestParameters`, `responseElements`) and
Alibaba's extension attributes beside the CloudEvent's own (`aliyunaccountid`, `aliyunregionid`, ...).

Every field used is checked here, before anything of it can reach a network call, a query or a message:
the region must be in region-id form, the account id sixteen digits or so, ids and names short and of a
known alphabet. Of the caller, only a RAM user name or a role session name is kept: never an AccessKey id,
a principal id or a source IP. An event that fails a check is `Unreadable` with a reason quoting nothing of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.ecs.query import TaskAction
from shared.ecs.sessions import POLLER_SESSION_NAME, USER_SESSION_PREFIX
from shared.region_ids import is_region_id

# (source, type) pairs of ActionTrail's API-call events: ActionTrail's own source and ECS's.
API_CALL_TYPES = frozenset(
    {
        ("acs.actiontrail", "actiontrail:ActionTrail:ApiCall"),
        ("acs.ecs", "ecs:ActionTrail:ApiCall"),
    }
)
# The calls that create a task DescribeTasks lists (its TaskAction values), and the one that cancels one.
TASK_ACTIONS = tuple(action.value for action in TaskAction)
CANCEL_TASK = "CancelTask"
EVENT_NAMES = (*TASK_ACTIONS, CANCEL_TASK)
# Where each call names the resource its task works on (requestParameters), for a response without a TaskId.
RESOURCE_PARAMETERS: dict[str, str] = {
    TaskAction.IMPORT_IMAGE: "ImageName",
    TaskAction.EXPORT_IMAGE: "ImageId",
    TaskAction.REDEPLOY_INSTANCE: "InstanceId",
    TaskAction.MODIFY_DISK_SPEC: "DiskId",
    TaskAction.ARCHIVE_SNAPSHOT: "SnapshotId",
}

MAX_EVENT_BYTES = 256 * 1024
MAX_BATCH = 100
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
TASK_ID_RE = re.compile(r"t-[A-Za-z0-9]{1,62}")
RESOURCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ACCOUNT_ID_RE = re.compile(r"[0-9]{1,20}")
# RAM user names (1-64 of letters, digits, `.`, `_`, `-`, `@`); role session names (2-64, `.@_-` too).
NAME_RE = re.compile(r"[A-Za-z0-9._@-]{1,64}")
SLACK_SESSION_RE = re.compile(re.escape(USER_SESSION_PREFIX) + r"(?P<user>[UW][A-Z0-9]{2,20})")
ROLE_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

CALLER_USER = "ram-user"
CALLER_SESSION = "assumed-role"
CALLER_ROOT = "root-account"


class Unreadable(ValueError):
    """An event that is not a checked API call of interest; the reason names the rule, never the value."""


@dataclass(frozen=True)
class Caller:
    """Who made the call: a RAM user's name or a role's session name (with the role), in an account."""

    kind: str  # CALLER_USER, CALLER_SESSION or CALLER_ROOT
    name: str
    account_id: str
    role_name: str | None = None

    @property
    def slack_user(self) -> str | None:
        """The Slack user a `slack-<user id>` session is named after (ecs-tasks names its sessions so)."""
        match = SLACK_SESSION_RE.fullmatch(self.name) if self.kind == CALLER_SESSION else None
        return match.group("user") if match else None

    @property
    def is_ecs_tasks(self) -> bool:
        """A session ecs-tasks itself opened: a Slack user's or the poller's."""
        return self.kind == CALLER_SESSION and (self.slack_user is not None or self.name == POLLER_SESSION_NAME)

    def shown(self) -> str:
        """The name a channel sees: a Slack mention for a Slack user's session, else the user or session name."""
        user = self.slack_user
        if user is not None:
            return f"<@{user}>"
        return "the account's owner" if self.kind == CALLER_ROOT else self.name


@dataclass(frozen=True)
class ApiCall:
    """One checked API call of interest: what was called, where, when, by whom, on which task or resource."""

    key: str  # source + id: the same event delivered twice has the same key
    action: str  # one of EVENT_NAMES
    region_id: str
    account_id: str
    event_time: datetime
    caller: Caller | None  # None: a caller with no name to show (a service, an unknown kind)
    task_id: str | None  # the task the call started (responseElements) or cancelled (requestParameters)
    resource_id: str | None  # what the task works on, when the call names it

    @property
    def cancels(self) -> bool:
        return self.action == CANCEL_TASK


def read_batch(raw: bytes | str | Mapping[str, Any] | list[Any]) -> list[Any]:
    """The CloudEvents of one delivery: a JSON object, or a JSON array of them (a batch)."""
    if isinstance(raw, (bytes, str)):
        if len(raw) > MAX_EVENT_BYTES:
            raise Unreadable("the delivery is too large")
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise Unreadable("the delivery is not JSON") from error
    if isinstance(raw, Mapping):
        return [raw]
    if isinstance(raw, list) and len(raw) <= MAX_BATCH:
        return list(raw)
    raise Unreadable("the delivery is not a CloudEvent nor a batch of them")


def parse_api_call(event: object) -> ApiCall:
    """The checked API call in one CloudEvent; Unreadable when it is not one of ours or fails a check."""
    if not isinstance(event, Mapping):
        raise Unreadable("the event is not an object")
    source, kind = event.get("source"), event.get("type")
    if (source, kind) not in API_CALL_TYPES:
        raise Unreadable("not an ActionTrail API call")
    data = event.get("data")
    if not isinstance(data, Mapping):
        raise Unreadable("the event has no data object")
    event_id = _matching(event.get("id"), ID_RE, "id")
    action = data.get("eventName")
    if action not in EVENT_NAMES:
        raise Unreadable("not a task call")
    region_id = data.get("acsRegion")
    if not is_region_id(region_id):
        raise Unreadable("acsRegion is not a region id")
    account_id = _matching(event.get("aliyunaccountid"), ACCOUNT_ID_RE, "aliyunaccountid")
    event_time = _time(data.get("eventTime"))
    request = _object(data.get("requestParameters"))
    response = _object(data.get("responseElements"))
    task_id = request.get("TaskId") if action == CANCEL_TASK else response.get("TaskId")
    resource = request.get(RESOURCE_PARAMETERS.get(str(action), ""))
    return ApiCall(
        key=f"{source}|{event_id}",
        action=str(action),
        region_id=str(region_id),
        account_id=account_id,
        event_time=event_time,
        caller=_caller(data.get("userIdentity"), account_id),
        task_id=_matching(task_id, TASK_ID_RE, "TaskId") if task_id is not None else None,
        resource_id=str(resource) if isinstance(resource, str) and RESOURCE_RE.fullmatch(resource) else None,
    )


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _matching(value: object, pattern: re.Pattern[str], name: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise Unreadable(f"{name} is not in its form")
    return value


def _time(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise Unreadable("eventTime is not a time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise Unreadable("eventTime is not a time") from error
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _caller(identity: object, account_id: str) -> Caller | None:
    """The caller's name, from `userIdentity`: a RAM user's `userName`; for an assumed role, the session after
    the role in `userName` (`role:session`). Nothing else of the identity is kept."""
    if not isinstance(identity, Mapping):
        return None
    kind = identity.get("type")
    owner = identity.get("accountId")
    owner_id = owner if isinstance(owner, str) and ACCOUNT_ID_RE.fullmatch(owner) else account_id
    name = identity.get("userName")
    if kind == CALLER_ROOT:
        return Caller(CALLER_ROOT, "root", owner_id)
    if not isinstance(name, str):
        return None
    if kind == CALLER_USER and NAME_RE.fullmatch(name):
        return Caller(CALLER_USER, name, owner_id)
    if kind == CALLER_SESSION:
        role, _, session = name.partition(":")
        if NAME_RE.fullmatch(session) and ROLE_NAME_RE.fullmatch(role):
            return Caller(CALLER_SESSION, session, owner_id, role_name=role)
    return None
