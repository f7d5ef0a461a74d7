"""tau2observe's evaluator: tau2-bench against any A2A agent, with evaluation metrics.

cli.py            ``tau2observe``: one module per subcommand (eval_cli, export_cli,
                  merge_cli, demo; the wings' own cli modules)

the evaluation core
  config.py         an evaluation's settings, typed and validated; the resume identity
  runner.py         run_evaluation: units of work -> trial results, file written as
                    trials end; the trial and run spans
  tau2_adapter.py   the one module that imports tau2: orchestrator, evaluator, tasks,
                    tau2's results format
  a2a_conversation.py, formats.py, scripted_user.py, event_loop.py
                    talking to the purple agent in each evaluator's dialect
  summary.py        who is to blame for a failure, and every figure of a run
  scoring.py        one pure function per metric (pass^k, intervals, ...)
  results.py        the results file (schema 2), written and read back
  merging.py        shard results joined into one run
  measurements.py, telemetry.py, attributes.py   the evaluation metrics and spans
  progress.py, llm_check.py, errors.py

wings
  executors/   where units run: local threads, Ray
  domains/     domains from folders; the built-in vacation_rental
  agents/      sample purple agents (oracle, flawed, noop, llm, always-approve/deny)
  green/       the evaluator as an A2A green agent (tau2observe serve, scenario run)
  genai/       OTel GenAI spans and metrics of every LLM call, rewards as evaluations
  report/      the HTML report
  datadog/     what talks to Datadog itself (the [datadog] extra): dashboards and
               monitors as code, the direct metrics push, ddtrace LLM Observability
"""
