"""AssumeRole on the wire, compared with the official `alibabacloud-sts20150401` SDK (test-only dependency).

Given the same inputs (account, session, credentials) and the same fixed time and nonce, the SDK and our
StsClient each send one AssumeRole to a loopback recorder; the requests are compared:

- V3: the query string is byte-for-byte the same; every header we sign carries the SDK's value; our
  Authorization is what the SDK's own `get_authorization` computes over the headers we sign. (The SDK
  also signs `user-agent`, `accept` and two `x-acs-*` headers of its own, so its signature covers more.)
- V1: the parameters are the same, names and values, but for `Format` (the SDK sends `json`, we send
  `JSON`; the service takes either) and so `Signature`; our Signature is what the SDK's
  `get_rpcsignature` computes over our parameters, and the SDK's over its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import pytest
from alibabacloud_openapi_util.client import Client as OfficialSigner
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi.utils import Utils as SdkUtils

from shared.ecs.accounts import Account
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.sessions import Purpose, SessionSpec
from shared.ecs.sts import STS_API_VERSION, StsClient
from shared.ecs.transport import ApiTransport
from shared.errors import StsApiError
from tests.sts_support import PROD, STAGING, RawRequest, recorder, sdk_sts_client

FIXED_TIME = datetime(2026, 12, 2, 7, 0, 0, tzinfo=timezone.utc)
FIXED_NONCE = "4b6f0c1e9d2a4e7f8a3b5c6d7e8f9012"
KEY_ID, SECRET, TOKEN = "LTAI5tFunctionRoleKey", "function-role-secret", "CAIS-function-role-token"
V3_SIGNED_BY_US = ("host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-security-token",
                   "x-acs-signature-nonce", "x-acs-version")  # fmt: skip


@pytest.fixture(autouse=True)
def _fixed_sdk_time_and_nonce(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(SdkUtils, "get_timestamp", staticmethod(lambda: "2026-12-02T07:00:00Z"))
    monkeypatch.setattr(SdkUtils, "get_nonce", staticmethod(lambda: FIXED_NONCE))
    yield


def _both_send(
    signature: str, session: SessionSpec, token: str | None = TOKEN, account: Account = PROD
) -> tuple[RawRequest, RawRequest]:
    with recorder() as (host_port, seen):
        sdk = sdk_sts_client(host_port, signature=signature, key_id=KEY_ID, secret=SECRET, token=token)
        sdk.assume_role(
            sts_models.AssumeRoleRequest(
                role_arn=account.role_arn,
                role_session_name=session.name,
                duration_seconds=3600,
                policy=session.policy,
                external_id=account.external_id,
            )
        )
        transport = ApiTransport(
            StaticCredentialsProvider(Credentials(KEY_ID, SECRET, token)),
            endpoint=f"http://{host_port}",
            signature_version="v1" if signature == "v1" else "v3",
            api_version=STS_API_VERSION,
            error_type=StsApiError,
            clock=lambda: FIXED_TIME,
            nonce=lambda: FIXED_NONCE,
        )
        StsClient(transport).assume_role(account, session)
    assert len(seen) == 2
    return seen[0], seen[1]


SESSIONS = [
    SessionSpec.for_user("U0123ABC", Purpose.READ),
    SessionSpec.for_user("W0ENTERPRISE9", Purpose.CANCEL),
    SessionSpec.for_poller(),
]


@pytest.mark.parametrize("session", SESSIONS, ids=lambda s: f"{s.name}-{s.purpose.name}")
@pytest.mark.parametrize("account", [PROD, STAGING], ids=lambda a: a.name)
def test_v3_assume_role_matches_the_sdk(session: SessionSpec, account: Account) -> None:
    # Given the same inputs, time and nonce; when the SDK and our client each call AssumeRole (V3)
    sdk, ours = _both_send("v3", session, account=account)

    # Then the query is byte for byte the SDK's, and so are the method and path
    assert (ours.method, ours.target) == (sdk.method, sdk.target)
    assert ours.body == sdk.body == b""
    # And every header we sign has the SDK's value
    signed = {name: ours.headers[name] for name in V3_SIGNED_BY_US}
    assert signed == {name: sdk.headers[name] for name in V3_SIGNED_BY_US}
    # And our signature is the SDK's algorithm over the headers we sign
    query = dict(parse_qsl(ours.query_string, keep_blank_values=True))
    expected = OfficialSigner.get_authorization(
        _SdkRequest("POST", "/", query, signed),
        "ACS3-HMAC-SHA256",
        ours.headers["x-acs-content-sha256"],
        KEY_ID,
        SECRET,
    )
    assert ours.headers["authorization"] == expected


def test_v3_without_a_token_matches_the_sdk() -> None:
    sdk, ours = _both_send("v3", SESSIONS[0], token=None)
    assert ours.target == sdk.target
    assert "x-acs-security-token" not in ours.headers and "x-acs-security-token" not in sdk.headers
    for name in ("x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"):
        assert ours.headers[name] == sdk.headers[name]


@pytest.mark.parametrize("session", SESSIONS, ids=lambda s: f"{s.name}-{s.purpose.name}")
def test_v1_assume_role_matches_the_sdk(session: SessionSpec) -> None:
    # Given the same inputs, time and nonce; when both call AssumeRole signed V1
    sdk, ours = _both_send("v1", session)
    sdk_params = dict(parse_qsl(sdk.query_string, keep_blank_values=True))
    our_params = dict(parse_qsl(ours.query_string, keep_blank_values=True))

    # Then the parameters are the SDK's, but for Format's case (and hence the signature)
    assert (sdk_params.pop("Format"), our_params.pop("Format")) == ("json", "JSON")
    sdk_signature, our_signature = sdk_params.pop("Signature"), our_params.pop("Signature")
    assert our_params == sdk_params
    # And each signature is the SDK's algorithm over what was sent
    assert OfficialSigner.get_rpcsignature({**our_params, "Format": "JSON"}, "POST", SECRET) == our_signature
    assert OfficialSigner.get_rpcsignature({**sdk_params, "Format": "json"}, "POST", SECRET) == sdk_signature
    assert ours.method == sdk.method == "POST"


class _SdkRequest:
    def __init__(self, method: str, pathname: str, query: dict[str, str], headers: dict[str, str]) -> None:
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers
