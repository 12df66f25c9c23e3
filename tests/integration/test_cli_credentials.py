"""`ecs-tasks query` with the `cli` extra's official credentials chain (alibabacloud-credentials), as a user
runs it: a real process, real HTTP to the ECS emulator, which checks every signature. Sources only the
official chain reads (its own profile file) work, and so do the environment and the aliyun CLI's AK profile;
with none, the message says where it looked and shows no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli.credentials import OfficialChainCredentialsProvider, cli_credentials
from emulators.ecs import EcsEmulator
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, fixed_task

CLI = str(Path(sys.executable).with_name("ecs-tasks"))


def run(ecs: EcsEmulator, home: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "ECS_"))}
    env.update(HOME=str(home), ECS_ENDPOINT=ecs.base_url, ALIBABA_CLOUD_ECS_METADATA_DISABLED="true", **extra_env)
    return subprocess.run([CLI, "query", "cn-hangzhou", "--json"], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def seeded(ecs: EcsEmulator, now: datetime) -> EcsEmulator:
    ecs.add_task(**fixed_task("t-cred0001", status="Failed", created=now, finished=now))
    return ecs


def found(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [task["TaskId"] for task in json.loads(result.stdout)]


def test_the_official_chains_own_profile_file_is_read(seeded: EcsEmulator, tmp_path: Path) -> None:
    # Given only ~/.alibabacloud/credentials.ini, which the functions' own reading does not know
    (tmp_path / ".alibabacloud").mkdir()
    (tmp_path / ".alibabacloud" / "credentials.ini").write_text(
        f"[default]\ntype = access_key\naccess_key_id = {ACCESS_KEY_ID}\naccess_key_secret = {ACCESS_KEY_SECRET}\n"
    )
    assert found(run(seeded, tmp_path)) == ["t-cred0001"]


def test_an_ak_profile_of_the_aliyun_cli_is_read(seeded: EcsEmulator, tmp_path: Path) -> None:
    (tmp_path / ".aliyun").mkdir()
    profiles = [{"name": "ops", "mode": "AK", "access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET,
                 "region_id": "cn-hangzhou"}]  # fmt: skip
    (tmp_path / ".aliyun" / "config.json").write_text(json.dumps({"current": "ops", "profiles": profiles}))
    assert found(run(seeded, tmp_path)) == ["t-cred0001"]


def test_environment_variables_are_read(seeded: EcsEmulator, tmp_path: Path) -> None:
    result = run(
        seeded,
        tmp_path,
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
    )
    assert found(result) == ["t-cred0001"]


def test_without_credentials_it_says_where_it_looked(seeded: EcsEmulator, tmp_path: Path) -> None:
    (tmp_path / ".aliyun").mkdir()
    profiles = [{"name": "ops", "mode": "AK", "access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET}]
    (tmp_path / ".aliyun" / "config.json").write_text(json.dumps({"current": "ops", "profiles": profiles}))
    # Given a profile name that is in no file
    result = run(seeded, tmp_path, ALIBABA_CLOUD_PROFILE="missing")
    assert result.returncode == 1
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in result.stderr and "credentials.ini" in result.stderr
    assert ACCESS_KEY_SECRET not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_the_cli_uses_the_official_chain_when_the_extra_is_installed() -> None:
    assert isinstance(cli_credentials({}), OfficialChainCredentialsProvider)
    # Keys in the environment (the chain's first source) are read as the functions read them
    keys = {"ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET}
    assert not isinstance(cli_credentials(keys), OfficialChainCredentialsProvider)
