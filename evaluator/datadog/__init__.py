"""Everything that talks to Datadog itself: the ``[datadog]`` extra (datadog-api-client,
ddtrace). The OTLP path through the collector needs none of it.

Module map:

- :mod:`evaluator.datadog.site`: which API a command talks to (``DD_SITE``, ``DD_HOST``);
- :mod:`evaluator.datadog.api`: the client plumbing written once: the API client, one
  call, and a refusal worded from a table of status hints;
- :mod:`evaluator.datadog.dashboards`: dashboards and monitors as code
  (``tau2observe dashboards``);
- :mod:`evaluator.datadog.push`: the evaluation metrics sent straight to the Metrics API
  (``tau2observe metrics push``);
- :mod:`evaluator.datadog.llmobs`: LLM Observability through ddtrace (``--llmobs``).
"""
