"""Package size: the deployable Function Compute package against one built the same way with the official SDK.

`python -m bench.package_size` builds, with `tools.build_package` (wheels for the FC runtime's Python and
platform, no bytecode): ours as `make package` does (database drivers included), ours without the database
extras, and a package whose requirements are the official SDK (the `bench` extra of pyproject.toml), then
compares files on disk and the deflated zip `s deploy` uploads.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.cli import script_main
from bench.report import Figure, Section
from tools.build_package import (
    DEFAULT_EXTRAS,
    DEFAULT_PLATFORM,
    DEFAULT_PYTHON_VERSION,
    BuildOptions,
    PackageSize,
    build,
    load_pyproject,
    measure,
    pip_install_command,
    prepare_out_dir,
    project_root,
    remove_pip_scripts,
    run_pip,
    zipped_bytes,
)

SDK_EXTRA = "bench"  # pyproject.toml's extra naming the official SDK
MB = 1_000_000


def sdk_requirements() -> list[str]:
    requirements: list[str] = load_pyproject(project_root())["project"]["optional-dependencies"][SDK_EXTRA]
    return requirements


def build_sdk_package(out: Path) -> PackageSize:
    """The same steps as `build`, with the official SDK as the only requirement (no code of ours)."""
    prepare_out_dir(out)
    run_pip(pip_install_command(sdk_requirements(), out, DEFAULT_PYTHON_VERSION, (DEFAULT_PLATFORM,)))
    remove_pip_scripts(out)
    return measure(out)


def run(quick: bool) -> Section:
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        ours_out, lean_out, sdk_out = scratch / "ours", scratch / "ours-sqlite", scratch / "sdk"
        ours = build(BuildOptions(out=ours_out))
        lean = build(BuildOptions(out=lean_out, extras=()))
        sdk = build_sdk_package(sdk_out)
        zipped = {
            name: zipped_bytes(path) / MB for name, path in (("ours", ours_out), ("lean", lean_out), ("sdk", sdk_out))
        }
    extras = ", ".join(DEFAULT_EXTRAS)
    return Section(
        key="package_size",
        title="Package size",
        method=(
            f"`tools.build_package` for Python {DEFAULT_PYTHON_VERSION} on {DEFAULT_PLATFORM} (binary wheels only, "
            f"no bytecode). Ours as `make package` builds it (extras {extras}: either database URL works) and "
            "without the database extras (SQLite only); zipped = the folder deflated into one zip, as uploaded."
        ),
        baseline=(
            "a package built the same way whose only requirement is the official SDK "
            f"({', '.join(sdk_requirements())}) and its dependencies; a function written with it adds its own code "
            "(and a Slack library) to that"
        ),
        figures=[
            Figure("deployable package, zipped", "MB", zipped["ours"], zipped["sdk"], headline=True),
            Figure("deployable package, on disk", "MB", ours.megabytes, sdk.megabytes),
            Figure("deployable package, files", "files", float(ours.files), float(sdk.files)),
            Figure(f"without the {extras} extras, zipped", "MB", zipped["lean"], zipped["sdk"]),
            Figure(f"without the {extras} extras, on disk", "MB", lean.bytes / MB, sdk.bytes / MB),
        ],
    )


if __name__ == "__main__":
    script_main(run, __doc__)
