"""`ecs-tasks` (or another command of ours) run inside the test process, with the result `subprocess.run`
gives for the command.

A command is `sys.exit(main())` (the console script, or `python -m`): in-process, `main(argv)` runs with
exactly the given environment (and working folder), its stdout and stderr captured, its exit status what the
process would exit with.
A fresh interpreter costs most of a second a run, so the CLI's many cases run here and a few tests run the
installed command itself (its exit statuses, stream separation, masked credentials, a timeout).

What a run changes in this process is put back when it ends: the environment, the loggers' handlers, levels
and switches, the registered secrets, the process's one ECS client factory. Warnings are written to stderr
under a fresh interpreter's filters, as a process shows them, rather than collected by pytest.

Two things only a real process shows: what a C library writes to file descriptor 2 itself (a database
driver's), as the capture here is Python's sys.stderr; and the official credentials chain
(`alibabacloud_credentials`), which reads HOME and the environment when imported. Commands that reach a
database server's driver, or whose credentials come from that chain (no keys in the environment), run as
real processes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal, TextIO

import pytest

from bot.cli.main import PROG
from bot.cli.main import main as ecs_tasks_main

# A fresh interpreter's warning filters (Python's defaults without -W or PYTHONWARNINGS), in their order.
_PROCESS_WARNING_FILTERS: tuple[tuple[Literal["default", "ignore"], type[Warning], str], ...] = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)


def run_main(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    main: Callable[[list[str]], int] = ecs_tasks_main,
    prog: str = PROG,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`PROG ARGS` (`main(ARGS)`, `ecs-tasks` unless given) with `env` as its whole environment, in this
    process, in `cwd` if given."""
    from bot.wiring import build
    from shared import log

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, _loggers_kept():
        for name in set(os.environ) - set(env):
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setattr(log, "_secrets", log._secrets)
        patch.setattr(build, "_ecs_clients", build._ecs_clients)
        if cwd is not None:
            patch.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), _warnings_shown():
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = _exit_status(exit_.code, stderr)
    return subprocess.CompletedProcess([prog, *args], code, stdout.getvalue(), stderr.getvalue())


def _exit_status(code: object, stderr: TextIO) -> int:
    """The status the interpreter exits with for `SystemExit(code)`: a message is printed and exits 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=stderr)
    return 1


@contextlib.contextmanager
def _loggers_kept() -> Iterator[None]:
    """Every logger's handlers, level, propagation and switch, and logging's module switches, as they were
    before (a logger made during the run as a new one is): the CLI configures logging for its process."""
    loggers = [logging.getLogger()]
    loggers += [item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger)]
    saved = [(item, list(item.handlers), item.level, item.propagate, item.disabled) for item in loggers]
    switches = (logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    try:
        yield
    finally:
        # A logger the run made (a library imported in it) goes back to a new logger's state.
        made = [item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger)]
        known = {id(item) for item in loggers}
        saved += [(item, [], logging.NOTSET, True, False) for item in made if id(item) not in known]
        for item, handlers, level, propagate, disabled in saved:
            item.handlers[:] = handlers
            item.setLevel(level)
            item.propagate, item.disabled = propagate, disabled
        logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = switches


@contextlib.contextmanager
def _warnings_shown() -> Iterator[None]:
    """Warnings filtered as a fresh interpreter filters them and written to (the captured) sys.stderr, each
    location's first one shown as a process shows it."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category, module in _PROCESS_WARNING_FILTERS:
            warnings.filterwarnings(action, category=category, module=module, append=True)
        warnings.showwarning = show
        yield
