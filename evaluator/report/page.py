"""The report as one self-contained HTML page: inline CSS and SVG, a few lines of inline JS.

Everything that came from a results file or a trace (agent names, replies, tool arguments,
error messages) is untrusted and passes through :func:`html.escape` before it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from evaluator.report import analysis, charts
from evaluator.report.analysis import AgentRun, AgentSummary, TurnView
from evaluator.report.svg import colour
from evaluator.report.traces import Span, TraceIndex
from evaluator.results import TrialResult

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
        f'<p class="sub">{len(runs)} agent{"s" if len(runs) != 1 else ""} on '
        f"{e(', '.join(domains))} · generated {e(generated)}</p>",
        *[f'<p class="sub">{e(note)}</p>' for note in notes],
        *([f'<p class="sub">from {e(", ".join(sources))}</p>'] if sources else []),
        '<section id="comparison"><h2>Agents compared</h2>',
        comparison_table(summaries, runs),
        comparison_charts(runs),
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


# --- comparison --------------------------------------------------------------------
def comparison_table(summaries: Sequence[AgentSummary], runs: Sequence[AgentRun]) -> str:
    colours = {run.label: i for i, run in enumerate(runs)}
    ks = sorted({k for s in summaries for k in s.pass_hat_k})
    head = (
        "<tr><th>#</th><th>agent</th><th>domain</th><th class=num>trials</th>"
        + "".join(f"<th class=num>pass^{k}</th>" for k in ks)
        + "<th class=num>avg reward</th><th class=num>malformed calls</th>"
        "<th>failures by reason</th>"
        "<th class=num>turn latency at the sidecar<br>p50 · p95 (agent included)</th></tr>"
    )
    rows = []
    for rank, s in enumerate(analysis.ranking(summaries), start=1):
        failures = (
            ", ".join(f"{e(reason)}: {n}" for reason, n in s.failures.items())
            or '<span class="muted">none</span>'
        )
        swatch = colour(colours[s.label])
        rows.append(
            f'<tr data-agent="{e(s.label)}"><td>{rank}</td>'
            f'<td class="agent-name"><span class="swatch" style="background:{swatch}"></span>'
            f'<a href="#agent-{anchor(s.label)}">{e(s.label)}</a></td>'
            f"<td>{e(s.domain)}</td><td class=num>{s.trials}</td>"
            + "".join(f"<td class=num>{num(s.pass_hat_k.get(k))}</td>" for k in ks)
            + f"<td class=num>{num(s.average_reward)}</td>"
            f"<td class=num>{s.malformed_tool_calls}</td><td>{failures}</td>"
            f"<td class=num>{ms(s.proxy_p50_s)} · {ms(s.proxy_p95_s)}"
            f'<br><span class="muted">{s.traced_turns} of {s.turns} turns traced</span></td></tr>'
        )
    return f'<div class="card"><table id="leaderboard">{head}{"".join(rows)}</table></div>'


def comparison_charts(runs: Sequence[AgentRun]) -> str:
    tasks: list[str] = []
    for run in runs:
        tasks += [t.task_id for t in run.result.tasks if t.task_id not in tasks]
    tiers = analysis.ordered_tiers(t.complexity for run in runs for t in run.result.tasks)
    reasons = sorted({r for run in runs for r in analysis.failures_by_termination(run)})
    causes = sorted({c for run in runs for c in analysis.failure_cause_counts(run)})
    figures = [
        charts.line_chart(
            {run.label: analysis.pass_hat_k_curve(run) for run in runs},
            chart="pass-hat-k",
            title="pass^k: all k trials of a task succeed",
            x_label="k (trials that must all succeed)",
            y_label="pass^k",
        ),
        charts.bar_chart(
            analysis.REWARD_BINS,
            {run.label: analysis.reward_distribution(run) for run in runs},
            chart="reward-distribution",
            title="Reward distribution",
            x_label="reward",
            y_label="trials",
        ),
        charts.bar_chart(
            tasks,
            {run.label: analysis.success_by_task(run) for run in runs},
            chart="success-by-task",
            title="Success by task",
            x_label="task",
            y_label="trials with reward 1",
            percent=True,
        ),
        charts.bar_chart(
            tiers,
            {run.label: analysis.success_by_tier(run) for run in runs},
            chart="success-by-difficulty",
            title="Success by difficulty (reference actions + checks)",
            x_label="difficulty",
            y_label="trials with reward 1",
            percent=True,
        ),
        charts.bar_chart(
            reasons,
            {run.label: analysis.failures_by_termination(run) for run in runs},
            chart="failures-by-termination",
            title="Failed trials by termination reason",
            x_label="termination reason",
            y_label="failed trials",
        ),
        charts.bar_chart(
            causes,
            {run.label: analysis.failure_cause_counts(run) for run in runs},
            chart="failure-causes",
            title="What went wrong in failed trials",
            x_label="cause",
            y_label="failed trials",
        ),
    ]
    return (
        '<div class="charts">'
        + "".join(f'<div class="card">{f}</div>' for f in figures)
        + ("</div>")
    )


# --- the sidecar's view --------------------------------------------------------------
def proxy_section(runs: Sequence[AgentRun], index: TraceIndex) -> str:
    if not any(run.proxy_spans for run in runs):
        return (
            '<div class="card muted">No sidecar spans for these runs: pass the trace file '
            "(--traces) written with --trace-file or by the demo.</div>"
        )
    methods = sorted({s.method for run in runs for s in run.proxy_spans})
    latency = {run.label: analysis.latency_by_method(run.proxy_spans) for run in runs}
    validity = {run.label: analysis.tool_call_validity(run.proxy_spans) for run in runs}
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
        for method, values in latency[run.label].items():
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
    return (
        '<div class="charts">'
        + "".join(f'<div class="card">{f}</div>' for f in figures)
        + "</div>"
        + table
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
            f"{e(run.result.domain)} · {len(run.trials)} trials</h3>"
        )
        for trial in sorted(run.trials, key=lambda t: (_task_key(t.task_id), t.trial)):
            parts.append(trial_block(run, trial, tiers.get(trial.task_id, ""), index))
        parts.append("</section>")
    return "".join(parts)


def _task_key(task_id: str) -> tuple[int, int, str]:
    return (0, int(task_id), "") if task_id.isdigit() else (1, 0, task_id)


def trial_block(run: AgentRun, trial: TrialResult, tier: str, index: TraceIndex) -> str:
    status = "ok" if trial.success else "failed"
    pill = (
        '<span class="pill pass">pass</span>'
        if trial.success
        else '<span class="pill fail">fail</span>'
    )
    views = analysis.turn_views(trial, index)
    summary = (
        f"{pill} <b>task {e(trial.task_id)}</b> · trial {trial.trial} · "
        f"reward {trial.reward:.2f} · {e(trial.termination_reason)} · "
        f"{len(trial.turn_records)} turns · {trial.tool_calls} tool calls"
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
    causes = analysis.failure_causes(trial)
    if not causes:
        return ""
    items = "".join(f"<li><b>{e(category)}</b>: {e(text)}</li>" for category, text in causes)
    return f'<div class="why"><b>Why it failed</b><ul>{items}</ul></div>'


def reward_breakdown(trial: TrialResult) -> str:
    detail = trial.reward_detail
    parts = []
    basis = ", ".join(detail.basis) or "–"
    components = ", ".join(f"{e(k)} {v:.2f}" for k, v in detail.breakdown.items()) or "–"
    db = {None: "not checked", True: "matches", False: "differs"}[detail.db_match]
    parts.append(
        f'<p class="reward">Reward <b>{detail.reward:.2f}</b> · basis {e(basis)} · '
        f"components {components} · database {db}</p>"
    )
    if detail.checks:
        rows = "".join(
            f"<tr><td>{e(c.kind)}</td><td>{e(c.description)}</td>"
            f"<td>{MET if c.met else NOT_MET}</td>"
            f"<td class=num>{'' if c.reward is None else f'{c.reward:.2f}'}</td></tr>"
            for c in detail.checks
        )
        parts.append(
            "<table class=checks><tr><th>check</th><th>expected</th><th>result</th>"
            f"<th class=num>reward</th></tr>{rows}</table>"
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
    outcome = span.attributes.get("a2a.proxy.outcome")
    status = span.attributes.get("http.response.status_code")
    state = f"{outcome or 'ok'}" + (f" (HTTP {status})" if status is not None else "")
    bits.append(f'<span class="pill fail">{e(state)}</span>' if span.failed else e(state))
    tool = span.attributes.get("gen_ai.tool.name")
    if span.tool_valid is not None:
        label = f"tool {tool or '?'} " + ("well-formed" if span.tool_valid else "malformed")
        css = "pass" if span.tool_valid else "fail"
        bits.append(f'<span class="pill {css}">{e(label)}</span>')
        problem = span.attributes.get("a2a.proxy.tool_call.problem")
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
