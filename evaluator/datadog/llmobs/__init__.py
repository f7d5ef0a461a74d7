"""Datadog LLM Observability through ddtrace: the vendor edge, optional (``--llmobs``).

Module map:

- :mod:`evaluator.datadog.llmobs.settings`: when it is on, and the key, site and ml_app;
- :mod:`evaluator.datadog.llmobs.session`: enabling ddtrace without touching our OTel tracing
  (agentless, APM off, litellm patched alone, no telemetry or remote configuration);
- :mod:`evaluator.datadog.llmobs.run`: an evaluation run as workflow, task and agent spans,
  with the rewards as evaluations;
- :mod:`evaluator.datadog.llmobs.ingestion`: the resource attribute that tells Datadog whether to
  turn our OTel GenAI spans into LLM Observability spans (never both paths at once);
- :mod:`evaluator.datadog.llmobs.cli`: the ``--llmobs`` option of ``eval``, ``agent`` and ``demo``.
"""
