"""ListTriggers through TriggerLister, over `responses`: an answer of the wrong shape is an error at once,
naming its request, and is not asked again (as EcsClient treats DescribeTasks answers)."""

from __future__ import annotations

import pytest
import responses

from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.invoke import FC_API_VERSION, FC_REQUEST_ID_HEADER
from shared.ecs.triggers import TriggerLister
from shared.errors import CODE_MALFORMED, FcApiError

ENDPOINT = "https://1111111111111111.cn-hangzhou.fc.aliyuncs.com"
TRIGGERS_URL = f"{ENDPOINT}/{FC_API_VERSION}/functions/ecs-tasks/triggers"


def lister() -> TriggerLister:
    credentials = StaticCredentialsProvider(Credentials("test-key-id", "test-key-secret-0001"))
    return TriggerLister(credentials, endpoint=ENDPOINT, sleep=lambda _: None)


@responses.activate
def test_an_answer_of_the_wrong_shape_is_malformed_at_once_naming_its_request() -> None:
    # Given Function Compute answering ListTriggers with triggers that are not a list of triggers
    responses.get(TRIGGERS_URL, json={"triggers": "http"}, headers={FC_REQUEST_ID_HEADER: "fc-req-1"})
    # When the triggers are listed
    with pytest.raises(FcApiError) as raised:
        lister().triggers("ecs-tasks")
    # Then it is a malformed answer, with its request id, asked once
    assert raised.value.code == CODE_MALFORMED and raised.value.request_id == "fc-req-1"
    assert len(responses.calls) == 1


@responses.activate
def test_pages_are_followed_to_the_last() -> None:
    # Given two pages of triggers
    first = {"triggers": [{"triggerName": "http", "triggerType": "http"}], "nextToken": "p2"}
    last = {"triggers": [{"triggerName": "timer", "triggerType": "timer"}]}
    responses.get(TRIGGERS_URL, json=first, match=[responses.matchers.query_param_matcher({"limit": "100"})])
    responses.get(
        TRIGGERS_URL, json=last, match=[responses.matchers.query_param_matcher({"limit": "100", "nextToken": "p2"})]
    )
    # When the triggers are listed
    found = lister().triggers("ecs-tasks")
    # Then both pages' triggers are there, in order
    assert [(t.name, t.type) for t in found] == [("http", "http"), ("timer", "timer")]
