"""``make bench``: what the sidecar costs, next to a direct connection, nginx and a bare
Python forwarder; and evaluation throughput (:mod:`bench.throughput`): native tau2, the
local runner, Ray.

Every process (the trivial agent, the sidecar with telemetry on and off, a bare aiohttp
forwarder that parses nothing (:mod:`bench.forwarder`, the Python ceiling), nginx, wrk) is
started here, on loopback, so every number is relative to baselines measured in the same
run on the same machine. Latency rounds are interleaved across targets so drift in the
machine's load hits all of them alike. Each sidecar figure is also printed as a ratio to
the bare forwarder's and to nginx's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BODY = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SendMessage",
        "params": {
            "message": {
                "messageId": "m1",
                "contextId": "ctx-bench",
                "role": "ROLE_USER",
                "parts": [{"text": "hello"}],
            }
        },
    }
)
# wrk: one request shape for throughput; a rotating contextId for the memory run, so the
# sidecar's conversation table fills and evicts (20k ids against a 10k bound).
WRK_POST = f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"
wrk.body = {json.dumps(BODY)}
"""
WRK_CONVERSATIONS = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"jsonrpc":"2.0","id":%d,"method":"SendMessage","params":{"message":{"messageId":"m%d","contextId":"ctx-%d","role":"ROLE_USER","parts":[{"text":"hi"}]}}}', n, n, n %% 20000)
  return wrk.format(nil, nil, nil, body)
end
""".replace("%%", "%")


BARE = "bare aiohttp forwarder"
# --workers 2 shares this machine's two cores with wrk and the agent: throughput only.
WORKERS = "sidecar, telemetry on, 2 workers"


@dataclass
class Target:
    name: str
    url: str
    pid: int | None = None


@dataclass
class Report:
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    added_latency_us: dict[str, dict[str, float]] = field(default_factory=dict)
    throughput_rps: dict[str, float] = field(default_factory=dict)
    sse_delay_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    memory: dict[str, object] = field(default_factory=dict)
    evaluation_throughput: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def ensure_tools(report: Report) -> dict[str, str | None]:
    """nginx and wrk from Debian's packages, installed on first use."""
    missing = [pkg for tool, pkg in (("nginx", "nginx-light"), ("wrk", "wrk")) if not _which(tool)]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {', '.join(missing)} from Debian's packages ...", flush=True)
        null = subprocess.DEVNULL
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=null, stderr=null)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", *missing]
        subprocess.run(install, check=False, env=env, stdout=null, stderr=null)
    tools = {"nginx": _which("nginx"), "wrk": _which("wrk")}
    for tool, path in tools.items():
        if path is None:
            report.notes.append(
                f"{tool} is not installed and could not be: its columns are missing"
            )
    return tools


def _which(tool: str) -> str | None:
    return shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}",) if Path(p).exists()), None)


@contextlib.contextmanager
def processes(tools: dict[str, str | None], workdir: Path) -> Iterator[dict[str, Target]]:
    started: list[subprocess.Popen[bytes]] = []

    def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    try:
        agent_port = free_port()
        agent = spawn([sys.executable, "-m", "bench.upstream", str(agent_port)])
        wait_for_port(agent_port)
        upstream = f"http://127.0.0.1:{agent_port}"
        targets = {"direct": Target("direct", upstream, agent.pid)}
        port = free_port()
        bare = spawn([sys.executable, "-m", "bench.forwarder", str(port), upstream])
        wait_for_port(port)
        targets[BARE] = Target(BARE, f"http://127.0.0.1:{port}", bare.pid)
        quiet = {"OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}

        def traced(name: str) -> list[str]:
            return ["--trace-file", str(workdir / name), "--capture-content"]

        for name, extra in (
            ("sidecar, telemetry off", []),
            ("sidecar, telemetry on", traced("spans.jsonl")),
            (WORKERS, [*traced("spans-workers.jsonl"), "--workers", "2"]),
        ):
            port = free_port()
            command = ["--log-level", "WARNING", "--listen", f"127.0.0.1:{port}"]
            process = spawn(
                [sys.executable, "-m", "proxy", *command, "--upstream", upstream, *extra], quiet
            )
            wait_for_port(port)
            targets[name] = Target(name, f"http://127.0.0.1:{port}", process.pid)
        if tools["nginx"]:
            port = free_port()
            config = workdir / "nginx.conf"
            config.write_text(_nginx_config(port, agent_port, workdir))
            process = spawn([tools["nginx"], "-c", str(config), "-p", str(workdir)])
            wait_for_port(port)
            targets["nginx"] = Target("nginx", f"http://127.0.0.1:{port}", process.pid)
        yield targets
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _nginx_config(port: int, upstream_port: int, workdir: Path) -> str:
    temp = "\n".join(
        f"    {k}_temp_path {workdir}/{k};"
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    upstream agent {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://agent;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


async def latency_rounds(
    targets: dict[str, Target], per_round: int, rounds: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in targets}
    headers = {"Content-Type": "application/json", "A2A-Version": "1.0"}
    async with aiohttp.ClientSession() as http:
        for target in targets.values():  # warm-up: connections, caches
            for _ in range(100):
                async with http.post(target.url + "/", data=BODY, headers=headers) as r:
                    await r.read()
        for _ in range(rounds):
            for name, target in targets.items():
                for _ in range(per_round):
                    start = time.perf_counter()
                    async with http.post(target.url + "/", data=BODY, headers=headers) as response:
                        await response.read()
                    samples[name].append(time.perf_counter() - start)
    return samples


def percentiles(values: list[float], scale: float) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale

    return {
        "p50": round(pick(0.50), 3),
        "p90": round(pick(0.90), 3),
        "p99": round(pick(0.99), 3),
        "n": len(values),
    }


def wrk(tool: str, url: str, script: Path, seconds: int, connections: int) -> tuple[float, int]:
    out = subprocess.run(
        [tool, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url + "/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, total


async def sse_delays(url: str, count: int) -> list[float]:
    delays: list[float] = []
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/sse?count={count}&gap_ms=5") as response,
    ):
        buffer = b""
        async for chunk in response.content.iter_any():
            now = time.time_ns()
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                data = json.loads(event.removeprefix(b"data: "))
                delays.append((now - data["result"]["statusUpdate"]["metadata"]["sent_ns"]) / 1e6)
    return delays


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_run(tool: str, target: Target, workdir: Path, seconds: int) -> dict[str, object]:
    assert target.pid is not None
    script = workdir / "conversations.lua"
    script.write_text(WRK_CONVERSATIONS)
    process = subprocess.Popen(
        [tool, "-t1", "-c16", f"-d{seconds}s", "-s", str(script), target.url + "/"],
        stdout=subprocess.PIPE,
        text=True,
    )
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    while process.poll() is None:
        samples.append((round(time.monotonic() - start, 1), round(rss_mib(target.pid), 1)))
        time.sleep(2)
    out = process.communicate()[0]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    settled = [rss for t, rss in samples if t >= seconds * 0.2]
    return {
        "requests": total,
        "rss_mib_samples": samples,
        "rss_mib_at_20pct": settled[0] if settled else None,
        "rss_mib_at_end": samples[-1][1] if samples else None,
        "growth_mib_after_20pct": round(max(settled) - settled[0], 1) if settled else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument(
        "--memory-seconds",
        type=int,
        default=110,  # over 100k exchanges at the sidecar's throughput here
        help="length of the memory run (default: %(default)s)",
    )
    args = parser.parse_args()
    per_round, rounds, wrk_seconds = (100, 3, 3) if args.quick else (400, 5, 8)
    memory_seconds = 10 if args.quick else args.memory_seconds
    report = Report()
    tools = ensure_tools(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="tau2observe-bench-") as tmp,
        processes(tools, Path(tmp)) as targets,
    ):
        workdir = Path(tmp)
        print(f"targets: {', '.join(targets)}", flush=True)
        print(
            f"latency: {rounds} interleaved rounds x {per_round} sequential SendMessage per target ...",
            flush=True,
        )
        one_process = {n: t for n, t in targets.items() if n != WORKERS}
        samples = asyncio.run(latency_rounds(one_process, per_round, rounds))
        for name, values in samples.items():
            report.latency_ms[name] = percentiles(values, 1000)
        direct = samples["direct"]
        for name, values in samples.items():
            if name != "direct":
                report.added_latency_us[name] = {
                    "p50": round((statistics.median(values) - statistics.median(direct)) * 1e6, 1),
                    "p99": round(
                        (percentiles(values, 1e6)["p99"] - percentiles(direct, 1e6)["p99"]), 1
                    ),
                }
        if tools["wrk"]:
            script = workdir / "post.lua"
            script.write_text(WRK_POST)
            for name, target in targets.items():
                print(f"throughput: wrk, 16 connections, {wrk_seconds}s -> {name}", flush=True)
                report.throughput_rps[name], _ = wrk(
                    tools["wrk"], target.url, script, wrk_seconds, 16
                )
        print(
            "SSE: 200 events 5 ms apart, delay from the agent's write to the client's read ...",
            flush=True,
        )
        for name, target in one_process.items():
            report.sse_delay_ms[name] = percentiles(asyncio.run(sse_delays(target.url, 200)), 1)
        if tools["wrk"]:
            target = targets["sidecar, telemetry on"]
            print(
                f"memory: {memory_seconds}s of wrk with 20k rotating conversations -> {target.name}",
                flush=True,
            )
            report.memory = memory_run(tools["wrk"], target, workdir, memory_seconds)
    from bench import throughput

    report.evaluation_throughput = throughput.measure(tasks=3 if args.quick else 5, concurrency=2)
    print_report(report)
    (RESULTS / "latest.json").write_text(json.dumps(asdict(report), indent=2))
    print(f"\nwritten to {RESULTS / 'latest.json'}")
    return 0


def ratios(value: float, baselines: dict[str, float | None]) -> str:
    """``value`` as a multiple of each baseline measured in the same run."""
    parts = [f"{value / base:.2f}x {name}" for name, base in baselines.items() if base]
    return f"   ({', '.join(parts)})" if parts else ""


def print_report(report: Report) -> None:
    print("\nlatency, one client (ms); added = over a direct connection")
    added_p50 = {n: a["p50"] for n, a in report.added_latency_us.items()}
    p99s = {n: p["p99"] for n, p in report.latency_ms.items()}
    for name, p in report.latency_ms.items():
        added = report.added_latency_us.get(name)
        extra = f"   added p50 {added['p50']:+.0f} us, p99 {added['p99']:+.0f} us" if added else ""
        print(f"  {name:24} p50 {p['p50']:.3f}  p90 {p['p90']:.3f}  p99 {p['p99']:.3f}{extra}")
    for name in report.latency_ms:
        if name.startswith("sidecar"):
            baselines = {"bare": added_p50.get(BARE), "nginx": added_p50.get("nginx")}
            print(f"  {name:24} added p50{ratios(added_p50[name], baselines)}")
            baselines = {"bare": p99s.get(BARE), "nginx": p99s.get("nginx")}
            print(f"  {name:24} p99{ratios(p99s[name], baselines)}")
    on, off = p99s.get("sidecar, telemetry on"), p99s.get("sidecar, telemetry off")
    if on and off:
        print(f"  telemetry on / off, p99: {on / off:.2f}x (target: at most 2x)")
    if report.throughput_rps:
        nginx = report.throughput_rps.get("nginx")
        bare = report.throughput_rps.get(BARE)
        print("\nthroughput, 16 connections (requests/s)")
        for name, rps in report.throughput_rps.items():
            print(f"  {name:32} {rps:9.0f}{ratios(rps, {'bare': bare, 'nginx': nginx})}")
        one, two = (report.throughput_rps.get(n) for n in ("sidecar, telemetry on", WORKERS))
        if one and two:
            print(
                f"  --workers 2 / 1 with telemetry on: {two / one:.2f}x (the two workers share "
                "this machine's cores with wrk and the agent)"
            )
        on, off = (
            report.throughput_rps.get(n)
            for n in ("sidecar, telemetry on", "sidecar, telemetry off")
        )
        if on and off:
            print(f"  telemetry on / off: {on / off:.2f}x")
    print("\nSSE relay delay, agent write -> client read (ms)")
    direct = report.sse_delay_ms.get("direct", {})
    for name, p in report.sse_delay_ms.items():
        delta = (
            f"   added p50 {p['p50'] - direct.get('p50', 0):+.3f}, p99 {p['p99'] - direct.get('p99', 0):+.3f}"
            if name != "direct"
            else ""
        )
        print(f"  {name:24} p50 {p['p50']:.3f}  p99 {p['p99']:.3f}{delta}")
    if report.memory:
        m = report.memory
        print(
            f"\nmemory, sidecar with telemetry on: {m['requests']} exchanges; RSS {m['rss_mib_at_20pct']} MiB "
            f"after warm-up, {m['rss_mib_at_end']} MiB at the end (growth {m['growth_mib_after_20pct']} MiB)"
        )
    if report.evaluation_throughput:
        from bench import throughput

        throughput.print_report(report.evaluation_throughput)
    for note in report.notes:
        print(f"note: {note}")


if __name__ == "__main__":
    raise SystemExit(main())
