"""`ecs-tasks query` as a user runs it: real HTTP to the emulator, exit statuses and output.

Most cases run `main()` in this process (tests/cli_support.py); the tests of the installed command run it as
a real process: exit statuses, stdout against stderr, credentials never shown, a timeout, the official
credentials chain, a malformed setting in a fresh interpreter, and the dev tool."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from shared.ecs.query import TaskAction, TaskStatus
from tests.cli_support import run_main
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


def query_env(ecs: EcsEmulator | None, tmp_home: Path, extra_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "ECS_"))}
    env["HOME"] = str(tmp_home)  # no ~/.aliyun/config.json to fall back on
    if ecs is not None:
        env.update(
            ECS_ENDPOINT=ecs.base_url,
            ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        )
    env.update(extra_env)
    return env


def run(ecs: EcsEmulator | None, *words: str, tmp_home: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`ecs-tasks query WORDS` in this process."""
    return run_main(["query", *words], query_env(ecs, tmp_home, extra_env))


def run_process(
    ecs: EcsEmulator | None, *words: str, tmp_home: Path, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """`ecs-tasks query WORDS` as a real process of the installed command."""
    env = query_env(ecs, tmp_home, extra_env)
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
@pytest.mark.parametrize("status", sorted(TaskStatus.FILTERABLE))
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
@pytest.mark.parametrize("status", sorted(set(TaskStatus) - TaskStatus.FILTERABLE))
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
    result = run_process(None, "cn-hangzou", "faild", tmp_home=tmp_path, ECS_TASKS_DEFAULT_REGION="cn-hangzhou")
    assert result.returncode == 2
    assert "cn-hangzou" in result.stderr and "cn-hangzhou" in result.stderr
    assert "Usage:" in result.stderr and "Traceback" not in result.stderr
    # And a run in this process, as most tests here run it, gives exactly what the installed command gave
    same = run(None, "cn-hangzou", "faild", tmp_home=tmp_path, ECS_TASKS_DEFAULT_REGION="cn-hangzhou")
    assert outcome(same) == outcome(result)


def outcome(result: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return result.returncode, result.stdout, result.stderr


def test_no_region_and_no_default_says_how_to_set_one(tmp_path: Path) -> None:
    result = run(None, "failed", tmp_home=tmp_path)
    assert result.returncode == 2 and "ECS_TASKS_DEFAULT_REGION" in result.stderr


def test_missing_credentials_exit_1_saying_where_it_looked(tmp_path: Path) -> None:
    # The official chain reads HOME and the environment when imported: a real process
    result = run_process(None, "cn-hangzhou", tmp_home=tmp_path, ECS_ENDPOINT="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in result.stderr and "config.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_api_error_exits_1_with_code_and_request_id(ecs: EcsEmulator, tmp_path: Path) -> None:
    result = run_process(ecs, "cn-hangzhou", tmp_home=tmp_path, ALIBABA_CLOUD_ACCESS_KEY_SECRET="wrong-secret-123")
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


# -- settings, errors, help, channel commands, dev tooling --------------------------------------

DEV_CLI = str(Path(sys.executable).with_name("ecs-tasks-dev"))
CREDENTIAL = "s3cr3t-pass"


def command_env(tmp_home: Path, extra_env: dict[str, str]) -> dict[str, str]:
    """None of our settings from the outer environment unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "ECS_", "SLACK_"))}
    env["HOME"] = str(tmp_home)
    env.update(extra_env)
    return env


def run_cli(program: str, *args: str, tmp_home: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`ecs-tasks ARGS` in this process (`program` is CLI: the dev tool runs as a process)."""
    assert program == CLI, program
    return run_main(args, command_env(tmp_home, extra_env))


def run_cli_process(program: str, *args: str, tmp_home: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Any installed command as a real process."""
    env = command_env(tmp_home, extra_env)
    return subprocess.run([program, *args], env=env, capture_output=True, text=True, timeout=60)


MALFORMED_SETTINGS = [
    ("ECS_ENDPOINT", "ecs.example.com"),
    ("ECS_ENDPOINT", f"https://user:{CREDENTIAL}@[::1"),
    ("ECS_ENDPOINT", "http://127.0.0.1:port"),
    ("ECS_SIGNATURE_VERSION", "v2"),
    ("ECS_TASKS_DEFAULT_REGION", "x@127.0.0.1:9/#"),
    ("ECS_TASKS_REGIONS", "cn-hangzhou,evil.example.com"),
    ("ECS_TASKS_ECS_DEADLINE", "soon"),
    ("ECS_TASKS_ECS_DEADLINE", "-1"),
    ("SLACK_API_URL", f"htps://user:{CREDENTIAL}@slack.example.com/api/"),
    ("ECS_TASKS_WATCH_TTL", "²d"),
    ("ECS_TASKS_LOG_LEVEL", "LOUD"),
]


@pytest.mark.parametrize("command", ["query", "poll"])
@pytest.mark.parametrize(("name", "value"), MALFORMED_SETTINGS)
def test_every_malformed_setting_is_one_line_naming_it_and_exit_1(
    tmp_path: Path, command: str, name: str, value: str
) -> None:
    # Given a malformed setting, when `ecs-tasks` runs
    args = [command, "cn-hangzhou"] if command == "query" else [command]
    result = run_cli(CLI, *args, tmp_home=tmp_path, **{name: value})
    # Then it prints one line that names the setting, never its value, and exits 1 without a traceback
    assert_one_line_naming(result, name, value)


@pytest.mark.parametrize("command", ["query", "poll"])
def test_the_installed_command_names_a_malformed_setting_in_one_line(tmp_path: Path, command: str) -> None:
    # Given a malformed setting carrying a credential, when a real `ecs-tasks` process starts
    name, value = "ECS_ENDPOINT", f"https://user:{CREDENTIAL}@[::1"
    args = [command, "cn-hangzhou"] if command == "query" else [command]
    result = run_cli_process(CLI, *args, tmp_home=tmp_path, **{name: value})
    # Then nothing a fresh interpreter imports, warns or logs adds to the one line naming the setting
    assert_one_line_naming(result, name, value)
    # And a run in this process, as the test above runs each setting, gives exactly the same
    assert outcome(run_cli(CLI, *args, tmp_home=tmp_path, **{name: value})) == outcome(result)


def assert_one_line_naming(result: subprocess.CompletedProcess[str], name: str, value: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"ecs-tasks: {name}"), line
    assert value not in result.stderr and CREDENTIAL not in result.stderr and "Traceback" not in result.stderr


def test_the_endpoint_message_reads_as_the_issue_asks(tmp_path: Path) -> None:
    result = run_cli(CLI, "query", "cn-hangzhou", tmp_home=tmp_path, ECS_ENDPOINT="ecs.example.com")
    assert result.stderr.startswith("ecs-tasks: ECS_ENDPOINT is not a valid URL")


@pytest.mark.parametrize(
    "url",
    [f"postgresql+psycopg://dbuser:{CREDENTIAL}@127.0.0.1:1/nowhere", f"nosuchdialect://dbuser:{CREDENTIAL}@db/x"],
)
def test_a_database_that_cannot_be_used_is_one_line_without_its_credentials(tmp_path: Path, url: str) -> None:
    # Given a database URL with credentials that cannot be reached or has no driver
    result = run_cli_process(CLI, "poll", tmp_home=tmp_path, SLACK_BOT_TOKEN="xoxb-1", ECS_TASKS_DATABASE_URL=url)
    # Then the poll names the setting in one line, exit 1, and neither the user nor the password shows
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("ecs-tasks: ECS_TASKS_DATABASE_URL"), result.stderr
    assert CREDENTIAL not in result.stderr + result.stdout and "dbuser" not in result.stderr
    assert "Traceback" not in result.stderr


def test_credentials_in_the_endpoint_never_show_when_it_cannot_be_reached(tmp_path: Path) -> None:
    # Given an endpoint with user-info that refuses connections
    endpoint = f"http://user:{CREDENTIAL}@127.0.0.1:9"
    result = run_cli_process(
        CLI,
        "query",
        "cn-hangzhou",
        tmp_home=tmp_path,
        ECS_ENDPOINT=endpoint,
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        ECS_TASKS_ECS_DEADLINE="3",
    )
    # Then the failure is reported with the host, and the user-info is masked
    assert result.returncode == 1
    assert "127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr
    assert CREDENTIAL not in result.stderr + result.stdout and "user:" not in result.stderr


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://user:{CREDENTIAL}@127.0.0.1:{listener.getsockname()[1]}"


def test_a_timeout_reads_as_plain_seconds_and_stdout_claims_nothing(tmp_path: Path, silent_server: str) -> None:
    # Given an endpoint that never answers
    result = run_cli_process(
        CLI,
        "query",
        "cn-hangzhou",
        "--json",
        tmp_home=tmp_path,
        ECS_ENDPOINT=silent_server,
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        ECS_TASKS_ECS_DEADLINE="1",
    )
    # Then stdout is empty (no `[]`), stderr names the region and a plain number of seconds
    assert result.returncode == 1
    assert result.stdout == ""
    assert "cn-hangzhou failed" in result.stderr, result.stderr
    assert re.search(r"Client\.Timeout: no answer within \d+\.\d s ", result.stderr), result.stderr
    assert CREDENTIAL not in result.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_when_every_region_fails_stdout_says_nothing_about_tasks(
    seeded: EcsEmulator, tmp_path: Path, as_json: bool
) -> None:
    # Given a region this account cannot use, alone
    result = run(seeded, "na-south-1", *(["--json"] if as_json else []), tmp_home=tmp_path)
    # Then no "No tasks match." and no `[]`: the failure is on stderr, naming the region
    assert result.returncode == 1
    assert result.stdout == ""
    assert "na-south-1 failed" in result.stderr and "InvalidRegionId.NotFound" in result.stderr


def test_when_some_regions_fail_stderr_says_whose_tasks_are_shown(seeded: EcsEmulator, tmp_path: Path) -> None:
    result = run_process(seeded, "cn-hangzhou,na-south-1", "failed", tmp_home=tmp_path)
    assert result.returncode == 1 and result.stdout.splitlines()[-1] == "5 tasks"
    assert "the tasks above are from cn-hangzhou only" in result.stderr


def test_ecs_tasks_regions_limits_what_a_query_may_name_and_what_all_means(seeded: EcsEmulator, tmp_path: Path) -> None:
    # Given ECS_TASKS_REGIONS naming one region
    refused = run(seeded, "cn-shanghai", tmp_home=tmp_path, ECS_TASKS_REGIONS="cn-hangzhou")
    assert refused.returncode == 2 and "cn-shanghai" in refused.stderr
    before = len(seeded.calls)
    result = run(seeded, "all", "failed", "--json", tmp_home=tmp_path, ECS_TASKS_REGIONS="cn-hangzhou")
    # Then `all` is that region only
    assert result.returncode == 0, result.stderr
    assert {task["RegionId"] for task in json.loads(result.stdout)} == {"cn-hangzhou"}
    assert {call.region_id for call in seeded.calls[before:]} == {"cn-hangzhou"}


@pytest.mark.parametrize(
    ("program", "args", "options", "variables"),
    [
        (
            CLI,
            ["query", "--help"],
            ["--json", "WORDS"],
            [
                "ECS_ENDPOINT",
                "ECS_SIGNATURE_VERSION",
                "ECS_TASKS_DEFAULT_REGION",
                "ECS_TASKS_REGIONS",
                "ECS_TASKS_ECS_DEADLINE",
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                "ALIBABA_CLOUD_SECURITY_TOKEN",
            ],
        ),
        (
            CLI,
            ["poll", "--help"],
            ["--budget"],
            [
                "ECS_ENDPOINT",
                "ECS_TASKS_REGIONS",
                "ECS_TASKS_DATABASE_URL",
                "ECS_TASKS_WATCH_TTL",
                "SLACK_BOT_TOKEN",
                "SLACK_API_URL",
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
            ],
        ),
        (
            DEV_CLI,
            ["serve", "--help"],
            ["--host", "--port", "--fc-async"],
            ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "ECS_ENDPOINT", "ECS_TASKS_DATABASE_URL"],
        ),
        (DEV_CLI, ["emulator", "--help"], ["--host", "--port", "--seed"], ["environment variables"]),
    ],
)
def test_every_subcommands_help_lists_its_options_and_environment_variables(
    tmp_path: Path, program: str, args: list[str], options: list[str], variables: list[str]
) -> None:
    result = run_cli_process(program, *args, tmp_home=tmp_path)
    assert result.returncode == 0
    assert "environment variables:" in result.stdout
    for word in [*options, *variables]:
        assert word in result.stdout, word


@pytest.mark.parametrize("command", ["watch cn-hangzhou t-1", "unwatch t-1", "subscribe all", "unsubscribe", "list"])
def test_channel_commands_say_they_work_in_slack_and_exit_2(tmp_path: Path, command: str) -> None:
    result = run_cli(CLI, "query", *command.split(), tmp_home=tmp_path, ECS_TASKS_DEFAULT_REGION="cn-hangzhou")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "works in Slack" in line and result.stdout == ""


def test_a_bare_query_prints_the_usage(tmp_path: Path) -> None:
    result = run_cli(CLI, "query", tmp_home=tmp_path, ECS_TASKS_DEFAULT_REGION="cn-hangzhou")
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_every_unknown_word_is_named_on_the_terminal_unescaped(tmp_path: Path) -> None:
    result = run_cli(CLI, "query", "faild", "<!x>", "imprt", tmp_home=tmp_path, ECS_TASKS_DEFAULT_REGION="cn-hangzhou")
    assert result.returncode == 2
    assert "faild" in result.stderr and "<!x>" in result.stderr and "imprt" in result.stderr
    assert "&lt;" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "emulator"])
def test_a_busy_port_is_one_line_and_exit_1(tmp_path: Path, command: str) -> None:
    # Given a port that something else holds
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        # When the dev server is asked to listen there
        result = run_cli_process(DEV_CLI, command, "--port", str(port), tmp_home=tmp_path)
    # Then one line says so and how to choose another
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"ecs-tasks-dev: port {port} is in use; choose another with --port"]
