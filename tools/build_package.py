"""Build the Function Compute 3.0 code package: `python -m tools.build_package --out .package`.

The package is the folder `template.yml` deploys (`code: ./.package`):

    .package/shared, .package/bot, .package/functions    our deployed packages, without __pycache__
    .package/requests, .package/slack_bolt, ...           their dependencies, for the runtime's Python

Function Compute puts the code root (/code) on `sys.path`, so dependencies installed beside our packages
import with no PYTHONPATH setting; this is the layout of the FC guide "Deploy a code package" (`pip install
-t .` in the code folder). A `python/` subfolder would need an extra environment variable on the function.

Dependencies are the `dependencies` of pyproject.toml plus the extras named (the database drivers), fetched
as wheels for the target interpreter and platform (`--only-binary=:all:`): nothing is compiled on this
machine, so the result runs on FC's Linux whatever this machine is. With `--wheel-cache DIR` they are
installed offline from that folder (`--no-index --find-links`), which is filled from the index the first
time, and again whenever it cannot satisfy the requirements: the tests build the package that way, so a
repeat run does not ask the index (`.cache/wheels`, not committed).

Bytecode is compiled by an interpreter of the runtime's version (this one, or `python3.12` on PATH):
where the runtime cannot write `__pycache__` beside the code, every cold start would otherwise compile
every module from source (see docs/benchmarks.md, "no bytecode"). Unchecked-hash pycs are used, as the
files' times change on upload. When no such interpreter is found the package ships without bytecode,
and the build says so.

Before anything is built, each function's environment is rendered from `template.yml` as `s deploy` would
render it here (tools/deploy_template.py) and measured (tools/environment_limit.py): Function Compute refuses
a function whose environment is over 4 KB, so the build stops with the largest settings named instead of
letting `s deploy` fail later.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.deploy_template import TemplateError
from tools.environment_limit import ENVIRONMENT_LIMIT_BYTES, EnvironmentTooLarge, check_environment_size

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 has no tomllib; `pip install tomli` there.
    import tomli as tomllib  # type: ignore[import-not-found]

DEPLOYED_PACKAGES = ("shared", "bot", "functions")
CONFIG_FILE = "ecs-tasks.toml"  # shared.config.DEFAULT_CONFIG_FILE's name: read beside the code
DEFAULT_PYTHON_VERSION = "3.12"  # template.yml's runtime: python3.12
DEFAULT_PLATFORM = "manylinux2014_x86_64"  # glibc 2.17: older than FC's Debian 10/11 images
DEFAULT_EXTRAS = ("postgres", "mysql")  # psycopg[binary] and PyMySQL: either database URL works
# Written into the output folder so a rebuild may clear it; any other non-empty folder is refused.
MARKER_FILE = ".ecs-tasks-package"
# pip's console scripts: their shebang names this machine's interpreter, useless on FC.
PIP_SCRIPTS_DIR = "bin"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")

PipRunner = Callable[[Sequence[str]], None]


class BuildError(Exception):
    """The package cannot be built as asked; the message says why."""


@dataclass(frozen=True)
class BuildOptions:
    out: Path
    python_version: str = DEFAULT_PYTHON_VERSION
    platforms: tuple[str, ...] = (DEFAULT_PLATFORM,)
    extras: tuple[str, ...] = DEFAULT_EXTRAS
    wheel_cache: Path | None = None  # install offline from here, filling it from the index when short
    template: Path | None = None  # whose functions' environments are measured first; None: the project's


@dataclass(frozen=True)
class PackageSize:
    files: int
    bytes: int

    @property
    def megabytes(self) -> float:
        return self.bytes / 1_000_000


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


def load_pyproject(root: Path) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as handle:
        loaded: dict[str, Any] = tomllib.load(handle)
    return loaded


def deployed_requirements(pyproject: Mapping[str, Any], extras: Iterable[str]) -> list[str]:
    """The project's `dependencies` plus those of each extra, in order, without repeats."""
    project = pyproject["project"]
    optional: Mapping[str, list[str]] = project.get("optional-dependencies", {})
    requirements = list(project["dependencies"])
    for extra in extras:
        if extra not in optional:
            known = ", ".join(sorted(optional)) or "none"
            raise BuildError(f"unknown extra {extra!r}; pyproject.toml defines: {known}")
        requirements += optional[extra]
    return list(dict.fromkeys(requirements))


def _wheel_selection(python_version: str, platforms: Sequence[str]) -> list[str]:
    """pip's arguments choosing wheels for the runtime: the same for installing and for filling the cache."""
    platform_args = [arg for platform in platforms for arg in ("--platform", platform)]
    return [*platform_args, "--only-binary=:all:", "--python-version", python_version, "--implementation", "cp"]


def pip_install_command(
    requirements: Sequence[str],
    target: Path,
    python_version: str,
    platforms: Sequence[str],
    *,
    wheel_cache: Path | None = None,
) -> list[str]:
    offline = ["--no-index", "--find-links", str(wheel_cache)] if wheel_cache is not None else []
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *offline,
        "--target",
        str(target),
        *_wheel_selection(python_version, platforms),
        *requirements,
    ]


def pip_download_command(
    requirements: Sequence[str], wheel_cache: Path, python_version: str, platforms: Sequence[str]
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--dest",
        str(wheel_cache),
        *_wheel_selection(python_version, platforms),
        *requirements,
    ]


def run_pip(command: Sequence[str]) -> None:
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise BuildError(f"pip failed (exit {completed.returncode}): {' '.join(command)}")


def prepare_out_dir(out: Path) -> None:
    """An empty folder with our marker; a previous package is cleared, anything else is left alone."""
    if out.exists():
        if not out.is_dir():
            raise BuildError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not (out / MARKER_FILE).exists():
            raise BuildError(f"{out} is not empty and was not made by this tool; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER_FILE).write_text("Built by tools/build_package.py; cleared by the next build.\n")


def check_no_shadowing(out: Path, packages: Iterable[str]) -> None:
    """A dependency that installs a top-level `shared`, `bot` or `functions` would be overwritten."""
    clashes = [name for name in packages if (out / name).exists() or (out / f"{name}.py").exists()]
    if clashes:
        raise BuildError(f"a dependency installed top-level names that clash with ours: {', '.join(clashes)}")


def copy_packages(root: Path, out: Path, packages: Iterable[str]) -> None:
    for name in packages:
        source = root / name
        if not (source / "__init__.py").is_file():
            raise BuildError(f"{source} is not a Python package")
        shutil.copytree(source, out / name, ignore=_IGNORED)


def copy_config_file(root: Path, out: Path) -> bool:
    """The project's `ecs-tasks.toml`, when present, beside the code in the package (shared.config reads it)."""
    source = root / CONFIG_FILE
    if not source.is_file():
        return False
    shutil.copyfile(source, out / CONFIG_FILE)
    return True


def remove_pip_scripts(out: Path) -> None:
    scripts = out / PIP_SCRIPTS_DIR
    if scripts.is_dir():
        shutil.rmtree(scripts)


def measure(folder: Path) -> PackageSize:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return PackageSize(files=len(files), bytes=sum(path.stat().st_size for path in files))


def zipped_bytes(folder: Path) -> int:
    """What the upload weighs: the folder deflated into one zip, as `s deploy` sends it."""
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "package.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(folder))
        return archive.stat().st_size


def build(options: BuildOptions, *, root: Path | None = None, pip: PipRunner = run_pip) -> PackageSize:
    """Lay out the package in `options.out` and return its size."""
    root = root or project_root()
    requirements = deployed_requirements(load_pyproject(root), options.extras)
    out = options.out.resolve()
    prepare_out_dir(out)  # refuses any non-empty folder it did not make, the project itself included
    # Dependencies first, so a clash with our own package names is seen rather than silently merged.
    install_dependencies(requirements, out, options, pip)
    check_no_shadowing(out, DEPLOYED_PACKAGES)
    copy_packages(root, out, DEPLOYED_PACKAGES)
    copy_config_file(root, out)
    remove_pip_scripts(out)
    compile_bytecode(out, options.python_version)
    return measure(out)


def install_dependencies(requirements: Sequence[str], out: Path, options: BuildOptions, pip: PipRunner) -> None:
    """From the index; or offline from the wheel cache, filling it from the index when it falls short."""
    cache = options.wheel_cache
    if cache is None:
        pip(pip_install_command(requirements, out, options.python_version, options.platforms))
        return
    cache = cache.resolve()
    offline = pip_install_command(requirements, out, options.python_version, options.platforms, wheel_cache=cache)
    cache.mkdir(parents=True, exist_ok=True)
    if any(cache.glob("*.whl")):  # an empty cache (a fresh clone's) is filled first: offline could not succeed
        try:
            pip(offline)
            return
        except BuildError:  # a new or changed requirement the cache does not hold yet
            prepare_out_dir(out)  # drop whatever the failed attempt left
    pip(pip_download_command(requirements, cache, options.python_version, options.platforms))
    pip(offline)


def runtime_interpreter(python_version: str) -> str | None:
    """An interpreter of the runtime's version: this one if it matches, else `pythonX.Y` on PATH."""
    if python_version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    candidate = shutil.which(f"python{python_version}")
    if candidate is None:
        return None
    # A version manager's shim may be on PATH without that version being usable: ask it.
    probe = subprocess.run(
        [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return candidate if probe.returncode == 0 and probe.stdout.strip() == python_version else None


def compile_bytecode(out: Path, python_version: str) -> bool:
    interpreter = runtime_interpreter(python_version)
    if interpreter is None:
        print(
            f"build_package: no python{python_version} here, so the package has no bytecode "
            "(every cold start will compile from source)",
            file=sys.stderr,
        )
        return False
    command = [interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(out)]
    # compileall exits non-zero when some third-party file does not compile (e.g. a py2-only test module);
    # what compiled is still used, and the rest compiles when first imported.
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    return True


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parse_args(argv: Sequence[str] | None = None) -> BuildOptions:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_package",
        description="Build the Function Compute code package (our packages plus dependencies).",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder, e.g. .package")
    parser.add_argument(
        "--python-version",
        default=DEFAULT_PYTHON_VERSION,
        help=f"the runtime's Python, e.g. 3.12 or 3.10 (default {DEFAULT_PYTHON_VERSION})",
    )
    parser.add_argument(
        "--platform",
        action="append",
        dest="platforms",
        help=f"wheel platform tag, repeatable (default {DEFAULT_PLATFORM})",
    )
    parser.add_argument(
        "--extras",
        type=_csv,
        default=DEFAULT_EXTRAS,
        help=f"pyproject extras to install, comma-separated (default {','.join(DEFAULT_EXTRAS)})",
    )
    parser.add_argument(
        "--template",
        type=Path,
        help="the Serverless Devs template whose environments are checked (default: the project's template.yml)",
    )
    parser.add_argument(
        "--wheel-cache",
        type=Path,
        help="install dependencies offline from this folder of wheels, filled from the index when short",
    )
    args = parser.parse_args(argv)
    return BuildOptions(
        out=args.out,
        python_version=args.python_version,
        platforms=tuple(args.platforms or (DEFAULT_PLATFORM,)),
        extras=args.extras,
        wheel_cache=args.wheel_cache,
        template=args.template,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    template = options.template or project_root() / "template.yml"
    try:
        environments = check_environment_size(template, os.environ)
        size = build(options)
    except (TemplateError, EnvironmentTooLarge, BuildError) as error:
        print(f"build_package: {error}", file=sys.stderr)
        return 1
    for environment in environments:
        print(
            f"environment of {environment.resource}: {environment.total} of {ENVIRONMENT_LIMIT_BYTES} bytes "
            f"as rendered from {template.name} and this shell"
        )
    zipped_mb = zipped_bytes(options.out) / 1_000_000
    print(
        f"package {options.out}: {size.megabytes:.1f} MB in {size.files} files ({zipped_mb:.1f} MB zipped); "
        f"Python {options.python_version}, {', '.join(options.platforms)}, "
        f"extras: {', '.join(options.extras) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
