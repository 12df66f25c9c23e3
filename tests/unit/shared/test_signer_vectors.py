"""Known-answer tests for `shared.ecs.signer` (the vectors are data: tests/fixtures/signature-vectors.json)
and unit tests of its building blocks."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.ecs.signer import (
    EMPTY_BODY_SHA256,
    V3_ALGORITHM,
    V3Authorization,
    canonical_query,
    format_timestamp,
    percent_encode,
    v1_signature,
    v1_signed_params,
    v1_string_to_sign,
    v3_authorization,
    v3_canonical_request,
    v3_signed_headers,
    v3_string_to_sign,
)
from tests.paths import FIXTURES

VECTORS: dict[str, Any] = json.loads((FIXTURES / "signature-vectors.json").read_text(encoding="utf-8"))
_V1_1, _V1_2 = VECTORS["v1"]["vector1"], VECTORS["v1"]["vector2"]
_V3_3, _V3_4 = VECTORS["v3"]["vector3"], VECTORS["v3"]["vector4"]
TEST_ID = _V1_2["params"]["AccessKeyId"]
TEST_SECRET = _V1_2["secret"]
NONCE = _V1_2["params"]["SignatureNonce"]
MOMENT = datetime.strptime(_V1_2["params"]["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
ECS_VERSION = _V1_2["params"]["Version"]

# --- V1 vectors -------------------------------------------------------------------------------

VECTOR1_PARAMS: dict[str, str] = _V1_1["params"]
VECTOR1_SIGNATURE: str = _V1_1["signature"]
VECTOR2_PARAMS: dict[str, str] = _V1_2["params"]
VECTOR2_STRING_TO_SIGN: str = _V1_2["string_to_sign"]
VECTOR2_SIGNATURE: str = _V1_2["signature"]


def test_v1_vector1_describe_regions() -> None:
    # given the published DescribeRegions parameters / when signed / then the published signature
    assert v1_signature(VECTOR1_PARAMS, "GET", TEST_SECRET) == VECTOR1_SIGNATURE


def test_v1_vector2_string_to_sign_is_exact() -> None:
    assert v1_string_to_sign("GET", VECTOR2_PARAMS) == VECTOR2_STRING_TO_SIGN


def test_v1_vector2_signature() -> None:
    assert v1_signature(VECTOR2_PARAMS, "GET", TEST_SECRET) == VECTOR2_SIGNATURE


def test_v1_method_is_uppercased_in_string_to_sign() -> None:
    assert v1_signature(VECTOR2_PARAMS, "get", TEST_SECRET) == VECTOR2_SIGNATURE


def _v1_signed(*, token: str | None = None, secret: str = TEST_SECRET, method: str = "GET") -> dict[str, str]:
    return v1_signed_params(
        action="DescribeTasks",
        version=ECS_VERSION,
        params={"RegionId": "cn-hangzhou", "TaskStatus": "Finished"},
        access_key_id=TEST_ID,
        access_key_secret=secret,
        security_token=token,
        timestamp=MOMENT,
        nonce=NONCE,
        method=method,
    )


def test_v1_signed_params_reproduces_vector2() -> None:
    # given the DescribeTasks API parameters only / then every common parameter is added
    # and the signature is the known answer
    assert _v1_signed() == {**VECTOR2_PARAMS, "Signature": VECTOR2_SIGNATURE}


def test_v1_signature_already_in_params_is_replaced_not_signed() -> None:
    # given a query that already carries a (stale) Signature, e.g. when re-signing
    stale = {"RegionId": "cn-hangzhou", "TaskStatus": "Finished", "Signature": "stale"}
    signed = v1_signed_params(
        action="DescribeTasks",
        version=ECS_VERSION,
        params=stale,
        access_key_id=TEST_ID,
        access_key_secret=TEST_SECRET,
        security_token=None,
        timestamp=MOMENT,
        nonce=NONCE,
    )
    # then the result verifies: the stale value took no part in the signature
    assert signed == {**VECTOR2_PARAMS, "Signature": VECTOR2_SIGNATURE}


def test_v1_signed_params_has_no_security_token_without_one() -> None:
    assert "SecurityToken" not in _v1_signed(token=None)
    assert "SecurityToken" not in _v1_signed(token="")


def test_v1_security_token_is_a_signed_parameter() -> None:
    # given STS credentials
    signed = _v1_signed(token="sts-token-value")
    # then the token is sent and covered by the signature
    assert signed["SecurityToken"] == "sts-token-value"
    unsigned = {name: value for name, value in signed.items() if name != "Signature"}
    assert signed["Signature"] == v1_signature(unsigned, "GET", TEST_SECRET)
    assert signed["Signature"] != VECTOR2_SIGNATURE
    assert signed["Signature"] != _v1_signed(token="another-token")["Signature"]


def test_v1_signature_depends_on_the_secret() -> None:
    assert _v1_signed(secret="othersecret")["Signature"] != VECTOR2_SIGNATURE


def test_v1_signed_params_uses_the_method_given() -> None:
    post = _v1_signed(method="POST")["Signature"]
    assert post == v1_signature(VECTOR2_PARAMS, "POST", TEST_SECRET)
    assert post != VECTOR2_SIGNATURE


# --- V3 vectors -------------------------------------------------------------------------------

VECTOR3_AUTHORIZATION: str = _V3_3["authorization"]
VECTOR4_STRING_TO_SIGN: str = _V3_4["string_to_sign"]
VECTOR4_SIGNATURE: str = _V3_4["signature"]
VECTOR4_QUERY: dict[str, str] = _V3_4["query"]
VECTOR4_HEADERS = {
    "host": _V3_4["host"],
    "x-acs-action": _V3_4["action"],
    "x-acs-version": _V3_4["version"],
    "x-acs-date": _V3_4["date"],
    "x-acs-signature-nonce": _V3_4["nonce"],
    "x-acs-content-sha256": VECTORS["v3"]["empty_body_sha256"],
}


def _v3_headers(**overrides: object) -> dict[str, str]:
    arguments: dict[str, object] = {
        "method": "GET",
        "host": "ecs.cn-hangzhou.aliyuncs.com",
        "pathname": "/",
        "query": VECTOR4_QUERY,
        "action": "DescribeTasks",
        "version": ECS_VERSION,
        "body": b"",
        "access_key_id": TEST_ID,
        "access_key_secret": TEST_SECRET,
        "security_token": None,
        "timestamp": MOMENT,
        "nonce": NONCE,
    }
    arguments.update(overrides)
    return v3_signed_headers(**arguments)  # type: ignore[arg-type]


def _parsed(headers: dict[str, str]) -> V3Authorization:
    parsed = V3Authorization.parse(headers["Authorization"])
    assert parsed is not None
    return parsed


def test_empty_body_hash_constant() -> None:
    assert EMPTY_BODY_SHA256 == VECTORS["v3"]["empty_body_sha256"] == hashlib.sha256(b"").hexdigest()


def test_v3_vector3_run_instances() -> None:
    headers = v3_signed_headers(
        method=_V3_3["method"],
        host=_V3_3["host"],
        pathname="/",
        query=_V3_3["query"],
        action=_V3_3["action"],
        version=_V3_3["version"],
        body=b"",
        access_key_id=_V3_3["access_key_id"],
        access_key_secret=_V3_3["secret"],
        security_token=None,
        timestamp=datetime.strptime(_V3_3["date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc),
        nonce=_V3_3["nonce"],
    )
    assert headers["Authorization"] == VECTOR3_AUTHORIZATION


def test_v3_vector4_string_to_sign() -> None:
    canonical, names = v3_canonical_request("GET", "/", VECTOR4_QUERY, VECTOR4_HEADERS, EMPTY_BODY_SHA256)
    assert v3_string_to_sign(canonical) == VECTOR4_STRING_TO_SIGN
    assert names == tuple(sorted(VECTOR4_HEADERS))


def test_v3_vector4_canonical_request_layout() -> None:
    # the header block ends with a newline, so a blank line precedes the signed-header list
    canonical, _ = v3_canonical_request("GET", "/", VECTOR4_QUERY, VECTOR4_HEADERS, EMPTY_BODY_SHA256)
    lines = canonical.split("\n")
    assert lines[:3] == ["GET", "/", "RegionId=cn-hangzhou&TaskStatus=Finished"]
    assert lines[-3:] == ["", ";".join(sorted(VECTOR4_HEADERS)), EMPTY_BODY_SHA256]


def test_v3_vector4_signature_via_signed_headers() -> None:
    headers = _v3_headers()
    parsed = _parsed(headers)
    assert parsed.signature == VECTOR4_SIGNATURE
    assert parsed.access_key_id == TEST_ID
    assert headers["Authorization"].startswith(f"{V3_ALGORITHM} Credential={TEST_ID},")
    assert {name: value for name, value in headers.items() if name != "Authorization"} == VECTOR4_HEADERS


def test_v3_header_names_are_lowercased_and_values_trimmed() -> None:
    # given the vector-4 headers with mixed-case names and padded values
    messy = {name.upper(): f"  {value}\t" for name, value in VECTOR4_HEADERS.items()}
    # when signed / then the known signature (names lowercased, values trimmed)
    auth = v3_authorization(
        method="GET",
        pathname="/",
        query=VECTOR4_QUERY,
        signed_headers=messy,
        payload_sha256=EMPTY_BODY_SHA256,
        access_key_id=TEST_ID,
        access_key_secret=TEST_SECRET,
    )
    assert auth.signature == VECTOR4_SIGNATURE
    assert auth.signed_headers == tuple(sorted(VECTOR4_HEADERS))


def test_v3_empty_pathname_is_slash() -> None:
    auth = v3_authorization(
        method="GET",
        pathname="",
        query=VECTOR4_QUERY,
        signed_headers=VECTOR4_HEADERS,
        payload_sha256=EMPTY_BODY_SHA256,
        access_key_id=TEST_ID,
        access_key_secret=TEST_SECRET,
    )
    assert auth.signature == VECTOR4_SIGNATURE


# --- percent_encode / canonical_query ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~", "~"),
        ("/", "%2F"),
        ("-_.", "-_."),
        ("AZaz09", "AZaz09"),
        ("+=&%", "%2B%3D%26%25"),
        ("é", "%C3%A9"),
        ("任务", "%E4%BB%BB%E5%8A%A1"),
        ("😀", "%F0%9F%98%80"),
        ("", ""),
    ],
)
def test_percent_encode(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


def test_percent_encode_uses_uppercase_hex() -> None:
    assert percent_encode("\n:") == "%0A%3A"


def test_canonical_query_sorts_and_encodes_names_and_values() -> None:
    assert canonical_query({"b": "x y", "a*": "", "A": "~/"}) == "A=~%2F&a%2A=&b=x%20y"


# --- format_timestamp -------------------------------------------------------------------------


def test_format_timestamp_converts_to_utc() -> None:
    plus_eight = timezone(timedelta(hours=8))
    assert format_timestamp(datetime(2016, 2, 23, 20, 46, 24, 999, tzinfo=plus_eight)) == ("2016-02-23T12:46:24Z")


def test_format_timestamp_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2016, 2, 23, 12, 46, 24))


def test_signers_reject_naive_timestamps() -> None:
    with pytest.raises(ValueError):
        _v3_headers(timestamp=datetime(2016, 2, 23, 12, 46, 24))
    with pytest.raises(ValueError):
        v1_signed_params(
            action="DescribeTasks",
            version=ECS_VERSION,
            params={},
            access_key_id=TEST_ID,
            access_key_secret=TEST_SECRET,
            security_token=None,
            timestamp=datetime(2016, 2, 23, 12, 46, 24),
            nonce=NONCE,
        )


# --- V3Authorization --------------------------------------------------------------------------


def test_v3_authorization_round_trip() -> None:
    auth = V3Authorization(access_key_id="LTAI5t", signed_headers=("host", "x-acs-date"), signature="ab12")
    assert auth.header_value() == "ACS3-HMAC-SHA256 Credential=LTAI5t,SignedHeaders=host;x-acs-date,Signature=ab12"
    assert V3Authorization.parse(auth.header_value()) == auth


def test_v3_authorization_parses_vector3() -> None:
    parsed = V3Authorization.parse(VECTOR3_AUTHORIZATION)
    assert parsed is not None
    assert parsed.access_key_id == "YourAccessKeyId"
    assert parsed.signed_headers[0] == "host"
    assert len(parsed.signed_headers) == 6
    assert parsed.header_value() == VECTOR3_AUTHORIZATION


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=00",
        "Bearer abc",
        "acs3-hmac-sha256 Credential=a,SignedHeaders=host,Signature=00",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
        "ACS3-HMAC-SHA256 Credential=a,Signature=00",
        "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=00",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature",
        "ACS3-HMAC-SHA256 Credential=a;SignedHeaders=host;Signature=00",
    ],
)
def test_v3_authorization_parse_rejects_malformed_values(value: str) -> None:
    assert V3Authorization.parse(value) is None


# --- v3_signed_headers ------------------------------------------------------------------------


def test_v3_no_security_token_header_without_sts() -> None:
    headers = _v3_headers()
    assert "x-acs-security-token" not in headers
    assert "x-acs-security-token" not in _parsed(headers).signed_headers
    assert "x-acs-security-token" not in _v3_headers(security_token="")


def test_v3_security_token_header_is_added_and_signed_with_sts() -> None:
    headers = _v3_headers(security_token="sts-token-value")
    assert headers["x-acs-security-token"] == "sts-token-value"
    assert "x-acs-security-token" in _parsed(headers).signed_headers


def test_v3_content_type_is_signed_only_when_given() -> None:
    assert "content-type" not in _v3_headers()
    with_type = _v3_headers(method="POST", body=b"a=1", content_type="application/x-www-form-urlencoded")
    assert with_type["content-type"] == "application/x-www-form-urlencoded"
    assert "content-type" in _parsed(with_type).signed_headers


def test_v3_content_sha256_is_the_body_hash() -> None:
    body = b'{"k": "v"}'
    assert _v3_headers(method="POST", body=body)["x-acs-content-sha256"] == hashlib.sha256(body).hexdigest()


def test_v3_extra_headers_are_lowercased_and_signed() -> None:
    headers = _v3_headers(extra_headers={"X-Acs-Extra": "1"})
    assert headers["x-acs-extra"] == "1"
    assert "x-acs-extra" in _parsed(headers).signed_headers


@pytest.mark.parametrize(
    "change",
    [
        {"method": "POST"},
        {"host": "ecs.cn-shanghai.aliyuncs.com"},
        {"pathname": "/other"},
        {"query": {"RegionId": "cn-hangzhou", "TaskStatus": "Processing"}},
        {"action": "DescribeTaskAttribute"},
        {"version": "2014-05-27"},
        {"body": b"x"},
        {"access_key_secret": "othersecret"},
        {"security_token": "sts-token-value"},
        {"timestamp": MOMENT + timedelta(seconds=1)},
        {"nonce": "another-nonce"},
        {"content_type": "application/json"},
        {"extra_headers": {"x-acs-extra": "1"}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_v3_signature_changes_when_any_signed_input_changes(change: dict[str, object]) -> None:
    baseline = _parsed(_v3_headers()).signature
    assert baseline == VECTOR4_SIGNATURE
    assert _parsed(_v3_headers(**change)).signature != baseline


def test_v3_signature_does_not_depend_on_the_access_key_id() -> None:
    # the id travels in Credential=, not in the signed material
    headers = _v3_headers(access_key_id="otherid")
    assert _parsed(headers).signature == VECTOR4_SIGNATURE
    assert "Credential=otherid," in headers["Authorization"]
