"""Domain folders on disk and the TAU2OBSERVE_DOMAINS search path (no tau2 needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evaluator.domains.folder import (
    BUILT_IN_ROOT,
    DomainFolder,
    DomainFolderError,
    discoverable,
    looks_like_path,
    search_path,
)


def make_folder(root: Path, name: str = "my_domain", *, skip: str = "") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    files = {"tools.py": "", "db.json": "{}", "policy.md": "# policy", "tasks.json": "[]"}
    for file, text in files.items():
        if file != skip:
            (folder / file).write_text(text)
    return folder


def test_the_search_path_is_split_on_the_path_separator_and_skips_empty_entries() -> None:
    environ = {"TAU2OBSERVE_DOMAINS": os.pathsep.join(["/a", "", " ", "~/b"])}
    assert search_path(environ) == [Path("/a"), Path("~/b").expanduser()]
    assert search_path({}) == []


@pytest.mark.parametrize(
    ("spec", "path"),
    [("vacation_rental", False), ("./my_domain", True), ("a/b", True), ("~/d", True)],
)
def test_a_domain_value_is_a_path_when_it_looks_like_one(spec: str, path: bool) -> None:
    assert looks_like_path(spec) is path


def test_a_folder_missing_a_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, skip="policy.md")
    with pytest.raises(
        DomainFolderError, match=r"my_domain: not a domain folder, missing policy\.md"
    ):
        DomainFolder.at(folder)


def test_the_folder_name_must_be_usable_as_a_domain_name(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "my-domain")
    with pytest.raises(DomainFolderError, match="must be a Python identifier"):
        DomainFolder.at(folder)


def test_malformed_json_names_the_file_and_position(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    (folder / "tasks.json").write_text("[{")
    with pytest.raises(DomainFolderError, match=r"tasks\.json: not JSON .* line 1"):
        DomainFolder.at(folder).raw_tasks()
    (folder / "split_tasks.json").write_text(json.dumps({"base": "t1"}))
    with pytest.raises(DomainFolderError, match="must map each split name to a list"):
        DomainFolder.at(folder).splits()


def test_guest_requests_are_read_from_the_tasks(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    tasks = [
        {"id": "a", "guest_request": [{"name": "cancel", "arguments": {"x": 1}}]},
        {"id": "b"},
    ]
    (folder / "tasks.json").write_text(json.dumps(tasks))
    assert DomainFolder.at(folder).guest_requests() == {
        "a": [{"name": "cancel", "arguments": {"x": 1}}]
    }


def test_built_in_domains_come_first_then_the_search_path(tmp_path: Path) -> None:
    make_folder(tmp_path, "vacation_rental")  # shadowed by the built-in one
    make_folder(tmp_path, "extra_domain")
    found = discoverable({"TAU2OBSERVE_DOMAINS": str(tmp_path)})
    assert found["vacation_rental"] == BUILT_IN_ROOT / "vacation_rental"
    assert found["extra_domain"] == tmp_path / "extra_domain"
    assert DomainFolder.at(found["vacation_rental"]).built_in
    assert not DomainFolder.at(found["extra_domain"]).built_in
