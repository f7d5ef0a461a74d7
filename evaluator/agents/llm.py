"""An agent backed by any litellm model, for real runs.

The opening message is split into a system prompt (policy, tools, how to answer) and
the user's first words; every later message is a user turn. The model is expected to
follow the evaluator's format instructions, so its answer goes back unchanged, in
whichever format the evaluator asked for. ``llm_args`` go to ``litellm.acompletion`` as
keyword arguments (``temperature``, ``api_base``, or ``mock_response`` to run offline).
A model failure goes back as a JSON-RPC internal error naming the model and the error
type (never the provider's message, which may quote credentials).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from evaluator.agents.contexts import ContextBook
from evaluator.agents.scripted import DEFAULT_MAX_CONTEXTS, NO_TEXT_REPLY
from evaluator.agents.wire import parse_opening
from evaluator.genai.instrument import ATTR_LLM_ROLE, ROLE_AGENT, ChatInstrumentation

log = logging.getLogger(__name__)

FALLBACK_SYSTEM_PROMPT = "You are a helpful customer service agent."
EMPTY_ANSWER_REPLY = "I'm sorry, I don't have an answer to that."

Message = dict[str, str]


def opening_messages(text: str) -> list[Message]:
    """System prompt and first user turn from an opening message in either format."""
    opening = parse_opening(text)
    if opening is None or not opening.user_text:
        return [
            {"role": "system", "content": FALLBACK_SYSTEM_PROMPT},
            {"role": "user", "content": text},
        ]
    return [
        {"role": "system", "content": opening.instructions},
        {"role": "user", "content": opening.user_text},
    ]


class LlmAgent:
    def __init__(
        self,
        model: str,
        llm_args: Mapping[str, Any] | None = None,
        max_contexts: int = DEFAULT_MAX_CONTEXTS,
        *,
        chat: ChatInstrumentation | None = None,
        name: str = "tau2observe-llm",
    ) -> None:
        self.model = model
        self.llm_args = dict(llm_args or {})
        self.chat = chat
        self.name = name
        self.contexts: ContextBook[list[Message]] = ContextBook(max_contexts)

    async def reply(self, context_id: str, text: str) -> str:
        if not text.strip():
            return NO_TEXT_REPLY
        history = self.contexts.get(context_id)
        turn = opening_messages(text) if history is None else [{"role": "user", "content": text}]
        prior = history or []
        try:
            answer = await self._complete([*prior, *turn])
        except Exception as exc:
            # A JSON-RPC error, not an apology: the evaluator must see that the model failed,
            # not score a polite non-answer as the agent's reply.
            from a2a.utils.errors import InternalError

            log.warning("model %s failed: %s", self.model, type(exc).__name__)
            log.debug("model %s failure", self.model, exc_info=True)
            raise InternalError(f"model {self.model} failed: {type(exc).__name__}") from None
        answer = answer.strip() or EMPTY_ANSWER_REPLY
        self.contexts.put(context_id, [*prior, *turn, {"role": "assistant", "content": answer}])
        return answer

    async def _complete(self, messages: list[Message]) -> str:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        if self.chat is None:
            response = await litellm.acompletion(
                model=self.model, messages=messages, **self.llm_args
            )
        else:  # a GenAI chat span in the caller's trace, with the client metrics
            response = await self.chat.acomplete(
                litellm.acompletion,
                {"gen_ai.agent.name": self.name, ATTR_LLM_ROLE: ROLE_AGENT},
                model=self.model,
                messages=messages,
                **self.llm_args,
            )
        content = response.choices[0].message.content
        return content if isinstance(content, str) else ""
