import json
from typing import Any

import pytest

from evaluator.green.reading import (
    Assessment,
    MessageContent,
    Refused,
    Vocabulary,
    masked,
    read_request,
)
from evaluator.green.structured import CONFIG_KEYS, read

VOCABULARY = Vocabulary(
    domains=("airline", "mock"), message_formats=("tau2", "agentbeats"), max_tasks=20, max_trials=3
)


def test_the_agentbeats_request_with_every_key() -> None:
    request = {
        "participants": {"agent": "http://127.0.0.1:9019/"},
        "config": {
            "domain": "mock", "num_tasks": 5.0, "num_trials": 2, "task_ids": [1, "b"],
            "task_split": "base", "max_steps": 30, "user_llm": "openai/gpt-4.1",
            "user_llm_args": {"temperature": 0.0}, "message_format": "agentbeats",
            "seed": 7, "shard_index": 1, "num_shards": 2, "num_instances": 2,
        },
    }  # fmt: skip
    a = read(request, VOCABULARY)
    assert (a.agent_url, a.role, a.domain, a.num_tasks, a.num_trials) == (
        "http://127.0.0.1:9019/", "agent", "mock", 5, 2,
    )  # fmt: skip
    assert a.task_ids == ("1", "b")
    assert (a.shard, a.seed, a.max_steps, a.message_format) == ((1, 2), 7, 30, "agentbeats")
    assert (a.user_llm, dict(a.user_llm_args), a.num_instances) == (
        "openai/gpt-4.1", {"temperature": 0.0}, 2,
    )  # fmt: skip


def test_the_only_participant_is_the_agent_whatever_its_role() -> None:
    a = read(
        {"participants": {"purple": "https://x.example"}, "config": {"domain": "mock"}}, VOCABULARY
    )
    assert (a.role, a.agent_url) == ("purple", "https://x.example")


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        ({"config": {"domain": "mock"}}, 'no agent URL: the request needs "participants"'),
        ({"participants": {}, "config": {"domain": "mock"}}, "no agent URL"),
        ({"participants": {"a": "http://a", "b": "http://b"}, "config": {"domain": "mock"}},
         "name the agent under test with the role 'agent'"),
        ({"participants": {"agent": "ftp://a"}, "config": {"domain": "mock"}},
         "participants.agent: 'ftp://a' is not an http:// or https:// URL"),
        ({"participants": {"agent": "http://a"}, "config": {}}, "config.domain is required"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "banking"}},
         "config.domain 'banking': unknown domain; this server runs airline, mock"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "tasks": 3}},
         "unknown config key(s) 'tasks'; accepted: " + ", ".join(CONFIG_KEYS)),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock"}, "x": 1},
         "unknown key(s) 'x' in the request"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "num_trials": 4}},
         "too many trials: config.num_trials 4 is over this server's limit of 3"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "num_tasks": 21}},
         "too many tasks: 21 asked for, over this server's limit of 20"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "num_tasks": 0}},
         "config.num_tasks 0: must be at least 1"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "num_tasks": "5"}},
         "config.num_tasks must be a whole number, not '5'"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "shard_index": 2,
                                                             "num_shards": 2}},
         "config.shard_index 2: 0-based, so 0 to 1 for 2 shards"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "shard_index": 0}},
         "config.shard_index needs config.num_shards"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock",
                                                             "message_format": "xml"}},
         "config.message_format 'xml': use one of tau2, agentbeats"),
        ({"participants": {"agent": "http://a"}, "config": {"domain": "mock", "task_ids": "1"}},
         "config.task_ids must be a list"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_with_the_reason(request_: dict[str, Any], problem: str) -> None:
    with pytest.raises(Refused) as caught:
        read(request_, VOCABULARY)
    assert problem in str(caught.value)


def test_the_same_request_as_text_or_as_a_data_part() -> None:
    request = {"participants": {"agent": "http://a/"}, "config": {"domain": "mock", "num_tasks": 2}}
    as_text = read_request(MessageContent(texts=(json.dumps(request),)), [], VOCABULARY)
    as_data = read_request(MessageContent(data=(request,)), [], VOCABULARY)
    assert isinstance(as_text, Assessment)
    assert as_text == as_data


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (MessageContent(texts=('{"participants": {"agent": "http://a"}, "config": ',)),
         "malformed JSON in the request: Expecting value at line 1 column"),
        (MessageContent(texts=("[1, 2]",)), "the request must be a JSON object"),
        (MessageContent(data=([1],)), "the data part must be a JSON object"),
    ],
)  # fmt: skip
def test_malformed_structured_requests(content: MessageContent, problem: str) -> None:
    with pytest.raises(Refused) as caught:
        read_request(content, [], VOCABULARY)
    assert problem in str(caught.value)


def test_credentials_in_a_request_are_masked_for_storage() -> None:
    request: dict[str, Any] = {
        "participants": {"agent": "http://a"},
        "config": {"domain": "mock", "user_llm_args": {"api_key": "sk-1", "temperature": 0}},
    }
    assert masked(request)["config"]["user_llm_args"] == {"api_key": "***", "temperature": 0}
    assert request["config"]["user_llm_args"]["api_key"] == "sk-1"  # the original is untouched
