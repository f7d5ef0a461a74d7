"""``tau2observe demo`` end to end, as a subprocess: the output folder, and Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluator.demo import plan_from
from evaluator.results import load_results
from proxy.errors import UsageError

ROOT = Path(__file__).parents[2]
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/")


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "evaluator.cli", "demo", *args]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.slow
def test_demo_writes_traces_results_and_report(tmp_path: Path) -> None:
    output = tmp_path / "demo"
    done = subprocess.run(
        demo_command("--num-tasks", "2", "--num-trials", "1", "--output", str(output)),
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in output.iterdir()) == [
        "metrics.jsonl",
        "report.html",
        "results-flawed.json",
        "results-oracle.json",
        "traces.jsonl",
    ]
    for kind in ("oracle", "flawed"):
        result = load_results(output / f"results-{kind}.json")
        assert result.domain == "airline"
        assert result.agent.name == kind
        assert result.agent.via_proxy
        assert len(result.trials) == 2
    spans = [
        span["name"]
        for line in (output / "traces.jsonl").read_text().splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    assert "SendMessage" in spans  # the sidecar's
    assert any(name.startswith("tau2.task ") for name in spans)  # the evaluator's
    metrics = (output / "metrics.jsonl").read_text()
    assert "tau2.task.trials" in metrics
    assert "a2a.proxy.requests" in metrics
    page = (output / "report.html").read_text()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') >= 7
    # progress on stderr, the summary and the paths on stdout
    assert "oracle: 1/2" in done.stderr
    assert "pass^1" in done.stdout
    assert str(output / "report.html") in done.stdout


@pytest.mark.slow
def test_ctrl_c_stops_everything_cleanly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        demo_command("--num-tasks", "5", "--num-trials", "2", "--output", str(tmp_path / "d")),
        cwd=ROOT,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # wait until a trial has finished
            line = process.stderr.readline()
            if not line:
                break
            seen.append(line)
            if re.match(r"(oracle|flawed): 1/10 ", line):
                break
        assert any(re.match(r"(oracle|flawed): 1/10 ", s) for s in seen), "".join(seen)
        assert child_processes(process.pid) == [], "the demo runs everything in-process"
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=120)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, "".join(seen) + rest
    assert "demo interrupted" in rest
    ports = {int(p) for line in seen for p in URL.findall(line)}
    assert len(ports) == 3  # two agents and the sidecar
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listens"


def child_processes(pid: int) -> list[str]:
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children += task.read_text().split()
    return children


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    from argparse import Namespace

    base = {
        "num_tasks": 1,
        "num_trials": 1,
        "max_concurrency": 1,
        "agents": ["oracle"],
        "domain": "mock",
        "output": None,
    }
    with pytest.raises(UsageError, match="--num-trials=0"):
        plan_from(Namespace(**{**base, "num_trials": 0}))
    afile = tmp_path / "f"
    afile.write_text("")
    with pytest.raises(UsageError, match="not a folder"):
        plan_from(Namespace(**{**base, "output": afile}))
    with pytest.raises(UsageError, match="--agents oracle oracle noop: each agent once"):
        plan_from(Namespace(**{**base, "agents": ["oracle", "oracle", "noop"]}))
    plan = plan_from(Namespace(**{**base, "agents": ["oracle", "noop"]}))
    assert plan.kinds == ("oracle", "noop")
    assert plan.output.parts[0] == "out"
    assert plan.output.name.startswith("demo-")


@pytest.mark.slow
def test_with_an_otlp_endpoint_the_demo_also_exports_there(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    received: dict[str, int] = {}

    class Receiver(BaseHTTPRequestHandler):  # an OTLP/HTTP endpoint that accepts everything
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            received[self.path] = received.get(self.path, 0) + 1
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = environment()
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{server.server_address[1]}"
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
    out = tmp_path / "d"
    try:
        done = subprocess.run(
            demo_command(
                "--domain", "mock", "--num-tasks", "1", "--num-trials", "1", "--output", str(out)
            ),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert received.get("/v1/traces", 0) >= 1
    assert received.get("/v1/metrics", 0) >= 1
    assert (out / "traces.jsonl").stat().st_size > 0  # and the file as well


def test_the_printed_summary_says_what_the_scores_cover() -> None:
    import dataclasses
    import io

    from rich.console import Console

    from evaluator import summary
    from evaluator.demo import print_summary
    from evaluator.report import build_report
    from tests.evaluator.report.test_analysis import run_result, trial

    win = trial(reward=1.0, success=True)
    trials = [
        dataclasses.replace(win, task_id="1"),
        dataclasses.replace(win, task_id="2"),
        trial(task_id="3", status="not_scored", cause=summary.CAUSE_USER, error="e"),
    ]
    report = build_report([run_result(trials, agent="flawed"), run_result([win])])
    out = io.StringIO()
    print_summary(report.summaries(), Console(file=out, width=400))
    text = out.getvalue()
    flawed = next(line for line in text.splitlines() if "flawed" in line)
    assert "scored 2 of 3 trials; 1 not scored; pass^k over 2 of 3 tasks" in flawed
    assert "user simulator failed (not scored): 1" in flawed
    figures = report.runs[0].figures
    assert summary.format_interval(figures.pass_hat_1_ci) in flawed
    assert summary.format_interval(figures.average_reward_ci) in flawed
    assert "(evaluator's timing: no sidecar spans)" in flawed  # no spans, and it says so
    oracle = next(line for line in text.splitlines() if "oracle" in line)
    assert re.search(r"scored 1 of 1 trial\b", oracle)  # singular
    assert "95% Wilson interval" in text
