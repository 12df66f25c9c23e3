"""`make bench`: run every benchmark, each in a process of its own, and write docs/benchmarks.md.

Every figure in the document comes from this run; the text around them is fixed. `--quick` is a smoke test
(few samples; writes the document only if `--out` is given). `--only cold_start,warm` runs some of them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.machine import describe_machine
from bench.markdown import render_document
from bench.procs import PROJECT_ROOT, PYTHON, BenchError
from bench.report import Section

# In the order the document shows them; the package builds first (network), the poller last (longest).
SCRIPTS = (
    "package_size",
    "cold_start",
    "user_felt",
    "warm",
    "memory",
    "poller_scaling",
    "post_latency",
    "event_latency",
)
# Flags only some benchmarks take, passed on to them.
QUEUE_DELAY_SCRIPT = "user_felt"
DEFAULT_OUT = PROJECT_ROOT / "docs" / "benchmarks.md"
LOG_TAIL_CHARS = 4000


def run_script(name: str, scratch: Path, quick: bool, extra: Sequence[str] = ()) -> Section:
    """`python -m bench.<name> --json ...`: its table goes to our stdout, its logs to a file."""
    out, log = scratch / f"{name}.json", scratch / f"{name}.log"
    command = [PYTHON, "-m", f"bench.{name}", "--json", str(out), *(["--quick"] if quick else []), *extra]
    with log.open("w") as log_file:
        completed = subprocess.run(command, cwd=PROJECT_ROOT, stderr=log_file, check=False)
    if completed.returncode != 0 or not out.exists():
        raise BenchError(f"bench.{name} failed (exit {completed.returncode}):\n{log.read_text()[-LOG_TAIL_CHARS:]}")
    return Section.read(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke test")
    parser.add_argument("--only", help=f"comma-separated, from: {', '.join(SCRIPTS)}")
    parser.add_argument(
        "--queue-delay-ms",
        type=float,
        help="how long each async invocation waits in the FC stand-in's queue (bench.user_felt; default 100)",
    )
    parser.add_argument("--out", type=Path, help=f"the document to write (default {DEFAULT_OUT}, not with --quick)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(SCRIPTS)
    unknown = sorted(set(names) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(unknown)}")
    out = args.out or (None if args.quick else DEFAULT_OUT)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            delay = ["--queue-delay-ms", str(args.queue_delay_ms)] if args.queue_delay_ms is not None else []
            sections = [
                run_script(name, Path(tmp), args.quick, delay if name == QUEUE_DELAY_SCRIPT else []) for name in names
            ]
        except BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
    elapsed = time.monotonic() - started
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_document(sections, describe_machine(), elapsed_s=elapsed, quick=args.quick))
        print(f"\nwrote {out} ({elapsed:.0f} s)")
    missed = [f for s in sections for f in s.missed]
    print(f"{len(missed)} goal(s) missed" if missed else "every goal met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
