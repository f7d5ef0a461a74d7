"""Recognising the domain and the task from the conversation alone.

The evaluator never tells the agent which task it is running. The domain follows from
the tools on offer (each tau2 domain has its own tool set); the task from what the user
says, scored against every task's user scenario with an IDF-weighted token overlap
(cosine over binary token sets). Words every scenario shares weigh nothing, so the
evaluator's boilerplate around the user's text does not blur the ranking; ids, names
and amounts decide it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evaluator.agents.tau2_tasks import DomainTasks, TaskScript

# A domain needs at least this Dice overlap between offered and known tool names.
MIN_DOMAIN_OVERLAP = 0.5
# Below this cosine, or this share of the scenario's weight, the user has said nothing
# task-specific yet ("Hi, I need some help").
MIN_TASK_SCORE = 0.15
MIN_TASK_COVERAGE = 0.1
# A runner-up this close to the best score, with a different plan and no words in the
# user's text that favour the best over it, is a tie.
TIE_GAP = 0.01

_WORD = re.compile(r"[a-z0-9]+")
_COMPOUND = re.compile(r"[a-z0-9]+(?:[_.@#-][a-z0-9]+)+")


def tokens(text: str) -> frozenset[str]:
    """Lower-case words and digit runs, plus compounds such as ``emma_kim_9957``."""
    lowered = text.lower()
    return frozenset(_WORD.findall(lowered)) | frozenset(_COMPOUND.findall(lowered))


def plan_key(task: TaskScript) -> tuple[object, ...]:
    """Two tasks with equal keys need exactly the same agent behaviour."""
    calls = tuple((a.name, json.dumps(a.arguments, sort_keys=True)) for a in task.actions)
    return (calls, task.communicate_info)


@dataclass(frozen=True)
class TaskMatch:
    task: TaskScript | None
    score: float
    ambiguous: bool  # another task with a different plan scores about as well


@dataclass(frozen=True)
class _Scored:
    task: TaskScript
    weights: dict[str, float]
    norm: float


class TaskIndex:
    """Domains by tool set and tasks by scenario wording, built once per agent process."""

    def __init__(self, domains: Sequence[DomainTasks]) -> None:
        self.domains = {d.domain: d for d in domains}
        self._known_tools = frozenset().union(*(d.tool_names for d in domains))
        self._idf: dict[str, dict[str, float]] = {}
        self._tasks: dict[str, list[_Scored]] = {}
        for domain in domains:
            token_sets = [tokens(task.scenario) for task in domain.tasks]
            df = Counter(t for ts in token_sets for t in ts)
            count = len(token_sets)
            idf = {t: math.log(count / n) for t, n in df.items() if n < count}
            self._idf[domain.domain] = idf
            scored = []
            for task, ts in zip(domain.tasks, token_sets, strict=True):
                weights = {t: idf[t] for t in ts if t in idf}
                norm = math.sqrt(sum(w * w for w in weights.values()))
                scored.append(_Scored(task, weights, norm))
            self._tasks[domain.domain] = scored

    def identify_domain(self, tool_names: Iterable[str], text: str = "") -> str | None:
        """The domain whose tool set best matches the offered tools (Dice coefficient).

        When no tool names could be parsed, known tool names mentioned anywhere in
        ``text`` stand in for them.
        """
        offered = frozenset(tool_names)
        if not offered & self._known_tools:
            words = tokens(text)
            offered = frozenset(name for name in self._known_tools if name in words)
        best, best_overlap = None, 0.0
        for domain in self.domains.values():
            overlap = 2 * len(offered & domain.tool_names) / (len(offered) + len(domain.tool_names))
            if overlap > best_overlap:
                best, best_overlap = domain.domain, overlap
        return best if best_overlap >= MIN_DOMAIN_OVERLAP else None

    def identify_task(self, domain: str, user_text: str) -> TaskMatch:
        """The task whose scenario the user's words match best."""
        idf = self._idf.get(domain, {})
        said = {t: idf[t] for t in tokens(user_text) if t in idf}
        said_norm = math.sqrt(sum(w * w for w in said.values()))
        if not said_norm:
            return TaskMatch(None, 0.0, ambiguous=True)
        ranked = sorted(
            (
                (sum(w * w for t, w in s.weights.items() if t in said) / (s.norm * said_norm), s)
                for s in self._tasks.get(domain, [])
                if s.norm
            ),
            key=lambda pair: pair[0],
            reverse=True,
        )
        if not ranked or ranked[0][0] < MIN_TASK_SCORE:
            return TaskMatch(None, ranked[0][0] if ranked else 0.0, ambiguous=True)
        best_score, best = ranked[0]
        covered = sum(w * w for t, w in best.weights.items() if t in said) / best.norm**2
        if covered < MIN_TASK_COVERAGE:
            return TaskMatch(None, best_score, ambiguous=True)
        best_plan = plan_key(best.task)
        rivals = [
            rival
            for score, rival in ranked[1:]
            if score >= best_score - TIE_GAP
            and plan_key(rival.task) != best_plan
            and not _separates(said, best, rival)
        ]
        if not rivals:
            return TaskMatch(best.task, best_score, ambiguous=False)
        if all(rival.weights.keys() == best.weights.keys() for rival in rivals):
            # Word-for-word the same scenario: nothing more the user can say will tell
            # them apart, so waiting only loses the turn. Take the fullest plan, which
            # also covers the tasks that need a subset of it.
            fullest = max([best, *rivals], key=_plan_size)
            return TaskMatch(fullest.task, best_score, ambiguous=False)
        return TaskMatch(best.task, best_score, ambiguous=True)


def _plan_size(scored: _Scored) -> tuple[int, int]:
    return (len(scored.task.actions), len(scored.task.communicate_info))


def _separates(said: dict[str, float], best: _Scored, rival: _Scored) -> bool:
    """Whether the user's words favour ``best`` over ``rival`` on what sets them apart.

    Near-duplicate scenarios (the same customer, one detail changed) score alike; only
    the words that differ between them can tell them apart.
    """
    for_best = sum(w * w for t, w in said.items() if t in best.weights and t not in rival.weights)
    for_rival = sum(w * w for t, w in said.items() if t in rival.weights and t not in best.weights)
    return for_best > for_rival
