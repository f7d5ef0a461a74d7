"""Plain language through an LLM (litellm), for what the fixed rules do not understand.

Used only when the server has a model (``tau2observe serve --llm MODEL``) and the rules
of :mod:`evaluator.green.words` end in a question. The model is asked for the request's
fields as JSON; its answer is checked before it is used, so it can fill a gap but never
invent one: the agent URL must appear in the requester's words, the domain must be one
this server runs, counts must be whole numbers. What the rules did read wins over the
model. Whatever is still missing is asked, as without a model. A model that fails or
answers nonsense changes nothing (the rules' question stands); its failure is logged
by type only, never with the request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluator.green import words
from evaluator.green.reading import (
    DomainListing,
    Reading,
    ResultsQuery,
    Vocabulary,
)

log = logging.getLogger(__name__)

INTENTS = ("evaluate", "list_domains", "results", "unclear")
PROMPT = """\
You read requests sent to a service that evaluates A2A agents on tau2-bench domains.
Reply with one JSON object and nothing else:
{{"intent": one of {intents},
  "agent_url": the agent's URL copied exactly from the request, or null,
  "domain": one of {domains}, or null,
  "num_tasks": a whole number or null, "num_trials": a whole number or null,
  "task_ids": a list of task ids named in the request, or null,
  "results_task_id": the id of an earlier evaluation whose results are asked for, or null}}
Never invent a value the request does not state: use null."""


@dataclass(frozen=True)
class LlmReader:
    model: str
    llm_args: Mapping[str, Any] = field(default_factory=dict, repr=False)
    timeout_s: float = 30.0

    async def read(self, texts: Sequence[str], vocabulary: Vocabulary) -> Reading | None:
        """The request as the model reads it, checked; None when its answer is unusable."""
        try:
            answer = await asyncio.wait_for(
                asyncio.to_thread(self._ask, texts, vocabulary), self.timeout_s
            )
        except Exception as exc:  # the rules' question stands
            log.warning("the request reader model failed: %s", type(exc).__name__)
            return None
        return interpret(answer, texts, vocabulary)

    def _ask(self, texts: Sequence[str], vocabulary: Vocabulary) -> str:
        import litellm

        system = PROMPT.format(intents=", ".join(INTENTS), domains=", ".join(vocabulary.domains))
        response = litellm.completion(
            model=self.model,
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": "\n".join(texts)},
            ],
            **{"temperature": 0, **dict(self.llm_args)},
        )
        return str(response.choices[0].message.content or "")


def interpret(answer: str, texts: Sequence[str], vocabulary: Vocabulary) -> Reading | None:
    """The model's ``answer``, checked against ``texts`` and merged under the rules' reading."""
    fields = _json_object(answer)
    if fields is None or fields.get("intent") not in INTENTS:
        return None
    intent = fields["intent"]
    if intent == "list_domains":
        return DomainListing()
    if intent == "results":
        task_id = fields.get("results_task_id")
        said = " ".join(texts)
        return ResultsQuery(task_id if isinstance(task_id, str) and task_id in said else None)
    if intent != "evaluate":
        return None
    rules = words.Heard()
    for text in texts:
        rules = rules.merged(words.heard(text, vocabulary))
    model = words.Heard(
        urls=_stated_url(fields.get("agent_url"), texts),
        domains=(fields["domain"],) if fields.get("domain") in vocabulary.domains else (),
        num_tasks=_count(fields.get("num_tasks")),
        num_trials=_count(fields.get("num_trials")),
        task_ids=_stated_ids(fields.get("task_ids"), texts),
        wants_evaluation=True,
    )
    return words.decide(model.merged(rules), vocabulary)


def _json_object(answer: str) -> dict[str, Any] | None:
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", answer.strip())
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _stated_url(url: Any, texts: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return ()
    said = " ".join(texts)
    return (url,) if url.rstrip("/") in said else ()


def _count(value: Any) -> tuple[int, ...]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return (value,) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else ()


def _stated_ids(ids: Any, texts: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(ids, list):
        return ()
    said = " ".join(texts)
    stated = tuple(str(i) for i in ids if isinstance(i, str | int) and str(i) in said)
    return stated if len(stated) == len(ids) else ()
