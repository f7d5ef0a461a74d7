"""The report of a real small run (oracle vs flawed on tau2's mock domain, through the
sidecar): content, the join to the sidecar's spans, escaping, and the command line."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pytest

from evaluator.cli import main
from evaluator.report import build_report, write_report
from evaluator.report.traces import read_spans
from tests.evaluator.report.conftest import SmallRun

pytestmark = pytest.mark.slow

CHARTS = (
    "pass-hat-k",
    "reward-distribution",
    "success-by-task",
    "success-by-difficulty",
    "failures-by-termination",
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
    assert (
        "http://"
        not in page.replace('xmlns="http://www.w3.org/2000/svg"', "").split(
            '<section id="trials">'
        )[0]
    ), "the page must not load anything"
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
    for summary in report.summaries():
        assert summary.turns > 0
        assert summary.traced_turns == summary.turns
        assert summary.proxy_p50_s is not None


def test_untrusted_text_is_escaped(small_run: SmallRun) -> None:
    oracle = small_run.results[0]
    evil = '<img src=x onerror="alert(1)">'
    turn = dataclasses.replace(oracle.trials[0].turn_records[0], reply_text=evil)
    trial = dataclasses.replace(oracle.trials[0], turn_records=[turn])
    agent = dataclasses.replace(oracle.agent, name="<b>evil</b>")
    result = dataclasses.replace(oracle, agent=agent, trials=[trial])
    text = build_report([result]).html()
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
