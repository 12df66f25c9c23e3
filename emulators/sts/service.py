"""STS AssumeRole as the emulator answers it: checks in the service's order, its error codes and statuses,
answers in JSON or XML (V1's `Format`). No sockets here: server.py hands requests in.

Roles are configured per test or demo: which principals a role trusts (its trust policy), its maximum
session duration, its external id condition and its own permissions. Callers are the "home" account's
access keys, each belonging to a principal (the function's role).
"""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from emulators.sts.sessions import IssuedSession, Policy, PolicyGrammarError, SessionRegistry, parse_policy
from emulators.sts.verify import KeyRecord, OfficialVerifier, SignedRequest, SigningError

API_VERSION = "2015-04-01"
ACTION_ASSUME_ROLE = "AssumeRole"
HOST_ID = "sts.aliyuncs.com"
JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "text/xml;charset=utf-8"
ROLE_ARN_RE = re.compile(r"acs:ram::(?P<account>[0-9]{16}):role/(?P<name>[A-Za-z0-9.-]{1,64})")
SESSION_NAME_RE = re.compile(r"[A-Za-z0-9.@_-]{2,64}")
EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9=,.@:/_-]{2,1224}")
MIN_DURATION_S = 900
DEFAULT_DURATION_S = 3600
MAX_POLICY_CHARS = 2048
NO_PERMISSION_MESSAGE = "You are not authorized to do this action. You should be authorized by RAM."
POLICY_SIZE_MESSAGE = f"The size of Policy must be smaller than {MAX_POLICY_CHARS} bytes."
V1_COMMON = frozenset(
    {"Action", "Format", "Version", "AccessKeyId", "SignatureMethod", "Timestamp", "SignatureVersion",
     "SignatureNonce", "SecurityToken", "Signature"}
)  # fmt: skip
_KEY_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Caller:
    """A home-account access key and the principal (RAM role ARN) it belongs to."""

    access_key_secret: str = field(repr=False)
    principal_arn: str
    security_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Role:
    arn: str
    # Principals the trust policy names: role ARNs, or `acs:ram::<account id>:root` for a whole account.
    trusted: frozenset[str]
    max_session_duration_s: int = DEFAULT_DURATION_S
    external_id: str | None = field(default=None, repr=False)
    permissions: Policy = field(default_factory=lambda: Policy.allowing(["ecs:*"]))

    @property
    def account_id(self) -> str:
        match = ROLE_ARN_RE.fullmatch(self.arn)
        if match is None:
            raise ValueError(f"not a role ARN: {self.arn}")
        return match.group("account")

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[1]

    def trusts(self, principal_arn: str) -> bool:
        account = ROLE_ARN_RE.fullmatch(principal_arn)
        root = f"acs:ram::{account.group('account')}:root" if account else None
        return principal_arn in self.trusted or (root is not None and root in self.trusted)


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class StsCall:
    """One request as the emulator saw it, for tests to inspect."""

    access_key_id: str | None
    params: Mapping[str, str]
    signature_version: str
    http_status: int
    error_code: str | None


@dataclass(frozen=True)
class StsError(Exception):
    status: int
    code: str
    message: str


def invalid(name: str) -> StsError:
    return StsError(400, f"InvalidParameter.{name}", f"The parameter {name} is wrongly formed.")


class StsService:
    def __init__(
        self,
        *,
        callers: Mapping[str, Caller],
        roles: Iterable[Role],
        registry: SessionRegistry,
        clock: Callable[[], datetime],
    ) -> None:
        self._callers = dict(callers)
        self._roles = {role.arn.lower(): role for role in roles}
        self._registry = registry
        self._clock = clock
        self._verifier = OfficialVerifier(self._key, clock)
        self._lock = threading.Lock()
        self._calls: list[StsCall] = []
        self._throttle_next = 0

    # --- test controls ---------------------------------------------------------------------------

    def throttle(self, count: int) -> None:
        """Answer the next `count` AssumeRole calls with Throttling.User."""
        with self._lock:
            self._throttle_next = count

    @property
    def calls(self) -> list[StsCall]:
        with self._lock:
            return list(self._calls)

    # --- one request -----------------------------------------------------------------------------

    def handle(self, request: SignedRequest) -> Reply:
        v3 = "authorization" in request.headers
        params = {**request.query, **request.form}
        api_params = {k: v for k, v in params.items() if v3 or k not in V1_COMMON}
        xml = not v3 and params.get("Format", "JSON").upper() == "XML"
        request_id = str(uuid.uuid4()).upper()
        access_key_id: str | None = None
        try:
            if request.path != "/":
                raise StsError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url.")
            access_key_id = self._verifier.verify(request)
            action = request.headers.get("x-acs-action", "") if v3 else params.get("Action", "")
            version = request.headers.get("x-acs-version", "") if v3 else params.get("Version", "")
            if version != API_VERSION:
                raise StsError(400, "InvalidVersion", "Specified parameter Version is not valid.")
            if action != ACTION_ASSUME_ROLE:
                raise StsError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url.")
            body = self._assume_role(access_key_id, api_params)
            reply = Reply(200, *_render({"RequestId": request_id, **body}, xml, "AssumeRoleResponse"))
            code = None
        except SigningError as error:
            reply, code = self._error(error.status, error.code, error.message, request_id, xml), error.code
        except StsError as error:
            reply, code = self._error(error.status, error.code, error.message, request_id, xml), error.code
        with self._lock:
            self._calls.append(StsCall(access_key_id, api_params, "v3" if v3 else "v1", reply.status, code))
        return reply

    def _error(self, status: int, code: str, message: str, request_id: str, xml: bool) -> Reply:
        body = {"RequestId": request_id, "HostId": HOST_ID, "Code": code, "Message": message}
        return Reply(status, *_render(body, xml, "Error"))

    def _key(self, access_key_id: str) -> KeyRecord | None:
        caller = self._callers.get(access_key_id)
        return None if caller is None else KeyRecord(caller.access_key_secret, caller.security_token)

    def _assume_role(self, access_key_id: str, params: Mapping[str, str]) -> dict[str, object]:
        with self._lock:
            if self._throttle_next > 0:
                self._throttle_next -= 1
                raise StsError(400, "Throttling.User", "Request was denied due to user flow control.")
        for name in ("RoleArn", "RoleSessionName"):
            if not params.get(name):
                raise StsError(400, f"Missing{name}", f"{name} is mandatory for this action.")
        arn = params["RoleArn"]
        if not ROLE_ARN_RE.fullmatch(arn):
            raise invalid("RoleArn")
        role = self._roles.get(arn.lower())
        if role is None:
            raise StsError(404, "EntityNotExist.Role", f"The specified Role not exists: {arn.rsplit('/', 1)[1]}.")
        caller = self._callers[access_key_id]
        external_id = params.get("ExternalId")
        if external_id is not None and not EXTERNAL_ID_RE.fullmatch(external_id):
            raise invalid("ExternalId")
        if not role.trusts(caller.principal_arn) or (role.external_id is not None and external_id != role.external_id):
            raise StsError(
                403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM."
            )
        session_name = params["RoleSessionName"]
        if not SESSION_NAME_RE.fullmatch(session_name):
            raise invalid("RoleSessionName")
        duration = _duration(params.get("DurationSeconds"), role)
        policy_text = params.get("Policy")
        session_policy = None
        if policy_text is not None:
            if len(policy_text) > MAX_POLICY_CHARS:
                raise StsError(
                    400, "InvalidParameter.PolicySize", "The size of Policy must be smaller than 2048 bytes."
                )
            try:
                session_policy = parse_policy(policy_text)
            except PolicyGrammarError:
                raise StsError(
                    400, "InvalidParameter.PolicyGrammar", "The parameter Policy has not passed grammar check."
                ) from None
        now = self._clock().astimezone(timezone.utc).replace(microsecond=0)
        expiration = now + timedelta(seconds=duration)
        issued = IssuedSession(
            access_key_id="STS." + "".join(secrets.choice(_KEY_CHARS) for _ in range(28)),
            access_key_secret="".join(secrets.choice(_KEY_CHARS) for _ in range(44)),
            security_token="CAIS" + secrets.token_urlsafe(96),
            account_id=role.account_id,
            role_arn=role.arn,
            session_name=session_name,
            expiration=expiration,
            role_policy=role.permissions,
            session_policy=session_policy,
            policy_text=policy_text,
        )
        self._registry.add(issued)
        return {
            "AssumedRoleUser": {
                "Arn": f"acs:ram::{role.account_id}:role/{role.name.lower()}/{session_name}",
                "AssumedRoleId": f"{secrets.randbelow(10**18):018d}:{session_name}",
            },
            "Credentials": {
                "AccessKeyId": issued.access_key_id,
                "AccessKeySecret": issued.access_key_secret,
                "SecurityToken": issued.security_token,
                "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }


def _duration(raw: str | None, role: Role) -> int:
    if raw is None:
        return min(DEFAULT_DURATION_S, role.max_session_duration_s)
    if not raw.isdigit() or not MIN_DURATION_S <= int(raw) <= role.max_session_duration_s:
        raise StsError(
            400,
            "InvalidParameter.DurationSeconds",
            f"The Min/Max value of DurationSeconds is 15min/{role.max_session_duration_s // 60}min.",
        )
    return int(raw)


def _render(body: Mapping[str, object], xml: bool, root: str) -> tuple[str, bytes]:
    if not xml:
        return JSON_TYPE, json.dumps(body).encode()
    return XML_TYPE, f'<?xml version="1.0" encoding="UTF-8"?><{root}>{_xml(body)}</{root}>'.encode()


def _xml(value: object) -> str:
    if isinstance(value, Mapping):
        return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items())
    return escape(str(value))
