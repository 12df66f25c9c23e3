"""The budgeted attempt on its own: work that fits is used; work that does not is abandoned, and an
abandoned worker that resumes later (a frozen Function Compute instance thawing) can cause no side effect;
work that started a side effect is finished, never abandoned half-way."""

from __future__ import annotations

import threading
import time

import pytest

from bot.usecases.attempt import Abandoned, Attempt, OutOfBudget, run_inline

BUDGET_S = 0.2


def attempt() -> Attempt:
    return Attempt(inline=True, ends_at=time.monotonic() + BUDGET_S, monotonic=time.monotonic, ecs_deadline_s=20.0)


def test_work_inside_the_budget_is_used() -> None:
    assert run_inline(attempt(), lambda a: "card") == "card"


def test_work_that_runs_out_is_deferred_and_can_never_act_afterwards() -> None:
    # Given work that is still waiting (on ECS) when the budget ends
    resume, finished = threading.Event(), threading.Event()
    effects: list[str] = []
    raised: list[BaseException] = []

    def work(a: Attempt) -> str:
        resume.wait(5)
        try:
            a.begin_side_effect()
            effects.append("posted")
        except Abandoned as error:
            raised.append(error)
        finally:
            finished.set()
        return "late card"

    tried = attempt()
    result = run_inline(tried, work)
    # Then the listener defers it
    assert result is None and tried.abandoned
    # And when the worker resumes later, its side effect is refused
    resume.set()
    assert finished.wait(5)
    assert effects == [] and len(raised) == 1


def test_work_that_started_a_side_effect_is_finished_not_abandoned() -> None:
    def work(a: Attempt) -> str:
        a.begin_side_effect()
        time.sleep(BUDGET_S * 2)  # past the budget, but committed
        return "done"

    tried = attempt()
    assert run_inline(tried, work) == "done" and not tried.abandoned


def test_work_that_says_it_cannot_fit_is_deferred() -> None:
    def work(a: Attempt) -> str:
        raise OutOfBudget

    assert run_inline(attempt(), work) is None


def test_other_failures_reach_the_listener() -> None:
    def work(a: Attempt) -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_inline(attempt(), work)


def test_deadlines_inline_and_deferred() -> None:
    inline = attempt()
    assert inline.act_deadline_s() <= BUDGET_S < inline.read_deadline_s()
    deferred = Attempt.deferred(ecs_deadline_s=20.0, monotonic=time.monotonic)
    assert deferred.read_deadline_s() == deferred.act_deadline_s() == 20.0
