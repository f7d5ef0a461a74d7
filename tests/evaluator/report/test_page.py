"""The report page of a real small run (oracle vs flawed on tau2's mock domain, through the
sidecar): content, the join to the sidecar's spans, escaping."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest

from evaluator import summary
from evaluator.report import analysis, build_report, write_report
from evaluator.report import page as page_module
from evaluator.report.traces import read_spans
from tests.evaluator.report.conftest import SmallRun
from tests.evaluator.report.pages import leaderboard_row, section, trial_block

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


@pytest.mark.slow
def test_the_oracle_ranks_ahead_of_the_flawed_agent(small_run: SmallRun, page: str) -> None:
    oracle, flawed = small_run.results
    assert oracle.summary.pass_hat_k[1] > flawed.summary.pass_hat_k[1]
    ranked = re.findall(r'<tr data-agent="([^"]+)"><td>(\d+)</td>', page)
    assert ranked == [("oracle", "1"), ("flawed", "2")]


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_failed_flawed_trial_says_why(small_run: SmallRun, page: str) -> None:
    flawed = small_run.results[1]
    failed = [t for t in flawed.trials if not t.success]
    assert failed, "the flawed agent failed nothing on mock: nothing to explain"
    for t in failed:
        block = trial_block(page, "flawed", t.task_id, t.trial)
        assert "Why it failed" in block
    assert "Malformed tool calls the sidecar saw" in page or "not met" in page


@pytest.mark.slow
def test_every_turn_of_the_run_joins_its_sidecar_span(small_run: SmallRun) -> None:
    report = build_report(small_run.results, read_spans([small_run.trace_file]))
    for row in report.summaries():
        assert row.turns > 0
        assert row.traced_turns == row.turns
        assert row.proxy_p50_s is not None
        assert row.latency_source == "sidecar"


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_per_task_differences_between_the_runs(small_run: SmallRun, page: str) -> None:
    oracle, flawed = small_run.results
    differing = {t.task_id for t in flawed.trials if not t.success} - {
        t.task_id for t in oracle.trials if not t.success
    }
    assert differing
    table = section(page, 'id="task-differences"', "</table>")
    for task in differing:
        assert f'<tr data-task="{html.escape(task)}">' in table


@pytest.mark.slow
def test_the_same_tasks_raise_no_warning(small_run: SmallRun) -> None:
    assert build_report(small_run.results).warnings() == []
    assert 'id="comparability"' not in build_report(small_run.results).html()


@pytest.mark.slow
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


# The page's small pure pieces, without a run.


def test_missing_figures_show_a_dash_not_a_zero() -> None:
    assert (page_module.pct(None), page_module.num(None), page_module.ms(None)) == ("–",) * 3
    assert page_module.pct(0.0) == "0%"
    assert page_module.pct(0.875) == "88%"
    assert page_module.num(0.5) == "0.500"
    assert page_module.num(2 / 3, 1) == "0.7"
    assert page_module.ms(0.01234) == "12.3 ms"


def test_anchors_keep_only_safe_characters() -> None:
    assert page_module.anchor("oracle", "task 1", 0) == "oracle-task_1-0"
    assert page_module.anchor('<a href="x">', "t") == "_a_href__x__-t"


def test_timestamps_are_shown_in_utc() -> None:
    assert page_module.timestamp("2026-12-01T20:28:31+01:00") == "2026-12-01 19:28:31 UTC"
    assert page_module.timestamp("2026-12-01T19:28:31") == "2026-12-01 19:28:31"
    assert page_module.timestamp("yesterday") == "yesterday"


def test_a_status_other_than_complete_is_a_warning_pill() -> None:
    assert page_module.status_pill("complete") == '<span class="pill pass">complete</span>'
    assert page_module.status_pill("<x>") == '<span class="pill warn">&lt;x&gt;</span>'


def test_who_sent_each_request() -> None:
    assert page_module.request_role(0, "Hello")[1] == "user"
    assert "first message" in page_module.request_role(0, "Hello")[0]
    assert page_module.request_role(3, "Hello") == ("user", "user")
    assert page_module.request_role(3, "Tool result: {}") == ("tool result", "tool")


def test_a_short_message_is_shown_whole_and_escaped() -> None:
    block = page_module.message("agent", "agent", "<b>hi</b>")
    assert "&lt;b&gt;hi&lt;/b&gt;" in block
    assert "<b>" not in block
    assert "<details>" not in block


def test_a_long_message_is_previewed_with_the_rest_behind_details() -> None:
    head, tail = "H" * page_module.PREVIEW_HEAD, "T" * page_module.PREVIEW_TAIL
    text = head + "m" * 1000 + tail
    block = page_module.message("user", "user", text)
    assert f"… {1000} characters …" in block
    assert f"show all {len(text)} characters" in block
    assert block.count(text) == 1  # the whole text once, inside <details>


def test_a_huge_message_is_cut_even_behind_details() -> None:
    text = "x" * (page_module.FULL_TEXT_MAX + 500)
    block = page_module.message("user", "user", text)
    assert text not in block
    assert "x" * page_module.FULL_TEXT_MAX + "\n…(cut)" in block


def test_a_turn_without_its_span_says_so() -> None:
    assert "no sidecar span" in page_module.proxy_meta(None)
