"""Conformance: the official ECS SDK (`alibabacloud-ecs20140526`, test-only) as the client of our ECS emulator,
over real HTTP on loopback, with signature V3 and V1 (`signature_algorithm='v2'`).

Every answer parses into the SDK's models and survives a `to_map()` round trip unchanged (a field the SDK does
not know, or one of the wrong shape, would be dropped or altered); errors carry the documented codes and HTTP
statuses; and `ecs-tasks query --json` returns the same tasks as the SDK for the same filters.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsSdkClient
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

from emulators.ecs import EcsEmulator
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, fixed_task
from tests.integration.test_cli import run as run_cli

HZ, SH = "cn-hangzhou", "cn-shanghai"
PREFIXES = {HZ: "hz", SH: "sh"}
NOW = datetime.now(timezone.utc).replace(microsecond=0)
# Signature V3 (the SDK's default, ACS3-HMAC-SHA256) and V1 (`signature_algorithm='v2'`: the RPC signature).
SIGNATURES = {"v3": None, "v1": "v2"}


class RecordingSdkClient(EcsSdkClient):  # type: ignore[misc]
    """The official client, keeping each raw answer body so the typed model can be compared with it."""

    def __init__(self, config: openapi_models.Config) -> None:
        super().__init__(config)
        self.raw_bodies: list[Any] = []

    def call_api(self, params: Any, request: Any, runtime: Any) -> Any:
        answer = super().call_api(params, request, runtime)
        self.raw_bodies.append(copy.deepcopy(answer.get("body")))
        return answer


def seed(ecs: EcsEmulator) -> None:
    """Tasks of every action and status in two regions, with resource ids and spread creation times."""
    statuses = ("Finished", "Processing", "Failed", "Waiting", "Paused")
    actions = ("ImportImage", "ExportImage", "RedeployInstance", "ModifyDiskSpec", "ArchiveSnapshot")
    for region in (HZ, SH):
        for a, action in enumerate(actions):
            for s, status in enumerate(statuses):
                created = NOW - timedelta(hours=a + 1, minutes=7 * s)
                finished = created + timedelta(minutes=3) if status in ("Finished", "Failed") else None
                task_id = f"t-{PREFIXES[region]}{a}{s}conformance"
                ecs.add_task(
                    **fixed_task(
                        task_id,
                        region=region,
                        action=action,
                        status=status,
                        created=created,
                        finished=finished,
                        resource_id=f"m-{task_id[2:]}",
                    )
                )
    # A running import that may be cancelled
    ecs.add_task(TaskId="t-hzcancel01", RegionId=HZ, TaskAction="ImportImage", created_ago_s=30, processing_s=3600)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EcsEmulator]:
    ecs = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, listing="strict")
    seed(ecs)
    with ecs:
        yield ecs


@pytest.fixture(params=sorted(SIGNATURES))
def sdk(request: pytest.FixtureRequest, emulator: EcsEmulator) -> RecordingSdkClient:
    config = openapi_models.Config(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        endpoint=urlsplit(emulator.base_url).netloc,
        protocol="http",
        region_id=HZ,
        signature_algorithm=SIGNATURES[request.param],
        read_timeout=5000,
        connect_timeout=2000,
    )
    client = RecordingSdkClient(config)
    client.signature_version = request.param
    return client


def runtime() -> RuntimeOptions:
    # No retries: a conformance failure shows as itself.
    return RuntimeOptions(autoretry=False, read_timeout=5000, connect_timeout=2000)


def round_trips(client: RecordingSdkClient, body: Any) -> dict[str, Any]:
    """The typed body equals the raw answer, and survives to_map -> from_map -> to_map unchanged."""
    raw = client.raw_bodies[-1]
    as_map: dict[str, Any] = body.to_map()
    assert as_map == raw
    assert type(body)().from_map(copy.deepcopy(as_map)).to_map() == raw
    return as_map


def signed_with(emulator: EcsEmulator, client: RecordingSdkClient) -> None:
    assert emulator.calls[-1].signature_version == client.signature_version


def describe(client: RecordingSdkClient, **fields: Any) -> ecs_models.DescribeTasksResponseBody:
    response = client.describe_tasks_with_options(ecs_models.DescribeTasksRequest(**fields), runtime())
    assert response.status_code == 200
    body: ecs_models.DescribeTasksResponseBody = response.body
    return body


def ids_of(body: ecs_models.DescribeTasksResponseBody) -> list[str]:
    return [task.task_id for task in body.task_set.task] if body.task_set and body.task_set.task else []


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- DescribeTasks, every parameter --------------------------------------------------------------

DESCRIBE_CASES: dict[str, dict[str, Any]] = {
    "region only": {"region_id": HZ},
    "page": {"region_id": HZ, "page_number": 2, "page_size": 4},
    "status Finished": {"region_id": HZ, "task_status": "Finished"},
    "status Processing": {"region_id": HZ, "task_status": "Processing"},
    "status Failed": {"region_id": HZ, "task_status": "Failed"},
    "status Waiting (ignored)": {"region_id": HZ, "task_status": "Waiting"},
    "action": {"region_id": SH, "task_action": "ExportImage"},
    "task ids": {"region_id": HZ, "task_ids": '["t-hz00conformance","t-hz12conformance","t-hz03conformance"]'},
    "resource ids": {"region_id": HZ, "resource_ids": ["m-hz20conformance", "m-hz41conformance"]},
    "time window": {"region_id": HZ, "start_time": iso(NOW - timedelta(hours=3, minutes=1)), "end_time": iso(NOW)},
    "everything": {
        "region_id": HZ,
        "task_action": "ImportImage",
        "task_status": "Failed",
        "task_ids": "t-hz02conformance,t-hz12conformance",
        "resource_ids": ["m-hz02conformance"],
        "start_time": iso(NOW - timedelta(days=1)),
        "end_time": iso(NOW + timedelta(minutes=1)),
        "page_number": 1,
        "page_size": 100,
    },
}


@pytest.mark.parametrize("case", list(DESCRIBE_CASES))
def test_describe_tasks_answers_parse_into_the_sdks_models(
    emulator: EcsEmulator, sdk: RecordingSdkClient, case: str
) -> None:
    # Given DescribeTasks with one parameter set of the API page
    fields = DESCRIBE_CASES[case]
    # When the official SDK calls the emulator
    body = describe(sdk, **fields)
    # Then the answer is the SDK's model, unchanged by a round trip, and the filters held
    round_trips(sdk, body)
    signed_with(emulator, sdk)
    assert body.region_id == fields["region_id"] and body.request_id
    assert body.page_number == fields.get("page_number", 1) and body.page_size == fields.get("page_size", 10)
    tasks = body.task_set.task if body.task_set and body.task_set.task else []
    assert len(tasks) <= body.page_size and body.total_count >= len(tasks)
    status = fields.get("task_status")
    allowed = {status} if status in ("Finished", "Processing", "Failed") else {"Finished", "Processing", "Failed"}
    assert all(task.task_status in allowed for task in tasks)
    if "task_action" in fields:
        assert {task.task_action for task in tasks} <= {fields["task_action"]}
    if case == "everything":
        assert ids_of(body) == ["t-hz02conformance"]
    if case == "resource ids":
        assert sorted(ids_of(body)) == ["t-hz20conformance", "t-hz41conformance"]
    if case == "task ids":
        assert sorted(ids_of(body)) == ["t-hz00conformance", "t-hz12conformance"]  # t-hz03 is Waiting
    assert all(isinstance(task.support_cancel, (bool, str)) for task in tasks)


def test_paging_with_the_sdk_reaches_every_listed_task(emulator: EcsEmulator, sdk: RecordingSdkClient) -> None:
    # Given pages of 7, walked by the answer's own PageSize and TotalCount
    seen: list[str] = []
    page = 1
    while True:
        body = describe(sdk, region_id=HZ, page_number=page, page_size=7)
        seen.extend(ids_of(body))
        if page * body.page_size >= body.total_count:
            break
        page += 1
    # Then every listed task came once, newest first
    assert len(seen) == len(set(seen)) == body.total_count == 16  # 5 actions x 3 listed statuses + t-hzcancel01


# --- DescribeTaskAttribute, CancelTask, DescribeRegions -----------------------------------------


@pytest.mark.parametrize("task_id", ["t-hz00conformance", "t-hz02conformance", "t-hz13conformance", "t-hzcancel01"])
def test_describe_task_attribute_parses(emulator: EcsEmulator, sdk: RecordingSdkClient, task_id: str) -> None:
    request = ecs_models.DescribeTaskAttributeRequest(region_id=HZ, task_id=task_id)
    response = sdk.describe_task_attribute_with_options(request, runtime())
    as_map = round_trips(sdk, response.body)
    signed_with(emulator, sdk)
    assert response.body.task_id == task_id and response.body.region_id == HZ
    assert {"TaskStatus", "TaskAction", "CreationTime", "SupportCancel", "RequestId"} <= set(as_map)


def test_cancel_task_and_its_documented_refusals(emulator: EcsEmulator, sdk: RecordingSdkClient) -> None:
    # Given a running import of its own for each signature version
    task_id = emulator.add_task(RegionId=HZ, TaskAction="ImportImage", created_ago_s=10, processing_s=3600)
    # When it is cancelled with the SDK, then the answer parses and the task is Deleted
    response = sdk.cancel_task_with_options(ecs_models.CancelTaskRequest(region_id=HZ, task_id=task_id), runtime())
    round_trips(sdk, response.body)
    assert response.status_code == 200 and response.body.request_id
    attribute = sdk.describe_task_attribute_with_options(
        ecs_models.DescribeTaskAttributeRequest(region_id=HZ, task_id=task_id), runtime()
    )
    assert attribute.body.task_status == "Deleted"
    # And cancelling again, or a task whose action cannot be cancelled, or no task, is refused as documented
    expected = {
        task_id: (403, "InvalidTaskId.IncorrectTaskStatus"),
        "t-hz21conformance": (403, "InvalidTaskId.TaskActionNotSupport"),
        "t-nosuchtask": (400, "InvalidTaskId.NotFound"),
    }
    for refused, (status, code) in expected.items():
        with pytest.raises(ClientException) as raised:
            sdk.cancel_task_with_options(ecs_models.CancelTaskRequest(region_id=HZ, task_id=refused), runtime())
        assert (raised.value.status_code, raised.value.code) == (status, code)


def test_describe_regions_parses(emulator: EcsEmulator, sdk: RecordingSdkClient) -> None:
    response = sdk.describe_regions_with_options(ecs_models.DescribeRegionsRequest(), runtime())
    round_trips(sdk, response.body)
    region_ids = [region.region_id for region in response.body.regions.region]
    assert HZ in region_ids and SH in region_ids
    assert all(region.region_endpoint and region.local_name for region in response.body.regions.region)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({}, 400, "MissingParameter"),
        ({"region_id": "na-south-1"}, 400, "InvalidRegionId.NotFound"),
        ({"region_id": HZ, "task_action": "NotAnAction"}, 400, "InvalidParameter"),
    ],
)
def test_errors_carry_the_documented_codes_and_statuses(
    sdk: RecordingSdkClient, fields: dict[str, Any], status: int, code: str
) -> None:
    with pytest.raises(ClientException) as raised:
        sdk.describe_tasks_with_options(ecs_models.DescribeTasksRequest(**fields), runtime())
    assert (raised.value.status_code, raised.value.code) == (status, code)
    assert raised.value.data["RequestId"] and raised.value.data["Code"] == code


def test_a_wrong_secret_is_signature_does_not_match(emulator: EcsEmulator) -> None:
    for algorithm in SIGNATURES.values():
        config = openapi_models.Config(
            access_key_id=ACCESS_KEY_ID,
            access_key_secret="not-the-secret",
            endpoint=urlsplit(emulator.base_url).netloc,
            protocol="http",
            region_id=HZ,
            signature_algorithm=algorithm,
        )
        with pytest.raises(ClientException) as raised:
            EcsSdkClient(config).describe_regions_with_options(ecs_models.DescribeRegionsRequest(), runtime())
        assert (raised.value.status_code, raised.value.code) == (400, "SignatureDoesNotMatch")


# --- the CLI and the SDK agree --------------------------------------------------------------------

CLI_CASES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "failed": (("cn-hangzhou", "failed"), {"region_id": HZ, "task_status": "Failed"}),
    "processing exports": (
        ("cn-shanghai", "processing", "ExportImage"),
        {"region_id": SH, "task_status": "Processing", "task_action": "ExportImage"},
    ),
    "imports": (("cn-hangzhou", "ImportImage"), {"region_id": HZ, "task_action": "ImportImage"}),
    "everything listed": (("cn-hangzhou",), {"region_id": HZ}),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_the_cli_and_the_sdk_return_the_same_tasks(
    emulator: EcsEmulator, sdk: RecordingSdkClient, tmp_path: Path, case: str
) -> None:
    words, fields = CLI_CASES[case]
    # When the CLI and the official SDK ask the same question (all pages)
    result = run_cli(emulator, *words, "--json", tmp_home=tmp_path, ECS_SIGNATURE_VERSION=sdk.signature_version)
    assert result.returncode == 0, result.stderr
    from_cli = {(t["TaskId"], t["TaskStatus"], t["TaskAction"]) for t in json.loads(result.stdout)}
    body = describe(sdk, **fields, page_size=100)
    tasks = body.task_set.task if body.task_set and body.task_set.task else []
    from_sdk = {(t.task_id, t.task_status, t.task_action) for t in tasks}
    # Then they are the same tasks
    assert body.total_count == len(tasks)
    assert from_cli == from_sdk and from_cli
