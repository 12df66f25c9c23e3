"""template.yml and deploy/ram-policy.json: what `s deploy` would create matches the code and the fc3 schema.

The template's `${...}` expressions are resolved by tools/deploy_template.py (as Serverless Devs resolves
them), from a representative environment, before schema validation: the schema's `region` is an enum, so
`${vars.region}` could not validate as written. Numeric and boolean fields are literals in the template, so
nothing else needs substituting. tests/contract/test_serverless_devs.py checks that resolution against
Serverless Devs itself (`s preview`).
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from bot.slack.answering.seal import SEAL_LIFETIME_S
from shared.config import Settings
from shared.store.claims import DEFERRED_WORK_LEASE as LEASE
from tests.paths import FIXTURES, REPO
from tools.build_package import DEFAULT_PYTHON_VERSION
from tools.deploy_template import TemplateError, env_references, load_template, render

SCHEMAS = FIXTURES / "schemas"  # copies, each with its licence
TEMPLATE = REPO / "template.yml"
POLICY = REPO / "deploy" / "ram-policy.json"
POLLER_POLICY = REPO / "deploy" / "ram-policy-poller.json"
DOMAIN_TEMPLATE = REPO / "deploy" / "custom-domain.yml"
DOMAIN_REQUIRED = {"ECS_TASKS_FC_REGION", "ECS_TASKS_DOMAIN_NAME", "ECS_TASKS_DOMAIN_CERT_ID"}
DOMAIN_ENV = {
    "ECS_TASKS_FC_REGION": "cn-hangzhou",
    "ECS_TASKS_DOMAIN_NAME": "ecs-tasks.example.com",
    "ECS_TASKS_DOMAIN_CERT_ID": "12345678",
}
# What the poller reads of the settings: no signing secret, no cancel list, no ECS deadline; the team,
# channel and region allow-lists (not secrets), which it applies to every stored watch and subscription.
POLLER_VARIABLES = {
    "SLACK_BOT_TOKEN",
    "SLACK_API_URL",
    "ECS_ENDPOINT",
    "ECS_SIGNATURE_VERSION",
    "ECS_TASKS_DEFAULT_REGION",
    "ECS_TASKS_ALLOWED_TEAM_IDS",
    "ECS_TASKS_ALLOWED_CHANNEL_IDS",
    "ECS_TASKS_REGIONS",
    "ECS_TASKS_REPOLL_INTERVAL",
    "ECS_TASKS_DATABASE_URL",
    "ECS_TASKS_WATCH_TTL",
    "ECS_TASKS_LOG_LEVEL",
    "ECS_TASKS_ACCOUNTS",
    "ECS_TASKS_CHANNEL_ACCOUNTS",
    "ECS_TASKS_DEFAULT_ACCOUNTS",
    "STS_ENDPOINT",
}
# The events function reads the poller's settings and whether to name who started or cancelled a task.
EVENTS_VARIABLES = POLLER_VARIABLES | {"ECS_TASKS_EVENT_ATTRIBUTION", "ECS_TASKS_SLACK_ROLE_ARN"}
# The task-creating calls DescribeTasks lists (its TaskAction values, platform-facts.md), and CancelTask.
TASK_CALLS = {"ImportImage", "ExportImage", "RedeployInstance", "ModifyDiskSpec", "ArchiveSnapshot", "CancelTask"}

# Set by Function Compute itself (and FC_ is a reserved prefix there), or by the role: never in the template.
PLATFORM_PREFIXES = ("FC_", "ALIBABA_CLOUD_")
REQUIRED = {
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "ECS_TASKS_DATABASE_URL",
    "ECS_TASKS_FC_REGION",
    "ECS_TASKS_ROLE_ARN",
    "ECS_TASKS_POLLER_ROLE_ARN",
    "ECS_TASKS_VPC_ID",
    "ECS_TASKS_VSWITCH_ID",
    "ECS_TASKS_SECURITY_GROUP_ID",
    "ECS_TASKS_SLS_PROJECT",
    "ECS_TASKS_SLS_LOGSTORE",
}
REPRESENTATIVE_ENV = {
    "SLACK_SIGNING_SECRET": "8f2d41c98f2d41c98f2d41c98f2d41c9",
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-abcd",
    "ECS_TASKS_DATABASE_URL": "postgresql+psycopg://ecs_tasks:secret@pgm-example.pg.rds.aliyuncs.com:5432/ecs_tasks",
    "ECS_TASKS_FC_REGION": "cn-hangzhou",
    "ECS_TASKS_ROLE_ARN": "acs:ram::1234567890123456:role/ecs-tasks-fc",
    "ECS_TASKS_POLLER_ROLE_ARN": "acs:ram::1234567890123456:role/ecs-tasks-poller",
    "ECS_TASKS_VPC_ID": "vpc-bp1example",
    "ECS_TASKS_VSWITCH_ID": "vsw-bp1example",
    "ECS_TASKS_SECURITY_GROUP_ID": "sg-bp1example",
    "ECS_TASKS_SLS_PROJECT": "ecs-tasks-logs",
    "ECS_TASKS_SLS_LOGSTORE": "functions",
}
POLICY_ACTIONS = {
    "ecs:DescribeTasks",
    "ecs:DescribeTaskAttribute",
    "ecs:DescribeRegions",
    "ecs:CancelTask",
    "fc:InvokeFunction",
    "fc:ListTriggers",
    "sts:AssumeRole",
}


def resolved_template(env: Mapping[str, str] = REPRESENTATIVE_ENV) -> dict[str, Any]:
    return render(load_template(TEMPLATE), env)


def props_of(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: resource["props"] for name, resource in template["resources"].items()}


def function_by_handler(handler: str, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    found = [props for props in props_of(template or load_template(TEMPLATE)).values() if props["handler"] == handler]
    assert len(found) == 1, f"expected one function with handler {handler}"
    return found[0]


def named_handlers() -> list[tuple[str, int]]:
    """(dotted name, positional parameters FC passes): handlers get (event, context), initializers (context)."""
    names: list[tuple[str, int]] = []
    for props in props_of(load_template(TEMPLATE)).values():
        names.append((props["handler"], 2))
        initializer = props.get("instanceLifecycleConfig", {}).get("initializer")
        if initializer:
            names.append((initializer["handler"], 1))
    return names


def import_handler(dotted: str) -> Callable[..., Any]:
    module_name, _, attribute = dotted.rpartition(".")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
    return function


def settings_variables() -> set[str]:
    """The environment variable names shared.config.Settings reads (the first alias of each field)."""
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", [alias])
        names.add(str(choices[0]))
    return names


def test_every_resource_is_an_fc3_function_valid_against_the_component_schema() -> None:
    # Given the fc3 component's JSON Schema and the template resolved from a complete environment
    schema = json.loads((SCHEMAS / "serverless-devs-fc3.schema.json").read_text())
    validator = Draft7Validator(schema)
    template = resolved_template()
    assert template["edition"] == "3.0.0"
    assert set(template["resources"]) == {"slack", "poller", "events"}
    for name, resource in template["resources"].items():
        # When each resource's props are validated
        errors = [
            f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator.iter_errors(resource["props"])
        ]
        # Then there is no error, and every resource uses the fc3 component
        assert resource["component"] == "fc3"
        assert errors == [], f"{name}: {errors}"


def test_functions_run_the_built_package_on_the_runtime_it_was_built_for() -> None:
    for props in props_of(load_template(TEMPLATE)).values():
        assert props["code"] == "./.package"
        assert props["runtime"] == f"python{DEFAULT_PYTHON_VERSION}"


@pytest.mark.parametrize(("dotted", "parameters"), named_handlers(), ids=[name for name, _ in named_handlers()])
def test_every_named_handler_imports_with_the_signature_fc_calls(dotted: str, parameters: int) -> None:
    # When the handler the template names is imported
    function = import_handler(dotted)
    # Then FC can call it positionally with exactly its arguments (event, context) or (context)
    signature = inspect.signature(function)
    assert callable(function)
    assert len(signature.parameters) == parameters
    signature.bind(*([object()] * parameters))


def test_slack_trigger_is_an_anonymous_post_only_http_trigger() -> None:
    props = function_by_handler("functions.http.handler")
    (trigger,) = props["triggers"]
    assert trigger["triggerType"] == "http"
    assert trigger["triggerConfig"]["authType"] == "anonymous"
    assert trigger["triggerConfig"]["methods"] == ["POST"]


def test_poller_timer_fires_once_every_minute() -> None:
    props = function_by_handler("functions.timer.handler")
    (trigger,) = props["triggers"]
    assert trigger["triggerType"] == "timer"
    assert trigger["triggerConfig"]["enable"] is True
    fields = trigger["triggerConfig"]["cronExpression"].split()
    # Six fields: seconds minutes hours day-of-month month day-of-week
    assert len(fields) == 6
    seconds, minutes, hours, day_of_month, month, day_of_week = fields
    assert seconds.isdigit() and 0 <= int(seconds) <= 59, "one fixed second: once a minute, not every second"
    assert minutes in {"*", "*/1", "0/1"}
    assert (hours, day_of_month, month) == ("*", "*", "*")
    assert day_of_week in {"*", "?"}


def test_events_trigger_filters_actiontrails_ecs_task_calls_in_both_documented_forms() -> None:
    props = function_by_handler("functions.events.handler", resolved_template())
    (trigger,) = props["triggers"]
    assert trigger["triggerType"] == "eventbridge"
    config = trigger["triggerConfig"]
    assert config["triggerEnable"] is True
    pattern = json.loads(config["eventRuleFilterPattern"])
    assert set(pattern["source"]) == {"acs.actiontrail", "acs.ecs"}
    assert set(pattern["type"]) == {"actiontrail:ActionTrail:ApiCall", "ecs:ActionTrail:ApiCall"}
    assert set(pattern["data"]["eventName"]) == TASK_CALLS
    # The function reads only: it runs under the poller's read-only role, knowing the Slack function's
    assert props["role"] == REPRESENTATIVE_ENV["ECS_TASKS_POLLER_ROLE_ARN"]
    assert props["environmentVariables"]["ECS_TASKS_SLACK_ROLE_ARN"] == REPRESENTATIVE_ENV["ECS_TASKS_ROLE_ARN"]


def test_each_function_gets_exactly_the_variables_it_reads() -> None:
    # Given the names Settings reads, less those the platform sets (FC_* is reserved on FC)
    readable = {name for name in settings_variables() if not name.startswith(PLATFORM_PREFIXES)}
    functions = props_of(load_template(TEMPLATE))
    # Then the Slack function gets all of it but the events function's own, the poller only its own part
    assert set(functions["slack"]["environmentVariables"]) == readable - (EVENTS_VARIABLES - POLLER_VARIABLES)
    assert set(functions["poller"]["environmentVariables"]) == POLLER_VARIABLES
    assert set(resolved_template()["resources"]["events"]["props"]["environmentVariables"]) == EVENTS_VARIABLES
    assert readable > POLLER_VARIABLES and "SLACK_SIGNING_SECRET" not in POLLER_VARIABLES


def test_required_settings_have_no_default_so_s_stops_when_they_are_unset() -> None:
    references = dict(env_references(load_template(TEMPLATE)))
    assert {name for name, default in references.items() if default is None} == REQUIRED
    # And a deploy without the database URL cannot resolve the template
    without_database = {k: v for k, v in REPRESENTATIVE_ENV.items() if k != "ECS_TASKS_DATABASE_URL"}
    with pytest.raises(TemplateError, match="ECS_TASKS_DATABASE_URL"):
        resolved_template(without_database)


def test_template_defaults_are_values_the_settings_accept() -> None:
    # Given the environment a function gets when only the required variables are set
    environment = props_of(resolved_template())["slack"]["environmentVariables"]
    # When Settings reads it
    settings = Settings.model_validate(environment)
    # Then the defaults mean what the README says they mean
    assert settings.ecs_deadline_s == 20.0
    assert settings.watch_ttl == timedelta(days=7)
    assert settings.ecs_signature_version == "v3"
    assert settings.allowed_regions == frozenset()
    assert settings.cancel_user_ids == frozenset()
    assert settings.database_url is not None


def test_slack_function_outlives_the_ecs_deadline_and_not_the_claim_lease() -> None:
    props = function_by_handler("functions.http.handler", resolved_template())
    deadline = float(props["environmentVariables"]["ECS_TASKS_ECS_DEADLINE"])
    assert props["timeout"] >= deadline + 30
    assert props["timeout"] < LEASE.total_seconds()
    assert props["instanceLifecycleConfig"]["initializer"]["timeout"] <= props["timeout"]
    # Queued deferred work older than its seal (the response_url's life) could answer nobody
    assert props["asyncInvokeConfig"]["maxAsyncEventAgeInSeconds"] <= SEAL_LIFETIME_S


def test_both_functions_reach_the_database_vpc_and_log_one_entry_per_line() -> None:
    for name, props in props_of(resolved_template()).items():
        assert props["vpcConfig"]["vSwitchIds"] == [REPRESENTATIVE_ENV["ECS_TASKS_VSWITCH_ID"]], name
        assert props["logConfig"]["logBeginRule"] == "None", name
        assert props["internetAccess"] is True, name
    functions = props_of(resolved_template())
    assert functions["slack"]["role"] == REPRESENTATIVE_ENV["ECS_TASKS_ROLE_ARN"]
    assert functions["poller"]["role"] == REPRESENTATIVE_ENV["ECS_TASKS_POLLER_ROLE_ARN"]


def test_the_pollers_role_can_only_read_tasks() -> None:
    statements = json.loads(POLLER_POLICY.read_text())["Statement"]
    granted = sorted(action for statement in statements for action in statement["Action"])
    assert granted == [
        "ecs:DescribeRegions",
        "ecs:DescribeTaskAttribute",
        "ecs:DescribeTasks",
        "sts:AssumeRole",  # on the listed account roles only (tests/contract/test_deploy_accounts.py)
    ]


@pytest.mark.parametrize("path", [POLICY, POLLER_POLICY], ids=lambda p: p.name)
def test_no_functions_role_writes_logs_function_compute_does_that_with_its_service_linked_role(path: Path) -> None:
    # FC 3.0 ships a function's stdout/stderr to its logConfig logstore as AliyunServiceRoleForFC
    statements = json.loads(path.read_text())["Statement"]
    assert not [action for statement in statements for action in statement["Action"] if action.startswith("log:")]
    assert all(props["logConfig"]["project"] for props in props_of(resolved_template()).values())


def test_role_policy_grants_only_the_listed_actions() -> None:
    policy = json.loads(POLICY.read_text())
    statements = policy["Statement"]
    assert policy["Version"] == "1"
    assert all(statement["Effect"] == "Allow" for statement in statements)
    granted = [action for statement in statements for action in statement["Action"]]
    assert sorted(granted) == sorted(POLICY_ACTIONS)
    assert not any("*" in action for action in granted)


def test_role_policy_scopes_invocation_to_the_slack_function_and_cancel_to_its_own_statement() -> None:
    statements = json.loads(POLICY.read_text())["Statement"]
    by_action = {action: statement for statement in statements for action in statement["Action"]}
    slack_name = resolved_template()["vars"]["slack_function"]
    assert by_action["fc:InvokeFunction"]["Resource"] == f"acs:fc:<region>:<account-id>:functions/{slack_name}"
    # Deleting one statement removes cancellation and nothing else
    assert by_action["ecs:CancelTask"]["Action"] == ["ecs:CancelTask"]


def test_role_policy_lets_doctor_list_only_the_events_functions_triggers() -> None:
    # `/ecs-tasks doctor` runs in the Slack function and looks up the events function's EventBridge trigger
    statements = json.loads(POLICY.read_text())["Statement"]
    by_action = {action: statement for statement in statements for action in statement["Action"]}
    events_name = resolved_template()["vars"]["events_function"]
    assert by_action["fc:ListTriggers"]["Action"] == ["fc:ListTriggers"]
    assert by_action["fc:ListTriggers"]["Resource"] == f"acs:fc:<region>:<account-id>:functions/{events_name}"
    # And the Slack function is told that name, as the template names the function
    environment = function_by_handler("functions.http.handler", resolved_template())["environmentVariables"]
    assert environment["ECS_TASKS_EVENTS_FUNCTION"] == events_name


def test_the_custom_domain_is_valid_against_the_fc3_domain_component_schema() -> None:
    # Given the fc3-domain component's JSON Schema and deploy/custom-domain.yml resolved from its settings
    validator = Draft7Validator(json.loads((SCHEMAS / "serverless-devs-fc3-domain.schema.json").read_text()))
    rendered = render(load_template(DOMAIN_TEMPLATE), DOMAIN_ENV)
    assert rendered["edition"] == "3.0.0"
    (resource,) = rendered["resources"].values()
    # When its props are validated, then there is no error
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(resource["props"])]
    assert resource["component"] == "fc3-domain"
    assert errors == []


def test_the_custom_domain_serves_only_slacks_path_over_https_to_the_slack_function() -> None:
    domain = next(iter(render(load_template(DOMAIN_TEMPLATE), DOMAIN_ENV)["resources"].values()))["props"]
    slack_trigger = function_by_handler("functions.http.handler", resolved_template())["triggers"][0]
    # HTTPS only (Slack's request URLs are https), with a certificate, on TLS 1.2 or later
    assert domain["protocol"] == "HTTPS"
    assert domain["certConfig"] == {"certId": DOMAIN_ENV["ECS_TASKS_DOMAIN_CERT_ID"]}
    assert domain["tlsConfig"]["minVersion"] == "TLSv1.2"
    # One route: Slack's path, the trigger's methods, to the function template.yml deploys under the same settings
    (route,) = domain["routeConfig"]["routes"]
    assert route["path"] == "/slack/events"
    assert route["methods"] == slack_trigger["triggerConfig"]["methods"]
    assert route["functionName"] == resolved_template({**REPRESENTATIVE_ENV})["vars"]["slack_function"]
    renamed = {**DOMAIN_ENV, "ECS_TASKS_SLACK_FUNCTION": "chatops-slack"}
    renamed_domain = next(iter(render(load_template(DOMAIN_TEMPLATE), renamed)["resources"].values()))["props"]
    assert renamed_domain["routeConfig"]["routes"][0]["functionName"] == "chatops-slack"
    assert domain["region"] == resolved_template()["vars"]["region"]


def test_the_custom_domain_needs_its_name_certificate_and_region_and_nothing_else() -> None:
    references = dict(env_references(load_template(DOMAIN_TEMPLATE)))
    assert {name for name, default in references.items() if default is None} == DOMAIN_REQUIRED
    without_certificate = {k: v for k, v in DOMAIN_ENV.items() if k != "ECS_TASKS_DOMAIN_CERT_ID"}
    with pytest.raises(TemplateError, match="ECS_TASKS_DOMAIN_CERT_ID"):
        render(load_template(DOMAIN_TEMPLATE), without_certificate)
