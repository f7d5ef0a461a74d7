"""Plain-language requests, read by fixed rules. Pure and deterministic.

Understands the common phrasings, for example::

    Evaluate my agent at http://host:9009 on the airline domain with 5 tasks and 2 trials
    run the mock domain against http://127.0.0.1:9019/, task ids create_task_1 and update_task_1
    which domains can you run?            show the results of <task id>

Each of the requester's messages in a task is read into :class:`Heard` (what it says,
field by field); a later message overrides an earlier one, so answering a question
("which domain?" -> "retail") completes the request. What is missing or ambiguous (two
URLs, two domains, a domain this server lacks) becomes a :class:`Question`, never a
guess. :func:`heard` is also what the LLM fallback's answer is checked against.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from evaluator.green.reading import (
    Assessment,
    DomainListing,
    Question,
    Reading,
    Refused,
    ResultsQuery,
    Vocabulary,
)
from evaluator.green.structured import check_limits

EXAMPLE = '"Evaluate my agent at http://host:9009 on the airline domain with 5 tasks and 2 trials"'
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twenty": 20,
}  # fmt: skip
_NUMBER = r"(\d+|" + "|".join(k for k in NUMBERS if len(k) > 2) + r")"
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TASK_ID = r"[A-Za-z0-9][\w.\-]*"
_ID_LIST = rf"({_TASK_ID}(?:\s*(?:,\s*(?:and\s+)?|\band\b\s*)\s*{_TASK_ID})*)"
_A2A_TASK_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_EVALUATE = re.compile(r"\b(evaluat\w*|assess\w*|benchmark\w*|test|run|score|grade)\b", re.I)
_DOMAINS_ASKED = re.compile(r"\bdomains\b|\bwhat\s+domain|\bwhich\s+domain", re.I)
_RESULTS_ASKED = re.compile(r"\bresults?\b|\bscores?\b|\bhow\s+did\b", re.I)


@dataclass(frozen=True)
class Heard:
    """What one message says, field by field (None: it does not say)."""

    urls: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    unknown_domain: str | None = None
    num_tasks: tuple[int, ...] = ()
    all_tasks: bool = False
    num_trials: tuple[int, ...] = ()
    task_ids: tuple[str, ...] = ()
    task_split: str | None = None
    message_format: str | None = None
    shard: tuple[int, int] | None = None
    user_llm: str | None = None
    max_steps: int | None = None
    seed: int | None = None
    wants_evaluation: bool = False
    wants_domains: bool = False
    wants_results: bool = False
    a2a_task_id: str | None = None

    def merged(self, later: Heard) -> Heard:
        """``later`` over this: each field it says replaces this one's."""
        changes = {}
        for f in fields(self):
            value = getattr(later, f.name)
            if value not in (None, (), False):
                changes[f.name] = value
        if later.num_tasks or later.all_tasks or later.task_ids:
            changes.setdefault("num_tasks", later.num_tasks)
            changes["all_tasks"] = later.all_tasks
        return replace(self, **changes)


def read(texts: Sequence[str], vocabulary: Vocabulary) -> Reading:
    """The request made by ``texts`` (the requester's messages, oldest first)."""
    said = Heard()
    for text in texts:
        said = said.merged(heard(text, vocabulary))
    return decide(said, vocabulary)


def decide(said: Heard, vocabulary: Vocabulary) -> Reading:
    """A complete, unambiguous request, or the question that makes it so."""
    if not said.urls and not said.wants_evaluation:
        if said.wants_domains:
            return DomainListing()
        if said.wants_results:
            return ResultsQuery(said.a2a_task_id)
        return Question(
            "I evaluate A2A agents on tau2-bench domains. Ask me, for example, "
            f"{EXAMPLE}; or 'which domains can you run?'; or 'show the latest results'."
        )
    problems = _problems(said, vocabulary)
    if problems:
        return Question(_question(said, problems))
    assessment = Assessment(
        agent_url=said.urls[0],
        domain=said.domains[0],
        num_tasks=None if said.all_tasks or not said.num_tasks else said.num_tasks[0],
        num_trials=said.num_trials[0] if said.num_trials else 1,
        task_ids=said.task_ids,
        task_split=said.task_split,
        max_steps=said.max_steps,
        user_llm=said.user_llm,
        message_format=said.message_format,
        shard=said.shard,
        seed=said.seed,
    )
    check_limits(assessment, vocabulary)
    return assessment


def _problems(said: Heard, vocabulary: Vocabulary) -> list[str]:
    problems = []
    if not said.urls:
        problems.append("Which agent? Give its A2A URL, such as http://127.0.0.1:9009/.")
    elif len(said.urls) > 1:
        problems.append(
            f"I see several URLs ({', '.join(said.urls)}): which one is the agent to evaluate?"
        )
    known = ", ".join(vocabulary.domains)
    if len(said.domains) > 1:
        problems.append(f"Which domain: {' or '.join(said.domains)}?")
    elif not said.domains and said.unknown_domain:
        problems.append(f"I do not run a domain {said.unknown_domain!r}; which of {known}?")
    elif not said.domains:
        problems.append(f"Which domain: {known}?")
    if len(set(said.num_tasks)) > 1:
        problems.append(f"How many tasks: {' or '.join(map(str, dict.fromkeys(said.num_tasks)))}?")
    if len(set(said.num_trials)) > 1:
        problems.append(
            f"How many trials per task: {' or '.join(map(str, dict.fromkeys(said.num_trials)))}?"
        )
    return problems


def _question(said: Heard, problems: list[str]) -> str:
    understood = []
    if len(said.urls) == 1:
        understood.append(f"agent {said.urls[0]}")
    if len(said.domains) == 1:
        understood.append(f"domain {said.domains[0]}")
    if len(set(said.num_tasks)) == 1:
        understood.append(f"{said.num_tasks[0]} tasks")
    if said.task_ids:
        understood.append(f"tasks {', '.join(said.task_ids)}")
    if len(set(said.num_trials)) == 1:
        understood.append(f"{said.num_trials[0]} trials per task")
    so_far = f"So far I have: {', '.join(understood)}. " if understood else ""
    return f"{so_far}{' '.join(problems)} (Answer in this task; or start over with {EXAMPLE}.)"


def heard(text: str, vocabulary: Vocabulary) -> Heard:
    """What ``text`` says; refuses a shard written the wrong way."""
    urls = tuple(dict.fromkeys(_clean_url(u) for u in _URL.findall(text)))
    rest = _URL.sub(" ", text)  # a URL's host may look like a domain name ("mock-agent")
    low = rest.lower()
    domains, unknown = _domains(low, vocabulary)
    task_ids = _task_ids(rest)
    a2a_task = _A2A_TASK_ID.search(low)
    return Heard(
        urls=urls,
        domains=domains,
        unknown_domain=unknown,
        num_tasks=_numbers(low, r"{n}\s+(?:\w+\s+)?tasks?\b", r"\btasks?\s*[:=]\s*{n}\b"),
        all_tasks=bool(re.search(r"\b(all|every)\s+(?:the\s+|of\s+the\s+)?tasks?\b", low)),
        num_trials=_trials(low),
        task_ids=task_ids,
        task_split=_word(low, rf"\b({_TASK_ID})\s+split\b", r"\bsplit\s*[:=]?\s*(\w+)"),
        message_format=_format(low, vocabulary),
        shard=_shard(low),
        user_llm=_word(rest, r"\buser[ _-]?(?:llm|model)\s*[:=]?\s*([\w./:-]+)"),
        max_steps=_single(low, r"\bmax[ _-]?steps\s*[:=]?\s*(\d+)", r"\b(\d+)\s+steps\b"),
        seed=_single(low, r"\bseed\s*[:=]?\s*(\d+)"),
        wants_evaluation=bool(_EVALUATE.search(low)) and not _DOMAINS_ASKED.search(low),
        wants_domains=bool(_DOMAINS_ASKED.search(low)),
        wants_results=bool(_RESULTS_ASKED.search(low)),
        a2a_task_id=a2a_task.group(0) if a2a_task else None,
    )


def _clean_url(url: str) -> str:
    return url.rstrip(".,;:!?)]}'\"")


def _domains(low: str, vocabulary: Vocabulary) -> tuple[tuple[str, ...], str | None]:
    found: list[tuple[int, str]] = []
    taken: list[range] = []
    for name in sorted(vocabulary.domains, key=len, reverse=True):  # telecom-workflow first
        spelled = "[-_ ]".join(map(re.escape, re.split(r"[-_]", name.lower())))
        for match in re.finditer(rf"(?<![\w-]){spelled}(?![\w-])", low):
            if not any(match.start() in span for span in taken):
                found.append((match.start(), name))
                taken.append(range(match.start(), match.end()))
    names = tuple(dict.fromkeys(name for _, name in sorted(found)))
    unknown = None
    if not names:
        named = re.search(r"\b(?:the\s+)?([\w-]+)\s+domain\b|\bdomain\s*[:=]?\s*([\w-]+)", low)
        if named:
            word = named.group(1) or named.group(2)
            if word not in ("the", "a", "which", "what", "any", "this", "that"):
                unknown = word
    return names, unknown


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


def _numbers(low: str, *patterns: str) -> tuple[int, ...]:
    found: list[tuple[int, int]] = []
    for pattern in patterns:
        for match in re.finditer(pattern.format(n=_NUMBER), low):
            found.append((match.start(), _number(match.group(1))))
    return tuple(n for _, n in sorted(found))


def _trials(low: str) -> tuple[int, ...]:
    counted = _numbers(
        low,
        r"{n}\s+(?:\w+\s+)?(?:trials?|runs?|times)\b",
        r"\btrials?\s*[:=]\s*{n}\b",
        r"\b(?:k|pass\^)\s*=?\s*{n}\b",
    )
    for word, n in (("once", 1), ("twice", 2), ("thrice", 3)):
        if re.search(rf"\b{word}\b", low):
            counted = (*counted, n)
    return counted


def _task_ids(text: str) -> tuple[str, ...]:
    """``task ids a, b and c``, ``tasks a and b`` or ``task a``; counts are not ids."""
    text = re.sub(
        _NUMBER + r"\s+(?:\w+\s+)?(?:trials?|runs?|times|tasks?|steps)\b", " ", text, flags=re.I
    )
    match = re.search(rf"\btask[ _-]?ids?\s*[:=]?\s*\[?\s*{_ID_LIST}", text, re.I) or re.search(
        rf"\btasks?\s+{_ID_LIST}", text, re.I
    )
    if match is None:
        return ()
    ids = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", match.group(1))
    ids = [i for i in ids if i and i.lower() not in _NOT_IDS]
    plural = match.group(0).lower().startswith("tasks ")
    return tuple(ids) if len(ids) > 1 or not plural else ()


_NOT_IDS = frozenset(
    {"and", "with", "on", "in", "the", "of", "from", "each", "per", "for", "at", "to", "ids", "id"}
)


def _word(text: str, *patterns: str) -> str | None:
    for pattern in patterns:
        match = re.search(pattern, text, re.I)
        if match:
            return match.group(1)
    return None


def _single(low: str, *patterns: str) -> int | None:
    value = _word(low, *patterns)
    return int(value) if value else None


def _format(low: str, vocabulary: Vocabulary) -> str | None:
    for name in vocabulary.message_formats:
        if re.search(rf"\b{re.escape(name.lower())}\s+(?:message\s+)?format\b", low) or re.search(
            rf"\bformat\s*[:=]?\s*{re.escape(name.lower())}\b", low
        ):
            return name
    return None


def _shard(low: str) -> tuple[int, int] | None:
    match = re.search(r"\bshard\s+(\d+)\s*/\s*(\d+)\b", low)
    if match is None:
        if re.search(r"\bshard\s+\d+\s+of\s+\d+", low):
            raise Refused(
                "write a shard as 'shard I/N' with a 0-based index I (as AgentBeats' "
                "shard_index), e.g. 'shard 0/2' for the first of two"
            )
        return None
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 0 <= index < count:
        raise Refused(f"shard {index}/{count}: the index is 0-based, 0 to {count - 1}")
    return index, count
