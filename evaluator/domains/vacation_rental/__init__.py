"""The vacation_rental domain: a support agent acting for hosts under platform policy.

Data (``db.json``, ``tasks.json``, ``split_tasks.json``), policy (``policy.md``) and
tools (:mod:`.tools`) follow the domain folder layout of :mod:`evaluator.domains.folder`.
"""
