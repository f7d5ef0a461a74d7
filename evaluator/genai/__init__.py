"""OpenTelemetry GenAI telemetry of the LLM calls the product makes, and of its verdicts.

Module map:

- :mod:`evaluator.genai.chat`: what a ``chat`` client span says about one litellm call
  (pure functions over its arguments and response);
- :mod:`evaluator.genai.instrument`: the spans and GenAI client metrics around a call,
  and the routing of tau2's user-simulator calls through them;
- :mod:`evaluator.genai.evaluation`: a trial's reward and outcome as
  ``gen_ai.evaluation.result`` events (and a run's scores, for LLM Observability);
- :mod:`evaluator.genai.run`: the four calls the runner makes per run.

Vendor-neutral: Datadog's LLM Observability reads these spans as they are; the ddtrace
path lives in :mod:`evaluator.datadog.llmobs`.
"""
