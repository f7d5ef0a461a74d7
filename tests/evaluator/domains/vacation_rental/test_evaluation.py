"""vacation_rental end to end: sample agents as A2A servers, the sidecar in-process, tau2's
orchestrator and evaluator, the scripted user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evaluator.agents import AgentSettings, RunningAgent, serve_in_thread
from evaluator.agents.oracle import task_index
from tests.evaluator.agents.openings import task_material
from tests.evaluator.test_evaluation_e2e import evaluate, native_noop_rewards, tau2_tasks

pytestmark = pytest.mark.slow

DOMAIN = "vacation_rental"
HOST_DECISIONS = 17  # tasks whose reward includes ACTION: the host must be asked


@pytest.fixture(scope="module")
def agents() -> Iterator[dict[str, RunningAgent]]:
    kinds = ("oracle", "always-approve", "always-deny", "noop", "flawed")
    with (
        serve_in_thread(AgentSettings(kind="oracle")) as oracle,
        serve_in_thread(AgentSettings(kind="always-approve")) as approve,
        serve_in_thread(AgentSettings(kind="always-deny")) as deny,
        serve_in_thread(AgentSettings(kind="noop")) as noop,
        serve_in_thread(AgentSettings(kind="flawed")) as flawed,
    ):
        yield dict(zip(kinds, (oracle, approve, deny, noop, flawed), strict=True))


def test_oracle_full_marks_on_every_task_through_the_sidecar(
    agents: dict[str, RunningAgent],
) -> None:
    result = evaluate(domain=DOMAIN, agent_endpoint=agents["oracle"].url).result
    assert result.agent.via_proxy
    assert [t.task_id for t in result.trials] == [t.id for t in tau2_tasks(DOMAIN)]
    assert len(result.trials) == 35
    for trial in result.trials:
        assert trial.reward == 1.0, (trial.task_id, trial.reward_detail)
        assert "DB" in trial.reward_detail.basis
        assert "COMMUNICATE" in trial.reward_detail.basis
    with_action = [t for t in result.trials if "ACTION" in t.reward_detail.basis]
    assert len(with_action) == HOST_DECISIONS + 1  # and the transfer to a human


@pytest.mark.parametrize("kind", ["always-approve", "always-deny"])
def test_an_agent_that_decides_one_way_fails_more_than_half(
    agents: dict[str, RunningAgent], kind: str
) -> None:
    result = evaluate(domain=DOMAIN, agent_endpoint=agents[kind].url).result
    passed = {t.task_id for t in result.trials if t.success}
    assert len(passed) <= len(result.trials) / 2, sorted(passed)
    # the paired early check-in: one host approves, the other denies the same guest
    approved_by_host = "early_check_in_new_guest_reviews_host"
    denied_by_host = "early_check_in_new_guest_revenue_host"
    if kind == "always-approve":
        assert approved_by_host in passed
        assert denied_by_host not in passed
    else:
        assert denied_by_host in passed
        assert approved_by_host not in passed


def test_noop_scores_what_tau2_gives_natively_task_by_task(
    agents: dict[str, RunningAgent],
) -> None:
    result = evaluate(domain=DOMAIN, agent_endpoint=agents["noop"].url).result
    ours = {t.task_id: t.reward for t in result.trials}
    assert ours == native_noop_rewards(DOMAIN, list(ours))
    assert all(t.tool_calls == 0 for t in result.trials)
    # refusing every request is right where the right answer is no and nothing is to say
    assert {k for k, v in ours.items() if v == 1.0} == {"cancel_someone_elses_reservation"}


def test_the_flawed_agent_fails_some_tasks_in_its_own_ways(
    agents: dict[str, RunningAgent],
) -> None:
    sample = tuple(t.id for t in tau2_tasks(DOMAIN)[::3])  # 12 tasks
    result = evaluate(domain=DOMAIN, agent_endpoint=agents["flawed"].url, task_ids=sample).result
    passed = sum(t.success for t in result.trials)
    assert 0 < passed < len(sample)
    assert result.summary.malformed_tool_calls + result.summary.tool_errors > 0


def test_the_oracle_tells_the_paired_tasks_apart() -> None:
    index = task_index()
    for task_id in (
        "early_check_in_new_guest_reviews_host",
        "early_check_in_new_guest_revenue_host",
    ):
        said = task_material(DOMAIN, task_id).user_text
        match = index.identify_task(DOMAIN, said)
        assert match.task is not None
        assert match.task.task_id == task_id
        assert not match.ambiguous
