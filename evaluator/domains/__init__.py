"""tau2 domains from outside tau2: folders loaded into tau2's registry at run time.

    folder.py         a domain folder's layout, the TAU2OBSERVE_DOMAINS search path (no tau2)
    registration.py   --domain NAME|PATH -> a name registered in tau2's registry
    check.py          tau2observe domain check: is every task passable, graded as meant?
    cli.py            the `tau2observe domain` subcommand
    vacation_rental/  the built-in domain: hosts with profiles, guests, refund tiers

The evaluator reaches these through :mod:`evaluator.tau2_adapter` (``use_domain``), the
sample agents through :mod:`evaluator.agents.tau2_tasks`.
"""
