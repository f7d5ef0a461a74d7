"""tau2observe's A2A observability sidecar: a transparent reverse proxy that records spans.

It installs and runs without the evaluator (``pip install tau2observe``), and imports
nothing from it. The walk of one request::

    server.py       listener -> classify -> forward -> capture -> export   (the only I/O)
     ├─ connections.py   the listener's limits: connection cap, header and idle deadlines
     ├─ http.py          HTTP facts: hop-by-hop headers, decompression, body limits
     ├─ a2a.py           A2A facts as data: methods, bindings, error codes, task states
     ├─ card.py          agent cards rewritten so every endpoint points at the sidecar
     └─ guard.py         the telemetry boundary: nothing it guards can fail a request

    pure readers of what went over the wire
      jsonrpc.py       bodies -> request and result views (never raises)
      sse.py           incremental server-sent events
      toollens.py      tool calls in a reply, judged as each tau2 evaluator would
      conventions.py   the three evaluator dialects, by name
      exchange.py      one exchange, and the span attributes it yields
      redact.py        the one redaction rule for spans, logs, content and the access log

    telemetry (off the request path)
      conversation.py  one trace per contextId for clients without traceparent
      recorder.py      exchanges -> spans and metrics (the only user of the OTel API)
      telemetry.py     providers, exporters and the OTLP/JSON trace file
      otlp_json.py     spans encoded as they end
      otlp_reach.py    a down OTLP endpoint: one warning, skipped at once
      semconv.py       attribute keys and service names
      instruments.py   every metric instrument (sidecar, evaluator, GenAI) in one table,
                       checked against dashboards/metrics.yaml

    settings.py, errors.py, cli.py (``tau2observe proxy``, ``python -m proxy``, and the
    command runner every subcommand uses)
"""

__version__ = "0.1.0"
