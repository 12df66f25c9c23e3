"""The STS emulator, driven by the official STS SDK client over loopback HTTP (never by our own code):
its answers parse into the SDK's models, its errors are STS's codes and statuses, and it refuses what the
service refuses. One V1 request in XML is signed with the official utilities by hand, for the XML shape."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from alibabacloud_openapi_util.client import Client as OfficialSigner
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils import Utils as SdkUtils

from emulators.sts.server import StsEmulator
from emulators.sts.service import Role
from shared.ecs.sessions import Purpose, SessionSpec
from tests.sts_support import (
    CALLERS,
    FUNCTION_ROLE,
    HOME_KEY_ID,
    HOME_KEY_SECRET,
    PROD_ROLE,
    ROLES,
    STAGING_ROLE,
    sdk_sts_client,
)

NOW = datetime(2026, 12, 2, 7, 0, 0, tzinfo=timezone.utc)
READ = SessionSpec.for_user("U0123ABC", Purpose.READ)
STRICT_ROLE = "acs:ram::3333333333333333:role/strict"
EXTRA_ROLES = [*ROLES, Role(STRICT_ROLE, frozenset({"acs:ram::9999999999999999:root"}))]


@pytest.fixture(autouse=True)
def _sdk_at_emulator_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator's clock is fixed; the SDK signs with the same time (its nonces stay random).
    monkeypatch.setattr(SdkUtils, "get_timestamp", staticmethod(lambda: NOW.strftime("%Y-%m-%dT%H:%M:%SZ")))


@pytest.fixture
def sts() -> Iterator[StsEmulator]:
    with StsEmulator(callers=CALLERS, roles=EXTRA_ROLES, clock=lambda: NOW) as emulator:
        yield emulator


def _sdk(sts: StsEmulator, signature: str = "v3", secret: str = HOME_KEY_SECRET):  # type: ignore[no-untyped-def]
    return sdk_sts_client(sts.base_url.removeprefix("http://"), signature=signature, key_id=HOME_KEY_ID, secret=secret)


def _assume(sts: StsEmulator, signature: str = "v3", secret: str = HOME_KEY_SECRET, **fields: Any):  # type: ignore[no-untyped-def]
    request = {
        "role_arn": STAGING_ROLE,
        "role_session_name": READ.name,
        "duration_seconds": 3600,
        "policy": READ.policy,
        **fields,
    }
    return _sdk(sts, signature, secret).assume_role(sts_models.AssumeRoleRequest(**request))


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_issues_temporary_credentials_that_parse_into_the_sdk_models(sts: StsEmulator, signature: str) -> None:
    # Given a role that trusts the caller's account; when the SDK assumes it
    response = _assume(sts, signature)

    # Then the answer is the SDK's AssumeRoleResponse, with STS credentials expiring after DurationSeconds
    body = response.body
    assert isinstance(body, sts_models.AssumeRoleResponseBody)
    assert body.credentials.access_key_id.startswith("STS.")
    assert body.credentials.access_key_secret and body.credentials.security_token
    assert body.credentials.expiration == "2026-12-02T08:00:00Z"
    assert body.assumed_role_user.arn == "acs:ram::2222222222222222:role/ecs-tasks-read/slack-U0123ABC"
    assert body.request_id
    # And the registry knows the session: its account, name and policy
    issued = sts.registry.lookup(body.credentials.access_key_id)
    assert issued is not None
    assert (issued.account_id, issued.session_name, issued.policy_text) == ("2222222222222222", READ.name, READ.policy)
    assert issued.expiration == NOW + timedelta(hours=1)
    assert issued.allows("DescribeTasks") and not issued.allows("CancelTask")


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"role_arn": "acs:ram::1111111111111111:role/missing"}, 404, "EntityNotExist.Role"),
        ({"role_arn": STRICT_ROLE}, 403, "NoPermission"),
        ({"role_arn": PROD_ROLE}, 403, "NoPermission"),  # trusted, but without its external id
        ({"role_arn": PROD_ROLE, "external_id": "not-it"}, 403, "NoPermission"),
        ({"role_arn": "acs:ram::11:role/short"}, 400, "InvalidParameter.RoleArn"),
        ({"role_arn": "arn:aws:iam::123456789012:role/x"}, 400, "InvalidParameter.RoleArn"),
        ({"policy": '{"Version": "1", "Statement": ['}, 400, "InvalidParameter.PolicyGrammar"),
        ({"policy": '{"Version": "2", "Statement": []}'}, 400, "InvalidParameter.PolicyGrammar"),
        ({"policy": json.dumps({"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]})},
         400, "InvalidParameter.PolicyGrammar"),
        ({"role_session_name": "slack U0123ABC"}, 400, "InvalidParameter.RoleSessionName"),
        ({"role_session_name": "x"}, 400, "InvalidParameter.RoleSessionName"),
        ({"duration_seconds": 899}, 400, "InvalidParameter.DurationSeconds"),
        ({"duration_seconds": 3601}, 400, "InvalidParameter.DurationSeconds"),
    ],
)  # fmt: skip
def test_answers_the_documented_errors(sts: StsEmulator, fields: dict[str, Any], status: int, code: str) -> None:
    # Given a request STS refuses; when the SDK sends it
    with pytest.raises(ClientException) as raised:
        _assume(sts, **fields)
    # Then the SDK reads STS's code and status from the error body
    assert (raised.value.status_code, raised.value.code) == (status, code)
    assert raised.value.data["HostId"] == "sts.aliyuncs.com" and raised.value.data["RequestId"]


def test_the_external_id_opens_a_role_that_requires_it(sts: StsEmulator) -> None:
    response = _assume(sts, role_arn=PROD_ROLE, external_id="prod-external-id")
    assert response.body.assumed_role_user.arn.startswith("acs:ram::1111111111111111:role/")


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_refuses_a_wrong_signature(sts: StsEmulator, signature: str) -> None:
    with pytest.raises(ClientException) as raised:
        _assume(sts, signature, secret="not-the-secret")
    assert (raised.value.status_code, raised.value.code) == (400, "SignatureDoesNotMatch")
    assert sts.registry.sessions == []


def test_refuses_an_unknown_key(sts: StsEmulator) -> None:
    client = sdk_sts_client(sts.base_url.removeprefix("http://"), signature="v3", key_id="nobody", secret="x")
    with pytest.raises(ClientException) as raised:
        client.assume_role(sts_models.AssumeRoleRequest(role_arn=STAGING_ROLE, role_session_name=READ.name))
    assert (raised.value.status_code, raised.value.code) == (404, "InvalidAccessKeyId.NotFound")


def test_answers_errors_in_xml_when_v1_asks_for_xml(sts: StsEmulator) -> None:
    # Given a V1 request with Format=XML, signed by hand with the official utilities
    params = {
        "Action": "AssumeRole",
        "Version": "2015-04-01",
        "Format": "XML",
        "AccessKeyId": HOME_KEY_ID,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": "xml-nonce-1",
        "Timestamp": "2026-12-02T07:00:00Z",
        "RoleArn": "acs:ram::1111111111111111:role/missing",
        "RoleSessionName": READ.name,
    }
    params["Signature"] = OfficialSigner.get_rpcsignature(params, "POST", HOME_KEY_SECRET)
    # When it is sent
    answer = requests.post(sts.base_url + "/", params=params, timeout=5)
    # Then the error is STS's XML shape with its status
    assert answer.status_code == 404
    root = ET.fromstring(answer.content)
    assert root.tag == "Error"
    assert root.findtext("Code") == "EntityNotExist.Role"
    assert root.findtext("HostId") == "sts.aliyuncs.com" and root.findtext("RequestId")


def test_a_spent_nonce_is_refused(sts: StsEmulator) -> None:
    # The fixed nonce of the oracle tests would be refused the second time, as the service does.
    params = {
        "Action": "AssumeRole", "Version": "2015-04-01", "Format": "JSON", "AccessKeyId": HOME_KEY_ID,
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": "once",
        "Timestamp": "2026-12-02T07:00:00Z", "RoleArn": STAGING_ROLE, "RoleSessionName": READ.name,
    }  # fmt: skip
    params["Signature"] = OfficialSigner.get_rpcsignature(params, "POST", HOME_KEY_SECRET)
    first = requests.post(sts.base_url + "/", params=params, timeout=5)
    second = requests.post(sts.base_url + "/", params=params, timeout=5)
    assert first.status_code == 200
    assert (second.status_code, second.json()["Code"]) == (400, "SignatureNonceUsed")


def test_the_function_role_is_a_principal_the_trust_policy_names() -> None:
    role = Role(PROD_ROLE, frozenset({FUNCTION_ROLE}))
    assert role.trusts(FUNCTION_ROLE)
    assert not role.trusts("acs:ram::1000000000000000:role/someone-else")
    assert Role(PROD_ROLE, frozenset({"acs:ram::1000000000000000:root"})).trusts(FUNCTION_ROLE)
