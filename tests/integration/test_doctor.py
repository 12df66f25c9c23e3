"""`ecs-tasks doctor` over the emulators (ECS, STS, Slack, FC) and real databases: with a working set-up every
check passes and it exits 0; each broken thing, one at a time, is named on a ❌ line, it exits 1, and no
secret is shown."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator
from emulators.slack.web_api import BotIdentity
from emulators.sts.server import StsEmulator
from emulators.sts.service import Caller, Role
from emulators.sts.sessions import SessionRegistry
from tests.cli_support import run_main
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, BOT_TOKEN, SIGNING_SECRET

CLI = str(Path(sys.executable).with_name("ecs-tasks"))
FUNCTION_ROLE = "acs:ram::1000000000000000:role/ecs-tasks-fc"
PROD_ROLE = "acs:ram::1111111111111111:role/ecs-tasks-read"
LOCKED_ROLE = "acs:ram::2222222222222222:role/ecs-tasks-read"  # trusts the account's root only
EXTERNAL_ID = "prod-external-id-5f1e"
DB_PASSWORD = "db-pass-93c1a7"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, ACCESS_KEY_SECRET, EXTERNAL_ID, DB_PASSWORD)


@pytest.fixture
def registry() -> SessionRegistry:
    return SessionRegistry()


@pytest.fixture
def ecs(registry: SessionRegistry) -> Iterator[EcsEmulator]:
    emulator = EcsEmulator(
        seed=[],
        credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET},
        sessions=registry,
        account_seeds={"1111111111111111": [], "2222222222222222": []},
    )
    with emulator:
        yield emulator


@pytest.fixture
def sts(registry: SessionRegistry) -> Iterator[StsEmulator]:
    roles = [
        Role(PROD_ROLE, frozenset({FUNCTION_ROLE}), external_id=EXTERNAL_ID),
        Role(LOCKED_ROLE, frozenset({"acs:ram::2222222222222222:root"})),
    ]
    emulator = StsEmulator(callers={ACCESS_KEY_ID: Caller(ACCESS_KEY_SECRET, FUNCTION_ROLE)}, roles=roles,
                           registry=registry)  # fmt: skip
    with emulator:
        yield emulator


ACCOUNTS = {"prod": {"role_arn": PROD_ROLE, "regions": ["cn-hangzhou", "cn-shanghai"], "external_id": EXTERNAL_ID}}


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, ecs: EcsEmulator, slack: SlackEmulator, sts: StsEmulator, tmp_path: Path
) -> dict[str, str]:
    """A working deployment's variables (one account, two regions), set in this process's environment."""
    for name in list(os.environ):
        if name.startswith(("ALIBABA_CLOUD_", "ECS_", "SLACK_", "FC_", "STS_")):
            monkeypatch.delenv(name)
    values = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "ECS_ENDPOINT": ecs.base_url,
        "STS_ENDPOINT": sts.base_url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "ECS_TASKS_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "ECS_TASKS_ACCOUNTS": json.dumps(ACCOUNTS),
        "HOME": str(tmp_path),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    from shared.store import open_store

    open_store(values["ECS_TASKS_DATABASE_URL"]).engine.dispose()  # the schema, as a deployed poller made it
    return values


def doctor(*args: str) -> tuple[int, str]:
    """`ecs-tasks doctor ARGS` in this process, in this test's environment: its exit status and stdout."""
    done = run_main(["doctor", *args], dict(os.environ))
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr
    return done.returncode, done.stdout


def failures(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("❌")]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("env")
def test_a_working_deployment_passes_every_check() -> None:
    # When doctor runs with a working set-up
    code, out = doctor()
    # Then every check passes, each account and region is named, and it exits 0
    assert code == 0, out
    assert failures(out) == []
    for name in ("settings", "request signing", "slack token", "slack scopes", "database", "sts endpoint"):
        assert f"✅ {name}:" in out
    assert "✅ account prod · cn-hangzhou: AssumeRole succeeds" in out
    assert "✅ account prod · cn-shanghai:" in out
    assert out.rstrip().endswith("All checks passed.")


@pytest.mark.usefixtures("env")
def test_json_names_each_check() -> None:
    code, out = doctor("--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert {"settings", "database", "account prod · cn-hangzhou"} <= {check["name"] for check in report["checks"]}


def test_a_bad_setting_is_named(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a default region that is not a region id
    monkeypatch.setenv("ECS_TASKS_DEFAULT_REGION", "hangzhou!")
    code, out = doctor()
    (line,) = failures(out)
    assert code == 1 and line.startswith("❌ settings: ") and "ECS_TASKS_DEFAULT_REGION" in line


@pytest.mark.usefixtures("env")
def test_a_revoked_token_is_named(slack: SlackEmulator) -> None:
    slack.revoke_token("token_revoked")
    code, out = doctor()
    (line,) = failures(out)
    assert code == 1 and line.startswith("❌ slack token: ") and "token_revoked" in line and "reinstall" in line


@pytest.fixture
def narrow_slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(bot_token=BOT_TOKEN, identity=BotIdentity(scopes=frozenset({"commands"})))
    emulator.start()
    yield emulator
    emulator.stop()


def test_a_missing_scope_is_named(
    env: dict[str, str],
    narrow_slack: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a token granted `commands` but not `chat:write`
    monkeypatch.setenv("SLACK_API_URL", narrow_slack.api_url)
    code, out = doctor()
    (line,) = failures(out)
    assert code == 1 and line.startswith("❌ slack scopes: missing chat:write")


def test_an_account_whose_role_cannot_be_assumed_is_named(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a second account whose role does not trust the function's
    accounts = {**ACCOUNTS, "staging": {"role_arn": LOCKED_ROLE, "regions": ["cn-beijing"]}}
    monkeypatch.setenv("ECS_TASKS_ACCOUNTS", json.dumps(accounts))
    code, out = doctor()
    (line,) = failures(out)
    assert code == 1 and line.startswith("❌ account staging · cn-beijing: ")
    assert "NoPermission" in line or "AssumeRole" in line
    assert "✅ account prod · cn-hangzhou" in out


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_a_database_that_is_down_is_named(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    # Given a database URL (with a password) on a port nothing listens on
    monkeypatch.setenv("ECS_TASKS_DATABASE_URL", f"{scheme}://doctor:{DB_PASSWORD}@127.0.0.1:{closed_port()}/x")
    code, out = doctor()
    (line,) = failures(out)
    assert code == 1 and line.startswith("❌ database: ECS_TASKS_DATABASE_URL is not reachable")


@pytest.mark.db
@pytest.mark.parametrize("variable", ["ECS_TASKS_TEST_POSTGRES_URL", "ECS_TASKS_TEST_MARIADB_URL"])
def test_a_real_database_passes(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    from tests.conftest import DATABASE_URL_VARIABLES

    url = os.environ.get(variable, DATABASE_URL_VARIABLES[variable])
    from shared.store import open_store

    open_store(url).engine.dispose()
    monkeypatch.setenv("ECS_TASKS_DATABASE_URL", url)
    code, out = doctor()
    assert code == 0, out
    assert "✅ database: reachable, schema version" in out


def test_the_installed_command_exits_1_on_a_failure_and_2_on_a_usage_error(env: dict[str, str], tmp_path: Path) -> None:
    # Given the installed `ecs-tasks` run as a user runs it, with no bot token
    variables = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    result = subprocess.run([CLI, "doctor"], env=variables, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "❌ slack token: SLACK_BOT_TOKEN is not set" in result.stdout
    usage = subprocess.run([CLI, "doctor", "--bogus"], env=variables, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2


def test_the_demos_set_up_passes_every_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emulators import demo
    from emulators.demo_accounts import ACCOUNT_SEEDS, sts_callers, sts_roles
    from shared.store import open_store

    # Given the emulators and environment of `make demo` (emulators/demo.py), its database created
    sessions = SessionRegistry()
    with (
        EcsEmulator(
            credentials={demo.ACCESS_KEY_ID: demo.ACCESS_KEY_SECRET}, sessions=sessions, account_seeds=ACCOUNT_SEEDS
        ) as ecs,
        StsEmulator(
            callers=sts_callers(demo.ACCESS_KEY_ID, demo.ACCESS_KEY_SECRET), roles=sts_roles(), registry=sessions
        ) as sts,
        SlackEmulator(bot_token=demo.BOT_TOKEN) as slack,
    ):
        env = demo.demo_environment(ecs, sts, slack, tmp_path / "store.sqlite3")
        open_store(env["ECS_TASKS_DATABASE_URL"]).engine.dispose()
        # When `ecs-tasks doctor` runs with its environment, as the demo runs it (in this process: the
        # installed command's own test is the one above)
        result = run_main(["doctor"], env)
    # Then every check passes, in both of the demo's accounts
    assert result.returncode == 0, result.stdout + result.stderr
    assert "❌" not in result.stdout and "✅ account prod · cn-hangzhou" in result.stdout
    assert "✅ account staging · cn-hangzhou" in result.stdout


# --- the events function's EventBridge trigger, through ListTriggers on the FC stand-in ---------------------

EVENTS_FUNCTION = "ecs-tasks-events"
FC_ACCOUNT = "1234567890123456"
EVENTBRIDGE_TRIGGER: dict[str, object] = {
    "triggerName": "ecs-task-calls",
    "triggerType": "eventbridge",
    "triggerId": "t-1",
}
TIMER_TRIGGER: dict[str, object] = {"triggerName": "every-minute", "triggerType": "timer", "triggerId": "t-2"}


def _unused_handler(event: bytes, context: object) -> dict[str, object]:
    raise AssertionError("doctor never invokes a function")


def function_compute(
    monkeypatch: pytest.MonkeyPatch, triggers: dict[str, list[dict[str, object]]], secret: str = ACCESS_KEY_SECRET
) -> FcServer:
    """The FC stand-in with these functions' triggers, accepting the function's AccessKey under `secret`, and
    the deployment's FC settings pointed at it (as the platform sets them in the Slack function)."""
    server = FcServer(
        handler=_unused_handler, function_name="ecs-tasks-slack", credentials={ACCESS_KEY_ID: secret}, triggers=triggers
    )
    monkeypatch.setenv("FC_ENDPOINT", server.start())
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    monkeypatch.setenv("FC_ACCOUNT_ID", FC_ACCOUNT)
    return server


def trigger_line(out: str) -> str:
    (line,) = [line for line in out.splitlines() if "eventbridge trigger:" in line]
    return line


@pytest.mark.usefixtures("env")
def test_the_events_functions_eventbridge_trigger_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Function Compute with the events function and its EventBridge trigger, as template.yml deploys it
    server = function_compute(monkeypatch, {EVENTS_FUNCTION: [EVENTBRIDGE_TRIGGER]})
    try:
        code, out = doctor()
    finally:
        server.stop()
    # Then its check passes, naming the function, and every check passes
    assert trigger_line(out) == f"✅ eventbridge trigger: {EVENTS_FUNCTION} has its eventbridge trigger"
    assert code == 0, out


@pytest.mark.usefixtures("env")
def test_a_deployment_without_events_skips_the_trigger_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployment that left the events function out (ECS_TASKS_EVENTS_FUNCTION=none), on FC
    monkeypatch.setenv("ECS_TASKS_EVENTS_FUNCTION", "none")
    server = function_compute(monkeypatch, {})
    try:
        code, out = doctor()
    finally:
        server.stop()
    # Then the trigger is not looked for, the line says why, and doctor still passes
    assert "events are not deployed, tasks are found by polling" in trigger_line(out)
    assert not failures(out) and code == 0, out


@pytest.mark.usefixtures("env")
def test_an_events_function_without_its_trigger_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an events function deployed with a timer trigger only
    server = function_compute(monkeypatch, {EVENTS_FUNCTION: [TIMER_TRIGGER]})
    try:
        code, out = doctor()
    finally:
        server.stop()
    # Then it is the one failure, saying to deploy the trigger from template.yml, and doctor exits 1
    (line,) = failures(out)
    assert line == trigger_line(out) and code == 1
    assert f"{EVENTS_FUNCTION} has no eventbridge trigger: deploy it from template.yml" in line
    assert "docs/deploying.md" in line


@pytest.mark.usefixtures("env")
def test_a_missing_events_function_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given settings naming an events function Function Compute does not have
    monkeypatch.setenv("ECS_TASKS_EVENTS_FUNCTION", "chatops-events")
    server = function_compute(monkeypatch, {EVENTS_FUNCTION: [EVENTBRIDGE_TRIGGER]})
    try:
        code, out = doctor()
    finally:
        server.stop()
    (line,) = failures(out)
    assert code == 1 and line.startswith("❌ eventbridge trigger: there is no function chatops-events")
    assert "template.yml" in line


@pytest.mark.usefixtures("env")
def test_function_compute_refusing_the_caller_names_the_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Function Compute that does not accept the function's credentials (another secret for its key)
    server = function_compute(monkeypatch, {EVENTS_FUNCTION: [EVENTBRIDGE_TRIGGER]}, secret="another-secret-7c2e")
    try:
        code, out = doctor()  # which also asserts no secret is shown
    finally:
        server.stop()
    # Then the failure names the permission and the events function's ARN, and doctor exits 1
    (line,) = failures(out)
    assert code == 1 and line.startswith("❌ eventbridge trigger: Function Compute refused ListTriggers")
    assert f"fc:ListTriggers on acs:fc:cn-hangzhou:{FC_ACCOUNT}:functions/{EVENTS_FUNCTION}" in line
    assert "another-secret-7c2e" not in out


@pytest.mark.usefixtures("env")
def test_on_function_compute_self_invocation_names_the_permission_and_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the Slack function's FC settings (InvokeFunction has no dry run: nothing is invoked)
    server = function_compute(monkeypatch, {EVENTS_FUNCTION: [EVENTBRIDGE_TRIGGER]})
    monkeypatch.setenv("FC_FUNCTION_NAME", "ecs-tasks-slack")
    try:
        code, out = doctor()
    finally:
        server.stop()
    assert server.invocations == []
    (line,) = [line for line in out.splitlines() if "self invocation:" in line]
    assert f"fc:InvokeFunction on acs:fc:cn-hangzhou:{FC_ACCOUNT}:functions/ecs-tasks-slack" in line
    assert code == 0, out
