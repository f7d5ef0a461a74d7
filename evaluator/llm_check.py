"""Is an LLM configured? Checked before a run or an agent starts, not after it has failed.

litellm knows which credentials each provider needs (``validate_environment``). A model
counts as configured when those are in the environment, or when the litellm arguments
given on the command line carry them (``api_key``), point at a server of their own
(``api_base``: a local OpenAI-compatible server needs no key), or ask litellm for a
canned answer (``mock_response``).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping
from typing import Any

from proxy.errors import UsageError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

SELF_CONFIGURED_ARGS = ("api_key", "api_base", "base_url", "mock_response")


def missing_credentials(model: str, llm_args: Mapping[str, Any]) -> list[str]:
    """The environment variables ``model`` still needs (empty when it is configured).

    Raises :class:`UsageError` when litellm does not know the model's provider.
    """
    import litellm

    if any(llm_args.get(key) for key in SELF_CONFIGURED_ARGS):
        return []
    with contextlib.redirect_stdout(io.StringIO()):  # litellm prints a banner on failure
        try:
            litellm.get_llm_provider(model=model)
        except Exception as exc:
            raise UsageError(
                f"{model!r}: litellm does not know this model's provider ({exc}); "
                "write it as provider/model, e.g. openai/gpt-4.1"
            ) from None
        found = litellm.validate_environment(model=model)
    return [str(key) for key in found.get("missing_keys") or []]


def check_llm(model: str | None, llm_args: Mapping[str, Any], *, option: str) -> None:
    """Raise :class:`UsageError` naming ``option`` and what is missing, if anything is."""
    if not model:
        raise UsageError(f"{option}: a litellm model name is needed (e.g. openai/gpt-4.1)")
    missing = missing_credentials(model, llm_args)
    if missing:
        args_option = "--llm-args" if option == "--model" else "--user-llm-args"
        raise UsageError(
            f"{option} {model}: not configured: set {' and '.join(missing)} in the "
            f"environment, or pass api_key (or api_base for a local server) in {args_option}"
        )
