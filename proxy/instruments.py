"""Every metric instrument tau2observe creates, in one table: name, kind, unit, description.

The sidecar, the evaluator and the GenAI instrumentation create theirs from here with
:func:`create`, and the catalogue test checks this table against ``dashboards/metrics.yaml``
(the contract with the dashboards and monitors), so a name or unit cannot drift between
the code and the queries. It lives in ``proxy`` because the sidecar may import nothing
from the evaluator; the evaluator imports it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.metrics import _Gauge as Gauge

Kind = Literal["counter", "histogram", "gauge"]
Source = Literal["proxy", "evaluator", "genai"]  # the catalogue's ``source``

# Request and stream latency: half a millisecond up to five minutes.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 5, 10, 30, 60, 120, 300,
)  # fmt: skip
# OTel GenAI's advised boundaries for token usage and operation duration.
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
LLM_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48)


@dataclass(frozen=True)
class Instrument:
    name: str
    kind: Kind
    unit: str
    description: str
    source: Source
    buckets: tuple[float, ...] | None = None  # advice to the SDK; histograms only


def _proxy(
    name: str, kind: Kind, unit: str, description: str, buckets: tuple[float, ...] | None = None
) -> Instrument:
    return Instrument(name, kind, unit, description, "proxy", buckets)


def _evaluator(name: str, kind: Kind, unit: str, description: str) -> Instrument:
    return Instrument(name, kind, unit, description, "evaluator")


# --- the sidecar (meter tau2observe.proxy) ---------------------------------------------
PROXY_REQUESTS = _proxy("a2a.proxy.requests", "counter", "{request}", "A2A exchanges forwarded")
PROXY_DURATION = _proxy(
    "a2a.proxy.request.duration",
    "histogram",
    "s",
    "Time from request arrival to the end of the response",
    buckets=LATENCY_BUCKETS,
)
PROXY_TIME_TO_FIRST_EVENT = _proxy(
    "a2a.proxy.stream.time_to_first_event",
    "histogram",
    "s",
    "Time from request arrival to the first server-sent event",
    buckets=LATENCY_BUCKETS,
)
PROXY_STREAM_EVENTS = _proxy(
    "a2a.proxy.stream.events", "counter", "{event}", "Server-sent events relayed"
)
PROXY_TOOL_CALLS = _proxy(
    "a2a.proxy.tool_calls", "counter", "{call}", "Tool calls seen in agent replies"
)

# --- the evaluator (meter tau2observe.evaluator) ---------------------------------------
TASK_TRIALS = _evaluator("tau2.task.trials", "counter", "{trial}", "Task trials finished.")
TASK_REWARD = _evaluator("tau2.task.reward", "histogram", "1", "Reward of each task trial.")
TASK_REWARD_COMPONENT = _evaluator(
    "tau2.task.reward_component", "histogram", "1", "Reward breakdown components."
)
TASK_TURNS = _evaluator("tau2.task.turns", "histogram", "{turn}", "Agent turns per task trial.")
TASK_DURATION = _evaluator("tau2.task.duration", "histogram", "s", "Wall time of one task trial.")
TURN_DURATION = _evaluator("tau2.turn.duration", "histogram", "s", "Wall time of one agent turn.")
TASK_TOOL_CALLS = _evaluator(
    "tau2.task.tool_calls", "counter", "{call}", "Tool calls the agent made."
)
TASK_MALFORMED = _evaluator(
    "tau2.task.tool_calls.malformed",
    "counter",
    "{call}",
    "Replies that looked like a tool call but could not be parsed.",
)
TASK_TOOL_ERRORS = _evaluator(
    "tau2.task.tool_errors", "counter", "{call}", "Tool calls the environment rejected."
)
USER_COST = _evaluator("tau2.user_simulator.cost", "counter", "{USD}", "User-simulator LLM cost.")
USER_TOKENS = _evaluator(
    "tau2.user_simulator.tokens", "counter", "{token}", "User-simulator LLM tokens."
)
RUN_PASS_HAT_K = _evaluator("tau2.run.pass_hat_k", "gauge", "1", "pass^k of the run.")
RUN_AVERAGE_REWARD = _evaluator(
    "tau2.run.average_reward", "gauge", "1", "Average reward of the run."
)
RUN_SUCCESS_RATE = _evaluator(
    "tau2.run.success_rate", "gauge", "1", "Share of task trials with reward 1."
)

# --- LLM calls (meter tau2observe.genai): OTel GenAI's client metrics, and cost ---------
GENAI_TOKEN_USAGE = Instrument(
    "gen_ai.client.token.usage",
    "histogram",
    "{token}",
    "Number of input and output tokens used.",
    "genai",
    TOKEN_BUCKETS,
)
GENAI_OPERATION_DURATION = Instrument(
    "gen_ai.client.operation.duration",
    "histogram",
    "s",
    "GenAI operation duration.",
    "genai",
    LLM_DURATION_BUCKETS,
)
LLM_COST = Instrument(
    "tau2.llm.cost", "counter", "{USD}", "LLM cost as litellm prices it.", "genai"
)

ALL: tuple[Instrument, ...] = (
    PROXY_REQUESTS,
    PROXY_DURATION,
    PROXY_TIME_TO_FIRST_EVENT,
    PROXY_STREAM_EVENTS,
    PROXY_TOOL_CALLS,
    TASK_TRIALS,
    TASK_REWARD,
    TASK_REWARD_COMPONENT,
    TASK_TURNS,
    TASK_DURATION,
    TURN_DURATION,
    TASK_TOOL_CALLS,
    TASK_MALFORMED,
    TASK_TOOL_ERRORS,
    USER_COST,
    USER_TOKENS,
    RUN_PASS_HAT_K,
    RUN_AVERAGE_REWARD,
    RUN_SUCCESS_RATE,
    GENAI_TOKEN_USAGE,
    GENAI_OPERATION_DURATION,
    LLM_COST,
)


def of(source: Source) -> tuple[Instrument, ...]:
    return tuple(i for i in ALL if i.source == source)


def create(meter: Meter, instrument: Instrument) -> Counter | Histogram | Gauge:
    """The OTel instrument ``instrument`` describes, on ``meter``."""
    if instrument.kind == "counter":
        return counter(meter, instrument)
    if instrument.kind == "gauge":
        return gauge(meter, instrument)
    return histogram(meter, instrument)


def counter(meter: Meter, instrument: Instrument) -> Counter:
    _expect(instrument, "counter")
    return meter.create_counter(
        instrument.name, unit=instrument.unit, description=instrument.description
    )


def gauge(meter: Meter, instrument: Instrument) -> Gauge:
    _expect(instrument, "gauge")
    return meter.create_gauge(
        instrument.name, unit=instrument.unit, description=instrument.description
    )


def histogram(meter: Meter, instrument: Instrument) -> Histogram:
    _expect(instrument, "histogram")
    return meter.create_histogram(
        instrument.name,
        unit=instrument.unit,
        description=instrument.description,
        explicit_bucket_boundaries_advisory=(
            list(instrument.buckets) if instrument.buckets is not None else None
        ),
    )


def _expect(instrument: Instrument, kind: Kind) -> None:
    if instrument.kind != kind:
        raise TypeError(f"{instrument.name} is a {instrument.kind}, not a {kind}")
