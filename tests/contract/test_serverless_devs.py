"""template.yml and deploy/custom-domain.yml as Serverless Devs itself renders them: `s preview -t FILE -o json`
(`@serverless-devs/s` from npm, installed into `.tools/` by `make test` or, failing that, by this module once),
validated against the components' schemas and compared with tools/deploy_template.py's rendering, which
`make package` uses to measure each function's environment (the `.env` beside the template included).

`s preview` needs no network and no credentials: it is run with a fresh HOME (no `~/.s` access config), a
proxy that goes nowhere (any network call would fail), placeholder settings in its environment and nothing
else, on a copy of the template in an empty folder (so no `.env` beside the checkout's template is read).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.contract.test_deploy_template import (
    DOMAIN_ENV,
    DOMAIN_TEMPLATE,
    REPRESENTATIVE_ENV,
    REQUIRED,
    SCHEMAS,
    TEMPLATE,
    resolved_template,
)
from tests.contract.test_package import many_accounts
from tests.paths import REPO
from tests.run_once import once_per_run
from tools.deploy_template import deploy_environment, load_template, render
from tools.environment_limit import environment_sizes

S_VERSION = "3.1.10"  # the Makefile's S_VERSION
S_PREFIX = REPO / ".tools"
S_BIN = S_PREFIX / "node_modules" / ".bin" / "s"
INSTALL_TIMEOUT_S = 300
PREVIEW_TIMEOUT_S = 120
# Every network call `s` might try goes to a closed port and fails at once.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def s_cli() -> Path:
    if S_BIN.exists():
        return S_BIN
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not found: cannot install @serverless-devs/s to render template.yml")
    command = [npm, "install", "--prefix", str(S_PREFIX), "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run([*command, f"@serverless-devs/s@{S_VERSION}"], check=True, timeout=INSTALL_TIMEOUT_S)
    assert S_BIN.exists(), f"npm installed @serverless-devs/s but {S_BIN} is missing"
    return S_BIN


def preview(
    s_cli: Path, tmp_path: Path, env: Mapping[str, str], *, source: Path = TEMPLATE, dotenv: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`s preview` of a copy of `source`, alone in its folder but for the `.env` given (if any)."""
    folder = tmp_path / "project"
    home = tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    template = folder / source.name
    shutil.copyfile(source, template)
    if dotenv is not None:
        (folder / ".env").write_text(dotenv)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        **{name: NOWHERE for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
        **env,
    }
    return subprocess.run(
        [str(s_cli), "preview", "-t", str(template), "-o", "json"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PREVIEW_TIMEOUT_S,
    )


def rendered(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON document `s` prints after its log lines."""
    assert result.returncode == 0, result.stdout + result.stderr
    start = result.stdout.find("{")
    assert start >= 0, f"no JSON in the output of s preview: {result.stdout[:500]}"
    document: dict[str, Any] = json.loads(result.stdout[start:])
    return document


@pytest.fixture(scope="session")
def document(s_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The template rendered from the settings a deployer must give (every optional one left to its default);
    `s` renders it once per run for every test (and pytest-xdist worker) that reads it."""
    _, made = once_per_run(
        tmp_path_factory, "preview", lambda folder: json.dumps(rendered(preview(s_cli, folder, REPRESENTATIVE_ENV)))
    )
    loaded: dict[str, Any] = json.loads(made)
    return loaded


def test_the_rendered_template_is_valid_against_the_fc3_schema(document: dict[str, Any]) -> None:
    # When each resource Serverless Devs renders is validated against the fc3 component's schema
    validator = Draft7Validator(json.loads((SCHEMAS / "serverless-devs-fc3.schema.json").read_text()))
    assert set(document["resources"]) == {"slack", "poller", "events"}
    for name, resource in document["resources"].items():
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(resource["props"])]
        # Then there is no error
        assert resource["component"] == "fc3"
        assert errors == [], f"{name}: {errors}"


def test_serverless_devs_renders_what_the_hand_resolution_says(document: dict[str, Any]) -> None:
    # Then the real CLI and the tests' own resolver agree on every resource and variable (defaults included)
    by_hand = resolved_template(REPRESENTATIVE_ENV)
    assert document["resources"] == by_hand["resources"]
    assert document["vars"] == by_hand["vars"]
    environment = document["resources"]["slack"]["props"]["environmentVariables"]
    assert environment["ECS_SIGNATURE_VERSION"] == "v3" and environment["ECS_ENDPOINT"] == ""


# One required setting read in `vars`, one in the functions' environment (each run of `s` takes about 2 s).
@pytest.mark.parametrize("missing", ["ECS_TASKS_ROLE_ARN", "SLACK_SIGNING_SECRET"])
def test_a_required_setting_unset_or_empty_stops_serverless_devs(s_cli: Path, tmp_path: Path, missing: str) -> None:
    # Given every required setting but one, which is empty
    assert missing in REQUIRED
    env = {**REPRESENTATIVE_ENV, missing: ""}
    # When the template is rendered, then `s` refuses, naming the setting
    result = preview(s_cli, tmp_path, env)
    assert result.returncode != 0
    assert f"env('{missing}') not found" in result.stdout + result.stderr


def test_the_custom_domain_renders_valid_against_the_fc3_domain_schema(s_cli: Path, tmp_path: Path) -> None:
    # When Serverless Devs renders deploy/custom-domain.yml from its settings
    document = rendered(preview(s_cli, tmp_path, DOMAIN_ENV, source=DOMAIN_TEMPLATE))
    # Then it is what tools/deploy_template.py renders, and valid against the fc3-domain component's schema
    assert document["resources"] == render(load_template(DOMAIN_TEMPLATE), DOMAIN_ENV)["resources"]
    validator = Draft7Validator(json.loads((SCHEMAS / "serverless-devs-fc3-domain.schema.json").read_text()))
    for name, resource in document["resources"].items():
        errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(resource["props"])]
        assert resource["component"] == "fc3-domain"
        assert errors == [], f"{name}: {errors}"


def test_the_environment_make_package_measures_is_the_one_serverless_devs_renders(s_cli: Path, tmp_path: Path) -> None:
    # Given settings split between the shell and a .env beside the template, as an operator may keep them:
    # quoted JSON, an exported line, a comment, a shell value overriding the file, and a `${...}` reference
    large = many_accounts()
    shell = {**REPRESENTATIVE_ENV, "ECS_TASKS_LOG_LEVEL": "DEBUG"}
    dotenv = (
        "# accounts for the whole group\n"
        f"ECS_TASKS_ACCOUNTS='{large['ECS_TASKS_ACCOUNTS']}'\n"
        f"export ECS_TASKS_CHANNEL_ACCOUNTS={large['ECS_TASKS_CHANNEL_ACCOUNTS']}\n"
        "ECS_TASKS_LOG_LEVEL=WARNING  # the shell's DEBUG wins\n"
        'ECS_TASKS_DEFAULT_REGION="cn-hangzhou"\n'
        "ECS_TASKS_REGIONS=${ECS_TASKS_DEFAULT_REGION},cn-shanghai\n"
    )
    # When Serverless Devs renders it, and tools/deploy_template.py renders it from the same two sources
    document = rendered(preview(s_cli, tmp_path, shell, dotenv=dotenv))
    ours = render(load_template(TEMPLATE), deploy_environment(tmp_path / "project" / "template.yml", shell))
    # Then both give each function the same environment, hence the same measured sizes
    assert document["resources"] == ours["resources"]
    slack = document["resources"]["slack"]["props"]["environmentVariables"]
    assert slack["ECS_TASKS_LOG_LEVEL"] == "DEBUG" and slack["ECS_TASKS_REGIONS"] == "cn-hangzhou,cn-shanghai"
    assert slack["ECS_TASKS_CHANNEL_ACCOUNTS"] == large["ECS_TASKS_CHANNEL_ACCOUNTS"]
    assert environment_sizes(document) == environment_sizes(ours)
    assert all(size.over_limit for size in environment_sizes(document))
