"""The LLM's reading is checked against the requester's words before it is used."""

from __future__ import annotations

import json

from evaluator.green.llm_reader import interpret
from evaluator.green.reading import Assessment, DomainListing, Question, ResultsQuery, Vocabulary

VOCABULARY = Vocabulary(domains=("airline", "mock"), message_formats=("tau2",))
WORDS = ["please give the bot at http://10.0.0.5:9019 a go on the toy benchmark, 3 of them"]


def answer(**fields: object) -> str:
    return json.dumps({"intent": "evaluate", **fields})


def test_the_model_fills_what_the_rules_missed() -> None:
    reading = interpret(
        answer(agent_url="http://10.0.0.5:9019", domain="mock", num_tasks=3), WORDS, VOCABULARY
    )
    assert isinstance(reading, Assessment)
    assert (reading.agent_url, reading.domain, reading.num_tasks) == (
        "http://10.0.0.5:9019", "mock", 3,
    )  # fmt: skip


def test_an_invented_url_or_domain_is_not_used() -> None:
    reading = interpret(
        answer(agent_url="http://elsewhere:1", domain="mock"), ["run it"], VOCABULARY
    )
    assert isinstance(reading, Question)
    assert "Which agent?" in reading.text
    reading = interpret(
        answer(agent_url="http://10.0.0.5:9019", domain="banking"), WORDS, VOCABULARY
    )
    assert isinstance(reading, Question)
    assert "Which domain" in reading.text


def test_other_intents_and_nonsense() -> None:
    assert (
        interpret('```json\n{"intent": "list_domains"}\n```', ["?"], VOCABULARY) == DomainListing()
    )
    assert interpret(json.dumps({"intent": "results"}), ["how did it go"], VOCABULARY) == (
        ResultsQuery(None)
    )
    assert interpret("I think you want an evaluation", WORDS, VOCABULARY) is None
    assert interpret(json.dumps({"intent": "dance"}), WORDS, VOCABULARY) is None
