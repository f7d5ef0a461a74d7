"""Where ``tau2observe dashboards`` finds its definitions when run outside the repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.datadog.dashboards.cli import PACKAGE_CHECKOUT, definitions_folder
from evaluator.datadog.dashboards.errors import DashboardsError
from tests.evaluator.datadog.dashboards.conftest import REPO_DASHBOARDS


def validated(folder: Path, out: str, err: str) -> bool:
    """validate ran on the definitions in ``folder`` (whether or not they pass)."""
    return f"definitions from {folder}\n" in err and ("are valid" in out or f"{folder}/" in err)


def test_it_walks_up_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO_DASHBOARDS, tmp_path / "project" / "dashboards")
    deeper = tmp_path / "project" / "results" / "today"
    deeper.mkdir(parents=True)
    assert definitions_folder(None, deeper, tmp_path / "nowhere") == (
        tmp_path / "project" / "dashboards"
    )
    monkeypatch.chdir(deeper)
    main(["dashboards", "validate"])
    assert validated(tmp_path / "project" / "dashboards", *capsys.readouterr())


def test_outside_any_checkout_it_uses_the_packages_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no dashboards/ here or above: the editable checkout's
    main(["dashboards", "validate"])
    assert validated(PACKAGE_CHECKOUT / "dashboards", *capsys.readouterr())


def test_when_nothing_is_found_it_says_to_pass_dir_before_the_action(tmp_path: Path) -> None:
    with pytest.raises(DashboardsError) as error:
        definitions_folder(None, tmp_path, tmp_path / "nowhere")
    message = str(error.value)
    assert "--dir" in message
    assert "dashboards --dir PATH/TO/tau2observe/dashboards validate" in message


def test_a_dir_without_the_catalogue_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboards", "--dir", str(tmp_path), "validate"]) == 1
    err = capsys.readouterr().err
    assert f"--dir {tmp_path}: no metrics.yaml there" in err


def test_dir_may_also_follow_the_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "validate", "--dir", str(tmp_path)]) == 1
    assert f"--dir {tmp_path}: no metrics.yaml there" in capsys.readouterr().err
    main(["dashboards", "validate", "--dir", str(REPO_DASHBOARDS)])
    captured = capsys.readouterr()
    assert "no metrics.yaml there" not in captured.err
    assert "are valid" in captured.out or f"{REPO_DASHBOARDS}/metrics.yaml" in captured.err
