"""Reading a request: the structured route (a data part, or text that is JSON) or the words
route, earlier messages of the task, what an assessment says of itself, masking. Pure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator.green.reading import (
    Assessment,
    DomainListing,
    MessageContent,
    Question,
    Refused,
    ResultsQuery,
    Vocabulary,
    masked,
    read_request,
    structured_object,
    structured_object_or_none,
)

URL = "http://127.0.0.1:9019/"
VOCABULARY = Vocabulary(domains=("mock", "airline"), message_formats=("tau2", "agentify"))
REQUEST = {"participants": {"agent": URL}, "config": {"domain": "mock", "num_tasks": 2}}


def words(*texts: str) -> MessageContent:
    return MessageContent(texts=texts)


def test_the_text_of_a_message_skips_blank_parts() -> None:
    assert words("one", "  ", "two").text == "one\ntwo"
    assert MessageContent().text == ""


def test_a_data_part_or_json_text_is_the_structured_object() -> None:
    assert structured_object(MessageContent(data=(REQUEST,))) == REQUEST
    assert structured_object(words("  " + json.dumps(REQUEST))) == REQUEST
    assert structured_object(words("evaluate my agent")) is None


def test_a_data_part_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(Refused, match=r"the data part must be a JSON object .* not list"):
        structured_object(MessageContent(data=([1, 2],)))


def test_malformed_json_is_refused_with_its_position() -> None:
    with pytest.raises(Refused, match=r"malformed JSON in the request: .* line 2 column \d+"):
        structured_object(words('{"config":\n {'))
    assert structured_object_or_none(words('{"config": {')) is None


def test_json_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(Refused, match="the request must be a JSON object such as"):
        structured_object(words("[1, 2]"))


def test_a_structured_request_is_read_as_an_assessment() -> None:
    reading = read_request(MessageContent(data=(REQUEST,)), [], VOCABULARY)
    assert isinstance(reading, Assessment)
    assert (reading.agent_url, reading.domain, reading.num_tasks) == (URL, "mock", 2)
    assert reading.role == "agent"


def test_a_structured_request_with_an_unknown_key_names_it() -> None:
    with pytest.raises(Refused, match="unknown key"):
        read_request(words(json.dumps({**REQUEST, "extra": 1})), [], VOCABULARY)


def test_words_are_read_by_the_rules() -> None:
    reading = read_request(
        words(f"Evaluate my agent at {URL} on mock with 2 tasks"), [], VOCABULARY
    )
    assert isinstance(reading, Assessment)
    assert (reading.agent_url, reading.domain, reading.num_tasks, reading.role) == (
        URL, "mock", 2, None,
    )  # fmt: skip
    assert isinstance(
        read_request(words("which domains can you run?"), [], VOCABULARY), DomainListing
    )
    assert isinstance(read_request(words("show me the results"), [], VOCABULARY), ResultsQuery)


def test_what_is_missing_is_asked_and_the_answer_completes_it() -> None:
    first = words("Please evaluate my agent with 1 task")
    question = read_request(first, [], VOCABULARY)
    assert isinstance(question, Question)
    assert "Which agent?" in question.text
    answered = read_request(words(f"{URL}, mock"), [first], VOCABULARY)
    assert isinstance(answered, Assessment)
    assert (answered.agent_url, answered.domain, answered.num_tasks) == (URL, "mock", 1)


def test_earlier_structured_messages_are_not_read_as_words() -> None:
    # read as words, the later JSON would override "mock" with "airline"
    earlier = [words("on mock please"), words(json.dumps({"config": {"domain": "airline"}}))]
    reading = read_request(words(f"evaluate {URL}"), earlier, VOCABULARY)
    assert isinstance(reading, Assessment)
    assert reading.domain == "mock"


def test_an_assessment_describes_itself_without_credentials() -> None:
    full = Assessment(
        URL,
        "airline",
        num_tasks=2,
        num_trials=3,
        task_ids=("1", "2", "5"),
        task_split="test",
        shard=(0, 2),
        user_llm="openai/gpt-4.1",
        user_llm_args={"api_key": "sk-secret"},
    )
    assert full.describe() == (
        f"agent {URL}: domain airline, tasks 1, 2, 5 (the first 2), 3 trial(s) each, "
        "split test, shard 0 of 2 (0-based), user LLM openai/gpt-4.1"
    )
    assert "sk-secret" not in full.describe() + repr(full)
    assert (
        Assessment(URL, "mock").describe()
        == f"agent {URL}: domain mock, all tasks, 1 trial(s) each"
    )
    assert "4 tasks" in Assessment(URL, "mock", num_tasks=4).describe()


def test_masked_hides_the_user_llm_credentials_only() -> None:
    request: dict[str, Any] = {
        "participants": {"agent": URL},
        "config": {"domain": "mock", "user_llm_args": {"api_key": "sk-secret", "temperature": 0}},
    }
    hidden = masked(request)
    assert hidden["config"]["user_llm_args"] == {"api_key": "***", "temperature": 0}
    assert hidden["config"]["domain"] == "mock"
    assert request["config"]["user_llm_args"]["api_key"] == "sk-secret"  # a copy, not in place
    assert masked(REQUEST) is REQUEST
    assert masked([1]) == [1]
