"""The command line every benchmark script shares: run, print the table, optionally write the JSON section."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bench.report import Section, print_section

Runner = Callable[[bool], Section]


def script_main(run: Runner, description: str | None, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", type=Path, help="also write the section here (for bench.run_all)")
    parser.add_argument("--quick", action="store_true", help="fewer samples: a smoke test, not a measurement")
    args = parser.parse_args(argv)
    section = run(args.quick)
    print_section(section)
    if args.json is not None:
        section.write(args.json)
