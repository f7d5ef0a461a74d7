"""The evaluations a green agent runs: the request turned into eval's configuration, and
the bookkeeping (queue, bound, cancel, shutdown) with the runner swapped for a stand-in;
then the same end to end through a real green server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from a2a.types import CancelTaskRequest, TaskState
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaluator.errors import AgentUnreachable
from evaluator.green import outcome
from evaluator.green.client import message_text
from evaluator.green.evaluations import (
    ASSESSMENT_SPAN,
    STRUCTURED_FORMAT,
    Evaluations,
    EvaluationSettings,
    _as_config_keys,
    build_config,
)
from evaluator.green.reading import Assessment, Refused, Vocabulary
from evaluator.results import RunResult, load_results, save_results
from proxy.telemetry import Telemetry
from tests.evaluator.a2a_servers import serve_agent
from tests.evaluator.green.conftest import GreenFactory
from tests.evaluator.green.requesters import (
    SlowOracle,
    a2a_client,
    data_of,
    get_task,
    send,
    structured,
    text_part,
    until,
)
from tests.evaluator.test_results import sample

AGENT = "http://127.0.0.1:9/"
VOCABULARY = Vocabulary(domains=("mock", "airline"), message_formats=("tau2", "agentify"))


# --- the request as eval's configuration ---------------------------------------------------


def test_a_structured_request_gets_the_format_agentbeats_agents_read(tmp_path: Path) -> None:
    settings = EvaluationSettings(data_dir=tmp_path, trial_concurrency=4, agent_timeout_s=9.0)
    config = build_config(Assessment(AGENT, "mock", num_tasks=2, role="agent"), settings)
    assert config.message_format == STRUCTURED_FORMAT
    assert (config.domain, config.agent_endpoint, config.num_tasks) == ("mock", AGENT, 2)
    assert (config.max_concurrency, config.agent_timeout_s) == (4, 9.0)
    assert config.user == "scripted"
    words = build_config(Assessment(AGENT, "mock"), settings)
    assert words.message_format == settings.default_message_format
    chosen = build_config(Assessment(AGENT, "mock", role="agent", message_format="tau2"), settings)
    assert chosen.message_format == "tau2"


def test_seed_and_max_steps_default_as_eval_does(tmp_path: Path) -> None:
    from evaluator.config import DEFAULT_MAX_STEPS, DEFAULT_SEED

    settings = EvaluationSettings(data_dir=tmp_path)
    default = build_config(Assessment(AGENT, "mock"), settings)
    assert (default.seed, default.max_steps) == (DEFAULT_SEED, DEFAULT_MAX_STEPS)
    given = build_config(Assessment(AGENT, "mock", seed=7, max_steps=12, shard=(1, 2)), settings)
    assert (given.seed, given.max_steps, given.shard) == (7, 12, (1, 2))


def test_the_servers_user_llm_applies_unless_the_request_names_one(tmp_path: Path) -> None:
    settings = EvaluationSettings(
        data_dir=tmp_path, user_llm="openai/gpt-4.1", user_llm_args={"api_key": "sk-server"}
    )
    served = build_config(Assessment(AGENT, "mock"), settings)
    assert (served.user, served.user_llm, served.user_llm_args) == (
        "llm", "openai/gpt-4.1", {"api_key": "sk-server"},
    )  # fmt: skip
    own = build_config(
        Assessment(AGENT, "mock", user_llm="openai/gpt-4o", user_llm_args={"api_key": "sk-own"}),
        settings,
    )
    assert (own.user_llm, own.user_llm_args) == ("openai/gpt-4o", {"api_key": "sk-own"})


def test_a_user_llm_without_credentials_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = EvaluationSettings(data_dir=tmp_path)
    with pytest.raises(Refused, match=r"user_llm openai/gpt-4\.1: not configured .*OPENAI_API_KEY"):
        build_config(Assessment(AGENT, "mock", user_llm="openai/gpt-4.1"), settings)
    with pytest.raises(Refused, match="user_llm 'nonsense': litellm does not know"):
        build_config(Assessment(AGENT, "mock", user_llm="nonsense"), settings)


def test_a_configuration_eval_refuses_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Refused, match="--num-trials"):
        build_config(Assessment(AGENT, "mock", num_trials=0), EvaluationSettings(tmp_path))


def test_selection_errors_name_config_keys_not_eval_options() -> None:
    assert _as_config_keys("--task-ids: domain 'mock' has no task 'x'") == (
        "task_ids: domain 'mock' has no task 'x'"
    )
    assert _as_config_keys("--task-split-name 'x': no splits") == "task_split 'x': no splits"


async def test_the_selection_is_checked_against_tau2_and_the_limit(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    evaluations = Evaluations(EvaluationSettings(tmp_path, max_tasks=3), telemetry, VOCABULARY)
    config = await evaluations.config_for(Assessment(AGENT, "mock", num_tasks=3))
    assert config.num_tasks == 3
    with pytest.raises(Refused, match=r"too many tasks: the request selects 9, over .* of 3"):
        await evaluations.config_for(Assessment(AGENT, "mock"))
    with pytest.raises(Refused, match="too many tasks: the request selects 5"):
        await evaluations.config_for(Assessment(AGENT, "mock", shard=(0, 2)))  # 9 -> 5 and 4
    sharded = await evaluations.config_for(Assessment(AGENT, "mock", num_tasks=6, shard=(1, 2)))
    assert sharded.shard == (1, 2)
    with pytest.raises(Refused, match=r"^task_ids: domain 'mock' has no task 'nope'$"):
        await evaluations.config_for(Assessment(AGENT, "mock", task_ids=("nope",)))
    await evaluations.shutdown()


async def test_results_files_are_named_by_a_safe_task_id(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    evaluations = Evaluations(EvaluationSettings(tmp_path), telemetry, VOCABULARY)
    assert evaluations.results_path("3f2a-b_c") == tmp_path / "runs" / "3f2a-b_c.json"
    assert evaluations.results_path("../x y") == tmp_path / "runs" / "___x_y.json"
    assert evaluations.results_path("") == tmp_path / "runs" / "task.json"
    assert (tmp_path / "runs").is_dir()
    await evaluations.shutdown()


# --- the bookkeeping, with the runner swapped for a stand-in ------------------------------


class Recorded:
    """A Reporter that keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self.changed = asyncio.Event()

    def _keep(self, kind: str, text: str, extra: Any = None) -> None:
        self.events.append((kind, text, extra))
        self.changed.set()

    async def queued(self, text: str) -> None:
        self._keep("queued", text)

    async def working(self, text: str, data: Mapping[str, Any] | None = None) -> None:
        self._keep("working", text, data)

    async def finished(self, text: str, data: Mapping[str, Any], message: str) -> None:
        self._keep("finished", message, data)

    async def canceled(self, message: str, artifact: tuple[str, Mapping[str, Any]] | None) -> None:
        self._keep("canceled", message, artifact)

    async def failed(self, message: str, artifact: tuple[str, Mapping[str, Any]] | None) -> None:
        self._keep("failed", message, artifact)

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]

    async def until(self, kind: str) -> None:
        while kind not in self.kinds():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)


class StandIn:
    """The runner's place: reports each of the sample run's trials, writing the results
    file first as the runner does; waits for ``release`` before the first trial."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.release = threading.Event()
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    def __call__(self, config: Any, telemetry: Telemetry, **kwargs: Any) -> RunResult:
        self.calls.append(kwargs)
        result = sample()
        kwargs["on_start"](len(result.trials), 0)
        assert self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        save_results(result, kwargs["results_path"])
        for trial in result.trials:
            kwargs["on_trial"](trial)
        return result


@contextmanager
def bookkeeping(
    tmp_path: Path, telemetry: Telemetry, stand_in: StandIn, **settings: Any
) -> Iterator[Evaluations]:
    """Evaluations with ``stand_in`` for the runner; shut down however the test ends."""
    evaluations = Evaluations(
        EvaluationSettings(tmp_path, **settings), telemetry, VOCABULARY, run=stand_in
    )
    try:
        yield evaluations
    finally:
        stand_in.release.set()


def start(
    evaluations: Evaluations, task_id: str, reporter: Recorded, tmp_path: Path
) -> asyncio.Task[None]:
    config = build_config(Assessment(AGENT, "mock", num_tasks=1), evaluations.settings)
    return asyncio.ensure_future(evaluations.run(task_id, config, reporter, parent=None))


async def test_a_run_reports_its_start_each_trial_and_the_result(
    tmp_path: Path, telemetry: Telemetry, spans: InMemorySpanExporter
) -> None:
    stand_in = StandIn()
    stand_in.release.set()
    with bookkeeping(tmp_path, telemetry, stand_in) as evaluations:
        reporter = Recorded()
        await start(evaluations, "task-1", reporter, tmp_path)
        await evaluations.shutdown()
    assert reporter.kinds() == ["working", "working", "finished"]
    assert reporter.events[0][1].startswith("Starting evaluation: mock, agent " + AGENT)
    assert "results kept as task-1.json" in reporter.events[0][1]
    (trial,) = sample().trials
    assert reporter.events[1][1] == outcome.progress_line(trial, 1, 1)
    assert reporter.events[1][2] == outcome.progress_data(trial, 1, 1)
    kind, message, data = reporter.events[2]
    assert kind == "finished"
    assert data == outcome.numbers(sample())
    assert message.startswith(f"complete: score {data['score']:.2f} / {data['max_score']}")
    (call,) = stand_in.calls
    assert call["run_id"] == "task-1"  # one id for the A2A task, the file and the spans
    assert call["results_path"] == tmp_path / "runs" / "task-1.json"
    telemetry.force_flush()
    (span,) = [s for s in spans.get_finished_spans() if s.name == ASSESSMENT_SPAN]
    assert (span.attributes or {})["a2a.task.id"] == "task-1"
    assert (span.attributes or {})["tau2.run.id"] == sample().run_id
    assert evaluations.running == 0


async def test_over_the_bound_a_run_waits_then_one_more_is_refused(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    stand_in = StandIn()
    with bookkeeping(tmp_path, telemetry, stand_in, max_running=1, max_queued=1) as evaluations:
        first, second = Recorded(), Recorded()
        running = start(evaluations, "one", first, tmp_path)
        await first.until("working")
        waiting = start(evaluations, "two", second, tmp_path)
        await second.until("queued")
        assert second.events[0][1] == (
            "queued: 1 evaluations running; this one is number 1 in line"
        )
        with pytest.raises(Refused, match="busy: 1 evaluations running and 1 waiting"):
            await start(evaluations, "three", Recorded(), tmp_path)
        assert evaluations.running == 1
        stand_in.release.set()
        await asyncio.gather(running, waiting)
        await evaluations.shutdown()
    assert first.kinds()[-1] == "finished"
    assert second.kinds() == ["queued", "working", "working", "finished"]


async def test_cancel_while_queued_ends_it_before_it_starts(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    stand_in = StandIn()
    with bookkeeping(tmp_path, telemetry, stand_in, max_running=1) as evaluations:
        first, second = Recorded(), Recorded()
        running = start(evaluations, "one", first, tmp_path)
        await first.until("working")
        waiting = start(evaluations, "two", second, tmp_path)
        await second.until("queued")
        assert await evaluations.cancel("two", second)
        await waiting
        stand_in.release.set()
        await running
        await evaluations.shutdown()
    assert second.events[-1] == ("canceled", "canceled before it started: no trial ran", None)
    assert len(stand_in.calls) == 1  # the canceled run never reached the runner


async def test_cancel_while_running_returns_what_finished_as_partial(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    stand_in = StandIn()
    with bookkeeping(tmp_path, telemetry, stand_in) as evaluations:
        reporter = Recorded()
        running = start(evaluations, "one", reporter, tmp_path)
        await reporter.until("working")
        canceling = asyncio.ensure_future(evaluations.cancel("one", reporter))
        await asyncio.sleep(0.05)
        stand_in.release.set()  # the trial in flight ends, then Stopped ends the run
        assert await canceling
        await running
        assert not await evaluations.cancel("one", reporter)  # no longer running here
        await evaluations.shutdown()
    kind, message, artifact = reporter.events[-1]
    assert kind == "canceled"
    assert message.startswith("canceled: 1 trial(s) finished; the trials not started never ran")
    text, data = artifact
    assert data["partial"] is True
    assert "canceled" in text


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            AgentUnreachable("cannot reach the agent"),
            "the agent cannot be evaluated: cannot reach the agent",
        ),
        (RuntimeError("boom"), "the evaluation failed: RuntimeError: boom"),
    ],
)
async def test_a_run_that_raises_fails_with_the_reason(
    tmp_path: Path, telemetry: Telemetry, error: BaseException, message: str
) -> None:
    stand_in = StandIn(fail=error)
    stand_in.release.set()
    with bookkeeping(tmp_path, telemetry, stand_in) as evaluations:
        reporter = Recorded()
        await start(evaluations, "one", reporter, tmp_path)
        await evaluations.shutdown()
    assert reporter.events[-1] == ("failed", message, None)


async def test_shutdown_stops_runs_without_writing_events_and_is_safe_twice(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    stand_in = StandIn()
    with bookkeeping(tmp_path, telemetry, stand_in) as evaluations:
        reporter = Recorded()
        running = start(evaluations, "one", reporter, tmp_path)
        await reporter.until("working")
        stopping = asyncio.ensure_future(evaluations.shutdown(grace_s=10))
        await asyncio.sleep(0.05)
        stand_in.release.set()
        await stopping
        await running
        await evaluations.shutdown()
    assert reporter.kinds() == ["working"]  # the server marks it interrupted on recovery


@pytest.mark.slow
async def test_cancel_stops_the_trials_not_started_and_returns_what_finished(
    green_server: GreenFactory, tmp_path: Path
) -> None:
    with (
        serve_agent(SlowOracle(0.25), name="slow-oracle") as slow,
        green_server(trial_concurrency=1, data_dir=tmp_path / "green") as green,
    ):
        task = await send(green.url, [text_part(structured(slow, num_trials=2))], immediately=True)
        await until(green.url, task.id, lambda t: "] task " in message_text(t.status.message))
        async with a2a_client(green.url) as client:
            canceled = await client.cancel_task(CancelTaskRequest(id=task.id))
        stored = await get_task(green.url, task.id)
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    for seen in (canceled, stored):
        data = data_of(seen)
        assert data["partial"] is True
        assert data["status"] == "interrupted"
        assert 1 <= data["scored_trials"] < 18
        assert data["unfinished"] == 18 - data["scored_trials"]
    assert "PARTIAL: canceled" in message_text(stored.artifacts[0])
    assert "the trials not started never ran" in message_text(stored.status.message)
    results = load_results(tmp_path / "green" / "runs" / f"{task.id}.json")
    assert results.status == "interrupted"
    assert len(results.trials) == data_of(stored)["scored_trials"]


@pytest.mark.slow
async def test_a_request_over_the_bound_waits_in_submitted_or_is_refused(
    green_server: GreenFactory,
) -> None:
    with (
        serve_agent(SlowOracle(0.2), name="slow-oracle") as slow,
        green_server(max_running=1, max_queued=1, trial_concurrency=1) as green,
    ):
        request = [text_part(structured(slow, num_tasks=2))]
        first = await send(green.url, request, immediately=True)
        second = await send(green.url, request, immediately=True)
        third = await send(green.url, request, immediately=True)
        waiting = await until(green.url, second.id, lambda t: t.status.HasField("message"))
        assert waiting.status.state == TaskState.TASK_STATE_SUBMITTED
        assert "queued: 1 evaluations running" in message_text(waiting.status.message)
        refused = await until(green.url, third.id, lambda t: t.status.HasField("message"))
        assert refused.status.state == TaskState.TASK_STATE_REJECTED
        assert "busy: 1 evaluations running and 1 waiting" in message_text(refused.status.message)
        done = [
            await until(green.url, t.id, lambda t: t.status.state == TaskState.TASK_STATE_COMPLETED)
            for t in (first, second)
        ]
    assert all(data_of(t)["score"] == 2.0 for t in done)
