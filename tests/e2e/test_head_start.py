"""A cold instance's head start (`bot.slack.answering.head_start`, `EcsClient.prefetch`): the first
request's ECS query leaves
before Bolt loads, the listener takes that answer (one DescribeTasks in all), and nothing is started that the
listener would not ask itself."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import http_event
from emulators.slack import SlackEmulator, SlackSender
from shared.ecs.client import EcsClient
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.query import TaskQuery, TaskStatus
from shared.ecs.transport import ApiTransport
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SIGNING_SECRET, SLACK_PATH, fixed_task
from tests.paths import REPO

REGION = "cn-hangzhou"
CHANNEL = "C0OPS"
USER = "U0ALICE"


def make_client(ecs: EcsEmulator) -> EcsClient:
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET, None))
    return EcsClient(ApiTransport(credentials, endpoint=ecs.base_url, signature_version="v3"), timeout=(1.0, 2.0))


def seed(ecs: EcsEmulator, now: datetime, count: int = 3) -> None:
    for i in range(count):
        ecs.add_task(**fixed_task(f"t-headstart{i:04d}", created=now - timedelta(minutes=i + 1), finished=now))


def describe_tasks_calls(ecs: EcsEmulator) -> int:
    return sum(1 for call in ecs.calls if call.action == "DescribeTasks")


def describe_tasks_calls_once_there(ecs: EcsEmulator, expected: int, timeout: float = 5.0) -> int:
    """The count once `expected` calls have arrived (or the timeout has passed): a prefetch nobody took runs on
    its own thread and may reach ECS after the caller's own call has come back."""
    deadline = time.monotonic() + timeout
    while describe_tasks_calls(ecs) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return describe_tasks_calls(ecs)


# --- the client ---------------------------------------------------------------------------------


def test_a_prefetched_query_is_answered_once_for_its_caller(ecs: EcsEmulator, now: datetime) -> None:
    seed(ecs, now)
    client = make_client(ecs)
    query = TaskQuery(regions=(REGION,), status=TaskStatus.FINISHED)
    client.prefetch(query, deadline=client.deadline(5))
    result = client.query(TaskQuery(regions=(REGION,), status=TaskStatus.FINISHED), deadline=client.deadline(5))
    assert [t.task_id for t in result.tasks] == ["t-headstart0000", "t-headstart0001", "t-headstart0002"]
    assert describe_tasks_calls(ecs) == 1
    # Taken once: the same query later is asked again (never a stale answer).
    client.query(query, deadline=client.deadline(5))
    assert describe_tasks_calls(ecs) == 2


def test_another_query_is_not_answered_by_a_prefetch(ecs: EcsEmulator, now: datetime) -> None:
    seed(ecs, now)
    client = make_client(ecs)
    client.prefetch(TaskQuery(regions=(REGION,), status=TaskStatus.FINISHED), deadline=client.deadline(5))
    result = client.query(TaskQuery(regions=(REGION,), status=TaskStatus.FAILED), deadline=client.deadline(5))
    assert result.tasks == ()
    assert describe_tasks_calls_once_there(ecs, 2) == 2


def test_a_prefetch_past_its_deadline_is_not_taken(ecs: EcsEmulator, now: datetime) -> None:
    seed(ecs, now)
    client = make_client(ecs)
    query = TaskQuery(regions=(REGION,), status=TaskStatus.FINISHED)
    client.prefetch(query, deadline=client.deadline(0))  # its answer is for a moment that has passed
    result = client.query(query, deadline=client.deadline(5))
    assert len(result.tasks) == 3
    assert describe_tasks_calls(ecs) == 1  # the caller's own call; the late prefetch never reached ECS


def test_a_prefetch_that_failed_fails_its_caller_the_same_way(ecs: EcsEmulator, now: datetime) -> None:
    seed(ecs, now)
    client = make_client(ecs)
    query = TaskQuery(regions=(REGION,), status=TaskStatus.FINISHED)
    ecs.faults.update({"error_5xx_rate": 1.0})
    client.prefetch(query, deadline=client.deadline(0.5))
    result = client.query(query, deadline=client.deadline(5))
    (region,) = result.regions
    assert region.error is not None and region.page is None


# --- through the handler template.yml names --------------------------------------------------------


@pytest.fixture
def prefetches(monkeypatch: pytest.MonkeyPatch) -> list[TaskQuery]:
    started: list[TaskQuery] = []
    original = EcsClient.prefetch

    def spy(self: EcsClient, query: TaskQuery, **kwargs: Any) -> None:
        started.append(query)
        original(self, query, **kwargs)

    monkeypatch.setattr(EcsClient, "prefetch", spy)
    return started


def slash_event(sender: SlackSender, slack: SlackEmulator, text: str) -> bytes:
    body = sender.slash_command_body(
        text, user_id=USER, channel_id=CHANNEL, response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    )
    headers = {"Host": "127.0.0.1", **sender.signed_headers(body)}
    event = http_event(method="POST", path=SLACK_PATH, query={}, headers=headers, body=body.encode(), source_ip="::1")
    return json.dumps(event).encode()


class Context:
    request_id = "head-start"


def test_a_cold_instance_starts_its_query_early_and_answers_it_with_one_call(
    app_env: dict[str, str], ecs: EcsEmulator, slack: SlackEmulator, now: datetime, prefetches: list[TaskQuery]
) -> None:
    from functions import http

    seed(ecs, now)
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    answer = http.handler(slash_event(sender, slack, f"{REGION} finished"), Context())
    assert answer["statusCode"] == 200 and "t-headstart0000" in answer["body"]
    assert prefetches == [TaskQuery(regions=(REGION,), status=TaskStatus.FINISHED)]
    assert describe_tasks_calls(ecs) == 1
    # A warm instance has no head start to give: its listener asks ECS itself.
    answer = http.handler(slash_event(sender, slack, f"{REGION} finished"), Context())
    assert "t-headstart0000" in answer["body"]
    assert len(prefetches) == 1 and describe_tasks_calls(ecs) == 2


@pytest.mark.parametrize(
    "text",
    [
        f"{REGION} finished since 2h",  # depends on the clock: a moment later it is another query
        "help",
        "cn-hangzou finished",  # a usage error
        f"watch t-headstart0000 {REGION}",
    ],
)
def test_nothing_is_started_that_the_listener_would_not_ask(
    app_env: dict[str, str], ecs: EcsEmulator, slack: SlackEmulator, prefetches: list[TaskQuery], text: str
) -> None:
    from functions import http

    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    answer = http.handler(slash_event(sender, slack, text), Context())
    assert answer["statusCode"] == 200
    assert prefetches == []


def test_a_refused_region_is_not_asked_early(
    app_env: dict[str, str],
    ecs: EcsEmulator,
    slack: SlackEmulator,
    prefetches: list[TaskQuery],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions import http

    monkeypatch.setenv("ECS_TASKS_REGIONS", "cn-shanghai")
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    answer = http.handler(slash_event(sender, slack, f"{REGION} finished"), Context())
    assert answer["statusCode"] == 200 and REGION in answer["body"]
    assert prefetches == [] and ecs.calls == []


def test_with_accounts_configured_nothing_is_started_at_home(
    app_env: dict[str, str],
    ecs: EcsEmulator,
    slack: SlackEmulator,
    now: datetime,
    prefetches: list[TaskQuery],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions import http

    # Given accounts are configured and this channel is bound to prod (whose role is never assumed here)
    accounts = {"prod": {"role_arn": "acs:ram::1111111111111111:role/ecs-tasks-read"}}
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps(accounts))
    monkeypatch.setenv("ECS_TASKS_CHANNEL_ACCOUNTS", json.dumps({CHANNEL: ["prod"]}))
    monkeypatch.setenv("STS_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: AssumeRole fails at once
    seed(ecs, now)
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    # When a cold instance gets a query with no account word
    answer = http.handler(slash_event(sender, slack, f"{REGION} finished"), Context())
    # Then nothing was started early, and the function's own account was never asked: the query is prod's
    assert answer["statusCode"] == 200
    assert prefetches == [] and describe_tasks_calls(ecs) == 0
    assert "t-headstart0000" not in answer["body"]


def test_a_cold_instance_starts_a_refresh_clicks_query_early(
    app_env: dict[str, str], ecs: EcsEmulator, slack: SlackEmulator, now: datetime, prefetches: list[TaskQuery]
) -> None:
    from bot.language.codecs import encode_query
    from functions import http
    from shared.cards.task_cards import ACTION_REFRESH

    seed(ecs, now)
    query = TaskQuery(regions=(REGION,), status=TaskStatus.FINISHED)
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    body = sender.block_actions_body(
        sender.block_actions_payload(
            action_id=ACTION_REFRESH,
            value=encode_query(query),
            user_id=USER,
            channel_id=CHANNEL,
            response_url=response_url,
            is_ephemeral=True,
        )
    )
    headers = {"Host": "127.0.0.1", **sender.signed_headers(body)}
    event = http_event(method="POST", path=SLACK_PATH, query={}, headers=headers, body=body.encode(), source_ip="::1")
    answer = http.handler(json.dumps(event).encode(), Context())
    assert answer["statusCode"] == 200
    assert prefetches == [query]
    assert describe_tasks_calls(ecs) == 1
    posted = slack.calls_to("response_url")
    assert posted and "t-headstart0000" in json.dumps(posted[-1].args)


def test_a_cold_instances_first_request_is_parsed_and_checked_once(
    app_env: dict[str, str],
    ecs: EcsEmulator,
    slack: SlackEmulator,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.language.codecs import encode_query
    from bot.language.grammar import Command, parse
    from bot.slack.buttons import Button
    from bot.slack.guard import Allowed, Refused, check_click
    from functions import http
    from shared.cards.task_cards import ACTION_REFRESH

    parsed: list[str] = []
    guarded: list[Button] = []

    def parse_spy(text: str, **kwargs: Any) -> Command:
        parsed.append(text)
        return parse(text, **kwargs)

    def guard_spy(settings: Any, button: Button, body: Any, **kwargs: Any) -> Allowed | Refused:
        guarded.append(button)
        return check_click(settings, button, body, **kwargs)

    # The one place a request is read (bot.slack.checked), spied on
    monkeypatch.setattr("bot.slack.checked.parse", parse_spy)
    monkeypatch.setattr("bot.slack.checked.check_click", guard_spy)
    seed(ecs, now)
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    # When a cold instance answers a slash command (the head start reads it before Bolt loads)
    answer = http.handler(slash_event(sender, slack, f"{REGION} finished"), Context())
    # Then the listener took the head start's reading: the words were parsed once
    assert "t-headstart0000" in answer["body"] and parsed == [f"{REGION} finished"]
    # And a cold instance's first click is guarded once
    http.reset_app()
    body = sender.block_actions_body(
        sender.block_actions_payload(
            action_id=ACTION_REFRESH,
            value=encode_query(TaskQuery(regions=(REGION,))),
            user_id=USER,
            channel_id=CHANNEL,
            response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
            is_ephemeral=True,
        )
    )
    headers = {"Host": "127.0.0.1", **sender.signed_headers(body)}
    event = http_event(method="POST", path=SLACK_PATH, query={}, headers=headers, body=body.encode(), source_ip="::1")
    assert http.handler(json.dumps(event).encode(), Context())["statusCode"] == 200
    assert len(guarded) == 1 and "t-headstart0000" in json.dumps(slack.calls_to("response_url")[-1].args)


_COLD_FIRST_COMMAND = """
import json, sys
from shared.ecs.client import EcsClient

seen = []
original = EcsClient.prefetch

def prefetch(self, query, **kwargs):
    seen.append("slack_bolt" in sys.modules)
    original(self, query, **kwargs)

EcsClient.prefetch = prefetch
from functions import http

class Context:
    request_id = "head-start-cold"

answer = http.handler(sys.stdin.read().encode(), Context())
print(json.dumps({"bolt_loaded_at_prefetch": seen, "status": answer["statusCode"], "body": answer.get("body") or ""}))
"""


def test_on_a_cold_instance_the_query_leaves_before_bolt_loads(
    app_env: dict[str, str], ecs: EcsEmulator, slack: SlackEmulator, now: datetime
) -> None:
    # Given a fresh interpreter (a cold instance) and its first slash command
    seed(ecs, now)
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    event = slash_event(sender, slack, f"{REGION} finished")
    root = REPO
    done = subprocess.run(
        [sys.executable, "-c", _COLD_FIRST_COMMAND],
        input=event.decode(),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Then its query was started before Bolt was imported, and answered in the ack with that one call
    assert result["bolt_loaded_at_prefetch"] == [False]
    assert result["status"] == 200 and "t-headstart0000" in result["body"]
    assert describe_tasks_calls(ecs) == 1


def test_no_head_start_without_an_inline_budget(
    app_env: dict[str, str],
    ecs: EcsEmulator,
    slack: SlackEmulator,
    prefetches: list[TaskQuery],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions import http

    # ECS_TASKS_INLINE_BUDGET=0: every answer is deferred, so nothing may be asked ahead of the deferred run
    monkeypatch.setenv("ECS_TASKS_INLINE_BUDGET", "0")
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=f"http://127.0.0.1{SLACK_PATH}")
    http.handler(slash_event(sender, slack, f"{REGION} finished"), Context())
    assert prefetches == []
