"""``tau2observe demo --via-green``: the demo's evaluations asked of the green agent.

The green agent runs in this process on a free loopback port, with the demo's telemetry
(so its spans land in the demo's trace file) and its data under ``<output>/green``.
Each sample agent's evaluation is sent as AgentBeats' structured request, all at once;
the status updates are printed as they stream; the results files the green agent kept
are the ones the report reads.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evaluator.errors import EvaluationError
from evaluator.green.client import Followed, request_assessment

if TYPE_CHECKING:
    from rich.console import Console

    from evaluator.demo import DemoPlan
    from evaluator.results import RunResult
    from proxy.telemetry import Telemetry


def evaluate_via_green(
    plan: DemoPlan, telemetry: Telemetry, agents: Mapping[str, str], err: Console
) -> list[RunResult]:
    """Every agent's evaluation through the green agent, in ``plan.kinds`` order."""
    from evaluator.green.evaluations import EvaluationSettings
    from evaluator.green.server import GreenSettings, serve_in_thread
    from evaluator.results import load_results

    data_dir = plan.output / "green"
    settings = GreenSettings(
        evaluation=EvaluationSettings(
            data_dir=data_dir,
            max_running=len(plan.kinds),
            trial_concurrency=plan.max_concurrency,
            max_tasks=None,
            max_trials=None,
        ),
        port=0,
    )
    with serve_in_thread(settings, telemetry) as green:
        err.print(f"green agent at {green.url} (data in {data_dir})", highlight=False)
        followed = asyncio.run(_assess_all(green.url, plan, agents, err))
    results = []
    for kind in plan.kinds:
        outcome = followed[kind]
        if outcome.state != "completed":
            raise EvaluationError(
                f"{kind}: the green agent's task ended {outcome.state}: {outcome.message}"
            )
        path = data_dir / "runs" / f"{outcome.task_id}.json"
        result = load_results(path)
        shutil.copyfile(path, plan.output / f"results-{result.agent.name}.json")
        results.append(result)
    return results


async def _assess_all(
    url: str, plan: DemoPlan, agents: Mapping[str, str], err: Console
) -> dict[str, Followed]:
    def printer(kind: str) -> Any:
        shown = 0

        def show(followed: Followed) -> None:
            nonlocal shown
            for line in followed.updates[shown:]:
                err.print(f"{kind}: {line}", highlight=False, markup=False)
            shown = len(followed.updates)

        return show

    async def assess(kind: str) -> tuple[str, Followed]:
        request = {
            "participants": {"agent": agents[kind]},
            "config": {
                "domain": plan.domain,
                "num_tasks": plan.num_tasks,
                "num_trials": plan.num_trials,
                "message_format": "tau2",
            },
        }
        return kind, await request_assessment(url, request, on_update=printer(kind))

    return dict(await asyncio.gather(*(assess(kind) for kind in plan.kinds)))
