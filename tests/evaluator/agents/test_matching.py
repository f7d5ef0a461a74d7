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


def test_word_for_word_identical_scenarios_take_the_fullest_plan(index: TaskIndex) -> None:
    # three mock tasks share one scenario; the user cannot say anything that separates them
    said = task_material("mock", "update_task_with_initialization_actions").user_text
    match = index.identify_task("mock", said)
    assert not match.ambiguous
    assert match.task is not None
    assert match.task.task_id == "update_task_with_initialization_data"  # call + information
    assert len(match.task.actions) == 1
    assert match.task.communicate_info


def test_near_duplicates_wait_until_the_user_says_what_differs(index: TaskIndex) -> None:
    # retail 62 and 63 differ only in a price limit ("less than $100" / "$300")
    vague = (
        "I'm Chen Johnson from Houston TX 77004. I want to ask about the price of a bluetooth "
        "speaker I bought and its battery life, and whether cheaper bluetooth speakers are available"
    )
    match = index.identify_task("retail", vague)
    assert match.ambiguous
    precise = (
        "Chen Johnson, 77004: bluetooth speaker price, battery life, cancel it if it is more "
        "than $300, then add the cheapest bluetooth speaker available for less than $100"
    )
    match = index.identify_task("retail", precise)
    assert match.task is not None
    assert match.task.task_id == "62"
    assert not match.ambiguous


def test_small_talk_matches_nothing(index: TaskIndex) -> None:
    match = index.identify_task("airline", "hello, how are you?")
    assert match.task is None
    assert match.ambiguous
