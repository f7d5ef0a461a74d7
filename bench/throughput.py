"""Evaluation throughput: trials per minute for the oracle on airline, three ways.

- native: tau2 alone, in this process: a tau2 agent replaying each task's reference
  actions (what the oracle does once it has recognised the task), the scripted user,
  tau2's orchestrator and evaluator; no A2A, no sidecar, no telemetry;
- local: ``tau2observe eval``'s runner with the thread pool, the oracle as its own A2A
  server process, through the in-process sidecar;
- ray: the same with ``--executor ray`` on a Ray started here (two CPUs, loopback only),
  cold (workers start and import tau2) and warm (the same workers again).

All three run ``--max-concurrency`` trials at once. The difference per trial between
ray (warm) and local is Ray's overhead: what a cluster must win back.
Run alone: ``python -m bench.throughput --tasks 5``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "airline"
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def native(task_ids: list[str], concurrency: int) -> tuple[float, dict[str, float]]:
    """The oracle's behaviour natively in tau2; (seconds, reward per task)."""
    from tau2.agent.base import LocalAgent
    from tau2.data_model.message import AssistantMessage, ToolCall

    from evaluator import tau2_adapter
    from evaluator.agents.oracle import reference_plan
    from evaluator.agents.tau2_tasks import load_domains
    from evaluator.agents.wire import CallTool, SayText

    scripts = {t.task_id: t for d in load_domains((DOMAIN,)) for t in d.tasks}
    tasks = {t.id: t for t in tau2_adapter.load_tasks(DOMAIN)}

    class NativeOracle(LocalAgent):  # type: ignore[misc]
        def __init__(self, tools: Any, policy: Any, task_id: str) -> None:
            super().__init__(tools=tools, domain_policy=policy)
            self._plan = reference_plan(scripts[task_id])
            self._calls = 0

        def get_init_state(self, message_history: Any = None) -> list[Any]:
            return []

        def generate_next_message(self, message: Any, state: Any) -> tuple[Any, Any]:
            step = self._plan.next()
            if isinstance(step, CallTool):
                self._calls += 1
                call = ToolCall(
                    id=f"call-{self._calls}",
                    name=step.name,
                    arguments=dict(step.arguments),
                    requestor="assistant",
                )
                reply = AssistantMessage(role="assistant", tool_calls=[call], cost=0.0)
            else:
                text = step.text if isinstance(step, SayText) else ""
                reply = AssistantMessage(role="assistant", content=text, cost=0.0)
            return reply, state

        def set_seed(self, seed: int) -> None:
            pass

    def one(task_id: str) -> float:
        reward = tau2_adapter.run_native(
            DOMAIN,
            tasks[task_id],
            lambda tools, policy: NativeOracle(tools, policy, task_id),
        )
        return 0.0 if reward is None else reward  # tau2 records a failed sample as 0

    one(task_ids[0])  # warm-up, untimed: tau2's first environment and evaluation
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        rewards = dict(zip(task_ids, pool.map(one, task_ids), strict=True))
    return time.perf_counter() - t0, rewards


def through_runner(
    url: str, task_ids: list[str], concurrency: int, executor: Any = None
) -> tuple[float, dict[str, float]]:
    from evaluator.config import EvalConfig
    from evaluator.runner import run_evaluation
    from proxy.telemetry import TelemetrySettings, build_telemetry

    telemetry = build_telemetry(TelemetrySettings(service_name="bench-evaluator"))
    config = EvalConfig(
        domain=DOMAIN, agent_endpoint=url, task_ids=tuple(task_ids), max_concurrency=concurrency
    )
    t0 = time.perf_counter()
    try:
        result = run_evaluation(config, telemetry, executor=executor)
    finally:
        telemetry.shutdown()
    return time.perf_counter() - t0, {t.task_id: t.reward for t in result.trials}


def measure(tasks: int, concurrency: int) -> dict[str, Any]:
    """Run the three ways; the numbers as a dict (seconds, trials per minute, ratios)."""
    os.environ[LOOPBACK_ONLY] = "0"  # before Ray is imported: its processes stay on 127.0.0.1
    from bench.__main__ import free_port, wait_for_port
    from evaluator import tau2_adapter

    tau2_adapter.quiet_logs("ERROR")
    task_ids = [t.id for t in tau2_adapter.load_tasks(DOMAIN)][:tasks]
    port = free_port()
    agent = subprocess.Popen(
        [sys.executable, "-m", "evaluator.cli", "agent", "oracle", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs: dict[str, tuple[float, dict[str, float]]] = {}
    try:
        wait_for_port(port, timeout=120)
        url = f"http://127.0.0.1:{port}/"
        print(f"throughput: {len(task_ids)} airline tasks, {concurrency} at once", flush=True)
        runs["native tau2"] = native(task_ids, concurrency)
        runs["local"] = through_runner(url, task_ids, concurrency)
        try:
            import ray

            from evaluator.executors.ray import RaySettings, ray_executor
        except ImportError:
            print("throughput: Ray is not installed; its rows are missing", flush=True)
        else:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            try:
                factory = ray_executor(RaySettings())
                runs["ray, cold"] = through_runner(url, task_ids, concurrency, factory)
                runs["ray, warm"] = through_runner(url, task_ids, concurrency, factory)
            finally:
                ray.shutdown()
    finally:
        agent.terminate()
        agent.wait(timeout=15)
    n = len(task_ids)
    report: dict[str, Any] = {"tasks": n, "concurrency": concurrency, "runs": {}}
    base = runs["native tau2"][0]
    for name, (seconds, rewards) in runs.items():
        report["runs"][name] = {
            "seconds": round(seconds, 2),
            "trials_per_minute": round(n / seconds * 60, 1),
            "vs_native": round(seconds / base, 2),
            "mean_reward": round(sum(rewards.values()) / len(rewards), 3),
        }
    if "ray, warm" in runs:
        extra = (runs["ray, warm"][0] - runs["local"][0]) / n
        report["ray_overhead_s_per_trial"] = round(extra, 3)
        report["ray_start_s"] = round(runs["ray, cold"][0] - runs["ray, warm"][0], 2)
    return report


def print_report(report: dict[str, Any]) -> None:
    print(
        f"\nevaluation throughput, oracle on airline ({report['tasks']} trials, "
        f"{report['concurrency']} at once)"
    )
    for name, run in report["runs"].items():
        print(
            f"  {name:14} {run['seconds']:7.2f} s  {run['trials_per_minute']:7.1f} trials/min  "
            f"{run['vs_native']:5.2f}x native's time  mean reward {run['mean_reward']:.3f}"
        )
    if "ray_overhead_s_per_trial" in report:
        print(
            f"  Ray's overhead per trial (warm - local): {report['ray_overhead_s_per_trial']:+.3f} s;"
            f" starting Ray and its workers (cold - warm): {report['ray_start_s']:.1f} s"
        )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__)
    parser.add_argument("--tasks", type=int, default=5, help="airline tasks (default: 5)")
    parser.add_argument("--concurrency", type=int, default=2, help="trials at once (default: 2)")
    args = parser.parse_args()
    print_report(measure(args.tasks, args.concurrency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
