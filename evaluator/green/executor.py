"""The green agent's ``AgentExecutor``: a request in, A2A task events out.

Every request becomes a task (never a bare message), so that a requester follows one
shape whatever it asked: it is read (:mod:`evaluator.green.reading`), then

    Refused        -> rejected, with the reason
    Question       -> input-required, with the question; the answer continues the task
    DomainListing  -> completed, with the domains as an artifact
    ResultsQuery   -> completed, with the stored results as an artifact
    Assessment     -> the evaluation (:mod:`evaluator.green.evaluations`): submitted while
                      queued, working with one update per trial, then completed with the
                      artifact; canceled or failed with what finished (partial)

A ``TaskUpdater`` writes every status and artifact; the evaluation itself happens
behind :class:`~evaluator.green.evaluations.Evaluations`, which runs the same runner as
``tau2observe eval``. A ``traceparent`` on the request is continued: the assessment span
and every trial's spans join the requester's trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from a2a.helpers import new_data_part, new_task, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import Message, Part, Role, Task, TaskState
from google.protobuf import json_format
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from evaluator.green import outcome
from evaluator.green.evaluations import Evaluations
from evaluator.green.llm_reader import LlmReader
from evaluator.green.reading import (
    Assessment,
    DomainListing,
    MessageContent,
    Question,
    Reading,
    Refused,
    ResultsQuery,
    Vocabulary,
    read_request,
    structured_object_or_none,
)
from evaluator.green.store import FileTaskStore

log = logging.getLogger(__name__)

LATEST_RESULTS = 10


def message_content(message: Message | None) -> MessageContent:
    if message is None:
        return MessageContent()
    texts = tuple(p.text for p in message.parts if p.HasField("text"))
    data = tuple(json_format.MessageToDict(p.data) for p in message.parts if p.HasField("data"))
    return MessageContent(texts, data)


def request_parent(context: RequestContext) -> Context | None:
    """The requester's trace, when its request carried a ``traceparent``."""
    call = context.call_context
    headers = call.state.get("headers") if call is not None else None
    if not isinstance(headers, Mapping) or "traceparent" not in headers:
        return None
    carrier = {k: v for k, v in headers.items() if k in ("traceparent", "tracestate")}
    parent = TraceContextTextMapPropagator().extract(carrier)
    return parent if parent else None


class UpdaterReporter:
    """The evaluation's events, written through the task's ``TaskUpdater``."""

    def __init__(self, updater: TaskUpdater) -> None:
        self.updater = updater

    def _message(self, text: str, data: Mapping[str, Any] | None = None) -> Message:
        parts: list[Part] = [new_text_part(text)]
        if data is not None:
            parts.append(new_data_part(dict(data)))
        return self.updater.new_agent_message(parts)

    async def queued(self, text: str) -> None:
        await self.updater.update_status(TaskState.TASK_STATE_SUBMITTED, self._message(text))

    async def working(self, text: str, data: Mapping[str, Any] | None = None) -> None:
        await self.updater.update_status(TaskState.TASK_STATE_WORKING, self._message(text, data))

    async def artifact(self, text: str, data: Mapping[str, Any]) -> None:
        await self.updater.add_artifact(
            [new_text_part(text), new_data_part(dict(data))],
            name=outcome.ARTIFACT_NAME,
            last_chunk=True,
        )

    async def finished(self, text: str, data: Mapping[str, Any], message: str) -> None:
        await self.artifact(text, data)
        await self.updater.complete(self._message(message))

    async def canceled(self, message: str, artifact: tuple[str, Mapping[str, Any]] | None) -> None:
        if artifact is not None:
            await self.artifact(*artifact)
        await self.updater.cancel(self._message(message))

    async def failed(self, message: str, artifact: tuple[str, Mapping[str, Any]] | None) -> None:
        if artifact is not None:
            await self.artifact(*artifact)
        await self.updater.failed(self._message(message))


class GreenExecutor(AgentExecutor):
    def __init__(
        self,
        evaluations: Evaluations,
        store: FileTaskStore,
        *,
        llm: LlmReader | None = None,
    ) -> None:
        self.evaluations = evaluations
        self.store = store
        self.llm = llm
        self._domain_sizes: dict[str, int] | None = None

    @property
    def vocabulary(self) -> Vocabulary:
        return self.evaluations.vocabulary

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is None:
            history = [context.message] if context.message is not None else []
            task = new_task(
                context.task_id or "",
                context.context_id or "",
                TaskState.TASK_STATE_SUBMITTED,
                history=history,
            )
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        reporter = UpdaterReporter(updater)
        try:
            reading = await self._read(context.message, task)
            if isinstance(reading, Assessment):
                await self._evaluate(reading, task, reporter, request_parent(context))
            else:
                await self._answer(reading, reporter)
        except Refused as exc:
            await updater.reject(reporter._message(f"refused: {exc}"))

    async def _read(self, message: Message | None, task: Task) -> Reading:
        content = message_content(message)
        current = message.message_id if message is not None else ""
        earlier = [
            message_content(m)
            for m in task.history
            if m.role == Role.ROLE_USER and m.message_id != current
        ]
        reading = read_request(content, earlier, self.vocabulary)
        if isinstance(reading, Question) and self.llm is not None:
            texts = [c.text for c in [*earlier, content] if structured_object_or_none(c) is None]
            better = await self.llm.read(texts, self.vocabulary)
            if better is not None:
                return better
        return reading

    async def _evaluate(
        self,
        assessment: Assessment,
        task: Task,
        reporter: UpdaterReporter,
        parent: Context | None,
    ) -> None:
        config = await self.evaluations.config_for(assessment)
        await self.evaluations.run(
            task.id,
            config,
            reporter,
            parent=parent,
            request_span_attributes={"gen_ai.conversation.id": task.context_id},
        )

    async def _answer(
        self, reading: Question | DomainListing | ResultsQuery, reporter: UpdaterReporter
    ) -> None:
        updater = reporter.updater
        if isinstance(reading, Question):
            await updater.requires_input(reporter._message(reading.text))
            return
        if isinstance(reading, DomainListing):
            sizes = await self._sizes()
            text = "Domains I run (tasks in each): " + ", ".join(
                f"{d} ({n})" for d, n in sizes.items()
            )
            data = {"domains": [{"name": d, "num_tasks": n} for d, n in sizes.items()]}
            await reporter.finished(text, data, text)
            return
        text, data = await self._results(reading.task_id)
        await reporter.finished(text, data, text.splitlines()[0])

    async def _sizes(self) -> dict[str, int]:
        if self._domain_sizes is None:
            self._domain_sizes = await asyncio.to_thread(_domain_sizes, self.vocabulary.domains)
        return self._domain_sizes

    async def _results(self, task_id: str | None) -> tuple[str, dict[str, Any]]:
        tasks = await self.store.all()
        if task_id is not None:
            found = [t for t in tasks if t.id == task_id]
            if not found:
                raise Refused(f"no evaluation {task_id} on this server")
            tasks = found
        finished = [t for t in tasks if _result_data(t) is not None][:LATEST_RESULTS]
        if not finished:
            return "No evaluation results on this server yet.", {"results": []}
        rows = [_result_row(t) for t in finished]
        lines = [f"Results of {len(rows)} evaluation(s), newest first:"]
        lines += [
            f"{r['task_id']}: {r['state']}, {r['domain']}, score {r['score']:.2f} / "
            f"{r['max_score']:.0f}, pass rate {r['pass_rate']:.1f}%"
            + (" (partial)" if r["partial"] else "")
            for r in rows
        ]
        if task_id is not None:
            lines.append(_result_text(finished[0]))
        return "\n".join(lines), {"results": rows}

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        reporter = UpdaterReporter(updater)
        if not await self.evaluations.cancel(context.task_id or "", reporter):
            await updater.cancel(reporter._message("canceled"))


def _domain_sizes(domains: Sequence[str]) -> dict[str, int]:
    from evaluator import tau2_adapter

    sizes = {}
    for domain in domains:
        try:
            sizes[domain] = len(tau2_adapter.load_tasks(domain))
        except Exception as exc:  # a broken domain must not hide the others
            log.warning("domain %s cannot be listed: %s", domain, exc)
    return sizes


def _result_data(task: Task) -> dict[str, Any] | None:
    for artifact in task.artifacts:
        if artifact.name != outcome.ARTIFACT_NAME:
            continue
        for part in artifact.parts:
            if part.HasField("data"):
                value = json_format.MessageToDict(part.data)
                if isinstance(value, dict) and "score" in value:
                    return value
    return None


def _result_text(task: Task) -> str:
    for artifact in task.artifacts:
        for part in artifact.parts:
            if part.HasField("text"):
                return str(part.text)
    return ""


def _result_row(task: Task) -> dict[str, Any]:
    data = _result_data(task) or {}
    return {
        "task_id": task.id,
        "state": TaskState.Name(task.status.state).removeprefix("TASK_STATE_").lower(),
        **{
            k: data.get(k)
            for k in ("domain", "score", "max_score", "pass_rate", "partial", "run_id")
        },
    }
