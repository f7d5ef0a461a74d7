import pytest

from evaluator.green.reading import (
    Assessment,
    DomainListing,
    Question,
    Refused,
    ResultsQuery,
    Vocabulary,
)
from evaluator.green.words import read

VOCABULARY = Vocabulary(
    domains=("airline", "retail", "telecom", "telecom-workflow", "mock", "vacation_rental"),
    message_formats=("tau2", "agentbeats"),
    max_tasks=50,
    max_trials=4,
)


def assessment(*texts: str) -> Assessment:
    reading = read(list(texts), VOCABULARY)
    assert isinstance(reading, Assessment), reading
    return reading


def question(*texts: str) -> str:
    reading = read(list(texts), VOCABULARY)
    assert isinstance(reading, Question), reading
    return reading.text


def test_the_example_phrasing() -> None:
    a = assessment(
        "Evaluate my agent at http://host:9009 on the airline domain with 5 tasks and 2 trials"
    )
    assert (a.agent_url, a.domain, a.num_tasks, a.num_trials) == (
        "http://host:9009",
        "airline",
        5,
        2,
    )
    assert a.task_ids == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run mock against http://127.0.0.1:9019/, three tasks, twice", ("mock", 3, 2)),
        ("Please assess http://a:1 in the retail domain (tasks: 4, trials: 3).", ("retail", 4, 3)),
        ("evaluate http://a:1 on telecom-workflow, 1 task", ("telecom-workflow", 1, 1)),
        ("benchmark http://a:1 on vacation rental with all tasks", ("vacation_rental", None, 1)),
        ("test http://a:1 on the mock domain, pass^2", ("mock", None, 2)),
    ],
)
def test_common_phrasings(text: str, expected: tuple[object, ...]) -> None:
    a = assessment(text)
    assert (a.domain, a.num_tasks, a.num_trials) == expected


def test_task_ids_split_format_and_shard() -> None:
    a = assessment(
        "evaluate http://a:1 on mock, task ids create_task_1, update_task_1 and impossible_task_1,"
        " 2 trials, agentbeats format, shard 1/2, test split, seed 7, max steps 30"
    )
    assert a.task_ids == ("create_task_1", "update_task_1", "impossible_task_1")
    assert (a.num_trials, a.message_format, a.shard, a.task_split) == (
        2,
        "agentbeats",
        (1, 2),
        "test",
    )
    assert (a.seed, a.max_steps) == (7, 30)
    assert assessment("evaluate http://a:1 on airline, task 5 and 2 trials").task_ids == ("5",)
    assert assessment("evaluate http://a:1 on airline, tasks 3 and 7").task_ids == ("3", "7")


def test_a_domain_inside_the_url_is_not_the_domain() -> None:
    text = question("evaluate http://mock-agent:9009/ please")
    assert "Which domain: airline, retail" in text
    assert "So far I have: agent http://mock-agent:9009/" in text


def test_missing_agent_asks_for_the_url_and_an_answer_completes_the_request() -> None:
    first = "Evaluate my agent on the airline domain with 5 tasks"
    assert "Which agent? Give its A2A URL" in question(first)
    a = assessment(first, "it is at http://127.0.0.1:9009")
    assert (a.agent_url, a.domain, a.num_tasks) == ("http://127.0.0.1:9009", "airline", 5)


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("evaluate http://a:1 and http://b:2 on mock", "which one is the agent"),
        ("evaluate http://a:1 on airline or retail", "Which domain: airline or retail?"),
        ("evaluate http://a:1 on the banking domain", "I do not run a domain 'banking'"),
        ("evaluate http://a:1 on mock with 5 tasks, no, 3 tasks", "How many tasks: 5 or 3?"),
        ("hello there", "I evaluate A2A agents"),
    ],
)
def test_ambiguous_or_incomplete_requests_get_a_question_not_a_guess(text: str, asked: str) -> None:
    assert asked in question(text)


def test_a_later_answer_overrides_the_ambiguity() -> None:
    a = assessment("evaluate http://a:1 on airline or retail", "retail")
    assert a.domain == "retail"


def test_domains_and_results_in_words() -> None:
    assert read(["which domains can you run?"], VOCABULARY) == DomainListing()
    assert read(["show the latest results"], VOCABULARY) == ResultsQuery(None)
    task = "0b1e2c3d-1111-2222-3333-444455556666"
    assert read([f"results of {task}"], VOCABULARY) == ResultsQuery(task)


def test_limits_and_bad_shards_are_refused() -> None:
    with pytest.raises(
        Refused, match="too many trials: num_trials 9 is over this server's limit of 4"
    ):
        read(["evaluate http://a:1 on mock with 9 trials"], VOCABULARY)
    with pytest.raises(Refused, match="too many tasks: 60 asked for"):
        read(["evaluate http://a:1 on airline with 60 tasks"], VOCABULARY)
    with pytest.raises(Refused, match="0-based"):
        read(["evaluate http://a:1 on mock, shard 1 of 2"], VOCABULARY)
    with pytest.raises(Refused, match="0-based"):
        read(["evaluate http://a:1 on mock, shard 2/2"], VOCABULARY)
