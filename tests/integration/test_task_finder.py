"""The task finder over real loopback HTTP against the ECS emulator, which lists tasks as the API page says
(strict: DescribeTasks leaves out Waiting, Paused and Deleted tasks) and answers an unknown id with
InvalidTaskId.NotFound."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from emulators.ecs import EcsEmulator
from shared.ecs.finder import find_tasks, look_up_task
from shared.ecs.models import Task, TaskAttribute
from shared.ecs.query import TaskAction, TaskStatus
from shared.errors import EcsApiError
from tests.conftest import fixed_task
from tests.integration.test_ecs_client import make_client

HZ = "cn-hangzhou"


def attribute_lookups(ecs: EcsEmulator) -> list[str]:
    return [c.params["TaskId"] for c in ecs.calls if c.action == "DescribeTaskAttribute"]


def test_a_listed_task_is_taken_from_the_listing_without_a_look_up(ecs: EcsEmulator, now: datetime) -> None:
    # Given a finished task, which DescribeTasks lists
    ecs.add_task(**fixed_task("t-done", created=now - timedelta(minutes=3), finished=now))
    client = make_client(ecs)
    # When it is asked for by id
    found = find_tasks(client, HZ, ["t-done"], deadline=client.deadline())
    # Then it comes from the listing, with its region, and DescribeTaskAttribute is never asked
    assert [(t.task_id, t.task_status, t.region_id) for t in found.listed] == [("t-done", "Finished", HZ)]
    assert (found.looked_up, found.unknown) == ((), ())
    assert attribute_lookups(ecs) == []


def test_a_task_the_strict_listing_hides_is_looked_up_in_the_listing_shape(ecs: EcsEmulator) -> None:
    # Given a Waiting task: strict DescribeTasks does not list it, DescribeTaskAttribute knows it
    ecs.add_task(TaskId="t-wait", RegionId=HZ, TaskAction="ImportImage", created_ago_s=5, waiting_s=600)
    client = make_client(ecs)
    assert list(client.iter_tasks(HZ, task_ids=["t-wait"])) == []
    # When it is asked for by id
    found = find_tasks(client, HZ, ["t-wait"], deadline=client.deadline())
    # Then it is found by DescribeTaskAttribute, as a listed Task (not the attribute answer), with its region
    (task,) = found.tasks
    assert found.listed == () and found.looked_up == (task,)
    assert type(task) is Task and not isinstance(task, TaskAttribute)
    assert (task.task_id, task.status, task.action, task.region_id) == (
        "t-wait",
        TaskStatus.WAITING,
        TaskAction.IMPORT_IMAGE,
        HZ,
    )
    assert attribute_lookups(ecs) == ["t-wait"]


def test_an_id_ecs_does_not_know_is_unknown_not_an_error(ecs: EcsEmulator, now: datetime) -> None:
    # Given one finished task, and an id no task has
    ecs.add_task(**fixed_task("t-done", created=now))
    client = make_client(ecs)
    # When both are asked for
    found = find_tasks(client, HZ, ["t-nosuch", "t-done"], deadline=client.deadline())
    # Then the task is found and the other id is said to be unknown (InvalidTaskId.NotFound), nothing raised
    assert [t.task_id for t in found.tasks] == ["t-done"]
    assert found.unknown == ("t-nosuch",)
    assert look_up_task(client, HZ, "t-nosuch", deadline=client.deadline()) is None


def test_listed_then_looked_up_each_id_once_in_the_order_asked(ecs: EcsEmulator, now: datetime) -> None:
    # Given a finished, a Paused, a Deleted (cancelled) and a Waiting task
    ecs.add_task(**fixed_task("t-done", created=now - timedelta(minutes=3), finished=now))
    ecs.add_task(**fixed_task("t-pause", status="Paused", created=now - timedelta(minutes=2)))
    ecs.add_task(TaskId="t-gone", RegionId=HZ, TaskAction="ExportImage", created_ago_s=60, waiting_s=600)
    ecs.add_task(TaskId="t-wait", RegionId=HZ, TaskAction="ImportImage", created_ago_s=5, waiting_s=600)
    client = make_client(ecs)
    client.cancel_task(HZ, "t-gone")
    ecs.reset_calls()
    # When they are asked for by id, some twice, with an unknown id among them
    ids = ["t-wait", "t-gone", "t-done", "t-wait", "t-nosuch", "t-pause"]
    found = find_tasks(client, HZ, ids, deadline=client.deadline())
    # Then the listing comes first, the rest in the order asked, and each id costs at most one look-up
    assert [(t.task_id, t.task_status) for t in found.tasks] == [
        ("t-done", "Finished"),
        ("t-wait", "Waiting"),
        ("t-gone", "Deleted"),
        ("t-pause", "Paused"),
    ]
    assert found.unknown == ("t-nosuch",)
    assert attribute_lookups(ecs) == ["t-wait", "t-gone", "t-nosuch", "t-pause"]


def test_filters_narrow_the_listing_and_the_looked_up_rest_is_left_to_the_caller(
    ecs: EcsEmulator, now: datetime
) -> None:
    # Given a finished import and a finished export
    ecs.add_task(**fixed_task("t-imp", created=now))
    ecs.add_task(**fixed_task("t-exp", action="ExportImage", created=now))
    client = make_client(ecs)
    # When both are asked for, filtered to imports
    found = find_tasks(
        client, HZ, ["t-imp", "t-exp"], deadline=client.deadline(), filters={"action": TaskAction.IMPORT_IMAGE}
    )
    # Then DescribeTasks was asked with the filter and both ids, and the export it left out was looked up
    (listing,) = [c for c in ecs.calls if c.action == "DescribeTasks"]
    assert (listing.params["TaskAction"], listing.params["TaskIds"]) == ("ImportImage", "t-imp,t-exp")
    assert [t.task_id for t in found.listed] == ["t-imp"]
    assert [(t.task_id, t.task_action) for t in found.looked_up] == [("t-exp", "ExportImage")]


def test_any_other_error_of_a_look_up_is_raised(ecs: EcsEmulator) -> None:
    # Given a known Waiting task, and ECS throttling every request from now on
    ecs.add_task(TaskId="t-wait", RegionId=HZ, TaskAction="ImportImage", created_ago_s=5, waiting_s=600)
    client = make_client(ecs, attempts=1)
    ecs.faults.update({"throttle_rate": 1.0})
    # When it is looked up
    # Then the throttling is raised, never taken for "ECS does not know it"
    with pytest.raises(EcsApiError, match="Throttling"):
        look_up_task(client, HZ, "t-wait", deadline=client.deadline())
    assert attribute_lookups(ecs) == ["t-wait"]
