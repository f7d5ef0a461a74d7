"""always-approve grants the request as asked, always-deny changes nothing; both make the
oracle's lookups and state the information the task expects."""

from __future__ import annotations

from typing import Any

import pytest

from evaluator.agents.matching import TaskIndex
from evaluator.agents.one_way import (
    APPROVED_PREFIX,
    DENIED_PREFIX,
    AlwaysApproveAgent,
    AlwaysDenyAgent,
)
from evaluator.agents.oracle import OracleAgent
from tests.evaluator.agents.openings import (
    opening,
    parse_reply,
    task_material,
    tool_result,
)

DOMAIN = "vacation_rental"


async def conversation(agent: OracleAgent, task_id: str) -> tuple[list[dict[str, Any]], str]:
    """The tool calls the agent makes for the task, then its final text (tau2 format)."""
    said = task_material(DOMAIN, task_id).user_text
    reply = await agent.reply(task_id, opening("tau2", DOMAIN, said))
    calls = []
    while (payload := parse_reply("tau2", reply)) is not None:
        calls.append(payload["tool_call"])
        reply = await agent.reply(task_id, tool_result("tau2", '{"status": "ok"}'))
    return calls, reply


def names(calls: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in calls]


async def test_the_strict_host_denies_but_always_approve_records_the_early_check_in(
    index: TaskIndex,
) -> None:
    task_id = "early_check_in_new_guest_revenue_host"
    calls, text = await conversation(AlwaysApproveAgent(), task_id)
    assert names(calls) == [
        "get_reservation_details",
        "request_host_decision",
        "add_reservation_note",
    ]
    assert calls[-1]["arguments"]["category"] == "early_check_in"
    assert text.startswith(APPROVED_PREFIX)
    assert "15:00" in text  # the information the task expects, stated either way


async def test_always_deny_makes_the_lookups_and_no_change(index: TaskIndex) -> None:
    task_id = "early_check_in_repeat_guest_reviews_host"  # the host approves this one
    calls, text = await conversation(AlwaysDenyAgent(), task_id)
    assert names(calls) == ["get_reservation_details", "request_host_decision"]
    assert text.startswith(DENIED_PREFIX)


@pytest.mark.parametrize(
    ("task_id", "approve_writes"),
    [
        # the tier gives 50%: approving the full refund is as wrong as refusing
        ("cancel_firm_two_weeks", [("cancel_reservation", {"refund_amount": 640})]),
        ("gas_smell_transfer", [("transfer_to_human_agents", {})]),
    ],
)
async def test_approve_grants_what_the_guest_asked_and_deny_grants_nothing(
    index: TaskIndex, task_id: str, approve_writes: list[tuple[str, dict[str, Any]]]
) -> None:
    approved, _ = await conversation(AlwaysApproveAgent(), task_id)
    denied, _ = await conversation(AlwaysDenyAgent(), task_id)
    writes = approved[len(denied) :]
    assert approved[: len(denied)] == denied
    assert [c["name"] for c in writes] == [name for name, _ in approve_writes]
    for call, (_, subset) in zip(writes, approve_writes, strict=True):
        assert subset.items() <= call["arguments"].items()
    assert not {"cancel_reservation", "transfer_to_human_agents"} & set(names(denied))
