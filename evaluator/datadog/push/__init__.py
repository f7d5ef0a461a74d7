"""Direct push of evaluation metrics to Datadog's Metrics API, for setups without a collector.

``measurements`` derives, purely, the same metric names, tags and values from a results
file as the evaluator emits over OTLP; ``payloads`` stamps, aggregates and batches them
into request bodies within Datadog's limits; ``api`` is the one module that sends;
``submission`` ties them together; ``cli`` is ``tau2observe metrics push``.
"""
