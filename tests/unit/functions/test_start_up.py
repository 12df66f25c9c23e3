"""An instance's start-up runs with the garbage collector paused (`functions.start_up`): the first request
through `functions.http.handler` sees no collection, then the start-up's objects are frozen and the collector is
back on for every later request. Each case runs in a fresh interpreter, as a cold instance does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

from tests.paths import REPO

# Counts the collections that start, and makes many short-lived cycles: with the collector on, some are collected.
PRELUDE = """
import gc, json, sys
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)

def cycles(count=20_000):
    for _ in range(count):
        node = []
        node.append(node)
"""


def run_fresh(code: str, stdin: str = "", env: dict[str, str] | None = None) -> dict[str, Any]:
    program = PRELUDE + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPO,
        input=stdin,
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def unsigned_slash_command() -> str:
    """A well-formed FC 3.0 HTTP event whose signature is wrong: answered 401, after the verifier loads."""
    body = "command=%2Fecs-tasks&text=cn-hangzhou+failed&team_id=T0&channel_id=C0&user_id=U0"
    headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}
    event = {"version": "v1", "requestContext": {"http": {"method": "POST"}}, "headers": headers, "body": body}
    return json.dumps(event)


def test_the_first_request_runs_with_the_collector_paused_and_later_ones_with_it_on() -> None:
    # Given a fresh interpreter that has imported the HTTP entry point, as Function Compute does
    result = run_fresh(
        """
        from functions import http
        event = sys.stdin.read()
        # When its first request is served
        before = len(collections)
        status = http.handler(event, None)["statusCode"]
        during_first = len(collections) - before
        enabled_after, frozen = gc.isenabled(), gc.get_freeze_count()
        # and then a second one, and cycles are made
        http.handler(event, None)
        cycles()
        after = len(collections) - before - during_first
        print(json.dumps({"status": status, "during_first": during_first, "enabled_after": enabled_after,
                          "frozen": frozen, "after": after}))
        """,
        stdin=unsigned_slash_command(),
        env={"SLACK_SIGNING_SECRET": "a-secret-that-signed-nothing"},
    )
    # Then the first request was answered with no collection while it loaded the verifier and pydantic,
    assert result["status"] == 401
    assert result["during_first"] == 0
    # what it allocated was frozen, and the collector runs again afterwards
    assert result["enabled_after"] is True
    assert result["frozen"] > 10_000
    assert result["after"] > 0


def test_the_pause_is_once_per_process() -> None:
    # Given a fresh interpreter
    result = run_fresh(
        """
        from functions.start_up import collector_paused_once
        # When the start-up is entered twice
        with collector_paused_once():
            first = gc.isenabled()
            cycles()
        frozen = gc.get_freeze_count()
        before = len(collections)
        with collector_paused_once():
            second = gc.isenabled()
            cycles()
        print(json.dumps({"first": first, "second": second, "frozen": frozen,
                          "collected_in_second": len(collections) - before, "enabled": gc.isenabled()}))
        """
    )
    # Then only the first pauses the collector; the second leaves it running
    assert result["first"] is False and result["frozen"] > 0
    assert result["second"] is True and result["collected_in_second"] > 0
    assert result["enabled"] is True


def test_a_collector_the_process_had_turned_off_stays_off() -> None:
    # Given a process that runs with the collector off (its own choice)
    result = run_fresh(
        """
        gc.disable()
        from functions.start_up import collector_paused_once
        # When the start-up runs
        with collector_paused_once():
            pass
        print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
        """
    )
    # Then it is not turned on behind the process's back, nor anything frozen
    assert result == {"enabled": False, "frozen": 0}


def test_a_start_up_that_raises_still_resumes_the_collector() -> None:
    # Given a fresh interpreter
    result = run_fresh(
        """
        from functions.start_up import collector_paused_once
        # When the start-up's work fails
        try:
            with collector_paused_once():
                raise LookupError("the start-up failed")
        except LookupError:
            pass
        before = len(collections)
        cycles()
        print(json.dumps({"enabled": gc.isenabled(), "collected_after": len(collections) - before}))
        """
    )
    # Then the collector is back on, and collects again
    assert result["enabled"] is True
    assert result["collected_after"] > 0


def test_the_initializer_is_the_start_up_when_function_compute_runs_it() -> None:
    # Given a fresh interpreter whose runtime calls the initializer hook (template.yml names it)
    result = run_fresh(
        """
        from functions import http
        # When the hook builds the app, and then a request arrives
        before = len(collections)
        http.initialize(None)
        during = len(collections) - before
        enabled, frozen = gc.isenabled(), gc.get_freeze_count()
        http.handler(b"not json", None)
        print(json.dumps({"during": during, "enabled": enabled, "frozen": frozen, "built": http.get_app() is not None,
                          "enabled_after_request": gc.isenabled()}))
        """,
        env={"SLACK_SIGNING_SECRET": "a-secret", "SLACK_BOT_TOKEN": "xoxb-0-start-up", "ECS_TASKS_DATABASE_URL": ""},
    )
    # Then the app was built with the collector paused, its objects frozen, and the first request finds it on
    assert result["built"] is True
    assert result["during"] == 0
    assert result["enabled"] is True and result["frozen"] > 10_000
    assert result["enabled_after_request"] is True
