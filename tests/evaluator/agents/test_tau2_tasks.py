"""The sample agents' view of tau2: each domain's tool names and tasks, from tau2 itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.agents.tau2_tasks import (
    DEFAULT_TASK_SETS,
    TRANSFER_TOOL,
    GoldAction,
    _domain_of,
    default_task_sets,
    load_domains,
)
from tests.evaluator.domains.copies import copy_domain


def test_without_a_search_path_the_defaults_are_the_task_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TAU2OBSERVE_DOMAINS", raising=False)
    assert default_task_sets() == DEFAULT_TASK_SETS
    assert DEFAULT_TASK_SETS[:4] == ("mock", "airline", "retail", "telecom")


def test_domains_on_the_search_path_follow_the_defaults_and_load_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_domain(tmp_path, "agents_search_path")
    monkeypatch.setenv("TAU2OBSERVE_DOMAINS", str(tmp_path))
    sets = default_task_sets()
    assert sets == (*DEFAULT_TASK_SETS, copy.name)
    (loaded,) = load_domains((copy.name,))
    assert loaded.domain == copy.name
    assert "cancel_reservation" in loaded.tool_names


def test_a_domain_gives_its_tool_names_and_assistant_actions_in_order() -> None:
    (mock,) = load_domains(("mock",))
    assert mock.domain == "mock"
    assert {"create_task", "get_users", "update_task_status", TRANSFER_TOOL} <= mock.tool_names
    by_id = {t.task_id: t for t in mock.tasks}
    assert len(by_id) == 9
    create = by_id["create_task_1"]
    assert create.domain == "mock"
    assert create.actions == (
        GoldAction("create_task", {"user_id": "user_1", "title": "Important Meeting"}, True),
    )
    assert "Important Meeting" in create.scenario
    assert create.requested is None  # tau2's own domains record no guest request
    assert by_id["create_task_1_nl_eval"].actions == ()


def test_write_and_transfer_tools_are_marked() -> None:
    (airline,) = load_domains(("airline",))
    actions = {a.name: a for t in airline.tasks for a in t.actions}
    assert actions["send_certificate"].writes
    assert not actions["get_user_details"].writes
    assert actions[TRANSFER_TOOL].transfers
    assert not actions["get_user_details"].transfers
    assert all(a.name in airline.tool_names for a in actions.values())


def test_actions_are_plain_json_values() -> None:
    (retail,) = load_domains(("retail",))
    for task in retail.tasks[:20]:
        for action in task.actions:
            assert json.loads(json.dumps(dict(action.arguments))) == action.arguments


def test_another_task_set_counts_under_its_domain() -> None:
    domains = load_domains(("telecom_small", "mock"))
    assert [(d.domain, len(d.tasks)) for d in domains] == [("telecom", 20), ("mock", 9)]


def test_a_domain_from_tau2observe_records_what_the_guest_asked_for() -> None:
    (rental,) = load_domains(("vacation_rental",))
    requested = [t for t in rental.tasks if t.requested is not None]
    assert requested
    for task in requested:
        assert task.requested is not None
        assert all(a.name in rental.tool_names for a in task.requested)


def test_an_unknown_task_set_is_named() -> None:
    with pytest.raises(ValueError, match=r"task set 'nope' is not one of \[.*'mock'"):
        load_domains(("nope",))


def test_a_task_set_belongs_to_the_longest_domain_it_is_named_after() -> None:
    domains = ["telecom", "telecom-workflow", "mock", "tele"]
    assert _domain_of("mock", domains) == "mock"
    assert _domain_of("telecom_small", domains) == "telecom"
    assert _domain_of("telecom-workflow", domains) == "telecom-workflow"
    with pytest.raises(ValueError, match="belongs to none of the domains"):
        _domain_of("banking_full", domains)
