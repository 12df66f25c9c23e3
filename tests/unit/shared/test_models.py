"""Response models accept every shape the service has been seen to send (API page samples included)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.ecs.models import TaskAttribute, TaskPage, normalise_action, parse_api_time
from shared.ecs.query import TaskAction, TaskStatus
from tests.paths import FIXTURES
from tests.xml_support import xml_to_dict

# The DescribeTasks API page's sample answers, copied verbatim into the repository.


def _api_page_sample(kind: str) -> str:
    return (FIXTURES / f"describetasks-sample.{kind}").read_text(encoding="utf-8")


def test_json_sample_from_the_api_page_parses() -> None:
    # Given the JSON sample of the DescribeTasks page (TaskSet as a list around {"Task": [...]})
    import json

    body = json.loads(_api_page_sample("json"))
    # When it is validated
    page = TaskPage.model_validate(body)
    # Then both tasks come out, with times without seconds and SupportCancel as a boolean
    assert page.total_count == 2 and page.region_id == "cn-hangzhou"
    assert [t.task_id for t in page.tasks] == ["t-bp10e8or********74o8X", "t-23sgu0dyj"]
    first = page.tasks[0]
    assert first.creation_time == datetime(2015, 11, 24, 12, 50, tzinfo=timezone.utc)
    assert first.support_cancel is True
    assert first.action is TaskAction.IMPORT_IMAGE and first.status is TaskStatus.FINISHED
    assert first.region_id == "cn-hangzhou"


def test_xml_sample_from_the_api_page_parses_with_enum_form_actions() -> None:
    # Given the XML sample: repeated <Task> elements, TaskAction IMPORT_IMAGE, SupportCancel "true"
    body = xml_to_dict(_api_page_sample("xml"))
    page = TaskPage.model_validate(body)
    # Then the action is normalised to the request form and the flags are booleans
    assert [t.task_action for t in page.tasks] == ["ImportImage", "ImportImage"]
    assert all(t.support_cancel is True for t in page.tasks)
    assert page.tasks[1].finished_time == datetime(2015, 11, 23, 15, 16, tzinfo=timezone.utc)


def test_single_task_object_and_object_taskset_both_parse() -> None:
    as_object = TaskPage.model_validate({"TaskSet": {"Task": {"TaskId": "t-1"}}})
    as_list = TaskPage.model_validate({"TaskSet": {"Task": [{"TaskId": "t-1"}, {"TaskId": "t-2"}]}})
    empty = TaskPage.model_validate({"TaskSet": {}})
    missing = TaskPage.model_validate({})
    assert [t.task_id for t in as_object.tasks] == ["t-1"]
    assert [t.task_id for t in as_list.tasks] == ["t-1", "t-2"]
    assert empty.tasks == () and missing.tasks == ()


def test_running_task_has_no_finished_time_and_string_false_is_false() -> None:
    page = TaskPage.model_validate(
        {
            "TaskSet": {
                "Task": [
                    {
                        "TaskId": "t-run",
                        "TaskStatus": "Processing",
                        "FinishedTime": "",
                        "SupportCancel": "false",
                        "CreationTime": "2026-11-28T10:00:05Z",
                    }
                ]
            }
        }
    )
    task = page.tasks[0]
    assert task.finished_time is None
    assert task.support_cancel is False
    assert task.creation_time == datetime(2026, 11, 28, 10, 0, 5, tzinfo=timezone.utc)


def test_unknown_fields_and_values_are_kept_not_crashed_on() -> None:
    page = TaskPage.model_validate(
        {
            "NewTopLevel": 1,
            "TaskSet": {"Task": [{"TaskId": "t-x", "TaskAction": "FUTURE_THING", "TaskStatus": "Hibernating", "X": 2}]},
        }
    )
    task = page.tasks[0]
    assert task.task_action == "FutureThing" and task.action is None
    assert task.task_status == "Hibernating" and task.status is None
    assert task.model_extra == {"X": 2}
    assert page.model_extra == {"NewTopLevel": 1}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IMPORT_IMAGE", "ImportImage"),
        ("EXPORT_IMAGE", "ExportImage"),
        ("REDEPLOY_INSTANCE", "RedeployInstance"),
        ("MODIFY_DISK_SPEC", "ModifyDiskSpec"),
        ("ARCHIVE_SNAPSHOT", "ArchiveSnapshot"),
        ("ImportImage", "ImportImage"),
        ("", ""),
    ],
)
def test_action_normalisation(raw: str, expected: str) -> None:
    assert normalise_action(raw) == expected
    if expected:
        assert TaskAction(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2015-11-24T12:50Z", datetime(2015, 11, 24, 12, 50, tzinfo=timezone.utc)),
        ("2015-11-24T12:50:07Z", datetime(2015, 11, 24, 12, 50, 7, tzinfo=timezone.utc)),
        ("2015-11-24T20:50:07+08:00", datetime(2015, 11, 24, 12, 50, 7, tzinfo=timezone.utc)),
        ("", None),
        ("  ", None),
    ],
)
def test_api_time_formats(raw: str, expected: datetime | None) -> None:
    assert parse_api_time(raw) == expected


def test_task_attribute_with_operation_progress() -> None:
    attribute = TaskAttribute.model_validate(
        {
            "TaskId": "t-9",
            "TaskAction": "ImportImage",
            "TaskStatus": "Failed",
            "TaskProcess": "40%",
            "TotalCount": "3",
            "SuccessCount": 1,
            "FailedCount": 2,
            "SupportCancel": "false",
            "OperationProgressSet": {
                "OperationProgress": [
                    {
                        "OperationStatus": "Failed",
                        "ErrorCode": "InvalidImage.Format",
                        "ErrorMsg": "The image format is not supported.",
                        "RelatedItemSet": {"RelatedItem": [{"Name": "OSSObject", "Value": "a.qcow2"}]},
                    },
                    {"OperationStatus": "Success", "ErrorCode": "", "ErrorMsg": ""},
                ]
            },
        }
    )
    assert attribute.progress_percent == 40
    assert (attribute.total_count, attribute.success_count, attribute.failed_count) == (3, 1, 2)
    assert attribute.operations[0].error_code == "InvalidImage.Format"
    assert attribute.operations[0].related_items[0].value == "a.qcow2"
    assert attribute.operations[1].related_items == ()


def test_progress_percent_is_none_when_absent_and_capped() -> None:
    assert TaskAttribute.model_validate({"TaskId": "t", "TaskProcess": ""}).progress_percent is None
    assert TaskAttribute.model_validate({"TaskId": "t", "TaskProcess": "130%"}).progress_percent == 100


def test_api_dict_uses_api_names_and_request_form() -> None:
    page = TaskPage.model_validate(
        {"RegionId": "cn-beijing", "TaskSet": {"Task": [{"TaskId": "t-1", "TaskAction": "EXPORT_IMAGE"}]}}
    )
    assert page.tasks[0].to_api_dict() == {
        "TaskId": "t-1",
        "TaskAction": "ExportImage",
        "TaskStatus": "",
        "CreationTime": None,
        "FinishedTime": None,
        "SupportCancel": False,
        "ResourceId": None,
        "RegionId": "cn-beijing",
    }
