"""The status and action sets, defined once on TaskStatus and TaskAction, hold the API's strings as they come."""

from __future__ import annotations

import pytest

from shared.ecs.query import TaskAction, TaskStatus


@pytest.mark.parametrize("status", list(TaskStatus))
def test_a_status_string_from_the_api_is_in_a_set_exactly_when_its_member_is(status: TaskStatus) -> None:
    # Given the raw string ECS sends for a status (not the member)
    raw = status.value
    assert type(raw) is str
    # Then every set answers for the string as it does for the member
    for statuses in (TaskStatus.FILTERABLE, TaskStatus.TERMINAL, TaskStatus.RUNNING, TaskStatus.UNFINISHED):
        assert (raw in statuses) is (status in statuses)


def test_the_sets_say_what_the_api_pages_say() -> None:
    # DescribeTasks filters on Finished, Processing and Failed only; CancelTask takes Waiting and Processing
    assert {s.value for s in TaskStatus.FILTERABLE} == {"Finished", "Processing", "Failed"}
    assert {s.value for s in TaskStatus.RUNNING} == {"Waiting", "Processing"}
    assert {a.value for a in TaskAction.CANCELLABLE} == {"ImportImage", "ExportImage"}
    # Every status is either over or not yet; Paused is neither running nor over
    over, not_yet = TaskStatus.TERMINAL, TaskStatus.UNFINISHED
    assert over | not_yet == set(TaskStatus)
    assert not over & not_yet
    assert not_yet - TaskStatus.RUNNING == {TaskStatus.PAUSED}


def test_a_status_this_version_does_not_know_is_in_no_set() -> None:
    for statuses in (TaskStatus.FILTERABLE, TaskStatus.TERMINAL, TaskStatus.RUNNING, TaskStatus.UNFINISHED):
        assert "Hibernating" not in statuses and None not in statuses


def test_the_sets_are_not_members() -> None:
    # The sets live on the enums' classes, assigned after them: neither enum gains a member by them
    assert set(TaskStatus.__members__).isdisjoint({"FILTERABLE", "TERMINAL", "RUNNING", "UNFINISHED"})
    assert "CANCELLABLE" not in TaskAction.__members__
    assert len(TaskStatus) == 6 and len(TaskAction) == 5
