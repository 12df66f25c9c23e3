"""A deferred Cancel after an inline attempt that may have sent CancelTask (its payload says so) never
sends it again: it reads the task until the first call shows, then confirms the cancel. Against the ECS
emulator over real HTTP; the first CancelTask (sent here) lands between two of the deferred run's reads (its
injected sleep), as one ECS still held when the run began would."""

from __future__ import annotations

import time

import pytest

from bot.language.codecs import TaskRef
from bot.usecases.attempt import Attempt
from bot.usecases.tasks import cancel_work
from bot.usecases.work import Click, DeferredRun, Ephemeral
from bot.wiring.build import build_bot_deps, build_ecs_client
from emulators.ecs import EcsEmulator
from shared.config import load_settings
from shared.ecs.query import TaskQuery

USER = "U0ALICE"


def _click() -> Click:
    return Click(action_id="cancel:0", value="", team_id="T0", channel_id="C0OPS", user_id=USER, container={})


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("lands_after_reads", [0, 2])
def test_the_deferred_run_waits_for_the_first_cancel_and_never_sends_another(
    ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch, lands_after_reads: int
) -> None:
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", USER)
    deps = build_bot_deps(load_settings())
    task_id = ecs.add_task(RegionId="cn-hangzhou", TaskAction="ExportImage", waiting_s=0, processing_s=3600)
    ref = TaskRef("cn-hangzhou", task_id, TaskQuery(regions=("cn-hangzhou",)))
    reads: list[float] = []

    def sleep(seconds: float) -> None:
        # The first CancelTask, still held by ECS, lands after this many of the deferred run's reads
        reads.append(seconds)
        if len(reads) == lands_after_reads:
            first_cancel()

    def first_cancel() -> None:
        client = build_ecs_client(deps.settings)
        client.cancel_task("cn-hangzhou", task_id, deadline=client.deadline(5.0))

    if lands_after_reads == 0:
        first_cancel()
    # When the deferred run of a click whose inline attempt may have sent CancelTask runs
    work = cancel_work(deps, ref, _click(), sleep=sleep)
    replies = work(Attempt.deferred(ecs_deadline_s=20.0, monotonic=time.monotonic), DeferredRun(may_have_acted=True))
    # Then it sent no CancelTask of its own (the one sent is the first), and the clicker is told the task was
    # cancelled
    assert [c.action for c in ecs.calls].count("CancelTask") == 1
    notes = [r.message.text for r in replies if isinstance(r, Ephemeral)]
    assert any(f"<@{USER}> cancelled task `{task_id}`" in n for n in notes), notes
    assert len(reads) == lands_after_reads


@pytest.mark.usefixtures("app_env")
def test_a_cancel_that_never_shows_is_not_sent_twice(ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a click whose inline CancelTask may have been sent, but never reached ECS
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", USER)
    deps = build_bot_deps(load_settings())
    task_id = ecs.add_task(RegionId="cn-hangzhou", TaskAction="ExportImage", waiting_s=0, processing_s=3600)
    ref = TaskRef("cn-hangzhou", task_id, TaskQuery(regions=("cn-hangzhou",)))
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    # When the deferred run reads the task until its wait is over (the clock moved by its sleep alone)
    work = cancel_work(deps, ref, _click(), sleep=sleep)
    replies = work(Attempt.deferred(ecs_deadline_s=20.0, monotonic=lambda: clock[0]), DeferredRun(may_have_acted=True))
    # Then it still sent no CancelTask, and says so, with what to do
    assert [c.action for c in ecs.calls].count("CancelTask") == 0
    notes = [r.message.text for r in replies if isinstance(r, Ephemeral)]
    assert any("not sent twice" in n and "Processing" in n for n in notes), notes
