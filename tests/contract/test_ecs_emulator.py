"""The ECS emulator over real loopback HTTP, checked against the API's documented shape."""

from __future__ import annotations

import json
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from emulators.ecs import EcsEmulator, TaskClock, load_seed
from shared.ecs.signer import canonical_query, v1_signature, v1_signed_params, v3_signed_headers
from tests.xml_support import xml_to_dict

VERSION = "2014-05-26"
AK, SECRET = "test-ak", "test-secret"
STS_AK, STS_SECRET, STS_TOKEN = "STS.test-ak", "sts-secret", "sts-token-value"
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)  # task clock and request clock start here
HZ = "cn-hangzhou"
MISSING_REGION = 'An input parameter "RegionId" that is mandatory for processing the request is not supplied.'

SEED: list[dict[str, Any]] = [
    {
        "TaskId": "t-done",
        "RegionId": HZ,
        "TaskAction": "ImportImage",
        "ResourceId": "m-done",
        "TaskStatus": "Finished",
        "CreationTime": "2024-05-30T10:00:00Z",
        "FinishedTime": "2024-05-30T10:20:30Z",
    },
    {
        "TaskId": "t-failed",
        "RegionId": HZ,
        "TaskAction": "ImportImage",
        "ResourceId": "m-failed",
        "created_ago_s": 7200,
        "processing_s": 600,
        "outcome": "Failed",
        "errors": [{"ErrorCode": "OSS.ObjectNotFound", "ErrorMsg": "gone", "Name": "OSSObject", "Value": "a.qcow2"}],
    },
    {"TaskId": "t-running", "RegionId": HZ, "TaskAction": "ImportImage", "created_ago_s": 100, "processing_s": 200},
    {"TaskId": "t-waiting", "RegionId": HZ, "TaskAction": "ExportImage", "created_ago_s": 10, "waiting_s": 60},
    {"TaskId": "t-redeploy", "RegionId": HZ, "TaskAction": "RedeployInstance", "created_ago_s": 30},
    {
        "TaskId": "t-disk",
        "RegionId": HZ,
        "TaskAction": "ModifyDiskSpec",
        "ResourceId": "d-disk",
        "created_ago_s": 3600,
        "processing_s": 60,
    },
    {
        "TaskId": "t-paused",
        "RegionId": HZ,
        "TaskAction": "ArchiveSnapshot",
        "TaskStatus": "Paused",
        "created_ago_s": 50,
    },
    {"TaskId": "t-sh", "RegionId": "cn-shanghai", "TaskAction": "ImportImage", "created_ago_s": 5000},
]


# --- a tiny signing client --------------------------------------------------------------------


def v1(
    emu: EcsEmulator,
    action: str,
    params: Mapping[str, str] | None = None,
    *,
    ak: str = AK,
    secret: str = SECRET,
    token: str | None = None,
    at: datetime = T0,
    nonce: str | None = None,
    method: str = "GET",
    fmt: str = "JSON",
) -> requests.Response:
    signed = v1_signed_params(
        action=action,
        version=VERSION,
        params=dict(params or {}),
        access_key_id=ak,
        access_key_secret=secret,
        security_token=token,
        timestamp=at,
        nonce=nonce or uuid.uuid4().hex,
        method=method,
        response_format=fmt,
    )
    if not fmt:  # no Format at all: the common parameters' default (XML)
        del signed["Format"], signed["Signature"]
        signed["Signature"] = v1_signature(signed, method, secret)
    if method == "POST":
        return requests.post(emu.base_url + "/", data=signed, timeout=5)
    return requests.get(emu.base_url + "/", params=signed, timeout=5)


def v3_headers(
    emu: EcsEmulator,
    action: str,
    query: Mapping[str, str],
    *,
    method: str = "GET",
    body: bytes = b"",
    content_type: str | None = None,
    ak: str = AK,
    secret: str = SECRET,
    token: str | None = None,
    nonce: str | None = None,
    version: str = VERSION,
) -> dict[str, str]:
    return v3_signed_headers(
        method=method,
        host=urlsplit(emu.base_url).netloc,
        pathname="/",
        query=query,
        action=action,
        version=version,
        body=body,
        access_key_id=ak,
        access_key_secret=secret,
        security_token=token,
        timestamp=T0,
        nonce=nonce or uuid.uuid4().hex,
        content_type=content_type,
    )


def v3(emu: EcsEmulator, action: str, query: Mapping[str, str], **kwargs: Any) -> requests.Response:
    headers = v3_headers(emu, action, query, **kwargs)
    return send_v3(emu, query, headers, kwargs.get("method", "GET"), kwargs.get("body", b""))


def send_v3(
    emu: EcsEmulator, query: Mapping[str, str], headers: Mapping[str, str], method: str = "GET", body: bytes = b""
) -> requests.Response:
    url = f"{emu.base_url}/?{canonical_query(query)}" if query else f"{emu.base_url}/"
    return requests.request(method, url, headers=dict(headers), data=body, timeout=5)


def ok(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["RequestId"] == response.headers["x-acs-request-id"]
    return body


def error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert (response.status_code, response.json()["Code"]) == (status, code), response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["RequestId"] == response.headers["x-acs-request-id"]
    return body


def task_ids(body: Mapping[str, Any]) -> list[str]:
    return [task["TaskId"] for task in body["TaskSet"]["Task"]]


@pytest.fixture
def emu() -> Iterator[EcsEmulator]:
    emulator = EcsEmulator(
        seed=SEED,
        credentials={AK: SECRET, STS_AK: STS_SECRET},
        sts_tokens={STS_AK: STS_TOKEN},
        clock=TaskClock(frozen_at=T0),
        request_clock=lambda: T0,
        listing="strict",  # explicit: ECS_EMULATOR_LISTING in a developer's shell must not change these tests
    )
    with emulator:
        yield emulator


# --- signatures -------------------------------------------------------------------------------


def test_good_v1_request_answers_with_the_documented_shape(emu: EcsEmulator) -> None:
    body = ok(v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskIds": "t-done,t-running"}))

    assert body["RequestId"] == body["RequestId"].upper() and uuid.UUID(body["RequestId"])
    assert {k: body[k] for k in ("RegionId", "TotalCount", "PageNumber", "PageSize")} == {
        "RegionId": HZ,
        "TotalCount": 2,
        "PageNumber": 1,
        "PageSize": 10,
    }
    assert isinstance(body["TaskSet"], dict)  # the real service sends an object, not the page's list
    running, done = body["TaskSet"]["Task"]
    assert done == {
        "TaskId": "t-done",
        "TaskAction": "ImportImage",
        "TaskStatus": "Finished",
        "SupportCancel": False,
        "CreationTime": "2024-05-30T10:00Z",
        "FinishedTime": "2024-05-30T10:20Z",
        "ResourceId": "m-done",
    }
    assert (running["TaskStatus"], running["FinishedTime"], running["SupportCancel"]) == ("Processing", "", True)
    assert "ResourceId" not in running


def test_good_v1_post_with_form_body(emu: EcsEmulator) -> None:
    body = ok(v1(emu, "DescribeTaskAttribute", {"RegionId": HZ, "TaskId": "t-done"}, method="POST"))

    assert body["TaskId"] == "t-done"


def test_good_v3_get_and_post_requests(emu: EcsEmulator) -> None:
    # Seven tasks in Hangzhou, of which Waiting and Paused are not listed without a TaskStatus (API page)
    assert ok(v3(emu, "DescribeTasks", {"RegionId": HZ}))["TotalCount"] == 5

    form = b"RegionId=cn-hangzhou&TaskId=t-running"
    response = v3(
        emu, "DescribeTaskAttribute", {}, method="POST", body=form, content_type="application/x-www-form-urlencoded"
    )
    assert ok(response)["TaskProcess"] == "50%"
    assert [(c.signature_version, c.action) for c in emu.calls] == [
        ("v3", "DescribeTasks"),
        ("v3", "DescribeTaskAttribute"),
    ]


def test_incomplete_signatures(emu: EcsEmulator) -> None:
    unsigned = requests.get(
        emu.base_url + "/", params={"Action": "DescribeTasks", "RegionId": HZ, "Format": "JSON"}, timeout=5
    )
    error(unsigned, 400, "IncompleteSignature")

    headers = v3_headers(emu, "DescribeTasks", {"RegionId": HZ})
    headers["Authorization"] = headers["Authorization"].replace("x-acs-signature-nonce;", "")
    error(send_v3(emu, {"RegionId": HZ}, headers), 400, "IncompleteSignature")

    error(send_v3(emu, {"RegionId": HZ}, {**headers, "Authorization": "garbage"}), 400, "IncompleteSignature")


def test_unknown_access_key(emu: EcsEmulator) -> None:
    error(v1(emu, "DescribeTasks", {"RegionId": HZ}, ak="nobody"), 404, "InvalidAccessKeyId.NotFound")
    error(v3(emu, "DescribeTasks", {"RegionId": HZ}, ak="nobody"), 404, "InvalidAccessKeyId.NotFound")


def test_signature_mismatch(emu: EcsEmulator) -> None:
    body = error(v1(emu, "DescribeTasks", {"RegionId": HZ}, secret="wrong"), 400, "SignatureDoesNotMatch")
    assert body["Message"].startswith("Specified signature is not matched with our calculation.")

    error(v3(emu, "DescribeTasks", {"RegionId": HZ}, secret="wrong"), 400, "SignatureDoesNotMatch")

    headers = v3_headers(emu, "DescribeTasks", {"RegionId": HZ})
    tampered = send_v3(emu, {"RegionId": "cn-shanghai"}, headers)
    error(tampered, 400, "SignatureDoesNotMatch")

    body_headers = v3_headers(emu, "DescribeTasks", {"RegionId": HZ}, method="POST", body=b"a=1")
    error(send_v3(emu, {"RegionId": HZ}, body_headers, "POST", b"a=2"), 400, "SignatureDoesNotMatch")


def test_replayed_nonce_is_refused(emu: EcsEmulator) -> None:
    ok(v1(emu, "DescribeTasks", {"RegionId": HZ}, nonce="n-1"))
    error(v1(emu, "DescribeTasks", {"RegionId": HZ}, nonce="n-1"), 400, "SignatureNonceUsed")

    headers = v3_headers(emu, "DescribeTasks", {"RegionId": HZ}, nonce="n-2")
    ok(send_v3(emu, {"RegionId": HZ}, headers))
    error(send_v3(emu, {"RegionId": HZ}, headers), 400, "SignatureNonceUsed")


def test_nonces_are_forgotten_after_the_window() -> None:
    server_now = [T0]
    with EcsEmulator(seed=[], credentials={AK: SECRET}, request_clock=lambda: server_now[0]) as emu:
        ok(v1(emu, "DescribeRegions", nonce="n-1"))
        server_now[0] = T0 + timedelta(minutes=10)
        replay = v1(emu, "DescribeRegions", nonce="n-1", at=server_now[0])
        server_now[0] = T0 + timedelta(minutes=16)
        later = v1(emu, "DescribeRegions", nonce="n-1", at=server_now[0])

    error(replay, 400, "SignatureNonceUsed")
    ok(later)


def test_timestamp_window_is_fifteen_minutes(emu: EcsEmulator) -> None:
    ok(v1(emu, "DescribeTasks", {"RegionId": HZ}, at=T0 - timedelta(minutes=14)))
    error(v1(emu, "DescribeTasks", {"RegionId": HZ}, at=T0 - timedelta(minutes=16)), 400, "InvalidTimeStamp.Expired")
    error(v1(emu, "DescribeTasks", {"RegionId": HZ}, at=T0 + timedelta(minutes=16)), 400, "InvalidTimeStamp.Expired")


def test_sts_keys_need_their_token(emu: EcsEmulator) -> None:
    region = {"RegionId": HZ}
    mismatch = "InvalidSecurityToken.MismatchWithAccessKey"

    error(v1(emu, "DescribeTasks", region, ak=STS_AK, secret=STS_SECRET), 400, "MissingSecurityToken")
    error(v1(emu, "DescribeTasks", region, ak=STS_AK, secret=STS_SECRET, token="other"), 400, mismatch)
    error(v1(emu, "DescribeTasks", region, token=STS_TOKEN), 400, mismatch)  # a permanent key with a token
    ok(v1(emu, "DescribeTasks", region, ak=STS_AK, secret=STS_SECRET, token=STS_TOKEN))

    error(v3(emu, "DescribeTasks", region, ak=STS_AK, secret=STS_SECRET), 400, "MissingSecurityToken")
    ok(v3(emu, "DescribeTasks", region, ak=STS_AK, secret=STS_SECRET, token=STS_TOKEN))


def test_malformed_timestamp_and_wrong_version(emu: EcsEmulator) -> None:
    headers = v3_headers(emu, "DescribeTasks", {"RegionId": HZ})

    bad_date = send_v3(emu, {"RegionId": HZ}, {**headers, "x-acs-date": "2024-06-01 12:00:00"})
    old_version = v3(emu, "DescribeTasks", {"RegionId": HZ}, version="2016-03-14")

    error(bad_date, 400, "InvalidTimeStamp.Format")
    error(old_version, 400, "InvalidVersion")


def test_v3_security_token_must_be_signed(emu: EcsEmulator) -> None:
    headers = v3_headers(emu, "DescribeTasks", {"RegionId": HZ}, ak=STS_AK, secret=STS_SECRET)

    response = send_v3(emu, {"RegionId": HZ}, {**headers, "x-acs-security-token": STS_TOKEN})

    error(response, 400, "IncompleteSignature")


# --- request errors ---------------------------------------------------------------------------


def test_parameter_errors(emu: EcsEmulator) -> None:
    assert error(v1(emu, "DescribeTasks"), 400, "MissingParameter")["Message"] == MISSING_REGION
    error(v1(emu, "DescribeTasks", {"RegionId": "mars-1"}), 400, "InvalidRegionId.NotFound")
    error(v1(emu, "DescribeInstances", {"RegionId": HZ}), 404, "InvalidAction.NotFound")
    too_many = ",".join(f"t-{n}" for n in range(101))
    bad_values = [
        {"PageSize": "0"},
        {"PageSize": "101"},
        {"PageSize": "ten"},
        {"PageNumber": "0"},
        {"TaskIds": too_many},
        {"StartTime": "2024-06-01 10:00:00"},
        {"EndTime": "2024-06-01T10:00:00+08:00"},
    ]
    for bad in bad_values:
        error(v1(emu, "DescribeTasks", {"RegionId": HZ, **bad}), 400, "InvalidParameter")
    ok(v1(emu, "DescribeTasks", {"RegionId": HZ, "PageSize": "100"}))


def test_unknown_task_ids(emu: EcsEmulator) -> None:
    error(v1(emu, "DescribeTaskAttribute", {"RegionId": HZ, "TaskId": "t-nope"}), 400, "InvalidTaskId.NotFound")
    error(v1(emu, "CancelTask", {"RegionId": HZ, "TaskId": "t-nope"}), 400, "InvalidTaskId.NotFound")
    # A task is only found in its own region.
    error(v1(emu, "DescribeTaskAttribute", {"RegionId": HZ, "TaskId": "t-sh"}), 400, "InvalidTaskId.NotFound")


# --- DescribeTasks filters and paging ---------------------------------------------------------


def describe(emu: EcsEmulator, **params: str) -> dict[str, Any]:
    return ok(v1(emu, "DescribeTasks", {"RegionId": HZ, **params}))


def test_filters(emu: EcsEmulator) -> None:
    assert task_ids(describe(emu, TaskStatus="Failed")) == ["t-failed"]
    assert task_ids(describe(emu, TaskStatus="Processing")) == ["t-redeploy", "t-running"]
    assert task_ids(describe(emu, TaskStatus="Finished")) == ["t-disk", "t-done"]
    assert task_ids(describe(emu, TaskAction="MODIFY_DISK_SPEC")) == ["t-disk"]
    assert task_ids(describe(emu, **{"ResourceIds.1": "d-disk", "ResourceIds.2": "m-done"})) == ["t-disk", "t-done"]
    window = describe(emu, StartTime="2024-06-01T09:00:00Z", EndTime="2024-06-01T11:30:00Z")
    assert task_ids(window) == ["t-disk", "t-failed"]
    failed_imports = describe(emu, TaskAction="ImportImage", TaskStatus="Failed", StartTime="2024-06-01T10:00:00Z")
    assert task_ids(failed_imports) == ["t-failed"]


LISTED = ["t-redeploy", "t-running", "t-disk", "t-failed", "t-done"]


def test_strict_listing_is_the_api_pages_reading_of_no_status(emu: EcsEmulator) -> None:
    # Given Waiting and Paused tasks beside Finished, Processing and Failed ones (the default, strict emulator)
    # When DescribeTasks names no TaskStatus, or one it does not filter on
    # Then only Finished, Processing and Failed tasks are listed ("The request ignores other values")
    assert task_ids(describe(emu)) == LISTED
    for ignored in ("Waiting", "Paused", "Deleted", "nonsense"):
        assert task_ids(describe(emu, TaskStatus=ignored)) == LISTED
    # even when they are asked for by id or by action
    assert task_ids(describe(emu, TaskIds='["t-done", "t-sh", "t-paused", "t-waiting"]')) == ["t-done"]
    assert task_ids(describe(emu, TaskAction="ExportImage")) == []
    # while DescribeTaskAttribute still finds them by id
    assert ok(v1(emu, "DescribeTaskAttribute", {"RegionId": HZ, "TaskId": "t-waiting"}))["TaskStatus"] == "Waiting"


def test_lenient_listing_behind_its_switch_lists_every_task() -> None:
    # Given the emulator's kinder reading, switched on
    lenient = EcsEmulator(
        seed=SEED, credentials={AK: SECRET}, clock=TaskClock(frozen_at=T0), request_clock=lambda: T0, listing="lenient"
    )
    with lenient:
        # Then Waiting and Paused tasks are listed too, and other status values are still no filter
        assert describe(lenient)["TotalCount"] == describe(lenient, TaskStatus="Waiting")["TotalCount"] == 7
        assert task_ids(describe(lenient, TaskAction="ExportImage")) == ["t-waiting"]
        assert task_ids(describe(lenient, TaskIds='["t-done", "t-sh", "t-paused"]')) == ["t-paused", "t-done"]


def test_the_listing_switch_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="strict, lenient"):
        EcsEmulator(seed=[], listing="kind")
    monkeypatch.setenv("ECS_EMULATOR_LISTING", "lenient")
    with EcsEmulator(seed=[]) as from_env:
        assert from_env.service.listing == "lenient"


def test_v1_answers_xml_without_format_and_json_when_asked(emu: EcsEmulator) -> None:
    # Given V1 requests with no Format (the common parameters' default is XML), with Format=JSON, and V3
    plain = v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskIds": "t-done"}, fmt="")
    as_json = v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskIds": "t-done"}, fmt="JSON")
    as_v3 = v3(emu, "DescribeTasks", {"RegionId": HZ, "TaskIds": "t-done"})
    # Then the first is XML, errors included, the others JSON
    assert plain.headers["Content-Type"].startswith("text/xml")
    assert xml_to_dict(plain.text)["TaskSet"]["Task"]["TaskId"] == "t-done"
    assert as_json.json()["TotalCount"] == as_v3.json()["TotalCount"] == 1
    failed = v1(emu, "DescribeTasks", {}, fmt="")
    assert failed.status_code == 400 and xml_to_dict(failed.text)["Code"] == "MissingParameter"


def test_an_answer_holds_at_most_the_page_size_cap_and_says_so() -> None:
    # Given an emulator whose answers hold at most 3 tasks
    capped = EcsEmulator(
        seed=SEED, credentials={AK: SECRET}, request_clock=lambda: T0, page_size_cap=3, listing="strict"
    )
    with capped:
        page = describe(capped, PageSize="100")
    # Then the answer's PageSize is what it used, and TotalCount still counts every match
    assert (page["PageSize"], len(page["TaskSet"]["Task"]), page["TotalCount"]) == (3, 3, 5)


def test_paging_newest_first(emu: EcsEmulator) -> None:
    for n in range(23):
        emu.add_task(TaskId=f"t-bj-{n:02}", RegionId="cn-beijing", TaskAction="ImportImage", created_ago_s=n * 60)

    first = ok(v1(emu, "DescribeTasks", {"RegionId": "cn-beijing"}))
    third = ok(v1(emu, "DescribeTasks", {"RegionId": "cn-beijing", "PageNumber": "3"}))
    beyond = ok(v1(emu, "DescribeTasks", {"RegionId": "cn-beijing", "PageNumber": "9", "PageSize": "5"}))

    assert (first["TotalCount"], first["PageSize"], task_ids(first)) == (23, 10, [f"t-bj-{n:02}" for n in range(10)])
    assert (third["PageNumber"], task_ids(third)) == (3, ["t-bj-20", "t-bj-21", "t-bj-22"])
    assert (beyond["TotalCount"], task_ids(beyond)) == (23, [])


def test_xml_format(emu: EcsEmulator) -> None:
    response = v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskIds": "t-running"}, fmt="XML")

    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "DescribeTasksResponse"
    assert root.findtext("RequestId") == response.headers["x-acs-request-id"]
    assert (root.findtext("TotalCount"), root.findtext("PageSize")) == ("1", "10")
    task = root.find("TaskSet/Task")
    assert task is not None
    assert (task.findtext("TaskAction"), task.findtext("SupportCancel")) == ("IMPORT_IMAGE", "true")
    assert task.findtext("FinishedTime") == ""

    failure = ET.fromstring(v1(emu, "DescribeTasks", {}, fmt="XML").content)
    assert (failure.tag, failure.findtext("Code"), failure.findtext("Message")) == (
        "Error",
        "MissingParameter",
        MISSING_REGION,
    )

    v3_xml = v3(emu, "DescribeRegions", {"Format": "XML"})
    assert ET.fromstring(v3_xml.content).find("Regions/Region/RegionId") is not None


# --- DescribeTaskAttribute, lifecycle, CancelTask ---------------------------------------------


def attribute(emu: EcsEmulator, task_id: str) -> dict[str, Any]:
    return ok(v1(emu, "DescribeTaskAttribute", {"RegionId": HZ, "TaskId": task_id}))


def test_lifecycle_follows_the_task_clock(emu: EcsEmulator) -> None:
    task_id = emu.add_task(RegionId=HZ, TaskAction="ImportImage", waiting_s=30, processing_s=100, total_count=4)
    assert task_id.startswith("t-bp") and len(task_id) == 22

    waiting = attribute(emu, task_id)
    emu.clock.advance(80)
    halfway = attribute(emu, task_id)
    emu.clock.advance(50)
    done = attribute(emu, task_id)

    assert (waiting["TaskStatus"], waiting["TaskProcess"], waiting["FinishedTime"]) == ("Waiting", "0%", "")
    assert (halfway["TaskStatus"], halfway["TaskProcess"], halfway["SuccessCount"]) == ("Processing", "50%", 2)
    assert (done["TaskStatus"], done["TaskProcess"], done["SupportCancel"]) == ("Finished", "100%", False)
    assert (done["TotalCount"], done["SuccessCount"], done["FailedCount"]) == (4, 4, 0)
    assert done["FinishedTime"] == "2024-06-01T12:02Z"


def test_failed_task_reports_its_errors(emu: EcsEmulator) -> None:
    body = attribute(emu, "t-failed")

    assert (body["TaskStatus"], body["FailedCount"], body["SuccessCount"]) == ("Failed", 1, 0)
    assert body["OperationProgressSet"]["OperationProgress"] == [
        {
            "OperationStatus": "Failed",
            "ErrorCode": "OSS.ObjectNotFound",
            "ErrorMsg": "gone",
            "RelatedItemSet": {"RelatedItem": [{"Name": "OSSObject", "Value": "a.qcow2"}]},
        }
    ]
    success = attribute(emu, "t-disk")["OperationProgressSet"]["OperationProgress"]
    assert success[0]["RelatedItemSet"]["RelatedItem"] == [{"Name": "DiskId", "Value": "d-disk"}]


def test_cancel_rules(emu: EcsEmulator) -> None:
    assert set(ok(v1(emu, "CancelTask", {"RegionId": HZ, "TaskId": "t-running"}))) == {"RequestId"}
    ok(v1(emu, "CancelTask", {"RegionId": HZ, "TaskId": "t-waiting"}))

    cancelled = attribute(emu, "t-running")
    assert (cancelled["TaskStatus"], cancelled["SupportCancel"], cancelled["FinishedTime"]) == (
        "Deleted",
        False,
        "2024-06-01T12:00Z",
    )
    again = v1(emu, "CancelTask", {"RegionId": HZ, "TaskId": "t-running"})
    error(again, 403, "InvalidTaskId.IncorrectTaskStatus")
    error(v1(emu, "CancelTask", {"RegionId": HZ, "TaskId": "t-done"}), 403, "InvalidTaskId.IncorrectTaskStatus")
    redeploy = v1(emu, "CancelTask", {"RegionId": HZ, "TaskId": "t-redeploy"})
    error(redeploy, 403, "InvalidTaskId.TaskActionNotSupport")
    error(v1(emu, "CancelTask", {"RegionId": HZ}), 400, "MissingParameter")


def test_tasks_created_later_appear_later(emu: EcsEmulator) -> None:
    emu.add_task(TaskId="t-future", RegionId=HZ, TaskAction="ImportImage", CreationTime="2024-06-01T12:05:00Z")

    assert "t-future" not in task_ids(describe(emu, PageSize="100"))
    emu.clock.advance(300)
    assert "t-future" in task_ids(describe(emu, PageSize="100"))


def test_describe_regions(emu: EcsEmulator) -> None:
    regions = ok(v1(emu, "DescribeRegions"))["Regions"]["Region"]
    english = ok(v1(emu, "DescribeRegions", {"AcceptLanguage": "en-US"}))["Regions"]["Region"]

    ids = [region["RegionId"] for region in regions]
    assert len(ids) >= 20
    assert {"cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1", "us-west-1", "eu-central-1"} <= set(ids)
    hangzhou = next(region for region in english if region["RegionId"] == HZ)
    assert hangzhou["LocalName"] == "China (Hangzhou)"
    assert hangzhou["RegionEndpoint"] == "ecs.cn-hangzhou.aliyuncs.com"


def test_configured_regions_limit_region_ids() -> None:
    with EcsEmulator(seed=[], regions=["cn-hangzhou"], credentials={AK: SECRET}, request_clock=lambda: T0) as emu:
        assert [r["RegionId"] for r in ok(v1(emu, "DescribeRegions"))["Regions"]["Region"]] == [HZ]
        error(v1(emu, "DescribeTasks", {"RegionId": "cn-shanghai"}), 400, "InvalidRegionId.NotFound")


# --- faults -----------------------------------------------------------------------------------


def test_throttling_sometimes_says_when_to_retry(emu: EcsEmulator) -> None:
    emu.faults.throttle_rate = 1.0

    responses = [v1(emu, "DescribeRegions") for _ in range(12)]

    for response in responses:
        error(response, 400, "Throttling.User")
    hints = {response.headers.get("x-acs-retry-after") for response in responses}
    # x-acs-retry-after is in milliseconds, as the official SDK reads it
    assert hints == {None, "1000"}


def test_server_errors(emu: EcsEmulator) -> None:
    emu.faults.error_5xx_rate = 1.0

    seen = {(r.status_code, r.json()["Code"]) for r in (v1(emu, "DescribeRegions") for _ in range(12))}

    assert seen == {(503, "ServiceUnavailable"), (500, "InternalError")}


def test_malformed_bodies(emu: EcsEmulator) -> None:
    emu.faults.malformed_rate = 1.0

    responses = [v1(emu, "DescribeTasks", {"RegionId": HZ}) for _ in range(6)]

    for response in responses:
        assert response.status_code == 200 and response.headers["x-acs-request-id"]
        with pytest.raises(ValueError):
            json.loads(response.content)
    assert [c.fault for c in emu.calls] == ["malformed"] * 6


def test_dropped_connections(emu: EcsEmulator) -> None:
    emu.faults.drop_rate = 1.0

    with pytest.raises(requests.ConnectionError):
        v1(emu, "DescribeRegions")

    assert [(c.http_status, c.fault) for c in emu.calls] == [(None, "drop")]
    # Control paths are never faulted.
    assert requests.get(emu.base_url + "/_emulator/calls", timeout=5).status_code == 200


def test_latency(emu: EcsEmulator) -> None:
    emu.faults.latency_s = 0.3

    started = time.monotonic()
    ok(v1(emu, "DescribeRegions"))

    assert time.monotonic() - started >= 0.3


def test_faults_follow_the_seed(emu: EcsEmulator) -> None:
    def run(seed: int) -> list[int]:
        emu.faults.update({"throttle_rate": 0.5, "seed": seed})
        return [v1(emu, "DescribeRegions").status_code for _ in range(16)]

    first, other, replay = run(7), run(8), run(7)

    assert first == replay != other
    assert set(first) == {200, 400}


# --- control API ------------------------------------------------------------------------------


def control(emu: EcsEmulator, method: str, route: str, payload: Any = None) -> requests.Response:
    return requests.request(method, f"{emu.base_url}/_emulator/{route}", json=payload, timeout=5)


def test_control_api(emu: EcsEmulator) -> None:
    v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskStatus": "Failed"})
    v1(emu, "DescribeTasks", {})

    calls = control(emu, "GET", "calls").json()
    summary = [(c["action"], c["region_id"], c["signature_version"], c["http_status"], c["error_code"]) for c in calls]
    assert summary == [
        ("DescribeTasks", HZ, "v1", 200, None),
        ("DescribeTasks", None, "v1", 400, "MissingParameter"),
    ]
    assert calls[0]["params"] == {"RegionId": HZ, "TaskStatus": "Failed"}
    assert control(emu, "POST", "reset-calls").json() == {"ok": True}
    assert emu.calls == []

    new_id = control(emu, "POST", "tasks", {"RegionId": HZ, "TaskAction": "ExportImage", "processing_s": 60}).json()
    assert control(emu, "POST", "advance", {"seconds": 90}).json() == {"now": "2024-06-01T12:01:30Z"}
    assert attribute(emu, new_id["TaskId"])["TaskStatus"] == "Finished"

    faults = control(emu, "POST", "faults", {"throttle_rate": 1, "seed": 3}).json()
    assert (faults["throttle_rate"], faults["seed"], emu.faults.throttle_rate) == (1.0, 3, 1.0)
    error(v1(emu, "DescribeRegions"), 400, "Throttling.User")

    assert control(emu, "POST", "faults", {"no_such_fault": 1}).status_code == 400
    assert control(emu, "POST", "tasks", {"RegionId": HZ, "TaskAction": "Reboot"}).status_code == 400
    assert control(emu, "GET", "nothing-here").status_code == 404


def test_concurrent_requests_are_all_answered(emu: EcsEmulator) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: v1(emu, "DescribeTasks", {"RegionId": HZ}).status_code, range(24)))

    assert statuses == [200] * 24
    assert len(emu.calls) == 24


# --- the demo seed ----------------------------------------------------------------------------


def test_default_seed_supports_the_demo() -> None:
    with EcsEmulator(credentials={AK: SECRET}, request_clock=lambda: T0, clock=TaskClock(frozen_at=T0)) as emu:
        failed = ok(v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskStatus": "Failed", "TaskAction": "ImportImage"}))
        running = ok(v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskStatus": "Processing"}))
        emu.clock.advance(300)
        later = ok(v1(emu, "DescribeTasks", {"RegionId": HZ, "TaskStatus": "Processing"}))

    assert failed["TotalCount"] > 10
    assert len(failed["TaskSet"]["Task"]) == 10  # so the demo pages
    assert running["TotalCount"] >= 2 and later["TotalCount"] < running["TotalCount"]

    seed = load_seed()
    imports = [t for t in seed if (t["RegionId"], t["TaskAction"]) == (HZ, "ImportImage")]
    assert len(imports) >= 25
    assert {t["RegionId"] for t in seed} == {"cn-hangzhou", "cn-shanghai", "ap-southeast-1"}
    actions = {"ImportImage", "ExportImage", "RedeployInstance", "ModifyDiskSpec", "ArchiveSnapshot"}
    assert {t["TaskAction"] for t in seed} == actions
    fixed = {t["TaskStatus"] for t in seed if "TaskStatus" in t}
    assert {"Paused", "Deleted", "Waiting"} <= fixed
