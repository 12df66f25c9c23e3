"""`ecs-tasks doctor`: the deployment checked, one line per check, each failure saying what to fix.

The checks are worded here over probes the wiring injects (`DoctorProbes`): each probe talks to one outside
service and answers a plain value or the reason it failed, never a secret. The CLI runs the checks with the
deployed settings; `/ecs-tasks doctor` runs the same for admins (ECS_TASKS_ADMIN_USER_IDS), ephemerally.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.usecases.attempt import Attempt
from bot.usecases.work import DeferredRun, Ephemeral, Replies, Work
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import Message, notice_message
from shared.config import NO_EVENTS_FUNCTION, Settings
from shared.ecs.accounts import HOME, Account, AccountDirectory
from shared.health import Check, all_passed, failed, passed, skipped
from shared.log import redact

# The manifest's scopes the product cannot work without; chat:write.public only spares inviting the bot.
REQUIRED_SCOPES = ("commands", "chat:write")
OPTIONAL_SCOPES = ("chat:write.public",)
# The region a home deployment with no region settings is checked in.
FALLBACK_REGION = "cn-hangzhou"


@dataclass(frozen=True)
class SlackAuth:
    """auth.test's answer: the Slack error code (None when the token works) and the token's scopes (the
    `x-oauth-scopes` header; None when Slack sent none)."""

    error: str | None
    team: str | None = None
    scopes: frozenset[str] | None = None


@dataclass(frozen=True)
class DatabaseState:
    """`error`: why the database cannot be used (None when it answered); `version`: its schema version, None
    when it has no schema yet."""

    error: str | None
    version: int | None = None


@dataclass(frozen=True)
class EventTriggers:
    """ListTriggers' answer for the events function: the types of its triggers, or why there are none to see.
    `refused`: Function Compute turned the caller away (permission or credentials); `no_function`: there is
    no function of that name."""

    types: frozenset[str] = frozenset()
    error: str | None = None
    refused: bool = False
    no_function: bool = False


@dataclass(frozen=True)
class DoctorProbes:
    slack_auth: Callable[[Settings], SlackAuth]
    database: Callable[[Settings], DatabaseState]
    # One DescribeTasks (PageSize=1) in the account and region, AssumeRole included: the error, or None.
    describe_one: Callable[[Settings, Account, str], str | None]
    # Whether the STS endpoint answers HTTP at all: the error, or None.
    sts_answers: Callable[[Settings], str | None]
    # ListTriggers of the events function (ECS_TASKS_EVENTS_FUNCTION) on Function Compute.
    event_triggers: Callable[[Settings], EventTriggers]
    schema_version: int  # the version this code needs


def diagnose(settings: Settings, accounts: AccountDirectory, probes: DoctorProbes) -> tuple[Check, ...]:
    """Every check, in order, for settings that are valid (the CLI reports invalid ones itself)."""
    checks = [passed("settings", "valid"), _signing_secret(settings), *_slack(settings, probes)]
    checks.append(_database(settings, probes))
    if accounts.configured:
        sts = probes.sts_answers(settings)
        endpoint = "STS_ENDPOINT" if settings.sts_endpoint else "the global STS endpoint"
        checks.append(
            passed("sts endpoint", f"{endpoint} answers")
            if sts is None
            else failed("sts endpoint", f"{endpoint} does not answer ({sts}): check STS_ENDPOINT and the network")
        )
    for account in accounts.accounts.values() or (HOME,):
        checks.extend(_account(settings, account, probes))
    checks.append(_self_invoke(settings))
    checks.append(_eventbridge_trigger(settings, probes))
    return tuple(checks)


def settings_failed(problem: str) -> tuple[Check, ...]:
    """The report for settings that do not load: nothing else can be checked with them."""
    return (failed("settings", f"{problem}; fix it and run doctor again (nothing else was checked)"),)


def _signing_secret(settings: Settings) -> Check:
    if settings.slack_signing_secret is None:
        return failed(
            "request signing",
            "SLACK_SIGNING_SECRET is not set: copy the Signing Secret from the app's Basic Information page",
        )
    return passed("request signing", "SLACK_SIGNING_SECRET is set")


def _slack(settings: Settings, probes: DoctorProbes) -> list[Check]:
    if settings.slack_bot_token is None:
        return [failed("slack token", "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…)")]
    auth = probes.slack_auth(settings)
    if auth.error is not None:
        return [
            failed(
                "slack token",
                f"Slack refused the token ({auth.error}): reinstall the app to the workspace and set "
                "SLACK_BOT_TOKEN to its new Bot User OAuth Token",
            )
        ]
    checks = [passed("slack token", f"valid for workspace {auth.team or '?'}")]
    if auth.scopes is None:
        checks.append(skipped("slack scopes", "Slack did not say the token's scopes (no x-oauth-scopes header)"))
        return checks
    missing = [scope for scope in REQUIRED_SCOPES if scope not in auth.scopes]
    if missing:
        checks.append(
            failed(
                "slack scopes",
                f"missing {', '.join(missing)}: add them under OAuth & Permissions (manifest.yml lists them) "
                "and reinstall the app",
            )
        )
        return checks
    extra = [scope for scope in OPTIONAL_SCOPES if scope not in auth.scopes]
    note = f" (without {', '.join(extra)}: invite the bot to each channel it posts in)" if extra else ""
    checks.append(passed("slack scopes", f"{', '.join(REQUIRED_SCOPES)} granted{note}"))
    return checks


def _database(settings: Settings, probes: DoctorProbes) -> Check:
    if settings.database_url is None and settings.on_function_compute:
        return failed("database", "ECS_TASKS_DATABASE_URL is not set: Function Compute needs a real database")
    state = probes.database(settings)
    where = "ECS_TASKS_DATABASE_URL" if settings.database_url is not None else "the local SQLite file"
    if state.error is not None:
        return failed("database", f"{where} is not reachable ({state.error}): check its host, port and network")
    if state.version is None:
        return failed("database", f"{where} has no schema yet: run `ecs-tasks poll` once to create it")
    if state.version < probes.schema_version:
        return failed(
            "database",
            f"schema version {state.version}, this code needs {probes.schema_version}: run `ecs-tasks poll` "
            "once to upgrade it",
        )
    if state.version > probes.schema_version:
        return failed(
            "database",
            f"schema version {state.version} is newer than this code's ({probes.schema_version}): deploy the "
            "newer code",
        )
    return passed("database", f"reachable, schema version {state.version} (current)")


def account_regions(settings: Settings, account: Account) -> tuple[str, ...]:
    """The regions the deployment covers in `account`."""
    if account.regions:
        return account.regions
    if settings.allowed_regions:
        return tuple(sorted(settings.allowed_regions))
    return (settings.default_region or FALLBACK_REGION,)


def _account(settings: Settings, account: Account, probes: DoctorProbes) -> list[Check]:
    checks = []
    for region in account_regions(settings, account):
        name = f"account {account.name} · {region}"
        error = probes.describe_one(settings, account, region)
        what = "DescribeTasks allowed" if account.is_home else "AssumeRole succeeds and DescribeTasks is allowed"
        checks.append(passed(name, what) if error is None else failed(name, error))
    return checks


def function_arn(settings: Settings, function_name: str) -> str:
    """A function's ARN in this deployment's region and account (placeholders where they are not set)."""
    region = settings.fc_region or "<region>"
    account = settings.fc_account_id or "<account-id>"
    return f"acs:fc:{region}:{account}:functions/{function_name}"


def _self_invoke(settings: Settings) -> Check:
    if not settings.on_function_compute:
        return skipped("self invocation", "not on Function Compute: deferred work runs on a thread here")
    # InvokeFunction has no dry run: the only proof is an invocation, which would run the function.
    return skipped(
        "self invocation",
        "cannot be checked without invoking the function: its role needs fc:InvokeFunction on "
        f"{function_arn(settings, settings.fc_function_name or '')} (deploy/ram-policy.json; docs/deploying.md)",
    )


LIST_TRIGGERS_PERMISSION = "fc:ListTriggers"
EVENTBRIDGE = "eventbridge"
EVENTS_GUIDE = 'docs/deploying.md, "Tasks announced as they start"'


def _eventbridge_trigger(settings: Settings, probes: DoctorProbes) -> Check:
    name = "eventbridge trigger"
    function = settings.events_function
    if function == NO_EVENTS_FUNCTION:
        # Events are optional: without them every task is still found, by polling.
        return skipped(
            name,
            f"ECS_TASKS_EVENTS_FUNCTION is {NO_EVENTS_FUNCTION}: events are not deployed, tasks are found by polling",
        )
    if not (settings.fc_endpoint or (settings.fc_region and settings.fc_account_id)):
        return skipped(
            name,
            f"FC_REGION and FC_ACCOUNT_ID are not set (Function Compute sets them): {function}'s triggers cannot "
            "be looked up from here",
        )
    found = probes.event_triggers(settings)
    if found.refused:
        return failed(
            name,
            f"Function Compute refused ListTriggers ({found.error}): the caller needs {LIST_TRIGGERS_PERMISSION} "
            f"on {function_arn(settings, function)} (deploy/ram-policy.json), with valid credentials",
        )
    if found.no_function:
        return failed(
            name,
            f"there is no function {function} (ECS_TASKS_EVENTS_FUNCTION): deploy it from template.yml "
            f"({EVENTS_GUIDE})",
        )
    if found.error is not None:
        return failed(name, f"ListTriggers of {function} failed ({found.error}): check FC_REGION and the network")
    if EVENTBRIDGE not in found.types:
        return failed(
            name,
            f"{function} has no {EVENTBRIDGE} trigger: deploy it from template.yml ({EVENTS_GUIDE})",
        )
    return passed(name, f"{function} has its {EVENTBRIDGE} trigger")


# --- in Slack -------------------------------------------------------------------------------------

NOT_AN_ADMIN = ":no_entry: `/ecs-tasks {command}` is for the deployment's admins (ECS_TASKS_ADMIN_USER_IDS)."


def is_admin(deps: BotDeps, user_id: str | None) -> bool:
    return bool(user_id) and user_id in deps.settings.admin_user_ids


def doctor_work(deps: BotDeps, user_id: str | None) -> Message | Work:
    """The checks for an admin, answered ephemerally; anyone else is refused from the acknowledgement."""
    if not is_admin(deps, user_id):
        return notice_message(NOT_AN_ADMIN.format(command="doctor"))
    run = deps.doctor

    def work(attempt: Attempt, deferred: DeferredRun | None) -> Replies:
        # Masked as in the CLI: any registered secret an outside service's message might echo.
        return (Ephemeral(notice_message(redact(report_text(run())))),)

    return work


# --- the report -----------------------------------------------------------------------------------


def report_text(checks: Sequence[Check]) -> str:
    verdict = "All checks passed." if all_passed(checks) else "Some checks failed: fix the ❌ lines above."
    return "\n".join([*(check.line for check in checks), verdict])


def report_json(checks: Sequence[Check]) -> str:
    return json.dumps(
        {"ok": all_passed(checks), "checks": [check.to_dict() for check in checks]}, indent=2, ensure_ascii=False
    )
