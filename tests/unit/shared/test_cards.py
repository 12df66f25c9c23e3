"""Task cards: what they say, which buttons they carry, and that no input ever breaks a Block Kit limit."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The Slack emulator's validator, written separately: a second, independent opinion on every message.
from emulators.ecs import EcsEmulator
from emulators.slack.blockkit import validate_blocks
from shared.cards.limits import BLOCK_KIT
from shared.cards.task_cards import (
    ACTION_CANCEL,
    ACTION_CANCEL_PATTERN,
    ACTION_DETAILS,
    ACTION_DETAILS_PATTERN,
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_REFRESH,
    ACTION_TASK_MENU,
    ACTION_WATCH,
    ACTION_WATCH_PATTERN,
    STATUS_EMOJI,
    CardButtons,
    Message,
    base_action_id,
    cancelled_message,
    error_message,
    notice_message,
    task_detail_message,
    task_list_message,
    task_status_line,
)
from shared.ecs.client import EcsClient
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.models import Task, TaskAttribute, TaskPage
from shared.ecs.query import TaskAction, TaskQuery, TaskStatus
from shared.ecs.results import MultiRegionResult, RegionResult
from shared.ecs.retry import RetryPolicy
from shared.ecs.transport import ApiTransport
from shared.errors import EcsApiError
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET

NOW = datetime(2026, 11, 28, 13, 30, tzinfo=timezone.utc)
CREATED = "2026-11-28T13:05:00Z"
CREATED_UNIX = 1795871100  # 2026-11-28 13:05:00 UTC
FINISHED = "2026-11-28T13:17:03Z"
REGION = "cn-hangzhou"
REQUEST_ID = "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E"
SLACK_DATE = re.compile(r"<!date\^(\d+)\^\{date_short_pretty\} \{time\}\|(\d{4}-\d\d-\d\d \d\d:\d\d UTC)>")


# --- fixtures, built with the models -------------------------------------------------------------


def task(
    n: int = 1, *, status: str = "Processing", action: str = "ImportImage", cancel: bool = True, **extra: Any
) -> Task:
    body = {
        "TaskId": f"t-bp1{n:06d}",
        "TaskAction": action,
        "TaskStatus": status,
        "SupportCancel": "true" if cancel else "false",
        "CreationTime": CREATED,
        "FinishedTime": "" if status in ("Processing", "Waiting") else FINISHED,
        "ResourceId": f"m-image{n:04d}",
        **extra,
    }
    return Task.model_validate(body)


def page(region: str, tasks: list[Task], *, total: int | None = None, number: int = 1, size: int = 10) -> TaskPage:
    return TaskPage.model_validate(
        {
            "RequestId": REQUEST_ID,
            "RegionId": region,
            "TotalCount": len(tasks) if total is None else total,
            "PageNumber": number,
            "PageSize": size,
            "TaskSet": {"Task": [t.to_api_dict() for t in tasks]},
        }
    )


def result(*regions: RegionResult, **query: Any) -> MultiRegionResult:
    return MultiRegionResult(TaskQuery(regions=tuple(r.region_id for r in regions), **query), regions)


def throttled(region: str) -> EcsApiError:
    return EcsApiError(
        "Throttling.User", "Request was denied due to flow control.", request_id=REQUEST_ID, region_id=region
    )


def ref(t: Task) -> str:
    return f"ref:{t.region_id}:{t.task_id}"


def buttons(**overrides: Any) -> CardButtons:
    values: dict[str, Any] = {"refresh": "R", "prev": None, "next": None, "task_ref": ref, "can_cancel": True}
    return CardButtons(**(values | overrides))


def list_message(res: MultiRegionResult, **overrides: Any) -> Message:
    return task_list_message(res, title="ECS tasks", buttons=buttons(**overrides), now=NOW)


# --- walking the produced JSON -------------------------------------------------------------------


def walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def texts(message: Message) -> str:
    return "\n".join(n["text"] for n in walk(message.blocks) if n.get("type") in ("mrkdwn", "plain_text"))


def elements(message: Message, kind: str) -> list[dict[str, Any]]:
    return [n for n in walk(message.blocks) if n.get("type") == kind]


def by_action(message: Message, pattern: re.Pattern[str]) -> list[dict[str, Any]]:
    return [n for n in walk(message.blocks) if pattern.match(str(n.get("action_id", "")))]


def limit_problems(message: Message) -> list[str]:
    """Every limit of shared.cards.limits, checked on the JSON (not on how the formatter built it)."""
    lim, blocks, found = BLOCK_KIT, message.blocks, []

    def over(value: object, limit: int, what: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            found.append(f"{what}: {len(value)} > {limit}")

    if not message.text.strip():
        found.append("empty fallback text")
    over(message.text, lim.message_text_chars, "fallback text")
    if len(blocks) > lim.blocks_per_message:
        found.append(f"{len(blocks)} blocks")
    text_objects = [n for n in walk(blocks) if n.get("type") in ("mrkdwn", "plain_text")]
    if sum(len(n["text"]) for n in text_objects) > lim.message_chars_budget:
        found.append("message characters over budget")
    for obj in text_objects:
        over(obj["text"], lim.text_object_chars, "text object")
        if not obj["text"]:
            found.append("empty text object")
    action_ids = [n["action_id"] for n in walk(blocks) if "action_id" in n]
    if len(action_ids) != len(set(action_ids)):
        found.append("duplicate action_id")
    for node in walk(blocks):
        over(node.get("action_id"), lim.action_id_chars, "action_id")
        over(node.get("block_id"), lim.block_id_chars, "block_id")
        kind = node.get("type")
        if kind == "header":
            over(node["text"]["text"], lim.header_text_chars, "header")
        elif kind == "section":
            over(node.get("text", {}).get("text"), lim.section_text_chars, "section text")
            fields = node.get("fields", [])
            if len(fields) > lim.section_fields:
                found.append("too many fields")
            for field in fields:
                over(field["text"], lim.section_field_chars, "field")
        elif kind == "actions" and len(node["elements"]) > lim.actions_elements:
            found.append("too many actions elements")
        elif kind == "context" and len(node["elements"]) > lim.context_elements:
            found.append("too many context elements")
        elif kind == "button":
            over(node["text"]["text"], lim.button_text_chars, "button text")
            over(node.get("value"), lim.button_value_chars, "button value")
            over(node.get("url"), lim.url_chars, "button url")
        elif kind == "overflow" and not lim.overflow_options_min <= len(node["options"]) <= lim.overflow_options_max:
            found.append("overflow options count")
        elif kind == "static_select":
            if not 1 <= len(node["options"]) <= lim.select_options:
                found.append("select options count")
            over(node["placeholder"]["text"], lim.placeholder_chars, "placeholder")
        if kind in ("overflow", "static_select"):
            for option in node["options"]:
                over(option["text"]["text"], lim.option_text_chars, "option text")
                over(option["value"], lim.option_value_chars, "option value")
        if "confirm" in node and isinstance(node["confirm"], dict) and "title" in node["confirm"]:
            confirm = node["confirm"]
            over(confirm["title"]["text"], lim.confirm_title_chars, "confirm title")
            over(confirm["text"]["text"], lim.confirm_text_chars, "confirm text")
            for key in ("confirm", "deny"):
                over(confirm[key]["text"], lim.confirm_button_chars, f"confirm {key}")
    rejected = validate_blocks(blocks)
    if rejected is not None:
        found.append(f"emulator: {rejected}")
    return found


def assert_within_limits(message: Message) -> None:
    assert limit_problems(message) == []


# --- the limits checker itself can fail ----------------------------------------------------------


def _button(value: str = "v", text: str = "Go", action_id: str = "a") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "value": value, "action_id": action_id}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    "blocks",
    [
        [_section("x")] * 51,
        [_section("x" * 3_001)],
        [_section("x" * 2_500)] * 5,
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2_001}]}],
        [{"type": "actions", "elements": [_button(action_id=f"a{i}") for i in range(26)]}],
        [{"type": "actions", "elements": [_button(value="v" * 2_001)]}],
        [{"type": "actions", "elements": [_button(text="t" * 76)]}],
        [{"type": "actions", "elements": [_button(action_id="a" * 256)]}],
        [{"type": "actions", "elements": [_button(), _button()]}],
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        [_section("")],
    ],
)
def test_the_limits_checker_catches_each_violation(blocks: list[dict[str, Any]]) -> None:
    assert limit_problems(Message(text="t", blocks=blocks))


# --- task lists ----------------------------------------------------------------------------------


def test_single_region_card_shows_totals_tasks_dates_and_details_buttons() -> None:
    # Given page 2 of a region with 27 tasks
    tasks = [task(1, status="Finished"), task(2, status="Processing")]
    res = result(RegionResult(REGION, page(REGION, tasks, total=27, number=2, size=10)))
    # When it is rendered with paging values
    message = list_message(res, prev="P", next="N")
    # Then the header, the totals and every task line are there
    assert message.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "ECS tasks", "emoji": True}}
    body = texts(message)
    assert "Showing 11–12 of 27 · cn-hangzhou" in body
    assert ":white_check_mark: *ImportImage* `t-bp1000001` Finished" in body
    assert "took 12m 03s" in body and "running for 25m 00s" in body and "Resource `m-image0001`" in body
    dates = SLACK_DATE.findall(body)
    assert (str(CREATED_UNIX), "2026-11-28 13:05 UTC") in dates and len(dates) == 3
    # And each task has a Details button carrying its ref; Refresh / Prev / Next carry the given values
    assert [b["value"] for b in by_action(message, ACTION_DETAILS_PATTERN)] == [ref(t) for t in res.tasks]
    values = {b["action_id"]: b["value"] for b in elements(message, "button")}
    assert (values[ACTION_REFRESH], values[ACTION_PREV], values[ACTION_NEXT]) == ("R", "P", "N")
    assert message.text.startswith("ECS tasks: Showing 11–12 of 27")
    assert_within_limits(message)


def test_prev_and_next_are_left_out_without_values() -> None:
    message = list_message(result(RegionResult(REGION, page(REGION, [task(1)]))))
    ids = {b["action_id"] for b in elements(message, "button")}
    assert ACTION_REFRESH in ids and ACTION_PREV not in ids and ACTION_NEXT not in ids


@pytest.mark.parametrize(
    ("t", "can_cancel", "shown"),
    [
        (task(1), True, True),
        (task(1, action="ExportImage", status="Waiting"), True, True),
        (task(1), False, False),  # the user may not cancel
        (task(1, cancel=False), True, False),  # the API says no
        (task(1, action="RedeployInstance"), True, False),  # CancelTask does not apply
        (task(1, status="Finished"), True, False),  # not running
        (task(1, status="Paused"), True, False),
    ],
)
def test_cancel_button_only_when_every_rule_allows_it(t: Task, can_cancel: bool, shown: bool) -> None:
    message = list_message(result(RegionResult(REGION, page(REGION, [t]))), can_cancel=can_cancel)
    cancels = by_action(message, ACTION_CANCEL_PATTERN)
    assert len(cancels) == (1 if shown else 0)
    if shown:
        button = cancels[0]
        assert button["value"] == ref(t.with_region(REGION)) and button["style"] == "danger"
        confirm = button["confirm"]
        assert t.task_id in confirm["text"]["text"] and confirm["style"] == "danger"
        assert (confirm["title"]["text"], confirm["confirm"]["text"], confirm["deny"]["text"]) == (
            "Cancel this task?",
            "Cancel task",
            "Keep it",
        )


@pytest.mark.parametrize(
    ("status", "can_watch", "shown"), [("Processing", True, 1), ("Processing", False, 0), ("Finished", True, 0)]
)
def test_watch_button_on_running_tasks_when_enabled(status: str, can_watch: bool, shown: int) -> None:
    message = list_message(result(RegionResult(REGION, page(REGION, [task(1, status=status)]))), can_watch=can_watch)
    watches = by_action(message, ACTION_WATCH_PATTERN)
    assert len(watches) == shown and all(w["value"] == ref(task(1).with_region(REGION)) for w in watches)


def test_multi_region_groups_tasks_and_shows_each_failing_region() -> None:
    # Given three regions: one with tasks, one throttled, one empty
    res = result(
        RegionResult("cn-shanghai", page("cn-shanghai", [task(1), task(2)], total=5)),
        RegionResult("cn-beijing", error=throttled("cn-beijing")),
        RegionResult("cn-hangzhou", page("cn-hangzhou", [])),
    )
    message = list_message(res)
    body = texts(message)
    # Then the totals count regions and failures, tasks sit under their region, the error names Code and RequestId
    assert "3 regions · 2 of 5 tasks · 1 failed" in body
    assert "*cn-shanghai* · 2 of 5 tasks" in body
    assert re.search(r"\*cn-beijing\* `Throttling.User` .*RequestId `" + REQUEST_ID + "`", body)
    assert "No tasks in cn-hangzhou" in body
    assert len(by_action(message, ACTION_DETAILS_PATTERN)) == 2
    assert_within_limits(message)


@pytest.mark.parametrize(
    ("query", "expected", "quirk"),
    [
        (
            {"status": TaskStatus.FAILED, "action": TaskAction.IMPORT_IMAGE},
            "No Failed ImportImage tasks in cn-hangzhou",
            False,
        ),
        ({"status": TaskStatus.WAITING}, "No Waiting tasks in cn-hangzhou", True),
        ({"status": TaskStatus.PAUSED, "task_ids": ("t-1",)}, "No Paused tasks", False),
        ({}, "No tasks in cn-hangzhou", False),
    ],
)
def test_empty_results_explain_themselves(query: dict[str, Any], expected: str, quirk: bool) -> None:
    message = list_message(result(RegionResult(REGION, page(REGION, [])), **query))
    body = texts(message)
    assert expected in body
    # A status DescribeTasks cannot list is explained honestly, with the way that works (by id)
    assert ("ECS lists only Finished, Processing and Failed tasks" in body) is quirk
    assert ("by its id" in body) is quirk
    assert_within_limits(message)


def test_empty_result_mentions_the_time_window() -> None:
    start, end = datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 28, tzinfo=timezone.utc)
    message = list_message(result(RegionResult(REGION, page(REGION, [])), start_time=start, end_time=end))
    assert re.search(
        r"No tasks in cn-hangzhou between <!date\^\d+\^.*\|2026-11-01 00:00 UTC> and <!date", texts(message)
    )


def test_all_regions_failing_says_so_without_hiding_any() -> None:
    res = result(RegionResult("cn-a", error=throttled("cn-a")), RegionResult("cn-b", error=throttled("cn-b")))
    message = list_message(res)
    body = texts(message)
    assert "Could not list tasks in any of the 2 regions" in body and "*cn-a*" in body and "*cn-b*" in body
    assert (
        message.text
        == "ECS tasks: 2 regions · 0 tasks · 2 failed; 2 regions failed: cn-a Throttling.User, cn-b Throttling.User"
    )


def test_the_fallback_text_of_a_failed_region_names_its_error() -> None:
    res = result(RegionResult(REGION, error=EcsApiError("Client.Timeout", "read timed out", region_id=REGION)))
    assert (
        list_message(res).text
        == "ECS tasks: cn-hangzhou · request failed; cn-hangzhou: Client.Timeout — read timed out"
    )


def test_api_data_cannot_inject_mentions_or_links() -> None:
    res = result(RegionResult(REGION, page(REGION, [task(1, TaskId="<!channel>&<http://x|y>")])))
    body = texts(list_message(res))
    assert "<!channel>" not in body and "&lt;!channel&gt;&amp;&lt;http://x|y&gt;" in body


def test_a_long_page_becomes_compact_with_a_task_menu() -> None:
    # Given 40 running, cancellable tasks (too many blocks for a section and buttons each)
    tasks = [task(n) for n in range(40)]
    message = list_message(result(RegionResult(REGION, page(REGION, tasks, total=40))))
    # Then they are listed as lines, and a "Task details…" menu carries each task's ref
    (menu,) = by_action(message, re.compile(f"^{ACTION_TASK_MENU}$"))
    assert menu["type"] == "static_select" and menu["placeholder"]["text"] == "Task details…"
    assert [o["value"] for o in menu["options"]] == [ref(t) for t in page(REGION, tasks).tasks]
    assert by_action(message, ACTION_DETAILS_PATTERN) == [] and "`t-bp1000039`" in texts(message)
    assert_within_limits(message)


def test_a_full_page_of_long_ids_is_truncated_with_a_count() -> None:
    # Given 100 tasks whose ids are 200 characters long
    tasks = [task(n, TaskId=f"t-{n:03d}-" + "x" * 195) for n in range(100)]
    message = list_message(result(RegionResult(REGION, page(REGION, tasks, total=100))))
    body = texts(message)
    shown = len(re.findall(r"`t-\d{3}-x+…`", body))
    hidden = re.search(r"…and (\d+) more tasks — narrow the query", body)
    # Then what is shown plus what is counted is the whole page, within every limit
    assert hidden and shown + int(hidden.group(1)) == 100 and shown > 10
    # And refs too long for a menu option are left out rather than cut
    assert by_action(message, re.compile(f"^{ACTION_TASK_MENU}$")) == []
    assert_within_limits(message)


def test_a_hundred_failing_regions_are_listed_then_counted_by_code() -> None:
    regions = [RegionResult(f"region-{n}", error=throttled(f"region-{n}")) for n in range(100)]
    res = result(*regions, RegionResult(REGION, page(REGION, [task(n) for n in range(60)])))
    message = list_message(res)
    body = texts(message)
    assert "101 regions · 60 tasks · 100 failed" in body
    assert "*region-0* `Throttling.User`" in body and "…and 90 more regions failed: Throttling.User ×90" in body
    assert "`t-bp1000000`" in body  # the region that answered is not hidden
    assert_within_limits(message)


def test_action_patterns_match_bare_and_numbered_ids_only() -> None:
    assert base_action_id(f"{ACTION_CANCEL}:12") == ACTION_CANCEL and base_action_id(ACTION_NEXT) == ACTION_NEXT
    for pattern, base in (
        (ACTION_DETAILS_PATTERN, ACTION_DETAILS),
        (ACTION_CANCEL_PATTERN, ACTION_CANCEL),
        (ACTION_WATCH_PATTERN, ACTION_WATCH),
    ):
        assert pattern.match(base) and pattern.match(f"{base}:17")
        assert not pattern.match(f"{base}x") and not pattern.match(ACTION_REFRESH)


def test_button_values_longer_than_slack_allows_are_refused() -> None:
    with pytest.raises(ValueError, match="refresh"):
        buttons(refresh="x" * 2_001)
    with pytest.raises(ValueError, match="button value"):
        list_message(result(RegionResult(REGION, page(REGION, [task(1)]))), task_ref=lambda t: "x" * 2_001)


def test_status_line_and_emoji() -> None:
    line = task_status_line(task(7, status="Failed"), now=NOW)
    assert line.startswith(":x: *ImportImage* `t-bp1000007` Failed · created <!date^1795871100^")
    assert line.endswith("· took 12m 03s") and "\n" not in line
    assert STATUS_EMOJI["Waiting"] == ":clock3:" and STATUS_EMOJI["Paused"] == ":double_vertical_bar:"
    assert task_status_line(task(1, status="Cancelling"), now=NOW).startswith(":grey_question:")


# --- one task ------------------------------------------------------------------------------------


def attribute(operations: list[dict[str, Any]], **extra: Any) -> TaskAttribute:
    body = {
        "RequestId": REQUEST_ID,
        "RegionId": REGION,
        "TaskId": "t-bp1000001",
        "TaskAction": "ImportImage",
        "TaskStatus": "Processing",
        "TaskProcess": "50%",
        "SupportCancel": "true",
        "TotalCount": 4,
        "SuccessCount": 2,
        "FailedCount": 1,
        "CreationTime": CREATED,
        "FinishedTime": "",
        "OperationProgressSet": {"OperationProgress": operations},
        **extra,
    }
    return TaskAttribute.model_validate(body)


def operation(status: str, code: str = "", msg: str = "", **items: str) -> dict[str, Any]:
    related = [{"Name": k, "Value": v} for k, v in items.items()]
    return {"OperationStatus": status, "ErrorCode": code, "ErrorMsg": msg, "RelatedItemSet": {"RelatedItem": related}}


def test_detail_card_shows_progress_counts_items_and_controls() -> None:
    ops = [
        operation("Success", ImageId="m-1"),
        operation("Failed", "InvalidImage.Format", "Unsupported format", DiskId="d-9"),
    ]
    message = task_detail_message(attribute(ops), now=NOW, buttons=buttons(can_watch=True))
    body = texts(message)
    assert message.blocks[0]["text"]["text"] == "ImportImage t-bp1000001"
    assert ":hourglass_flowing_sand: *Processing*" in body and "▓▓▓▓▓░░░░░ 50%" in body
    fields = [f["text"] for f in message.blocks[1]["fields"]]
    assert {"*Total*\n4", "*Success*\n2", "*Failed*\n1", "*Duration*\nrunning for 25m 00s"} <= set(fields)
    assert ":x: Failed `InvalidImage.Format` Unsupported format" in body and "DiskId `d-9`" in body
    assert f"RequestId `{REQUEST_ID}`" in body
    ids = {b["action_id"] for b in elements(message, "button")}
    assert ids == {ACTION_REFRESH, ACTION_CANCEL, ACTION_WATCH}
    assert message.text == "ImportImage t-bp1000001: Processing, 50%"
    assert_within_limits(message)


def test_detail_card_without_buttons_has_no_controls() -> None:
    message = task_detail_message(attribute([], TaskStatus="Finished", FinishedTime=FINISHED), now=NOW)
    assert elements(message, "button") == [] and "took 12m 03s" in texts(message)


def test_detail_card_condenses_many_items_failures_first() -> None:
    # Given 400 successes and 400 failures with long messages
    ops = [operation("Success", ImageId=f"m-{n}") for n in range(400)]
    ops += [operation("Failed", f"Err.{n}", "m" * 500, DiskId=f"d-{n}") for n in range(400)]
    message = task_detail_message(attribute(ops), now=NOW, buttons=buttons())
    body = texts(message)
    # Then successes are counted, failures listed until the limits, the rest counted
    assert ":white_check_mark: Success ×400" in body and "`Err.0`" in body
    hidden = re.search(r"…and (\d+) more items — narrow the query", body)
    assert hidden and len(re.findall(r"`Err\.\d+`", body)) + int(hidden.group(1)) == 400
    assert_within_limits(message)


# --- errors and notices --------------------------------------------------------------------------


def test_error_message_names_region_code_message_and_request_id() -> None:
    error = throttled(REGION)
    error.recommend = "https://api.aliyun.com/troubleshoot?q=Throttling.User&product=Ecs"
    message = error_message(error, what="list tasks")
    assert message.text == (
        "Could not list tasks in cn-hangzhou: Throttling.User — Request was denied due to flow control. "
        f"RequestId {REQUEST_ID}"
    )
    body = texts(message)
    assert "`Throttling.User`" in body and f"RequestId `{REQUEST_ID}`" in body
    assert f"<{error.recommend}|How to fix this>" in body and "Traceback" not in body
    assert_within_limits(message)


def test_a_recommend_that_is_not_a_plain_link_is_shown_as_text() -> None:
    error = EcsApiError("InternalError", "boom", recommend="see <!here> | now")
    body = texts(error_message(error, what="cancel the task"))
    assert "How to fix this: see &lt;!here&gt; | now" in body and "Could not cancel the task: `InternalError`" in body


def test_notice_and_cancelled_messages() -> None:
    notice = notice_message("Usage: `/ecs-tasks [region] [status]`")
    assert notice.as_kwargs() == {"text": notice.text, "blocks": notice.blocks}
    assert notice.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Usage: `/ecs-tasks [region] [status]`"}}
    ]
    huge = notice_message("\n".join(f"line {n} " + "x" * 200 for n in range(500)))
    assert huge.blocks[-1]["text"]["text"].endswith("…")
    assert_within_limits(huge)
    with pytest.raises(ValueError):
        notice_message("  ")
    done = cancelled_message(task(3).with_region(REGION), request_id=REQUEST_ID)
    assert ":wastebasket: Cancelled ImportImage task `t-bp1000003` in cn-hangzhou." in texts(done)


# --- any input, every limit ----------------------------------------------------------------------
# Hypothesis draws the shape (counts, lengths, error share) and a seed; a seeded Random fills in the
# many details, which keeps 300 examples of up to 100 tasks fast (a failure still reports its seed).

SEEDS = st.integers(0, 2**32)
ALPHABET = "abcxyz-_.:01<>&`*~|\n 字🙂"
TASK_STATUSES = [*(s.value for s in TaskStatus), "Cancelling", ""]
TASK_ACTIONS = [*(a.value for a in TaskAction), "FUTURE_ACTION", ""]
ERROR_CODES = ["Throttling.User", "InternalError", "Forbidden.RAM", "Weird<&>Code" * 5]


def junk(rnd: random.Random, longest: int) -> str:
    return "".join(rnd.choices(ALPHABET, k=rnd.randint(1, longest)))


def random_task(rnd: random.Random, region: str, id_chars: int) -> Task:
    created = datetime(2015, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rnd.randrange(500_000_000))
    finished = created + timedelta(seconds=rnd.randrange(4_000_000)) if rnd.random() < 0.5 else None
    return Task.model_validate(
        {
            "TaskId": rnd.choice([f"t-{rnd.randrange(10**20):020d}", junk(rnd, id_chars)]),
            "TaskAction": rnd.choice(TASK_ACTIONS),
            "TaskStatus": rnd.choice(TASK_STATUSES),
            "SupportCancel": rnd.random() < 0.7,
            "CreationTime": created if rnd.random() < 0.9 else None,
            "FinishedTime": finished,
            "ResourceId": rnd.choice([None, f"m-{rnd.randrange(10**10)}", junk(rnd, id_chars)]),
            "RegionId": region,
        }
    )


@st.composite
def results_st(draw: st.DrawFn) -> MultiRegionResult:
    rnd = random.Random(draw(SEEDS))
    region_count, task_count = draw(st.integers(1, 20)), draw(st.integers(0, 100))
    error_share = draw(st.sampled_from([0.0, 0.2, 0.5, 1.0]))
    id_chars, message_chars = draw(st.sampled_from([8, 80, 300])), draw(st.sampled_from([1, 100, 2_000]))
    names = list(dict.fromkeys(rnd.choice([f"cn-r{n}", junk(rnd, 80)]) for n in range(region_count)))
    failing = {name for name in names if rnd.random() < error_share}
    answering = [name for name in names if name not in failing]
    per_region: dict[str, list[Task]] = {name: [] for name in answering}
    for _ in range(task_count if answering else 0):
        name = rnd.choice(answering)
        per_region[name].append(random_task(rnd, name, id_chars))
    regions = []
    for name in names:
        if name in failing:
            request_id = rnd.choice([None, REQUEST_ID, junk(rnd, id_chars)])
            error = EcsApiError(rnd.choice(ERROR_CODES), junk(rnd, message_chars), request_id=request_id)
            regions.append(RegionResult(name, error=error))
        else:
            tasks = per_region[name]
            total = len(tasks) + rnd.choice([0, 7, 5_000])
            regions.append(RegionResult(name, TaskPage(RegionId=name, TotalCount=total, TaskSet=tasks)))
    status = draw(st.none() | st.sampled_from(TaskStatus))
    return MultiRegionResult(TaskQuery(regions=tuple(names), status=status), tuple(regions))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(res=results_st(), can_cancel=st.booleans(), can_watch=st.booleans(), title=st.text(min_size=1, max_size=300))
def test_any_task_list_keeps_every_limit(res: MultiRegionResult, can_cancel: bool, can_watch: bool, title: str) -> None:
    flags = {"can_cancel": can_cancel, "can_watch": can_watch, "prev": "P", "next": "N"}
    message = task_list_message(res, title=title, buttons=buttons(**flags), now=NOW)
    assert_within_limits(message)
    assert message.text.strip() and "\n" not in message.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS, count=st.integers(0, 400), process=st.text(max_size=20))
def test_any_task_detail_keeps_every_limit(seed: int, count: int, process: str) -> None:
    rnd = random.Random(seed)
    ops = [
        operation(
            rnd.choice(["Success", "Failed", "", junk(rnd, 50)]), junk(rnd, 60), junk(rnd, 800), Name=junk(rnd, 300)
        )
        for _ in range(count)
    ]
    message = task_detail_message(attribute(ops, TaskProcess=process), now=NOW, buttons=buttons(can_watch=True))
    assert_within_limits(message)


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_a_throttled_answer_says_the_wait_in_seconds_from_the_milliseconds_header(
    ecs: EcsEmulator, version: str
) -> None:
    # Given ECS throttling every request with x-acs-retry-after: 1500 (milliseconds), and a client that
    # makes one attempt
    ecs.faults.update({"throttle_next": 5, "throttle_retry_after_ms": 1500})
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    transport = ApiTransport(credentials, endpoint=ecs.base_url, signature_version=version)  # type: ignore[arg-type]
    client = EcsClient(transport, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(EcsApiError) as raised:
        client.describe_tasks(REGION)
    # When the error becomes a card
    body = texts(error_message(raised.value, what="list tasks"))
    # Then it asks for 1.5 seconds, never 1500
    assert "ECS asks to wait 1.5 s before trying again." in body
    assert "1500" not in body


def test_one_region_in_two_accounts_counts_accounts_and_regions_not_pairs() -> None:
    # Given cn-hangzhou asked in prod and in staging
    res = result(
        RegionResult(REGION, page(REGION, [task(1), task(2)]), account="prod"),
        RegionResult(REGION, page(REGION, [task(3)]), account="staging"),
    )
    # When the card is drawn
    body = texts(list_message(res))
    # Then the summary counts two accounts and one region, and each group names its account
    assert "2 accounts · 1 region · 3 tasks" in body
    assert f"*prod · {REGION}* · 2 tasks" in body and f"*staging · {REGION}* · 1 task" in body
