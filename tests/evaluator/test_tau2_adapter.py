"""The tau2 adapter against tau2 itself (mock, airline, telecom; no agent, no network): task
loading, what the agent is shown, one trial through tau2's orchestrator with the turns
answered in Python, and the conversions into our records and back into tau2's results."""

from __future__ import annotations

import dataclasses
import json

import pytest
from tau2.data_model.message import AssistantMessage, ToolCall, ToolMessage, UserMessage
from tau2.data_model.simulation import (
    ActionCheck,
    CommunicateCheck,
    DBCheck,
    NLAssertionCheck,
    Results,
    RewardInfo,
    TerminationReason,
)
from tau2.data_model.tasks import Action, RewardType

from evaluator import tau2_adapter
from evaluator.errors import UnknownTask
from evaluator.formats import AgentAction, ProposedCall, TurnInput
from evaluator.results import MessageRecord, ToolCallRecord
from proxy.errors import UsageError
from tests.evaluator.test_results import sample

MOCK_IDS = [
    "create_task_1",
    "create_task_1_with_env_assertions",
    "create_task_1_nl_eval",
    "update_task_1",
    "update_task_with_message_history",
    "update_task_with_initialization_data",
    "update_task_with_initialization_actions",
    "update_task_with_history_and_env_assertions",
    "impossible_task_1",
]
CREATE = ProposedCall("create_task", {"user_id": "user_1", "title": "Important Meeting"})


# --- task selection -----------------------------------------------------------------------


def test_tasks_come_in_tau2s_order_and_num_tasks_keeps_the_first() -> None:
    assert [t.id for t in tau2_adapter.load_tasks("mock")] == MOCK_IDS
    assert [t.id for t in tau2_adapter.load_tasks("mock", num_tasks=2)] == MOCK_IDS[:2]


def test_task_ids_are_kept_in_the_order_given_then_cut_by_num_tasks() -> None:
    picked = tau2_adapter.load_tasks("mock", ["update_task_1", "create_task_1"])
    assert [t.id for t in picked] == ["update_task_1", "create_task_1"]
    first = tau2_adapter.load_tasks("mock", ["update_task_1", "create_task_1"], num_tasks=1)
    assert [t.id for t in first] == ["update_task_1"]


def test_unknown_task_ids_are_named_together() -> None:
    with pytest.raises(UnknownTask) as error:
        tau2_adapter.load_tasks("mock", ["create_task_1", "nope", "gone"])
    assert str(error.value) == "--task-ids: domain 'mock' has no task 'nope', 'gone'"


def test_a_split_keeps_only_its_tasks() -> None:
    splits = tau2_adapter.task_splits("airline")
    assert {"train", "test", "base"} <= set(splits)
    test_ids = [t.id for t in tau2_adapter.load_tasks("airline", task_split="test")]
    assert test_ids
    assert set(test_ids) == set(splits["test"])
    assert not set(test_ids) & set(splits["train"])


def test_bad_task_sets_and_splits_are_usage_errors_naming_the_option() -> None:
    assert tau2_adapter.task_splits("mock") == {}
    with pytest.raises(UsageError, match=r"--task-split-name 'test': task set 'mock' has no"):
        tau2_adapter.load_tasks("mock", task_split="test")
    with pytest.raises(UsageError, match=r"--task-split-name 'nope': .* base, test, train"):
        tau2_adapter.load_tasks("airline", task_split="nope")
    with pytest.raises(UsageError, match=r"--task-set-name 'nope': unknown task set; tau2 has"):
        tau2_adapter.load_tasks("mock", task_set="nope")


def test_another_task_set_of_the_same_domain() -> None:
    assert "telecom_small" in tau2_adapter.task_sets()
    small = tau2_adapter.load_tasks("telecom", task_set="telecom_small")
    assert len(small) == len(tau2_adapter.task_splits("telecom")["small"])


def test_a_task_in_plain_types() -> None:
    (task,) = tau2_adapter.load_tasks("mock", ["create_task_1"])
    assert "Important Meeting" in task.instructions
    assert task.user_actions == ()
    assert task.reference_actions == 1
    assert task.checks == 1  # one NL assertion
    (telecom,) = tau2_adapter.load_tasks("telecom", num_tasks=1)
    actions = telecom.raw.evaluation_criteria.actions
    assert [a.name for a in telecom.user_actions] == [
        a.name for a in actions if a.requestor == "user"
    ]
    assert telecom.user_actions  # the scripted user has something to do
    assert telecom.reference_actions == len(actions)


def test_the_agent_sees_the_domains_policy_and_tools() -> None:
    surface = tau2_adapter.domain_surface("mock")
    assert surface.policy
    names = [t.name for t in surface.tools]
    assert "create_task" in names
    create = surface.tools[names.index("create_task")]
    assert create.parameters["type"] == "object"
    assert {"user_id", "title"} <= set(create.parameters["properties"])


# --- one trial ----------------------------------------------------------------------------


def test_a_trial_answered_in_python_is_scored_by_tau2() -> None:
    seen: list[TurnInput] = []

    def turn(given: TurnInput) -> AgentAction:
        seen.append(given)
        if len(seen) == 1:
            return AgentAction(tool_calls=(CREATE,))
        return AgentAction(text="Created the task Important Meeting.")

    (task,) = tau2_adapter.load_tasks("mock", ["create_task_1"])
    run = tau2_adapter.run_trial(
        "mock", task, turn, tau2_adapter.UserSpec(), seed=1, max_steps=30, max_errors=5
    )
    assert (run.termination_reason, run.error, run.error_side) == ("user_stop", None, None)
    assert run.reward.reward == 1.0
    assert run.reward.basis == ["DB", "COMMUNICATE"]
    assert run.reward.db_match is True
    assert (run.tool_calls, run.tool_errors) == (1, 0)
    assert "Important Meeting" in (seen[0].user_text or "")
    (result,) = seen[1].tool_results
    assert (result.call_id, result.name, result.error) == ("call_1", "create_task", False)
    assert '"title": "Important Meeting"' in result.content
    assert seen[1].transcript[-1].text == json.dumps(
        {"tool_call": {"name": CREATE.name, "arguments": CREATE.arguments}}
    )
    assert [m.role for m in run.messages] == [
        "assistant", "user", "assistant", "tool", "assistant", "user",
    ]  # fmt: skip
    assert run.messages[2].tool_calls == [
        ToolCallRecord("call_1", "create_task", CREATE.arguments, "assistant")
    ]


def test_an_agent_that_raises_ends_the_trial_as_its_error_with_reward_zero() -> None:
    def turn(given: TurnInput) -> AgentAction:
        raise RuntimeError("boom")

    (task,) = tau2_adapter.load_tasks("mock", ["create_task_1"])
    run = tau2_adapter.run_trial(
        "mock", task, turn, tau2_adapter.UserSpec(), seed=1, max_steps=30, max_errors=5
    )
    assert run.termination_reason == "agent_error"
    assert isinstance(run.error, RuntimeError)
    assert run.error_side == "agent"
    assert run.reward.reward == 0.0
    assert [m.role for m in run.messages] == ["assistant", "user"]  # kept as it stood


def test_an_agent_that_stops_ends_the_conversation() -> None:
    (task,) = tau2_adapter.load_tasks("mock", ["create_task_1"])
    run = tau2_adapter.run_trial(
        "mock",
        task,
        lambda given: AgentAction(stop=True),
        tau2_adapter.UserSpec(),
        seed=1,
        max_steps=30,
        max_errors=5,
    )
    assert run.termination_reason == "agent_stop"
    assert run.reward.reward == 0.0
    assert run.tool_calls == 0


def test_an_unknown_user_kind_is_refused() -> None:
    (task,) = tau2_adapter.load_tasks("mock", ["create_task_1"])
    with pytest.raises(ValueError, match="unknown user kind 'robot'"):
        tau2_adapter.run_trial(
            "mock",
            task,
            lambda given: AgentAction(stop=True),
            tau2_adapter.UserSpec(kind="robot"),
            seed=1,
            max_steps=5,
            max_errors=1,
        )


# --- conversions --------------------------------------------------------------------------


def test_reasons_are_tau2s_enum_values() -> None:
    assert tau2_adapter._reason(TerminationReason.USER_STOP) == "user_stop"
    assert tau2_adapter._reason(RewardType.DB) == "DB"
    assert tau2_adapter._reason("max_steps") == "max_steps"


def test_checks_outside_the_reward_basis_are_kept_but_not_counted() -> None:
    info = RewardInfo(
        reward=0.5,
        reward_basis=[RewardType.DB, RewardType.COMMUNICATE],
        reward_breakdown={RewardType.DB: 1.0, RewardType.COMMUNICATE: 0.0},
        db_check=DBCheck(db_match=True, db_reward=1.0),
        action_checks=[
            ActionCheck(
                action=Action(action_id="a", name="create_task", arguments={"b": 1, "a": 2}),
                action_match=False,
                action_reward=0.0,
            )
        ],
        communicate_checks=[CommunicateCheck(info="1234", met=False, justification="")],
        nl_assertions=[NLAssertionCheck(nl_assertion="polite", met=True, justification="")],
        info={"note": "why"},
    )
    record = tau2_adapter._reward_record(info)
    assert (record.reward, record.basis, record.db_match, record.note) == (
        0.5, ["DB", "COMMUNICATE"], True, "why",
    )  # fmt: skip
    assert record.breakdown == {"DB": 1.0, "COMMUNICATE": 0.0}
    assert [(c.kind, c.description, c.met, c.counted) for c in record.checks] == [
        ("action", 'create_task({"a": 2, "b": 1})', False, False),
        ("communicate", "1234", False, True),
        ("nl_assertion", "polite", True, False),
    ]


def test_messages_survive_the_round_trip_through_our_records() -> None:
    call = ToolCall(id="c1", name="create_task", arguments={"x": 1}, requestor="assistant")
    tau2_messages = [
        AssistantMessage(role="assistant", tool_calls=[call], cost=0.25, turn_idx=0),
        ToolMessage(id="c1", role="tool", content="{}", requestor="assistant", error=True),
        UserMessage(role="user", content="thanks", cost=0.0, usage={"prompt_tokens": 3}),
    ]
    records = [tau2_adapter._message_record(m) for m in tau2_messages]
    assert records[0] == MessageRecord(
        "assistant",
        None,
        [ToolCallRecord("c1", "create_task", {"x": 1}, "assistant")],
        turn_idx=0,
        timestamp=tau2_messages[0].timestamp,
        cost=0.25,
    )
    assert (records[1].tool_call_id, records[1].error, records[1].cost) == ("c1", True, None)
    assert records[2].usage == {"prompt_tokens": 3}
    back = tau2_adapter._tau2_messages(records)
    assert [type(m) for m in back] == [AssistantMessage, ToolMessage, UserMessage]
    assert back[0].tool_calls == [call]
    assert (back[1].id, back[1].error, back[1].requestor) == ("c1", True, "assistant")
    assert back[2].content == "thanks"


def test_the_tau2_export_loads_in_tau2_and_leaves_out_unscored_trials() -> None:
    base = sample()
    (trial,) = base.trials
    scored = dataclasses.replace(trial, task_id="create_task_1")
    unscored = dataclasses.replace(scored, trial=1, status="not_scored", cause="user_error")
    not_run = dataclasses.replace(scored, trial=2, status="not_run", reward=0.0)
    result = dataclasses.replace(
        base,
        tasks=[dataclasses.replace(base.tasks[0], task_id="create_task_1")],
        trials=[scored, unscored, not_run],
        config={"num_trials": 3, "max_steps": 30, "seed": 1},
    )
    text, left_out = tau2_adapter.to_tau2_results(result)
    assert left_out == 1
    loaded = Results.model_validate_json(text)
    assert [t.id for t in loaded.tasks] == ["create_task_1"]
    assert [(s.trial, s.skipped) for s in loaded.simulations] == [(0, False), (2, True)]
    first = loaded.simulations[0]
    assert first.reward_info is not None
    assert first.reward_info.reward == 1.0
    assert first.reward_info.info == {"tau2observe_status": "scored", "tau2observe_cause": None}
    assert first.reward_info.db_check is not None
    assert first.reward_info.db_check.db_match
    assert first.termination_reason == TerminationReason.USER_STOP
    assert loaded.info.num_trials == 3
    assert loaded.info.agent_info.llm_args["tau2observe_run_id"] == result.run_id
