"""lock: the ids Datadog assigned, per destination, read and written as datadog.lock.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.datadog.dashboards.errors import DefinitionError
from evaluator.datadog.dashboards.lock import LockFile
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


def test_the_repositorys_lock_file_loads() -> None:
    found = LockFile.load(REPO_DASHBOARDS / "datadog.lock.json")
    assert isinstance(found.sites, dict)


def test_no_lock_file_is_an_empty_one(tmp_path: Path) -> None:
    found = LockFile.load(tmp_path / "datadog.lock.json")
    assert found.sites == {}
    assert found.get("datadoghq.com", "dashboard", "x") is None
    assert not (tmp_path / "datadog.lock.json").exists()


def test_ids_are_kept_per_destination_and_kind_and_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "datadog.lock.json"
    lock = LockFile.load(path)
    lock.set("datadoghq.com", "dashboard", "overview", "abc-def-ghi")
    lock.set("datadoghq.com", "monitor", "overview", 1234567)
    lock.set("http://127.0.0.1:9", "dashboard", "overview", "zzz-zzz-zzz")
    lock.save()
    assert json.loads(path.read_text()) == {
        "version": 1,
        "sites": {
            "datadoghq.com": {
                "dashboards": {"overview": "abc-def-ghi"},
                "monitors": {"overview": 1234567},
            },
            "http://127.0.0.1:9": {"dashboards": {"overview": "zzz-zzz-zzz"}},
        },
    }
    again = LockFile.load(path)
    assert again.get("datadoghq.com", "dashboard", "overview") == "abc-def-ghi"
    assert again.get("datadoghq.com", "monitor", "overview") == 1234567
    assert again.get("datadoghq.eu", "dashboard", "overview") is None
    again.forget("datadoghq.com", "dashboard", "overview")
    again.forget("datadoghq.eu", "monitor", "never-there")  # nothing to forget: no error
    assert again.get("datadoghq.com", "dashboard", "overview") is None
    assert again.get("datadoghq.com", "monitor", "overview") == 1234567


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{broken", "cannot read the lock file"),
        ('{"version": 2, "sites": {}}', "expected {'version': 1, 'sites': ...}"),
        ("[]", "expected {'version': 1, 'sites': ...}"),
        ('{"version": 1, "sites": ["datadoghq.com"]}', "'sites' must be a mapping"),
        ('{"version": 1, "sites": []}', "'sites' must be a mapping"),
    ],
)
def test_a_bad_lock_file_is_named(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "datadog.lock.json"
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        LockFile.load(path)
    [found] = caught.value.problems
    assert found.startswith(f"{path}: ")
    assert problem in found
