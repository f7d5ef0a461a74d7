"""The report of a real small run (oracle vs flawed on tau2's mock domain, through the
sidecar): content, the join to the sidecar's spans, escaping, and the command line."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from typing import Any

import pytest

from evaluator import summary
from evaluator.cli import main
from evaluator.report import analysis, build_report, write_report
from evaluator.report import page as page_module
from evaluator.report.traces import read_spans
from evaluator.results import RunResult, TrialResult, save_results
from tests.evaluator.report.conftest import SmallRun

pytestmark = pytest.mark.slow

CHARTS = (
    "pass-hat-k",
    "reward-distribution",
    "success-by-task",
    "success-by-difficulty",
    "failure-causes",
    "latency-by-method",
    "tool-call-validity",
)


@pytest.fixture(scope="module")
def page(small_run: SmallRun, tmp_path_factory: pytest.TempPathFactory) -> str:
    output = tmp_path_factory.mktemp("report") / "report.html"
    write_report(small_run.result_paths, [small_run.trace_file], output)
    return output.read_text(encoding="utf-8")


def test_the_oracle_ranks_ahead_of_the_flawed_agent(small_run: SmallRun, page: str) -> None:
    oracle, flawed = small_run.results
    assert oracle.summary.pass_hat_k[1] > flawed.summary.pass_hat_k[1]
    ranked = re.findall(r'<tr data-agent="([^"]+)"><td>(\d+)</td>', page)
    assert ranked == [("oracle", "1"), ("flawed", "2")]


def test_every_chart_is_an_inline_svg(page: str) -> None:
    for chart in CHARTS:
        assert f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{chart}"' in page
    # Nothing is loaded: no external script, image, style or font (endpoint URLs in the
    # run's configuration are text, not links).
    assert 'href="http' not in page
    assert "url(" not in page
    assert "@import" not in page
    assert "<link" not in page
    assert "src=" not in page


def test_a_known_task_transcript_with_its_sidecar_spans(small_run: SmallRun, page: str) -> None:
    oracle = small_run.results[0]
    known = next(t for t in oracle.trials if t.success and len(t.turn_records) >= 2)
    block = trial_block(page, "oracle", known.task_id, known.trial)
    for turn in known.turn_records:
        assert f'data-turn="{turn.index}"' in block
        assert turn.reply_text is not None
        assert html.escape(turn.reply_text) in block
    assert "no sidecar span" not in block
    assert block.count("sidecar ") >= len(known.turn_records)
    assert "SendMessage" in block
    assert "Reward <b>1.00</b>" in block


def test_a_failed_flawed_trial_says_why(small_run: SmallRun, page: str) -> None:
    flawed = small_run.results[1]
    failed = [t for t in flawed.trials if not t.success]
    assert failed, "the flawed agent failed nothing on mock: nothing to explain"
    for t in failed:
        block = trial_block(page, "flawed", t.task_id, t.trial)
        assert "Why it failed" in block
    assert "Malformed tool calls the sidecar saw" in page or "not met" in page


def test_every_turn_of_the_run_joins_its_sidecar_span(small_run: SmallRun) -> None:
    report = build_report(small_run.results, read_spans([small_run.trace_file]))
    for row in report.summaries():
        assert row.turns > 0
        assert row.traced_turns == row.turns
        assert row.proxy_p50_s is not None
        assert row.latency_source == "sidecar"


def test_untrusted_text_is_escaped(small_run: SmallRun) -> None:
    oracle = small_run.results[0]
    evil = '<img src=x onerror="alert(1)">'
    turn = dataclasses.replace(oracle.trials[0].turn_records[0], reply_text=evil)
    trial = dataclasses.replace(oracle.trials[0], turn_records=[turn])
    agent = dataclasses.replace(oracle.agent, name="<b>evil</b>", endpoint=f"http://x/{evil}")
    config = {**oracle.config, "task_set": evil}
    result = dataclasses.replace(
        oracle, agent=agent, trials=[trial], config=config, status_note=evil, run_id=evil
    )
    text = build_report([result, oracle]).html()
    assert evil not in text
    assert "<b>evil</b>" not in text
    assert html.escape(evil) in text


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


def trial_block(page: str, agent: str, task_id: str, trial: int) -> str:
    start = page.index(
        f'data-agent="{agent}" data-task="{html.escape(task_id)}" data-trial="{trial}"'
    )
    ends = [page.find(m, start) for m in ('<details class="trial', "</section>")]
    return page[start : min(e for e in ends if e > 0)]


def section(page: str, marker: str, end: str = "</div>") -> str:
    start = page.index(marker)
    return page[start : page.index(end, start)]


def leaderboard_row(page: str, label: str) -> str:
    return section(page, f'<tr data-agent="{html.escape(label)}">', "</tr>")


def test_headlines_say_what_the_scores_cover_with_their_intervals(
    small_run: SmallRun, page: str
) -> None:
    for result in small_run.results:
        figures = result.summary
        assert html.escape(analysis.pass1_line(figures)) in page
        row = leaderboard_row(page, result.agent.name)
        assert html.escape(summary.headline(figures)) in row
        assert summary.format_interval(figures.pass_hat_1_ci) in row
        assert summary.format_interval(figures.average_reward_ci) in row
    assert "95% Wilson interval" in section(page, 'id="interval-note"', "</p>")


def test_each_runs_configuration_is_shown(small_run: SmallRun, page: str) -> None:
    for result in small_run.results:
        card = section(page, f'data-run="{result.agent.name}"', "</table>")
        for text in (
            result.run_id,
            result.status,
            result.agent.endpoint,
            result.agent.message_format,
            "scripted",
            f"<th>seed</th><td>{result.config['seed']}</td>",
            f"<th>max steps</th><td>{result.config['max_steps']} ",
            f"{result.tau2.package} {result.tau2.version}",
            f"{result.duration_s:.1f} s",
        ):
            assert html.escape(text, quote=False) in card or text in card, text
    note = section(page, 'id="scripted-user"')
    assert "hidden scenario" in note
    assert "not tau2 scores" in note


def test_checks_outside_the_reward_basis_are_shown_apart(small_run: SmallRun, page: str) -> None:
    observed = [
        (result.agent.name, t)
        for result in small_run.results
        for t in result.trials
        if any(not c.counted for c in t.reward_detail.checks)
    ]
    assert observed, "no trial of the small run has a check outside its reward basis"
    for agent, t in observed:
        block = trial_block(page, agent, t.task_id, t.trial)
        table = section(block, '<table class="checks observed">', "</table>")
        uncounted = [c for c in t.reward_detail.checks if not c.counted]
        assert table.count("<tr>") == 1 + len(uncounted)
        assert "reward" not in table  # no REWARD column for what did not count
        for check in uncounted:
            assert html.escape(check.description) in table
        if '<table class="checks counted">' in block:
            counted = section(block, '<table class="checks counted">', "</table>")
            assert all(html.escape(c.description) not in counted for c in uncounted)


def test_failed_trials_by_cause_and_termination_reasons(small_run: SmallRun, page: str) -> None:
    flawed = small_run.results[1]
    row = leaderboard_row(page, "flawed")
    for cause, n in flawed.summary.causes.items():
        assert f"{html.escape(summary.cause_label(cause))}: {n}" in row
    assert 'data-chart="failures-by-termination"' not in page
    table = section(page, '<table id="termination">', "</table>")
    for reason, n in flawed.summary.termination_counts.items():
        assert f"<th class=num>{reason}</th>" in table
        assert f"<td class=num>{n}</td>" in table


def test_per_task_differences_between_the_runs(small_run: SmallRun, page: str) -> None:
    oracle, flawed = small_run.results
    differing = {t.task_id for t in flawed.trials if not t.success} - {
        t.task_id for t in oracle.trials if not t.success
    }
    assert differing
    table = section(page, 'id="task-differences"', "</table>")
    for task in differing:
        assert f'<tr data-task="{html.escape(task)}">' in table


def with_trials(result: RunResult, trials: list[TrialResult], **changes: Any) -> RunResult:
    """``result`` with other trials, its summary made again as the runner makes it."""
    tasks = [t for t in result.tasks if any(x.task_id == t.task_id for x in trials)]
    figures = summary.summarize(
        trials, [t.task_id for t in tasks], 1.0, result.config["num_trials"]
    )
    return dataclasses.replace(result, tasks=tasks, trials=trials, summary=figures, **changes)


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


def test_the_same_tasks_raise_no_warning(small_run: SmallRun) -> None:
    assert build_report(small_run.results).warnings() == []
    assert 'id="comparability"' not in build_report(small_run.results).html()


def test_without_spans_turn_latency_is_the_evaluators_own(small_run: SmallRun) -> None:
    report = build_report(small_run.results)
    text = report.html()
    note = section(text, 'id="no-spans"', "</p>")
    assert "--trace-file" in note
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in note
    assert "--traces" in note
    table = section(text, 'id="evaluator-latency"', "</table>")
    for run, s in zip(report.runs, report.summaries(), strict=True):
        own = [u.duration_s for t in run.trials for u in t.turn_records]
        assert own
        assert s.latency_source == "evaluator"
        assert s.latency_p50_s == analysis.percentile(own, 50)
        row = leaderboard_row(text, s.label)
        assert f"{page_module.ms(s.latency_p50_s)} · {page_module.ms(s.latency_p95_s)}" in row
        assert "evaluator’s own timing (no sidecar spans)" in row
        assert f"<td>{s.label}</td><td class=num>{len(own)}</td>" in table
