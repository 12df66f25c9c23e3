"""tools/build_package.py: the package holds our deployed code and its dependencies, and nothing else.

The package is built by the same code `make package` runs, for this interpreter's Python (FC runs 3.12;
the layout does not depend on the version) and this machine's manylinux platform. Its dependencies come
from the project's wheel cache (`.cache/wheels`, filled from the configured package index on the first
run and whenever a requirement changes), so a repeat run installs them offline.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from shared.config import Settings
from tests.contract.test_deploy_template import REPRESENTATIVE_ENV, TEMPLATE
from tests.paths import FIXTURES, REPO
from tests.run_once import once_per_run
from tools.build_package import (
    DEFAULT_EXTRAS,
    DEPLOYED_PACKAGES,
    MARKER_FILE,
    BuildError,
    BuildOptions,
    PackageSize,
    build,
    deployed_requirements,
    install_dependencies,
    load_pyproject,
    prepare_out_dir,
)
from tools.environment_limit import (
    ENVIRONMENT_LIMIT_BYTES,
    EnvironmentTooLarge,
    check_environment_size,
    environment_sizes,
)

WHEEL_CACHE = REPO / ".cache" / "wheels"
REFERENCE_EVENT = FIXTURES / "fc3-events" / "http-trigger-event.json"
NEVER_DEPLOYED = ("emulators", "tests", "bench", "tools")
ENTRY_MODULES = ("functions.http", "functions.wsgi", "functions.timer", "functions.events")

# Run in a fresh interpreter: `-I` ignores PYTHON* variables (PYTHONPATH included) and `-S` skips site, so
# neither this virtualenv nor the system's packages are visible. The package folder goes on sys.path the
# way Function Compute puts /code there; anything the handlers need must come from the package.
IMPORT_CHECK = """
import json, sys
package, modules, event = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
sys.path.insert(0, package)
import importlib
report = {}
for name in modules:
    module = importlib.import_module(name)
    report[name] = {"file": module.__file__, "callable": callable(getattr(module, "handler", None))}
for dependency in ("slack_bolt", "pydantic_core", "sqlalchemy", "psycopg", "pymysql"):
    report[dependency] = {"file": importlib.import_module(dependency).__file__}
import functions.http
report["get_reply"] = functions.http.handler(event.encode(), None)
print(json.dumps(report))
"""


def manylinux_platform() -> str:
    if sys.platform != "linux" or platform.machine() not in {"x86_64", "aarch64"}:
        pytest.skip("the package is built from manylinux wheels: Linux x86_64 or aarch64 only")
    return f"manylinux2014_{platform.machine()}"


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PackageSize]:
    """The package, built once per run for every test (and pytest-xdist worker) that reads it."""
    platform_tag = manylinux_platform()

    def make(folder: Path) -> str:
        options = BuildOptions(
            out=folder / "package",
            python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
            platforms=(platform_tag,),
            extras=DEFAULT_EXTRAS,
            wheel_cache=WHEEL_CACHE,
        )
        size = build(options)
        return json.dumps([size.files, size.bytes])

    folder, made = once_per_run(tmp_path_factory, "fc-package", make)
    files, size_bytes = json.loads(made)
    return folder / "package", PackageSize(files=files, bytes=size_bytes)


def test_package_holds_our_deployed_packages_and_nothing_dev_only(package: tuple[Path, PackageSize]) -> None:
    out, size = package
    top_level = {path.name for path in out.iterdir()}
    assert set(DEPLOYED_PACKAGES) <= top_level
    assert not set(NEVER_DEPLOYED) & top_level
    # The official SDKs are test-only oracles and clients (the emulators' signature checks, the conformance suite)
    assert not {name for name in top_level if name.lower().startswith(("alibabacloud", "darabonba", "tea"))}
    assert not (out / "bin").exists()
    # Bytecode for the runtime's Python (here: this interpreter) is in, for every module of ours
    tag = sys.implementation.cache_tag
    for name in DEPLOYED_PACKAGES:
        for source in (out / name).rglob("*.py"):
            assert (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file(), source
    # Every source file of ours is there, byte for byte
    for name in DEPLOYED_PACKAGES:
        sources = {path.relative_to(REPO) for path in (REPO / name).rglob("*.py") if "__pycache__" not in path.parts}
        copied = {path.relative_to(out) for path in (out / name).rglob("*.py") if "__pycache__" not in path.parts}
        assert copied == sources
        assert all((out / path).read_bytes() == (REPO / path).read_bytes() for path in sources)
    # The measured size is the folder's
    files = [path for path in out.rglob("*") if path.is_file()]
    assert size == PackageSize(files=len(files), bytes=sum(path.stat().st_size for path in files))


def test_handlers_import_from_the_package_alone_in_a_fresh_interpreter(package: tuple[Path, PackageSize]) -> None:
    # Given a GET request as the FC 3.0 HTTP trigger delivers it
    out, _ = package
    event = json.loads(REFERENCE_EVENT.read_text())
    event["requestContext"]["http"]["method"] = "GET"
    # When a fresh interpreter that sees only the package imports the entry points and calls the handler
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", IMPORT_CHECK, str(out), ",".join(ENTRY_MODULES), json.dumps(event)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    # Then every entry point and dependency came from the package, and the handler answered
    for name in (*ENTRY_MODULES, "slack_bolt", "pydantic_core", "sqlalchemy", "psycopg", "pymysql"):
        assert Path(report[name]["file"]).is_relative_to(out), name
    assert all(report[name]["callable"] for name in ENTRY_MODULES)
    assert report["get_reply"]["statusCode"] == 405


def test_dependencies_are_pyprojects_plus_the_chosen_extras() -> None:
    pyproject = load_pyproject(REPO)
    requirements = deployed_requirements(pyproject, ["postgres"])
    assert requirements[: len(pyproject["project"]["dependencies"])] == pyproject["project"]["dependencies"]
    assert pyproject["project"]["optional-dependencies"]["postgres"][0] in requirements
    assert not any(requirement.startswith(("pytest", "ruff", "mypy")) for requirement in requirements)
    with pytest.raises(BuildError, match="unknown extra 'oracle'"):
        deployed_requirements(pyproject, ["oracle"])


def test_output_folder_is_cleared_only_when_this_tool_made_it(tmp_path: Path) -> None:
    # Given a folder with someone else's file, and one from a previous build
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    previous = tmp_path / "previous"
    prepare_out_dir(previous)
    (previous / "stale.py").write_text("")
    # When each is prepared as the output folder
    with pytest.raises(BuildError, match="not empty"):
        prepare_out_dir(foreign)
    prepare_out_dir(previous)
    # Then the foreign file survives and the previous build is gone
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(path.name for path in previous.iterdir()) == [MARKER_FILE]


WANTED_WHEEL = "requests-2.0-py3-none-any.whl"


def pip_with_a_cache(out: Path, cache: Path, commands: list[list[str]]) -> Callable[[Sequence[str]], None]:
    """A stand-in for pip: an offline install fails (leaving a partial folder) until the cache holds the
    wanted wheel, which a download puts there."""

    def pip(command: Sequence[str]) -> None:
        commands.append(list(command))
        if "install" in command and not (cache / WANTED_WHEEL).exists():
            (out / "partial").mkdir()
            raise BuildError("no matching distribution")
        if "download" in command:
            (cache / WANTED_WHEEL).write_text("")

    return pip


def test_a_wheel_cache_that_falls_short_is_filled_from_the_index_then_used_offline(tmp_path: Path) -> None:
    # Given an output folder and a wheel cache that holds wheels, but not the ones the requirements need now
    out, cache = tmp_path / "package", tmp_path / "wheels"
    prepare_out_dir(out)
    cache.mkdir()
    (cache / "requests-1.0-py3-none-any.whl").write_text("")
    commands: list[list[str]] = []
    # When the dependencies are installed through the cache
    options = BuildOptions(out=out, platforms=("manylinux2014_x86_64",), wheel_cache=cache)
    install_dependencies(["requests>=2"], out, options, pip_with_a_cache(out, cache, commands))
    # Then pip tried offline, filled the cache from the index, and installed offline again into a clean folder
    assert [command[3] for command in commands] == ["install", "download", "install"]
    offline = ["--no-index", "--find-links", str(cache.resolve())]
    assert all(" ".join(offline) in " ".join(command) for command in (commands[0], commands[2]))
    assert "--no-index" not in commands[1] and str(cache.resolve()) in commands[1]
    assert sorted(path.name for path in out.iterdir()) == [MARKER_FILE]


def test_an_empty_wheel_cache_is_filled_before_the_first_install(tmp_path: Path) -> None:
    # Given an output folder and no wheel cache yet (a fresh clone)
    out, cache = tmp_path / "package", tmp_path / "wheels"
    prepare_out_dir(out)
    commands: list[list[str]] = []
    # When the dependencies are installed through the cache
    options = BuildOptions(out=out, platforms=("manylinux2014_x86_64",), wheel_cache=cache)
    install_dependencies(["requests>=2"], out, options, pip_with_a_cache(out, cache, commands))
    # Then the cache is filled from the index first, and pip installs from it offline once
    assert [command[3] for command in commands] == ["download", "install"]
    assert "--no-index" in commands[1] and sorted(path.name for path in out.iterdir()) == [MARKER_FILE]


def many_accounts(accounts: int = 10, channels: int = 30) -> dict[str, str]:
    """A large deployment's account settings: `accounts` accounts, `channels` channels bound to four each."""
    names = [f"unit{index:02d}-production" for index in range(accounts)]
    listed = {
        name: {
            "role_arn": f"acs:ram::{1111111111111100 + index}:role/ecs-tasks-readonly",
            "regions": ["cn-hangzhou", "cn-shanghai", "cn-beijing"],
            "external_id": f"{index:02d}f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5",
        }
        for index, name in enumerate(names)
    }
    bound = {f"C0{index:03d}ABCDEF": [names[(index + n) % accounts] for n in range(4)] for index in range(channels)}
    return {"ECS_TASKS_ACCOUNTS": json.dumps(listed), "ECS_TASKS_CHANNEL_ACCOUNTS": json.dumps(bound)}


def test_the_large_deployment_is_one_the_settings_accept() -> None:
    # The refusal below is about size alone: the functions would accept these settings
    settings = Settings.model_validate(many_accounts())
    assert len(settings.accounts) == 10 and len(settings.channel_accounts) == 30


@pytest.mark.parametrize("where", ["shell", "dotenv"])
def test_make_package_refuses_an_environment_over_4_kb_naming_its_largest_settings(tmp_path: Path, where: str) -> None:
    # Given a copy of template.yml, and the settings of 10 accounts and 30 channel bindings in the shell
    # that builds, or in the .env beside the template (which `s deploy` reads too)
    template = tmp_path / "template.yml"
    template.write_text(TEMPLATE.read_text())
    large = many_accounts()
    # (pip may not reach an index: a build that got past the check fails fast instead of downloading)
    env = {"PATH": os.environ.get("PATH", ""), "PIP_NO_INDEX": "1", **REPRESENTATIVE_ENV}
    if where == "shell":
        env.update(large)
    else:
        (tmp_path / ".env").write_text("".join(f"{name}='{value}'\n" for name, value in large.items()))
    out = tmp_path / "package"
    # When the package is built
    command = [sys.executable, "-m", "tools.build_package", "--out", str(out), "--template", str(template)]
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)
    # Then the build stops before anything is made, naming each function's largest settings with their sizes
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert not out.exists()
    message = completed.stderr
    for function in ("slack", "poller"):
        assert f"the {function} function's environment would be" in message
    for name in ("ECS_TASKS_CHANNEL_ACCOUNTS", "ECS_TASKS_ACCOUNTS"):
        size = len(name) + len(large[name].encode())
        assert f"{name} {size} bytes" in message
    assert f"limit of {ENVIRONMENT_LIMIT_BYTES}" in message
    # And it points at the guide's section on what to do, which exists
    assert 'docs/deploying.md, "The 4 KB environment"' in message
    assert "\n### The 4 KB environment\n" in (REPO / "docs" / "deploying.md").read_text()
    # And no value is shown: not the accounts, not a secret
    for value in (*large.values(), REPRESENTATIVE_ENV["SLACK_SIGNING_SECRET"], REPRESENTATIVE_ENV["SLACK_BOT_TOKEN"]):
        assert value not in message
    assert "acs:ram::" not in message and "ext-unit" not in message


def test_a_usual_environment_passes_the_check_and_is_measured_as_names_plus_values(tmp_path: Path) -> None:
    template = tmp_path / "template.yml"
    template.write_text(TEMPLATE.read_text())
    # Given the required settings and two accounts
    env = {**REPRESENTATIVE_ENV, **many_accounts(accounts=2, channels=3)}
    # When the check runs, then it passes and measures every setting of each function
    sizes = {size.resource: size for size in check_environment_size(template, env)}
    assert set(sizes) == {"slack", "poller", "events"}
    for size in sizes.values():
        assert 0 < size.total <= ENVIRONMENT_LIMIT_BYTES
    assert dict(sizes["slack"].sizes)["SLACK_SIGNING_SECRET"] == len("SLACK_SIGNING_SECRET") + len(
        REPRESENTATIVE_ENV["SLACK_SIGNING_SECRET"]
    )


def test_the_limit_is_4096_bytes_of_names_and_values_in_utf8() -> None:
    def function(environment: dict[str, str]) -> dict[str, object]:
        return {"resources": {"f": {"component": "fc3", "props": {"environmentVariables": environment}}}}

    # Exactly 4096 bytes is allowed: a 4-byte name and a 4092-byte value whose two `é` are 2 bytes each
    at_limit = {"NAME": "é" * 2 + "x" * 4088}
    (size,) = environment_sizes(function(at_limit))
    assert size.total == ENVIRONMENT_LIMIT_BYTES and not size.over_limit
    # One byte more is not, and a non-fc3 resource (the custom domain) has no environment to measure
    (size,) = environment_sizes(function({**at_limit, "A": ""}))
    assert size.total == ENVIRONMENT_LIMIT_BYTES + 1 and size.over_limit
    assert environment_sizes({"resources": {"d": {"component": "fc3-domain", "props": {}}}}) == []


def test_the_check_counts_required_settings_not_set_yet_as_empty(tmp_path: Path) -> None:
    # Given a build machine with no deploy settings at all, then the template is still measured
    template = tmp_path / "template.yml"
    template.write_text(TEMPLATE.read_text())
    sizes = check_environment_size(template, {})
    assert {size.resource for size in sizes} == {"slack", "poller", "events"}
    # And an oversized one is still refused
    with pytest.raises(EnvironmentTooLarge, match="ECS_TASKS_CHANNEL_ACCOUNTS"):
        check_environment_size(template, many_accounts())
