"""ActionTrail API-call events read and checked where they enter: the documented sample, both forms, hostile values."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulators.eventbridge.standin import ECS_SOURCE, FIXTURES, api_call_event
from shared.updates.api_calls import (
    CALLER_ROOT,
    CALLER_SESSION,
    CALLER_USER,
    MAX_BATCH,
    Unreadable,
    parse_api_call,
    read_batch,
)

AT = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def sample() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "actiontrail-apicall.json").read_text())
    return loaded


def test_the_documented_sample_is_read_keeping_only_the_callers_name() -> None:
    # The documentation masks its ids with `****`, which no real id has: unmasked here
    event = sample()
    event["id"] = "45ef4dewdwe1-7c35-447a-bd93-fab1234"
    event["aliyunaccountid"] = "1234567890123456"
    event["data"]["responseElements"]["TaskId"] = "t-bp10e8or74o8x"
    call = parse_api_call(event)
    assert (call.action, call.region_id, call.task_id) == ("ImportImage", "cn-hangzhou", "t-bp10e8or74o8x")
    assert call.key == f"acs.actiontrail|{event['id']}"
    assert call.caller is not None and (call.caller.kind, call.caller.name) == (CALLER_USER, "alice")
    assert call.event_time == datetime(2022, 10, 22, 21, 52, tzinfo=timezone.utc)
    # Nothing else of the identity is kept: no AccessKey id, principal id or source IP anywhere in the call
    kept = repr(call)
    for private in ("LTAI5t", "28815334868278", "192.0.2.10"):
        assert private not in kept


def test_ecs_own_source_and_an_assumed_roles_session_are_read() -> None:
    event = api_call_event(
        action="ExportImage",
        region_id="cn-shanghai",
        account_id="1111111111111111",
        at=AT,
        session=("ecs-tasks-cancel", "slack-U0ALICE"),
        response={"TaskId": "t-uf6abc"},
        form=ECS_SOURCE,
    )
    call = parse_api_call(event)
    assert call.key.startswith("acs.ecs|") and call.caller is not None
    assert (call.caller.kind, call.caller.name, call.caller.role_name) == (
        CALLER_SESSION,
        "slack-U0ALICE",
        "ecs-tasks-cancel",
    )
    assert call.caller.slack_user == "U0ALICE" and call.caller.is_ecs_tasks and call.caller.shown() == "<@U0ALICE>"


def test_the_accounts_root_is_named_as_the_owner_and_is_not_ecs_tasks() -> None:
    call = parse_api_call(api_call_event(action="CancelTask", region_id="cn-hangzhou", account_id="1", at=AT,
                                         request={"TaskId": "t-1"}))  # fmt: skip
    assert call.caller is not None and call.caller.kind == CALLER_ROOT and not call.caller.is_ecs_tasks
    assert call.cancels and call.task_id == "t-1"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["data"].update(acsRegion="x@127.0.0.1:1/#"), "acsRegion"),
        (lambda e: e["data"].update(acsRegion="cn-hangzhou." + "a" * 50), "acsRegion"),
        (lambda e: e.update(aliyunaccountid="12345678901234567890123"), "aliyunaccountid"),
        (lambda e: e.update(aliyunaccountid="1234 OR 1=1"), "aliyunaccountid"),
        (lambda e: e.update(id="x" * 200), "id"),
        (lambda e: e["data"]["responseElements"].update(TaskId="t-1/../../x"), "TaskId"),
        (lambda e: e["data"].update(eventName="DeleteInstance"), "not a task call"),
        (lambda e: e.update(type="actiontrail:ActionTrail:ConsoleOperation"), "not an ActionTrail API call"),
        (lambda e: e.update(source="acs.ecs"), "not an ActionTrail API call"),  # a source with the other's type
        (lambda e: e["data"].update(eventTime="yesterday"), "eventTime"),
        (lambda e: e.update(data=["not", "an", "object"]), "data"),
    ],
)
def test_a_field_out_of_form_makes_the_event_unreadable_quoting_none_of_it(change: Any, reason: str) -> None:
    event = api_call_event(action="ImportImage", region_id="cn-hangzhou", account_id="1234567890123456", at=AT,
                           user="alice", response={"TaskId": "t-ok1"})  # fmt: skip
    change(event)
    with pytest.raises(Unreadable, match=reason) as raised:
        parse_api_call(event)
    assert "127.0.0.1" not in str(raised.value) and "OR 1=1" not in str(raised.value)


def test_a_caller_name_out_of_form_is_no_caller_at_all() -> None:
    for name in ("alice<@U0EVIL>", "a" * 65, "role:sess ion", "<!channel>"):
        event = api_call_event(action="ImportImage", region_id="cn-hangzhou", account_id="1", at=AT, user=name)
        assert parse_api_call(event).caller is None


def test_a_batch_is_a_json_array_of_events_within_bounds() -> None:
    one = api_call_event(action="ImportImage", region_id="cn-hangzhou", account_id="1", at=AT, user="alice")
    assert read_batch(json.dumps(one).encode()) == [one]
    assert read_batch(json.dumps([one, one]).encode()) == [one, one]
    for bad in (b"not json", b"42", json.dumps([one] * (MAX_BATCH + 1)).encode(), b" " * (300 * 1024)):
        with pytest.raises(Unreadable):
            read_batch(bad)


@given(st.dictionaries(st.text(max_size=12), st.recursive(st.none() | st.text(max_size=30) | st.integers(),
                                                           lambda c: st.lists(c, max_size=3) | st.dictionaries(
                                                               st.text(max_size=8), c, max_size=3), max_leaves=8),
                       max_size=8))  # fmt: skip
def test_any_json_object_is_either_a_checked_call_or_unreadable(event: dict[str, Any]) -> None:
    try:
        call = parse_api_call(event)
    except Unreadable:
        return
    assert call.region_id and call.account_id.isdigit()
