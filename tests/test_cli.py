"""`ecs-tasks query` as a user runs it: a real process, real HTTP to the emulator, exit statuses and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from shared.ecs.query import FILTERABLE_STATUSES, TaskAction, TaskStatus
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, LISTINGS, fixed_task

CLI = str(Path(sys.executable).with_name("ecs-tasks"))
LISTED_FIELDS = {
    "TaskId",
    "TaskAction",
    "TaskStatus",
    "CreationTime",
    "FinishedTime",
    "SupportCancel",
    "ResourceId",
    "RegionId",
}


def run(ecs: EcsEmulator | None, *words: str, tmp_home: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "ECS_"))}
    env["HOME"] = str(tmp_home)  # no ~/.aliyun/config.json to fall back on
    if ecs is not None:
        env.update(
            ECS_ENDPOINT=ecs.base_url,
            ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        )
    env.update(extra_env)
    return subprocess.run([CLI, "query", *words], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def seeded(ecs: EcsEmulator, now: datetime) -> EcsEmulator:
    """One task for every (action, status) pair, in two regions."""
    for region in ("cn-hangzhou", "cn-shanghai"):
        for a, action in enumerate(TaskAction):
            for s, status in enumerate(TaskStatus):
                created = now - timedelta(hours=1 + a, minutes=s)
                finished = (
                    created + timedelta(minutes=5) if status in (TaskStatus.FINISHED, TaskStatus.FAILED) else None
                )
                task_id = f"t-{region[3:6]}{a}{s}x"
                ecs.add_task(
                    **fixed_task(
                        task_id,
                        region=region,
                        action=action.value,
                        status=status.value,
                        created=created,
                        finished=finished,
                        resource_id=f"m-{task_id[2:]}",
                    )
                )
    return ecs


@pytest.mark.parametrize("action", list(TaskAction))
@pytest.mark.parametrize("status", sorted(FILTERABLE_STATUSES))
def test_every_action_and_listed_status_as_json(
    seeded: EcsEmulator, tmp_path: Path, action: TaskAction, status: TaskStatus
) -> None:
    result = run(seeded, "cn-hangzhou", status.value.lower(), action.value, "--json", tmp_home=tmp_path)
    assert result.returncode == 0, result.stderr
    tasks = json.loads(result.stdout)
    assert len(tasks) == 1
    (task,) = tasks
    assert task["TaskAction"] == action.value and task["TaskStatus"] == status.value
    assert task["RegionId"] == "cn-hangzhou" and task["ResourceId"].startswith("m-")
    assert isinstance(task["SupportCancel"], bool)
    assert set(task) == LISTED_FIELDS


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
@pytest.mark.parametrize("status", sorted(set(TaskStatus) - FILTERABLE_STATUSES))
def test_a_status_ecs_cannot_list_is_found_by_id(seeded: EcsEmulator, tmp_path: Path, status: TaskStatus) -> None:
    # Given one ImportImage task in each status (Waiting, Paused, Deleted ones included)
    s = list(TaskStatus).index(status)
    task_id = f"t-han0{s}x"
    # When the status is asked for without ids, and with the task's id
    listed = run(seeded, "cn-hangzhou", status.value.lower(), "ImportImage", "--json", tmp_home=tmp_path)
    by_id = run(seeded, "cn-hangzhou", status.value.lower(), task_id, "--json", tmp_home=tmp_path)
    # Then without ids only a lenient ECS lists it (the real one lists only Finished, Processing and Failed);
    # by id it is found either way, through DescribeTaskAttribute
    assert listed.returncode == 0 and by_id.returncode == 0, listed.stderr + by_id.stderr
    expected = [task_id] if seeded.service.listing == "lenient" else []
    assert [t["TaskId"] for t in json.loads(listed.stdout)] == expected
    (task,) = json.loads(by_id.stdout)
    assert (task["TaskId"], task["TaskStatus"], task["TaskAction"]) == (task_id, status.value, "ImportImage")
    # in the same shape as a listed task
    assert set(task) <= {*LISTED_FIELDS} and {"TaskId", "TaskStatus", "CreationTime", "RegionId"} <= set(task)


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
def test_table_output_for_several_regions(seeded: EcsEmulator, tmp_path: Path) -> None:
    result = run(seeded, "cn-hangzhou,cn-shanghai", "failed", tmp_home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["STATUS", "ACTION", "TASK"]
    assert lines[-1] == "10 tasks"
    assert {"cn-hangzhou", "cn-shanghai"} <= set(result.stdout.split())


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
def test_all_pages_are_merged(ecs: EcsEmulator, now: datetime, tmp_path: Path) -> None:
    for i in range(130):
        ecs.add_task(
            **fixed_task(f"t-many{i:03d}", status="Finished", created=now - timedelta(minutes=i), finished=now)
        )
    result = run(ecs, "cn-hangzhou", "--json", tmp_home=tmp_path)
    assert len(json.loads(result.stdout)) == 130


def test_usage_error_exits_2_naming_the_word(tmp_path: Path) -> None:
    result = run(None, "cn-hangzou", "faild", tmp_home=tmp_path, ECS_TASKS_DEFAULT_REGION="cn-hangzhou")
    assert result.returncode == 2
    assert "cn-hangzou" in result.stderr and "cn-hangzhou" in result.stderr
    assert "Usage:" in result.stderr and "Traceback" not in result.stderr


def test_no_region_and_no_default_says_how_to_set_one(tmp_path: Path) -> None:
    result = run(None, "failed", tmp_home=tmp_path)
    assert result.returncode == 2 and "ECS_TASKS_DEFAULT_REGION" in result.stderr


def test_missing_credentials_exit_1_saying_where_it_looked(tmp_path: Path) -> None:
    result = run(None, "cn-hangzhou", tmp_home=tmp_path, ECS_ENDPOINT="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in result.stderr and "config.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_api_error_exits_1_with_code_and_request_id(ecs: EcsEmulator, tmp_path: Path) -> None:
    result = run(ecs, "cn-hangzhou", tmp_home=tmp_path, ALIBABA_CLOUD_ACCESS_KEY_SECRET="wrong-secret-123")
    assert result.returncode == 1
    assert "SignatureDoesNotMatch" in result.stderr and "RequestId" in result.stderr
    assert "wrong-secret-123" not in result.stderr + result.stdout


def test_a_failing_region_is_reported_beside_results(seeded: EcsEmulator, tmp_path: Path) -> None:
    # Given a real region that this (emulated) account cannot use
    result = run(seeded, "cn-hangzhou,na-south-1", "failed", "--json", tmp_home=tmp_path)
    # Then the other region's tasks still print, and the failure is reported with its code
    assert len(json.loads(result.stdout)) == 5
    assert result.returncode == 1
    assert "na-south-1" in result.stderr and "InvalidRegionId.NotFound" in result.stderr


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_signature_version_is_selectable(seeded: EcsEmulator, tmp_path: Path, version: str) -> None:
    result = run(seeded, "cn-hangzhou", "finished", "--json", tmp_home=tmp_path, ECS_SIGNATURE_VERSION=version)
    assert result.returncode == 0
    assert seeded.calls[-1].signature_version == version


def test_a_malformed_setting_is_named_not_a_traceback(tmp_path: Path) -> None:
    result = run(None, "cn-hangzhou", tmp_home=tmp_path, ECS_SIGNATURE_VERSION="v2")
    assert result.returncode == 1
    assert "ECS_SIGNATURE_VERSION" in result.stderr and "Traceback" not in result.stderr
