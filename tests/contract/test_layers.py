"""The layering is enforced by import-linter's contracts (pyproject.toml), and the check can fail: an upward
import in a copy of the tree breaks a contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ("shared", "bot", "functions", "emulators", "bench", "tools", "tests")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_project_keeps_every_import_contract() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layering(tmp_path: Path) -> None:
    # Given a copy of the tree where the ECS models import the bot (shared -> bot: upward)
    tree = _copy_tree(tmp_path)
    models = tree / "shared" / "ecs" / "models.py"
    models.write_text(models.read_text() + "\nimport bot.language.grammar  # noqa: E402, F401\n")
    # When the contracts are checked, then the layers contract is reported broken
    result = _lint(tree)
    assert result.returncode != 0
    assert "shared.ecs.models -> bot.language.grammar" in result.stdout


def test_the_dependencies_never_import_the_wiring_that_builds_them(tmp_path: Path) -> None:
    # Given a copy of the tree where bot.wiring.deps asks bot.wiring.build for something (a cycle)
    tree = _copy_tree(tmp_path)
    deps = tree / "bot" / "wiring" / "deps.py"
    deps.write_text(deps.read_text() + "\nfrom bot.wiring import build  # noqa: E402, F401\n")
    # When the contracts are checked, then that contract is reported broken
    result = _lint(tree)
    assert result.returncode != 0
    assert "bot.wiring.deps -> bot.wiring.build" in result.stdout
