"""--domain NAME|PATH and TAU2OBSERVE_DOMAINS load domain folders into tau2's registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evaluator import tau2_adapter
from evaluator.domains.folder import DomainFolderError
from evaluator.domains.registration import known_domains, loaded_folder, resolve
from evaluator.errors import UnknownDomain
from tests.evaluator.domains.copies import copy_domain


def test_the_built_in_domain_loads_by_name_with_its_tasks_policy_and_tools() -> None:
    assert resolve("vacation_rental") == "vacation_rental"
    assert resolve("vacation_rental") == "vacation_rental"  # idempotent
    tasks = tau2_adapter.load_tasks("vacation_rental")
    assert len(tasks) == 35
    surface = tau2_adapter.domain_surface("vacation_rental")
    assert "| strict   |" in surface.policy
    assert {t.name for t in surface.tools} >= {
        "request_host_decision",
        "cancel_reservation",
        "process_goodwill_refund",
        "transfer_to_human_agents",
    }
    assert "vacation_rental" in tau2_adapter.known_domains()


def test_a_folder_path_loads_under_the_folder_name(tmp_path: Path) -> None:
    folder = copy_domain(tmp_path)
    name = resolve(str(folder))
    assert name == folder.name
    assert loaded_folder(name) is not None
    assert [t.id for t in tau2_adapter.load_tasks(str(folder), num_tasks=2)] == [
        "cancel_flexible_ahead",
        "cancel_flexible_same_day",
    ]
    other = tmp_path / "elsewhere" / folder.name
    shutil.copytree(folder, other)
    with pytest.raises(DomainFolderError, match=r"already loaded from .*rename one"):
        resolve(str(other))


def test_a_name_on_the_search_path_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_domain(tmp_path, "on_search_path")
    monkeypatch.setenv("TAU2OBSERVE_DOMAINS", str(tmp_path))
    assert folder.name in known_domains()
    assert resolve(folder.name) == folder.name


def test_an_unknown_name_lists_what_is_known_and_how_to_add_a_folder() -> None:
    with pytest.raises(UnknownDomain, match=r"'nowhere'.*vacation_rental.*TAU2OBSERVE_DOMAINS"):
        resolve("nowhere")


def test_a_folder_cannot_take_the_name_of_a_tau2_domain(tmp_path: Path) -> None:
    folder = copy_domain(tmp_path)
    airline = folder.rename(tmp_path / "airline")
    with pytest.raises(DomainFolderError, match="tau2 already has a domain named 'airline'"):
        resolve(str(airline))


def test_a_tools_module_without_the_expected_exports_is_refused(tmp_path: Path) -> None:
    folder = copy_domain(tmp_path, "no_exports")
    (folder / "tools.py").write_text("VALUE = 1\n")
    with pytest.raises(DomainFolderError, match=r"tools\.py: must export Database"):
        resolve(str(folder))
