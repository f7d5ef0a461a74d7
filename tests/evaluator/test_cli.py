"""``tau2observe``: one entry point listing every command; bad command lines are clear
errors; every command's --help runs; how a command's failure becomes an exit status."""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys

import pytest

from evaluator.cli import COMMANDS, build_parser, main


def flat(text: str) -> str:
    """Help text with argparse's line wrapping undone (it also breaks after hyphens)."""
    return re.sub(r"\s+", " ", text).replace("- ", "-")


def test_help_lists_every_command_in_order_with_its_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "Observe A2A agent benchmarks with OpenTelemetry." in out
    listed = re.findall(r"^    (\S+)", out, re.M)
    assert listed == list(COMMANDS)
    for name, module_name in COMMANDS.items():
        line = importlib.import_module(module_name).HELP
        assert f" {name} {flat(line)}" in flat(out), name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_has_one_help_line_and_the_two_entry_points(name: str) -> None:
    module = importlib.import_module(COMMANDS[name])
    assert module.HELP.strip()
    assert "\n" not in module.HELP
    assert callable(module.configure)
    assert callable(module.run)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_commands_help_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([name, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tau2observe {name}")
    module = importlib.import_module(COMMANDS[name])
    description = getattr(module, "DESCRIPTION", module.HELP)
    assert flat(description.splitlines()[0]).strip() in flat(out)


def test_an_unknown_command_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["evaluate"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "tau2observe: error: argument COMMAND: invalid choice: 'evaluate'" in err
    assert all(f"'{name}'" in err for name in COMMANDS)


def test_no_command_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


def test_a_bad_log_level_is_refused_before_any_command_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--log-level", "LOUD", "domain"])
    assert exited.value.code == 2
    assert "--log-level: invalid choice: 'LOUD'" in capsys.readouterr().err


def test_every_subcommand_knows_its_module() -> None:
    parser = build_parser()
    for name, module_name in COMMANDS.items():
        args = parser.parse_args([name, *required_args(name)])
        assert args.command == name
        assert args._module.__name__ == module_name


def required_args(name: str) -> list[str]:
    """The least each command accepts, for parsing only (nothing runs)."""
    return {
        "proxy": ["--upstream", "http://127.0.0.1:1/"],
        "serve": ["--data-dir", "d"],
        "eval": ["--domain", "mock", "--agent-a2a-endpoint", "http://127.0.0.1:1/"],
        "report": ["r.json"],
        "export": ["r.json", "--output", "o.json"],
        "merge": ["a.json", "--output", "m.json"],
        "metrics": ["push", "r.json"],
        "scenario": ["run", "s.toml"],
        "agent": ["noop"],
        "dashboards": ["validate"],
        "domain": ["list"],
    }.get(name, [])


def test_a_missing_optional_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import evaluator.merge_cli

    def needs_ray(args: argparse.Namespace) -> int:
        raise ModuleNotFoundError("No module named 'ray'", name="ray")

    monkeypatch.setattr(evaluator.merge_cli, "run", needs_ray)
    with pytest.raises(SystemExit) as exited:
        main(["merge", "a.json", "--output", "m.json"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "tau2observe merge: error: this command needs packages that are not installed" in err
    assert "(missing 'ray')" in err
    assert "pip install 'tau2observe[all]'" in err


def test_ctrl_c_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import evaluator.merge_cli

    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluator.merge_cli, "run", interrupted)
    assert main(["merge", "a.json", "--output", "m.json"]) == 130
    assert "tau2observe merge: interrupted" in capsys.readouterr().err


def test_the_module_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evaluator.cli", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice: 'nope'" in done.stderr
