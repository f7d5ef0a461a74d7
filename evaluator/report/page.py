"""The report as one self-contained HTML page: inline CSS and SVG, a few lines of inline JS.

Everything that came from a results file or a trace (agent names, replies, tool arguments,
error messages) is untrusted and passes through :func:`html.escape` before it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from evaluator.report import analysis, charts, traces
from evaluator.report.analysis import AgentRun, AgentSummary, TurnView
from evaluator.report.svg import colour
from evaluator.report.traces import Span, TraceIndex
from evaluator.results import NOT_RUN, NOT_SCORED, TrialResult
from evaluator.summary import format_interval, plural

PREVIEW_HEAD = 240
PREVIEW_TAIL = 420
FULL_TEXT_MAX = 20_000
MET = '<span class="pill pass">met</span>'
NOT_MET = '<span class="pill fail">not met</span>'

CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f7f8fa;--ok:#1b7f4b;--bad:#b3261e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
 font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px}
h3{font-size:15px;margin:22px 0 8px}
.sub{color:var(--muted);margin:0 0 4px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;
 padding:14px 16px;margin:10px 0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 9px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.02em}
td.agent-name{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(490px,1fr));gap:12px}
.charts .card{padding:8px}
svg.chart{display:block;max-width:100%;height:auto}
.pill{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600}
.pass{background:#e3f4ea;color:var(--ok)}.fail{background:#fbe4e2;color:var(--bad)}
.warn{background:#fff4d6;color:#8a5a00}
.alert{margin:12px 0;padding:10px 14px;border-left:4px solid #d69e00;background:#fff8e1}
.alert ul{margin:4px 0 0 18px;padding:0}
.alert-inline{margin:8px 0 0;padding:6px 10px;background:#fff8e1;border-radius:4px}
.headline{font-weight:600;margin:4px 0 8px}
table.config th{width:150px;text-transform:none;font-size:13px}
th.as-is{text-transform:none}td.covers{min-width:150px}td.run{white-space:nowrap}.scroll{overflow-x:auto}
.latency-source{white-space:normal;display:inline-block;max-width:170px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
details.trial{background:#fff;border:1px solid var(--line);border-radius:8px;margin:6px 0}
details.trial>summary{cursor:pointer;padding:8px 12px;list-style:none}
details.trial>summary::-webkit-details-marker{display:none}
details.trial>summary:before{content:'▸ ';color:var(--muted)}
details.trial[open]>summary:before{content:'▾ '}
.trial-body{padding:4px 14px 14px;border-top:1px solid var(--line)}
.why{margin:8px 0;padding:8px 12px;border-left:3px solid var(--bad);background:#fff6f5}
.why ul{margin:4px 0 0 18px;padding:0}
.turn{border:1px solid var(--line);border-radius:6px;margin:8px 0;overflow:hidden}
.turn .meta{background:#f1f3f6;padding:5px 10px;font-size:12px;color:var(--muted)}
.turn .meta b{color:var(--ink)}
.msg{padding:6px 10px;white-space:pre-wrap;word-break:break-word;
 font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.msg .who{font:600 11px system-ui,sans-serif;text-transform:uppercase;color:var(--muted);
 display:block;margin-bottom:2px}
.msg.user{background:#fff}.msg.tool{background:#fbfaf5}
.msg.agent{background:#f3f8fd}.msg.call{background:#eef7f1}.msg.bad{background:#fdf0ef}
.msg details summary{cursor:pointer;color:#3e6fb0;font:12px system-ui,sans-serif}
.muted{color:var(--muted)}
.agent-nav a{margin-right:14px}
.toolbar{margin:6px 0 10px;font-size:13px}
body.failed-only details.trial.ok{display:none}
"""

SCRIPT = """
(function(){
  var box=document.getElementById('failed-only');
  if(box){box.addEventListener('change',function(){
    document.body.classList.toggle('failed-only',box.checked);});}
  var open=document.getElementById('open-failed');
  if(open){open.addEventListener('click',function(){
    document.querySelectorAll('details.trial.failed').forEach(function(d){d.open=true;});});}
  document.documentElement.setAttribute('data-report-ready','yes');
})();
"""


def e(value: object) -> str:
    return escape(str(value), quote=True)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f} ms"


def anchor(*parts: object) -> str:
    raw = "-".join(str(p) for p in parts)
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in raw)


def render_page(
    runs: Sequence[AgentRun],
    index: TraceIndex,
    *,
    sources: Sequence[str] = (),
    generated_at: datetime | None = None,
) -> str:
    summaries = [analysis.summarize(run, index) for run in runs]
    generated = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    domains = sorted({run.result.domain for run in runs})
    notes = sorted({run.result.tau2.note for run in runs if run.result.tau2.note})
    body = [
        "<main>",
        "<h1>tau2 evaluation report</h1>",
        f'<p class="sub">{plural(len(runs), "run")} on '
        f"{e(', '.join(domains))} · generated {e(generated)}</p>",
        *[f'<p class="sub">{e(note)}</p>' for note in notes],
        *([f'<p class="sub">from {e(", ".join(sources))}</p>'] if sources else []),
        comparability_block(analysis.comparability_warnings(runs)),
        scripted_user_block(runs),
        '<section id="comparison"><h2>Agents compared</h2>',
        comparison_table(summaries, runs),
        task_differences_table(runs),
        comparison_charts(runs),
        "</section>",
        '<section id="runs"><h2>How each run was made</h2>',
        "".join(run_configuration(run) for run in runs),
        "</section>",
        '<section id="proxy"><h2>The sidecar’s view</h2>',
        proxy_section(runs, index),
        "</section>",
        '<section id="trials"><h2>Task by task</h2>',
        trials_section(runs, index),
        "</section>",
        "</main>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>tau2 evaluation report</title>"
        f"<style>{CSS}</style></head><body>" + "".join(body) + f"<script>{SCRIPT}</script>"
        "</body></html>\n"
    )


def comparability_block(warnings: Sequence[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{e(w)}</li>" for w in warnings)
    return (
        '<div class="alert" id="comparability"><b>These runs do not compare like for like</b>'
        f"<ul>{items}</ul></div>"
    )


def scripted_user_block(runs: Sequence[AgentRun]) -> str:
    scripted = [run.label for run in runs if run.result.user.kind == "scripted"]
    if not scripted:
        return ""
    which = "every run" if len(scripted) == len(runs) else ", ".join(scripted)
    return (
        f'<div class="alert" id="scripted-user"><b>Scripted user ({e(which)})</b>: '
        f"{e(analysis.SCRIPTED_USER_NOTE)}</div>"
    )


# --- comparison --------------------------------------------------------------------
def with_interval(value: float | None, interval: Sequence[float] | None) -> str:
    shown = format_interval(interval)
    extra = f'<br><span class="muted ci">{e(shown)}</span>' if shown else ""
    return f"{num(value)}{extra}"


def comparison_table(summaries: Sequence[AgentSummary], runs: Sequence[AgentRun]) -> str:
    colours = {run.label: i for i, run in enumerate(runs)}
    ks = sorted({k for s in summaries for k in s.pass_hat_k})
    several_domains = len({s.domain for s in summaries}) > 1  # else the page's subtitle says it
    head = (
        "<tr><th>#</th><th>agent</th><th>run</th>"
        + ("<th>domain</th>" if several_domains else "")
        + "<th>scores cover</th>"
        + "".join(f"<th class=num>pass^{k}</th>" for k in ks)
        + "<th class=num>avg reward</th><th class=num>malformed<br>tool calls</th>"
        "<th>failed trials by cause</th>"
        "<th class=num>turn latency<br>p50 · p95</th></tr>"
    )
    rows = []
    for rank, s in enumerate(analysis.ranking(summaries), start=1):
        failures = (
            ", ".join(f"{e(reason)}: {n}" for reason, n in s.failures.items())
            or '<span class="muted">none</span>'
        )
        swatch = colour(colours[s.label])
        figures = s.figures
        if s.traced_turns:
            source = f"sidecar: {s.traced_turns} of {plural(s.turns, 'turn')} traced"
        else:
            source = "evaluator’s own timing (no sidecar spans)"
        rows.append(
            f'<tr data-agent="{e(s.label)}"><td>{rank}</td>'
            f'<td class="agent-name"><span class="swatch" style="background:{swatch}"></span>'
            f'<a href="#agent-{anchor(s.label)}">{e(s.agent)}</a></td>'
            f'<td class="run">{e(analysis.started_label(s.started_at))}<br>'
            f"<code>{e(s.run_id[:8])}</code> {status_pill(s.status)}</td>"
            + (f"<td>{e(s.domain)}</td>" if several_domains else "")
            + f'<td class="covers">{e(s.covers)}</td>'
            + "".join(
                f"<td class=num>"
                f"{with_interval(s.pass_hat_k.get(k), figures.pass_hat_1_ci if k == 1 else None)}"
                "</td>"
                for k in ks
            )
            + f"<td class=num>{with_interval(s.average_reward, figures.average_reward_ci)}</td>"
            f"<td class=num>{s.malformed_tool_calls}</td><td>{failures}</td>"
            f"<td class=num>{ms(s.latency_p50_s)} · {ms(s.latency_p95_s)}"
            f'<br><span class="muted latency-source">{e(source)}</span></td></tr>'
        )
    note = (
        f'<p class="muted" id="interval-note">{e(analysis.INTERVAL_NOTE)} '
        "pass^k covers only the tasks whose trials were all scored; trials not run count as "
        "reward 0.</p>"
    )
    table = f'<div class="scroll"><table id="leaderboard">{head}{"".join(rows)}</table></div>'
    return f'<div class="card">{table}{note}</div>'


def timestamp(iso: str) -> str:
    """'2026-12-01 19:28:31 UTC' from an ISO timestamp (the text itself if not one)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo else "")


def status_pill(status: str) -> str:
    css = "pass" if status == "complete" else "warn"
    return f'<span class="pill {css}">{e(status)}</span>'


def task_differences_table(runs: Sequence[AgentRun]) -> str:
    if len(runs) < 2:
        return ""
    rows = analysis.task_differences(runs)
    if not rows:
        return (
            '<div class="card" id="task-differences"><h3>Per-task differences</h3>'
            '<p class="muted">Every task succeeded equally often in every run.</p></div>'
        )
    head = "<tr><th>task</th>" + "".join(f'<th class="num as-is">{e(r.label)}</th>' for r in runs)
    cells = []
    for row in rows:
        values = []
        for rate in row.rates:
            if rate is None:
                values.append('<td class=num><span class="muted">not in this run</span></td>')
            elif not rate[1]:
                values.append('<td class=num><span class="muted">not scored</span></td>')
            else:
                c, n = rate
                values.append(f"<td class=num>{c}/{n} ({pct(c / n)})</td>")
        cells.append(
            f'<tr data-task="{e(row.task_id)}"><td>{e(row.task_id)}</td>{"".join(values)}</tr>'
        )
    return (
        '<div class="card" id="task-differences"><h3>Tasks whose success differs between runs'
        f"</h3><p class=muted>successful trials / scored trials of each task</p>"
        f"<table>{head}</tr>{''.join(cells)}</table></div>"
    )


def comparison_charts(runs: Sequence[AgentRun]) -> str:
    tasks: list[str] = []
    for run in runs:
        tasks += [t.task_id for t in run.result.tasks if t.task_id not in tasks]
    tiers = analysis.ordered_tiers(t.complexity for run in runs for t in run.result.tasks)
    causes = sorted({c for run in runs for c in analysis.failure_cause_counts(run)})
    figures = [
        pass_hat_k_chart(runs),
        charts.bar_chart(
            analysis.REWARD_BINS,
            {run.chart_label: analysis.reward_distribution(run) for run in runs},
            chart="reward-distribution",
            title="Reward distribution (scored trials)",
            x_label="reward",
            y_label="trials",
        ),
        charts.bar_chart(
            tasks,
            {run.chart_label: analysis.success_by_task(run) for run in runs},
            chart="success-by-task",
            title="Success by task",
            x_label="task",
            y_label="trials with reward 1",
            percent=True,
        ),
        charts.bar_chart(
            tiers,
            {run.chart_label: analysis.success_by_tier(run) for run in runs},
            chart="success-by-difficulty",
            title="Success by difficulty (reference actions + checks)",
            x_label="difficulty",
            y_label="trials with reward 1",
            percent=True,
        ),
        charts.bar_chart(
            causes,
            {run.chart_label: analysis.failure_cause_counts(run) for run in runs},
            chart="failure-causes",
            title="Failed trials by cause (each trial counted once)",
            x_label="cause",
            y_label="failed trials",
        ),
    ]
    cards = [f'<div class="card">{f}</div>' for f in figures]
    return '<div class="charts">' + "".join(cards) + termination_table(runs) + "</div>"


def pass_hat_k_chart(runs: Sequence[AgentRun]) -> str:
    curves = {run.chart_label: analysis.pass_hat_k_curve(run) for run in runs}
    if max((len(c) for c in curves.values()), default=0) <= 1:
        # One trial per task: pass^k is pass^1 alone, better a bar than a lone dot.
        return charts.bar_chart(
            ["pass^1"],
            {label: {"pass^1": c[0][1]} for label, c in curves.items() if c},
            chart="pass-hat-k",
            title="pass^1 (one trial per task: no pass^k for k > 1)",
            x_label="",
            y_label="pass^1",
            percent=True,
        )
    return charts.line_chart(
        curves,
        chart="pass-hat-k",
        title="pass^k: all k trials of a task succeed",
        x_label="k (trials that must all succeed)",
        y_label="pass^k",
    )


def termination_table(runs: Sequence[AgentRun]) -> str:
    reasons = analysis.termination_reasons(runs)
    if not reasons:
        return ""
    head = "<tr><th>agent</th>" + "".join(f"<th class=num>{e(r)}</th>" for r in reasons)
    rows = "".join(
        f"<tr><td>{e(run.label)}</td>"
        + "".join(f"<td class=num>{run.figures.termination_counts.get(r, 0)}</td>" for r in reasons)
        + "</tr>"
        for run in runs
    )
    return (
        '<div class="card"><h3>How conversations ended</h3><p class="muted">tau2\'s '
        "termination reasons, all trials (with the scripted user, a finished conversation "
        "ends in user_stop whatever the outcome)</p>"
        f'<table id="termination">{head}</tr>{rows}</table></div>'
    )


# --- how each run was made ---------------------------------------------------------------
def run_configuration(run: AgentRun) -> str:
    result = run.result
    config = result.config
    agent = result.agent

    def value(key: str, missing: str = "–") -> str:
        got = config.get(key)
        return e(missing) if got is None or got == [] else e(got)

    card = agent.card_name and agent.card_name != agent.name
    endpoint = e(agent.endpoint) + (
        f" · through the sidecar at {e(agent.proxy_url)}"
        if agent.via_proxy and agent.proxy_url
        else (" · through the in-process sidecar" if agent.via_proxy else "")
    )
    task_ids = config.get("task_ids") or []
    tasks = (
        f"{e(result.domain)} · task set {value('task_set', 'the domain’s default')} · "
        f"split {value('task_split', 'none')} · "
        f"{plural(len(result.tasks), 'task')} × {plural(analysis.trials_per_task(run), 'trial')}"
        + (f" · ids {e(', '.join(map(str, task_ids)))}" if task_ids else "")
    )
    user = e(result.user.kind) + (f" · model {e(result.user.model)}" if result.user.model else "")
    rows = [
        ("run id", f"<code>{e(result.run_id)}</code>"),
        (
            "status",
            status_pill(result.status)
            + (f" {e(result.status_note)}" if result.status_note else ""),
        ),
        (
            "agent",
            e(agent.name)
            + (f" (card: {e(agent.card_name)})" if card else "")
            + (f" · A2A {e(agent.protocol_version)}" if agent.protocol_version else ""),
        ),
        ("agent endpoint", endpoint),
        ("message format", e(agent.message_format)),
        ("user", user),
        ("tasks", tasks),
        ("seed", value("seed")),
        ("max steps", value("max_steps") + f" · max errors {value('max_errors')}"),
        (
            "retries",
            f"{value('max_retries')} per trial · stop after "
            f"{value('stop_after_unreachable')} unreachable trials in a row",
        ),
        (
            "time",
            f"started {e(timestamp(result.started_at))} · finished "
            f"{e(timestamp(result.finished_at))} · {result.duration_s:.1f} s",
        ),
        ("tau2", f"{e(result.tau2.package)} {e(result.tau2.version)}"),
    ]
    table = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    note = (
        f'<p class="alert-inline">{e(analysis.SCRIPTED_USER_NOTE)}</p>'
        if result.user.kind == "scripted"
        else ""
    )
    return (
        f'<div class="card run-config" data-run="{e(run.label)}"><h3>{e(run.label)}</h3>'
        f'<p class="headline">{e(analysis.pass1_line(run.figures))}</p>'
        f'<table class="config">{table}</table>{note}</div>'
    )


# --- the sidecar's view --------------------------------------------------------------
NO_SPANS = (
    "The spans of the sidecar (the one eval starts in-process, or your own) go to the file "
    "named by eval --trace-file (the demo writes traces.jsonl), or to the collector at "
    "OTEL_EXPORTER_OTLP_ENDPOINT. Pass that file to this report with --traces. Until then, "
    "turn latency is the evaluator's own timing of each turn, which also includes the "
    "sidecar and the evaluator's A2A client."
)


def proxy_section(runs: Sequence[AgentRun], index: TraceIndex) -> str:
    untraced = [run for run in runs if not run.proxy_spans]
    fallback = evaluator_latency(untraced)
    if len(untraced) == len(runs):
        return (
            '<div class="card" id="no-spans"><p><b>No sidecar spans for '
            f"{'this run' if len(runs) == 1 else 'these runs'}.</b> {e(NO_SPANS)}</p>"
            f"{fallback}</div>"
        )
    methods = sorted({s.method for run in runs for s in run.proxy_spans})
    latency = {run.chart_label: analysis.latency_by_method(run.proxy_spans) for run in runs}
    validity = {run.chart_label: analysis.tool_call_validity(run.proxy_spans) for run in runs}
    figures = [
        charts.box_plot(
            methods,
            latency,
            chart="latency-by-method",
            title="Turn latency per A2A method at the sidecar",
            x_label="A2A method",
            y_label="milliseconds",
        ),
        charts.bar_chart(
            ["well-formed", "malformed"],
            {
                label: {"well-formed": float(ok), "malformed": float(bad)}
                for label, (ok, bad) in validity.items()
            },
            chart="tool-call-validity",
            title="Tool calls in agent replies, as the sidecar parsed them",
            x_label="tool call",
            y_label="replies",
        ),
    ]
    rows = []
    for run in runs:
        errors = analysis.errors_by_method(run.proxy_spans)
        ttfe = analysis.time_to_first_event_s(run.proxy_spans)
        for method, values in latency[run.chart_label].items():
            rows.append(
                f"<tr><td>{e(run.label)}</td><td>{e(method)}</td><td class=num>{len(values)}</td>"
                f"<td class=num>{ms(analysis.percentile(values, 50))}</td>"
                f"<td class=num>{ms(analysis.percentile(values, 95))}</td>"
                f"<td class=num>{ms(max(values))}</td>"
                f"<td class=num>{errors.get(method, 0)}</td></tr>"
            )
        if ttfe:
            rows.append(
                f"<tr><td>{e(run.label)}</td><td>stream: time to first event</td>"
                f"<td class=num>{len(ttfe)}</td>"
                f"<td class=num>{ms(analysis.percentile(ttfe, 50))}</td>"
                f"<td class=num>{ms(analysis.percentile(ttfe, 95))}</td>"
                f"<td class=num>{ms(max(ttfe))}</td><td></td></tr>"
            )
    streamed = any(analysis.time_to_first_event_s(run.proxy_spans) for run in runs)
    table = (
        '<div class="card"><table id="proxy-latency"><tr><th>agent</th><th>A2A method</th>'
        "<th class=num>exchanges</th><th class=num>p50</th><th class=num>p95</th>"
        "<th class=num>max</th><th class=num>errors</th></tr>"
        + "".join(rows)
        + "</table>"
        + (
            ""
            if streamed
            else '<p class="muted">Stream time to first event: no streamed exchanges '
            "(SendStreamingMessage) in these traces.</p>"
        )
        + malformed_list(runs)
        + "</div>"
    )
    if untraced:
        names = ", ".join(run.label for run in untraced)
        table += (
            f'<div class="card" id="no-spans"><p><b>No sidecar spans for {e(names)}.</b> '
            f"{e(NO_SPANS)}</p>{fallback}</div>"
        )
    return (
        '<div class="charts">'
        + "".join(f'<div class="card">{f}</div>' for f in figures)
        + "</div>"
        + table
    )


def evaluator_latency(runs: Sequence[AgentRun]) -> str:
    """Turn latency by the evaluator's own per-turn timings, for runs without spans."""
    rows = []
    for run in runs:
        values = analysis.turn_evaluator_latencies(run)
        if not values:
            continue
        rows.append(
            f"<tr><td>{e(run.label)}</td><td class=num>{len(values)}</td>"
            f"<td class=num>{ms(analysis.percentile(values, 50))}</td>"
            f"<td class=num>{ms(analysis.percentile(values, 95))}</td>"
            f"<td class=num>{ms(max(values))}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<h3>Turn latency by the evaluator’s own timing (no sidecar spans)</h3>"
        '<table id="evaluator-latency"><tr><th>agent</th><th class=num>turns</th>'
        "<th class=num>p50</th><th class=num>p95</th><th class=num>max</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def malformed_list(runs: Sequence[AgentRun]) -> str:
    items = []
    for run in runs:
        for problem, n in analysis.tool_call_problems(run.proxy_spans).most_common(8):
            items.append(f"<li><b>{e(run.label)}</b> ×{n}: {e(problem)}</li>")
    if not items:
        return '<p class="muted">The sidecar saw no malformed tool calls.</p>'
    return "<h3>Malformed tool calls the sidecar saw</h3><ul>" + "".join(items) + "</ul>"


# --- task by task ----------------------------------------------------------------------
def trials_section(runs: Sequence[AgentRun], index: TraceIndex) -> str:
    nav = " ".join(f'<a href="#agent-{anchor(run.label)}">{e(run.label)}</a>' for run in runs)
    parts = [
        f'<p class="agent-nav">{nav}</p>',
        '<div class="toolbar"><label><input type="checkbox" id="failed-only"> failed trials '
        'only</label> · <button type="button" id="open-failed">open every failed trial</button>'
        "</div>",
    ]
    for run in runs:
        tiers = {t.task_id: t.complexity for t in run.result.tasks}
        parts.append(
            f'<section class="agent" id="agent-{anchor(run.label)}"><h3>{e(run.label)} · '
            f"{e(run.result.domain)} · {plural(len(run.trials), 'trial')}</h3>"
            f'<p class="headline">{e(analysis.pass1_line(run.figures))}</p>'
        )
        for trial in sorted(run.trials, key=lambda t: (analysis.task_key(t.task_id), t.trial)):
            parts.append(trial_block(run, trial, tiers.get(trial.task_id, ""), index))
        parts.append("</section>")
    return "".join(parts)


def trial_block(run: AgentRun, trial: TrialResult, tier: str, index: TraceIndex) -> str:
    status = "ok" if trial.success else "failed"
    if trial.success:
        pill = '<span class="pill pass">pass</span>'
    elif trial.status == NOT_SCORED:
        pill = '<span class="pill warn">not scored</span>'
    elif trial.status == NOT_RUN:
        pill = '<span class="pill fail">not run</span>'
    else:
        pill = '<span class="pill fail">fail</span>'
    views = analysis.turn_views(trial, index)
    summary = (
        f"{pill} <b>task {e(trial.task_id)}</b> · trial {trial.trial} · "
        f"reward {trial.reward:.2f} · {e(trial.termination_reason)} · "
        f"{plural(len(trial.turn_records), 'turn')} · {plural(trial.tool_calls, 'tool call')}"
        + (f" · {trial.malformed_tool_calls} malformed" if trial.malformed_tool_calls else "")
        + (f' · <span class="muted">{e(tier)}</span>' if tier else "")
    )
    body = [
        f'<p class="muted">{trial.duration_s:.1f} s · seed {trial.seed} · '
        f"trace {e(trial.trace_id or '–')} · context {e(trial.context_id or '–')}</p>",
        why_failed(trial),
        reward_breakdown(trial),
        "<h3>Conversation over the wire</h3>",
        "".join(turn_block(view) for view in views)
        or '<p class="muted">No turn reached the agent.</p>',
    ]
    element_id = anchor("trial", run.label, trial.task_id, trial.trial)
    return (
        f'<details class="trial {status}" id="{element_id}"'
        f' data-agent="{e(run.label)}" data-task="{e(trial.task_id)}" data-trial="{trial.trial}">'
        f'<summary>{summary}</summary><div class="trial-body">{"".join(body)}</div></details>'
    )


def why_failed(trial: TrialResult) -> str:
    explanation = analysis.explain_failure(trial)
    if explanation is None:
        return ""
    decided = "".join(f"<li>{e(text)}</li>" for text in explanation.decided)
    observed = "".join(f"<li>{e(text)}</li>" for text in explanation.observed)
    return (
        f'<div class="why"><b>Why it failed: <span class="cause">{e(explanation.cause)}</span>'
        f"</b><ul>{decided}</ul>"
        + (
            '<p class="muted observed">Also observed, outside the task’s reward basis (did '
            f"not change the reward):</p><ul>{observed}</ul>"
            if observed
            else ""
        )
        + "</div>"
    )


def reward_breakdown(trial: TrialResult) -> str:
    detail = trial.reward_detail
    parts = []
    basis = ", ".join(detail.basis) or "–"
    components = ", ".join(f"{e(k)} {v:.2f}" for k, v in detail.breakdown.items()) or "–"
    db = {None: "not checked", True: "matches", False: "differs"}[detail.db_match]
    if detail.db_match is not None and detail.basis and "DB" not in detail.basis:
        db += " (not in the basis)"
    parts.append(
        f'<p class="reward">Reward <b>{detail.reward:.2f}</b> · basis {e(basis)} · '
        f"components {components} · database {db}</p>"
    )
    counted = [c for c in detail.checks if c.counted]
    observed = [c for c in detail.checks if not c.counted]
    if counted:
        rows = "".join(
            f"<tr><td>{e(c.kind)}</td><td>{e(c.description)}</td>"
            f"<td>{MET if c.met else NOT_MET}</td>"
            f"<td class=num>{'' if c.reward is None else f'{c.reward:.2f}'}</td></tr>"
            for c in counted
        )
        parts.append(
            "<p class=muted>Checks in the reward basis: they decided the reward.</p>"
            '<table class="checks counted"><tr><th>check</th><th>expected</th><th>result</th>'
            f"<th class=num>reward</th></tr>{rows}</table>"
        )
    if observed:
        rows = "".join(
            f"<tr><td>{e(c.kind)}</td><td>{e(c.description)}</td>"
            f"<td>{MET if c.met else NOT_MET}</td></tr>"
            for c in observed
        )
        parts.append(
            "<p class=muted>Observed, not in the reward basis: these did not count.</p>"
            '<table class="checks observed"><tr><th>check</th><th>expected</th>'
            f"<th>result</th></tr>{rows}</table>"
        )
    return "".join(parts)


def turn_block(view: TurnView) -> str:
    turn = view.record
    meta = [
        f"<b>turn {turn.index}</b>",
        f"evaluator {ms(turn.duration_s)}",
        proxy_meta(view.proxy),
    ]
    if turn.error:
        meta.append(f'<span class="pill fail">{e(turn.error)}</span>')
    request_kind, request_class = request_role(turn.index, turn.request_text)
    parts = [
        f'<div class="turn" data-turn="{turn.index}"><div class="meta">{" · ".join(meta)}</div>',
        message(request_kind, request_class, turn.request_text),
    ]
    if turn.reply_text is not None:
        if turn.malformed_tool_calls:
            who, css = "agent: malformed tool call", "bad"
        elif turn.tool_calls:
            who, css = f"agent: tool call {', '.join(turn.tool_calls)}", "call"
        else:
            who, css = "agent", "agent"
        parts.append(message(who, css, turn.reply_text))
    parts.append("</div>")
    return "".join(parts)


def proxy_meta(span: Span | None) -> str:
    if span is None:
        return '<span class="muted">no sidecar span</span>'
    bits = [f"sidecar {ms(span.duration_s)}", e(span.method)]
    outcome = span.attributes.get(traces.OUTCOME)
    status = span.attributes.get("http.response.status_code")
    state = f"{outcome or 'ok'}" + (f" (HTTP {status})" if status is not None else "")
    bits.append(f'<span class="pill fail">{e(state)}</span>' if span.failed else e(state))
    tool = span.attributes.get("gen_ai.tool.name")
    if span.tool_valid is not None:
        label = f"tool {tool or '?'} " + ("well-formed" if span.tool_valid else "malformed")
        css = "pass" if span.tool_valid else "fail"
        bits.append(f'<span class="pill {css}">{e(label)}</span>')
        problem = span.attributes.get(traces.TOOL_PROBLEM)
        if problem:
            bits.append(e(problem))
    return " · ".join(bits)


def request_role(index: int, text: str) -> tuple[str, str]:
    if text.startswith("Tool result"):
        return "tool result", "tool"
    if index == 0:
        return "user (first message, with instructions, policy and tools)", "user"
    return "user", "user"


def message(who: str, css: str, text: str) -> str:
    if len(text) <= PREVIEW_HEAD + PREVIEW_TAIL + 80:
        shown = e(text)
    else:
        full = text if len(text) <= FULL_TEXT_MAX else text[:FULL_TEXT_MAX] + "\n…(cut)"
        hidden = len(text) - PREVIEW_HEAD - PREVIEW_TAIL
        shown = (
            f"{e(text[:PREVIEW_HEAD])}\n<span class=muted>… {hidden} characters …</span>\n"
            f"{e(text[-PREVIEW_TAIL:])}"
            f"<details><summary>show all {len(text)} characters</summary>{e(full)}</details>"
        )
    return f'<div class="msg {css}"><span class="who">{e(who)}</span>{shown}</div>'
