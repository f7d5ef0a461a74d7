"""Datadog dashboards and monitors as code: validate, diff, apply, export.

Definitions live in the repository's ``dashboards/`` folder as the JSON the Datadog API
takes; ``dashboards/metrics.yaml`` is the catalogue every query is checked against. Pure
modules (catalogue, definitions, schema, queries, plan) decide; ``client`` is the only
one that talks to Datadog, and ``apply`` wires the two together.
"""
