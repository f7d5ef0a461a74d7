"""tau2observe domain check: the built-in domain passes; broken copies fail, each problem
naming the task and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluator.domains.check import check_domain
from tests.evaluator.domains.copies import copy_domain, task


def test_vacation_rental_passes_every_check() -> None:
    report = check_domain("vacation_rental")
    assert report.problems == []
    assert report.tasks == report.replayed == 35
    assert report.splits == {"base": 35, "train": 20, "test": 15}


def break_tool_name(tasks: list[dict[str, Any]]) -> None:
    # the fork's bug: a tool name that does not exist, with an argument it does not take
    action = task(tasks, "gas_smell_transfer")["evaluation_criteria"]["actions"][0]
    action["name"] = "transfer_to_human_agent"
    action["arguments"] = {"reason": "gas"}


def test_a_task_expecting_a_tool_that_does_not_exist_is_caught(tmp_path: Path) -> None:
    folder = copy_domain(tmp_path, "broken_tool", break_tool_name)
    report = check_domain(str(folder), ["gas_smell_transfer", "cancel_flexible_ahead"])
    assert [str(p) for p in report.problems] == [
        "task gas_smell_transfer: evaluation_criteria.actions[0].name: no assistant tool "
        "'transfer_to_human_agent' (did you mean 'transfer_to_human_agents'?)"
    ]
    assert report.replayed == 1  # the broken task is not replayed; the other one passes


def break_many(tasks: list[dict[str, Any]]) -> None:
    tasks[1]["id"] = tasks[0]["id"]  # a duplicate id
    cancel = task(tasks, "cancel_moderate_ahead")["evaluation_criteria"]["actions"][-1]
    cancel["arguments"]["refund_amount"] = "610"  # a number as text: an agent sends 610
    cancel["arguments"]["currency"] = "EUR"  # no such parameter
    quote = task(tasks, "refund_quote_only")["evaluation_criteria"]
    quote["communicate_info"] = ["1,000"]
    quote["reward_basis"] = ["DB", "NL_ASSERTION"]
    note = task(tasks, "early_check_in_repeat_guest_reviews_host")["evaluation_criteria"]
    note["actions"][-1]["compare_args"] = ["reservation", "category"]
    # arguments that fit, but the reservation is already over: the replay fails
    completed = task(tasks, "compensation_invalidated_claim")["evaluation_criteria"]
    completed["actions"].append(
        {
            "action_id": "x",
            "name": "cancel_reservation",
            "arguments": {"reservation_id": "RES1026", "refund_amount": 10},
        }
    )


def test_every_problem_names_its_task_and_field(tmp_path: Path) -> None:
    folder = copy_domain(tmp_path, "broken_many", break_many)
    (folder / "split_tasks.json").write_text('{"base": ["cancel_moderate_ahead", "ghost"]}')
    broken = [
        "cancel_moderate_ahead",
        "refund_quote_only",
        "early_check_in_repeat_guest_reviews_host",
        "compensation_invalidated_claim",
    ]
    report = check_domain(str(folder), broken)
    problems = {(p.task, p.field): p.message for p in report.problems}
    assert problems.pop(("cancel_flexible_ahead", "id")) == "used by 2 tasks"
    assert problems.pop((None, "split_tasks.json: base")) == "names no task 'ghost'"
    where = "evaluation_criteria.actions[3].arguments"
    assert "no parameter 'currency'" in problems.pop(("cancel_moderate_ahead", f"{where}.currency"))
    assert "valid number" in problems.pop(("cancel_moderate_ahead", f"{where}.refund_amount"))
    assert "comma" in problems.pop(("refund_quote_only", "evaluation_criteria.communicate_info[0]"))
    assert "LLM judge" in problems.pop(("refund_quote_only", "evaluation_criteria.reward_basis"))
    key = (
        "early_check_in_repeat_guest_reviews_host",
        "evaluation_criteria.actions[2].compare_args",
    )
    assert "no parameter 'reservation'" in problems.pop(key)
    replay = problems.pop(("compensation_invalidated_claim", "evaluation_criteria.actions"))
    assert replay.startswith("replaying cancel_reservation(")
    assert "RES1026 is completed, not confirmed" in replay
    assert problems == {}


def test_an_unloadable_folder_is_one_problem(tmp_path: Path) -> None:
    folder = copy_domain(tmp_path, "bad_db")
    (folder / "db.json").write_text('{"users": {}}')
    (problem,) = check_domain(str(folder)).problems
    assert problem.task is None
    assert problem.field == "environment"
    assert "db.json: does not fit Database" in problem.message


@pytest.mark.parametrize("spec", ["nowhere", "./no/such/folder"])
def test_an_unknown_domain_is_one_problem(spec: str) -> None:
    (problem,) = check_domain(spec).problems
    assert problem.field == "domain"
