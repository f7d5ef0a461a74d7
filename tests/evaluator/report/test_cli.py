"""``tau2observe report``: its arguments, its errors and where it writes the page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from evaluator import summary
from evaluator.cli import main
from evaluator.report import analysis, build_report
from evaluator.results import save_results
from tests.evaluator.report.conftest import SmallRun
from tests.evaluator.report.pages import section, trial_block, with_trials


@pytest.mark.slow
def test_report_command(
    small_run: SmallRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "r.html"
    args = [str(p) for p in small_run.result_paths]
    assert (
        main(["report", *args, "--traces", str(small_run.trace_file), "--output", str(output)]) == 0
    )
    assert f"report written to {output}" in capsys.readouterr().out
    assert 'data-chart="latency-by-method"' in output.read_text(encoding="utf-8")


def test_report_command_names_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(bad), "--output", str(tmp_path / "r.html")])
    assert exit_info.value.code == 2
    assert "bad.json" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_with_unscored_trials_never_reads_as_over_all_trials(
    small_run: SmallRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oracle = small_run.results[0]
    trials = list(oracle.trials)
    trials[0] = dataclasses.replace(
        trials[0],
        status="not_scored",
        cause=summary.CAUSE_USER,
        error="the user simulator failed: RateLimitError",
        reward=0.0,
        success=False,
    )
    path = save_results(with_trials(oracle, trials, status="incomplete"), tmp_path / "r.json")
    output = tmp_path / "r.html"
    assert main(["report", str(path), "--output", str(output)]) == 0
    n = len(trials)
    err = capsys.readouterr().err
    assert f"scored {n - 1} of {n} trials; 1 not scored" in err
    assert f"over {n} trials" not in err
    text = output.read_text(encoding="utf-8")
    assert f"scored {n - 1} of {n} trials; 1 not scored" in text
    assert f"over {n} trials" not in text
    block = trial_block(text, "oracle", trials[0].task_id, trials[0].trial)
    assert 'class="pill warn">not scored' in block
    assert "user simulator failed (not scored)" in block
    assert block.count("RateLimitError") == 1


@pytest.mark.slow
def test_runs_over_different_tasks_are_named_apart_and_flagged(
    small_run: SmallRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oracle = small_run.results[0]
    keep = {t.task_id for t in oracle.tasks[:2]}
    fewer = with_trials(
        oracle,
        [t for t in oracle.trials if t.task_id in keep],
        run_id="feedc0de" + "0" * 24,
        started_at="2026-12-24T09:30:00+00:00",
    )
    paths = [
        save_results(oracle, tmp_path / "all.json"),
        save_results(fewer, tmp_path / "fewer.json"),
    ]
    output = tmp_path / "r.html"
    assert main(["report", *map(str, paths), "--output", str(output)]) == 0
    err = capsys.readouterr().err
    assert "warning: The runs cover different tasks" in err
    text = output.read_text(encoding="utf-8")
    assert "The runs cover different tasks" in section(text, 'id="comparability"')
    assert "oracle · 2026-12-24 09:30 · feedc0de" in text
    assert f"oracle · {analysis.started_label(oracle.started_at)} · {oracle.run_id[:8]}" in text
    assert "oracle #1" not in text
    assert "not in this run" in section(text, 'id="task-differences"', "</table>")


def test_results_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report"])
    assert exit_info.value.code == 2
    assert "RESULTS" in capsys.readouterr().err


def test_a_missing_results_file_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(tmp_path / "absent.json"), "--output", str(output)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "tau2observe report: error:" in err
    assert "absent.json: cannot read" in err
    assert not output.exists()


def test_a_results_file_that_is_not_json_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "half.json"
    bad.write_text('{"run_id": ')
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(bad), "--output", str(tmp_path / "r.html")])
    assert exit_info.value.code == 2
    assert "half.json: not JSON" in capsys.readouterr().err


@pytest.mark.slow
def test_a_bad_trace_line_is_named_by_file_and_line(
    small_run: SmallRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = tmp_path / "traces.jsonl"
    traces.write_text('{"resourceSpans": []}\n\n[1, 2]\n')
    output = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "report",
                str(small_run.result_paths[0]),
                "--traces",
                str(traces),
                "--output",
                str(output),
            ]
        )
    assert exit_info.value.code == 2
    assert "traces.jsonl:3: not an OTLP/JSON trace request" in capsys.readouterr().err
    assert not output.exists()


@pytest.mark.slow
def test_the_page_goes_to_report_html_by_default(
    small_run: SmallRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(small_run.result_paths[0])]) == 0
    captured = capsys.readouterr()
    assert "report written to report.html" in captured.out
    (row,) = build_report(small_run.results[:1]).summaries()
    assert captured.err == f"oracle: {row.headline}\n"
    assert '<tr data-agent="oracle">' in (tmp_path / "report.html").read_text(encoding="utf-8")
