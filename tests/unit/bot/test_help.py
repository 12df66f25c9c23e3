"""A bare `/ecs-tasks`, like `help`, answers with the usage and buttons that run common queries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from bot.language.codecs import decode_query
from bot.language.help import help_message
from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from emulators.slack.blockkit import validate_blocks
from shared.cards.task_cards import ACTION_NEXT, ACTION_PREV, ACTION_REFRESH
from shared.config import Settings
from shared.ecs.query import ALL_REGIONS, TaskQuery, TaskStatus
from tests.conftest import fixed_task
from tests.e2e.test_slack_e2e import all_text, buttons, click, send_command, wait_for_response

NOW = datetime(2026, 11, 5, 12, 30, 45, tzinfo=timezone.utc)
RUN_IDS = (ACTION_REFRESH, ACTION_PREV, ACTION_NEXT)


def run_buttons(blocks: list[dict[str, Any]]) -> dict[str, TaskQuery]:
    """Each button's label and the query its value runs."""
    found = buttons(blocks)
    return {
        element["text"]["text"]: decode_query(element["value"], now=NOW)
        for action in RUN_IDS
        for element in found.get(action, [])
    }


def test_help_has_buttons_for_common_queries_in_the_default_region() -> None:
    # Given a default region, when help is asked for
    message = help_message(Settings(default_region="cn-shanghai"), now=NOW)
    # Then Slack would take the blocks, the usage is there, and each button runs its query there
    assert validate_blocks(message.blocks) is None
    assert "Usage:" in all_text(message.blocks) and message.text
    assert run_buttons(message.blocks) == {
        "Failed in the last 24 h": TaskQuery(
            regions=("cn-shanghai",), status=TaskStatus.FAILED, start_time=NOW - timedelta(hours=24)
        ),
        "Running now": TaskQuery(regions=("cn-shanghai",), status=TaskStatus.PROCESSING),
        "Failed, all regions": TaskQuery(regions=(ALL_REGIONS,), status=TaskStatus.FAILED),
    }


def test_without_a_default_region_the_buttons_ask_every_region() -> None:
    queries = run_buttons(help_message(Settings(), now=NOW).blocks)
    assert len(queries) == 3 and all(q.regions == (ALL_REGIONS,) for q in queries.values())


def test_a_bare_command_shows_help_and_a_button_replaces_it_with_that_card(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    # Given a running task and a failed one in the default region
    ecs.add_task(**fixed_task("t-bp1run001", status="Processing", created=now - timedelta(minutes=5)))
    ecs.add_task(**fixed_task("t-bp1bad001", status="Failed", created=now - timedelta(hours=1), finished=now))
    # When the user types `/ecs-tasks` with nothing after it
    response, _, response_url = send_command(sender, slack, "")
    # Then the answer is the help, with buttons, and no ECS call was made
    body = response.json()
    assert response.status_code == 200 and "Usage:" in all_text(body["blocks"])
    fc.wait_for_async()
    assert [c for c in ecs.calls if c.action == "DescribeTasks"] == []
    # When the user clicks "Running now"
    (running,) = [b for b in buttons(body["blocks"]).get(ACTION_PREV, []) if b["text"]["text"] == "Running now"]
    assert click(sender, running, response_url).status_code == 200
    # Then that query's card replaces the help
    (card,) = wait_for_response(slack)
    assert card.args.get("replace_original") is True
    text = all_text(card.args["blocks"])
    assert "t-bp1run001" in text and "t-bp1bad001" not in text
