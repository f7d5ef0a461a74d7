"""The domain from the tools on offer, the task from the user's words."""

from __future__ import annotations

import pytest

from evaluator.agents.matching import TaskIndex, plan_key
from tests.evaluator.agents.openings import task_material


@pytest.mark.parametrize("domain", ["mock", "airline", "retail", "telecom"])
def test_each_domain_is_recognised_by_its_tools(index: TaskIndex, domain: str) -> None:
    tools = index.domains[domain].tool_names
    assert index.identify_domain(tools) == domain
    # a few tools missing or extra still point to the same domain
    assert index.identify_domain([*sorted(tools)[1:], "some_other_tool"]) == domain


def test_unknown_tools_name_no_domain(index: TaskIndex) -> None:
    assert index.identify_domain(["launch_rocket", "land_rocket"]) is None
    assert index.identify_domain([], "a policy mentioning nothing we know") is None


def test_tool_names_in_free_text_stand_in_when_none_were_parsed(index: TaskIndex) -> None:
    text = " ".join(sorted(index.domains["retail"].tool_names))
    assert index.identify_domain([], text) == "retail"


@pytest.mark.parametrize("domain", ["airline", "retail"])
def test_every_task_is_recognised_from_its_instructions(index: TaskIndex, domain: str) -> None:
    wrong = []
    for task in index.domains[domain].tasks:
        said = task_material(domain, task.task_id).user_text
        match = index.identify_task(domain, said)
        if match.task is None or plan_key(match.task) != plan_key(task):
            wrong.append(task.task_id)
    assert wrong == []


def test_a_paraphrase_with_the_ids_is_enough(index: TaskIndex) -> None:
    match = index.identify_task(
        "airline", "hello, my user id is emma_kim_9957, please cancel my reservation EHGLP3"
    )
    assert match.task is not None
    assert match.task.task_id == "0"
    assert not match.ambiguous


def test_identical_scenarios_with_different_plans_are_ambiguous(index: TaskIndex) -> None:
    said = task_material("mock", "update_task_with_initialization_data").user_text
    match = index.identify_task("mock", said)
    assert match.ambiguous


def test_small_talk_matches_nothing(index: TaskIndex) -> None:
    match = index.identify_task("airline", "hello, how are you?")
    assert match.task is None
    assert match.ambiguous
