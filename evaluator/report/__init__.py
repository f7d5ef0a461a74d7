"""The evaluation report: one self-contained HTML page comparing agents, trial by trial.

``build_report(results, spans)`` joins results files (one per run) with the spans of
OTLP JSON lines trace files; ``write_report(results_paths, trace_paths, output)`` does
the reading and writing. The page needs no network: charts are inline SVG
(:mod:`evaluator.report.charts`), styles and the few lines of script are inline.

Modules: ``traces`` reads spans and joins them to turns, ``analysis`` computes what is
shown, ``svg``/``charts`` draw, ``page`` writes the HTML, ``cli`` is ``tau2observe report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluator.report.analysis import (
    AgentRun,
    AgentSummary,
    agent_runs,
    comparability_warnings,
    summarize,
)
from evaluator.report.page import render_page
from evaluator.report.traces import Span, TraceFileError, TraceIndex, read_spans
from evaluator.results import RunResult, load_results

__all__ = [
    "AgentSummary",
    "Report",
    "TraceFileError",
    "build_report",
    "write_report",
]


@dataclass(frozen=True)
class Report:
    runs: list[AgentRun]
    index: TraceIndex
    sources: tuple[str, ...] = ()

    def summaries(self) -> list[AgentSummary]:
        return [summarize(run, self.index) for run in self.runs]

    def warnings(self) -> list[str]:
        """Why these runs do not compare like for like (empty when they do)."""
        return comparability_warnings(self.runs)

    def html(self) -> str:
        return render_page(self.runs, self.index, sources=self.sources)


def build_report(
    results: Sequence[RunResult], spans: Sequence[Span] = (), sources: Sequence[str] = ()
) -> Report:
    index = TraceIndex(spans)
    return Report(agent_runs(results, index), index, tuple(sources))


def write_report(
    results_paths: Sequence[Path], trace_paths: Sequence[Path], output: Path
) -> Report:
    """Read, build and write; raises ResultsFileError / TraceFileError naming the file."""
    results = [load_results(path) for path in results_paths]
    spans = read_spans(trace_paths)
    sources = [p.name for p in (*results_paths, *trace_paths)]
    report = build_report(results, spans, sources)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report.html(), encoding="utf-8")
    return report
