"""The layering is enforced by import-linter's contracts (pyproject.toml), and no module imports itself
through others: grimp (import-linter's own graph) finds every cycle. Both checks can fail: an upward import,
or a cycle, in a copy of the tree is reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.import_cycles import PACKAGES
from tests.paths import REPO

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


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


def import_cycles(tree: Path) -> list[list[str]]:
    """The cycles in `tree`, found by `tests/import_cycles.py` in a fresh interpreter (so the graph is the
    tree's, never the modules this process already imported)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-m", "tests.import_cycles"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cycles: list[list[str]] = json.loads(result.stdout)
    return cycles


def test_no_module_imports_itself_through_others() -> None:
    assert import_cycles(REPO) == []


def test_a_cycle_is_found(tmp_path: Path) -> None:
    # Given a copy of the tree where the errors module imports the logging module, which imports it back
    tree = _copy_tree(tmp_path)
    errors = tree / "shared" / "errors.py"
    errors.write_text(errors.read_text() + "\nimport shared.log  # noqa: E402, F401\n")
    log = tree / "shared" / "log.py"
    if "shared.errors" not in log.read_text():
        log.write_text(log.read_text() + "\nimport shared.errors  # noqa: E402, F401\n")
    # When the cycles are looked for, then that one is reported
    assert ["shared.errors", "shared.log"] in import_cycles(tree)
