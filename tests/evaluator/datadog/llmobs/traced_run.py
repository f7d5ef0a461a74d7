"""A small evaluation run through ddtrace's LLM Observability, in a process of its own.

ddtrace's LLM Observability is process-wide: enabling it rewrites ``os.environ``
(:data:`evaluator.datadog.llmobs.session.FORCED_ENVIRONMENT`) and patches litellm for good,
so the tests start it here, in a child process, never in pytest's. Run as
``python -m tests.evaluator.datadog.llmobs.traced_run`` with ``DD_*`` pointing at a
:class:`~tests.fakes.llmobs_intake.LLMObsIntake`; it starts LLM Observability through the
``--llmobs`` option, traces a run of two trials on two threads (one A2A turn each), and
prints a JSON report of what the session did on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from evaluator.datadog.llmobs import cli, session
from evaluator.datadog.llmobs.run import LLMObsRun, agent_turn
from tests.evaluator.runs import synthetic_run

ML_APP = "tau2-unit"
AGENT = "sample-agent"


def main() -> int:
    parser = argparse.ArgumentParser()
    cli.add_option(parser)
    started = cli.start_from_args(parser.parse_args(sys.argv[1:]), ML_APP)
    if started is None:
        print(json.dumps({"started": False}))
        return 0
    again = session.start(started.settings)
    result = synthetic_run(2)
    run = LLMObsRun(started, result.run_id, result.domain, AGENT)

    def trial(index: int) -> None:
        record = result.trials[index]
        with (
            run.trial(record.task_id, record.trial, record.trace_id),
            agent_turn(AGENT, 0, f"hello from trial {index}") as turn,
        ):
            turn.replied(f"reply to trial {index}")
        run.trial_finished(record)

    threads = [threading.Thread(target=trial, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.finish(result.summary)
    run.finish(result.summary)  # once only
    current_before = session.current() is started
    started.shutdown()
    started.shutdown()  # twice is fine
    report = {
        "started": True,
        "ml_app": started.settings.ml_app,
        "same_session": again is started,
        "current_before": current_before,
        "current_after": session.current() is None,
        "forced": {k: os.environ.get(k) for k in session.FORCED_ENVIRONMENT},
        "trials": [
            {"task_id": t.task_id, "trial": t.trial, "trace_id": t.trace_id,
             "reward": t.reward, "termination": t.termination_reason}
            for t in result.trials
        ],
        "run_id": result.run_id,
        "average_reward": result.summary.average_reward,
        "pass_hat_k": {str(k): v for k, v in result.summary.pass_hat_k.items()},
    }  # fmt: skip
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
