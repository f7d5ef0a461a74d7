"""The ``--llmobs`` option, shared by ``eval``, ``agent`` and ``demo``.

``add_option(parser)`` registers it; ``start_from_args(args, ml_app)`` turns LLM
Observability on when the option or ``DD_LLMOBS_ENABLED`` asks for it, and must run
before anything imports tau2 (see :mod:`evaluator.datadog.llmobs.session`).
"""

from __future__ import annotations

import argparse
import os

from evaluator.datadog.llmobs.session import LLMObsSession, start
from evaluator.datadog.llmobs.settings import LLMObsSettings

DEFAULT_ML_APP = "tau2observe"
HELP = (
    "also send LLM calls, trials and rewards to Datadog LLM Observability with ddtrace "
    "(agentless; needs DD_API_KEY, optional DD_SITE and DD_LLMOBS_ML_APP; "
    "DD_LLMOBS_ENABLED=1 does the same)"
)


def add_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--llmobs", action="store_true", help=HELP)


def start_from_args(args: argparse.Namespace, ml_app: str) -> LLMObsSession | None:
    """Start LLM Observability if asked; raises SettingsError naming a bad variable."""
    settings = LLMObsSettings.from_env(bool(getattr(args, "llmobs", False)), ml_app, os.environ)
    return None if settings is None else start(settings)
