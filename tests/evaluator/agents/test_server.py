"""The sample agents as real A2A servers, driven by the a2a-sdk 1.x client and raw HTTP."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.helpers import get_artifact_text, get_message_text, new_data_part, new_text_message
from a2a.types import Message, Part, Role, SendMessageRequest, StreamResponse, TaskState

from evaluator.agents import AgentSettings, RunningAgent, serve_in_background, serve_in_thread
from evaluator.agents.matching import TaskIndex
from evaluator.agents.noop import NOOP_REPLY
from evaluator.agents.oracle import DONE_PREFIX
from evaluator.agents.scripted import NO_TEXT_REPLY
from evaluator.agents.server import ProtocolChoice
from proxy.errors import SettingsError
from tests.evaluator.agents.openings import (
    expected_call,
    opening,
    parse_reply,
    task_material,
    tool_result,
)

# pydantic warns once, the first time litellm's response types are built; not ours to fix
pytestmark = pytest.mark.filterwarnings(
    "ignore:Item 'summary' on TypedDict class 'ChatCompletionReasoningItem':UserWarning"
)

PROTOCOLS: tuple[ProtocolChoice, ...] = ("both", "1.0", "0.3")
CARD_PATH = ".well-known/agent-card.json"


@pytest.fixture(scope="module")
def oracles(index: TaskIndex) -> Iterator[dict[str, RunningAgent]]:
    """One oracle server per advertised protocol set, each in its own thread."""
    with ExitStack() as stack:
        yield {
            protocol: stack.enter_context(
                serve_in_thread(AgentSettings("oracle", protocol=protocol))
            )
            for protocol in PROTOCOLS
        }


class Exchange:
    """One A2A turn through the SDK client, recording the JSON-RPC methods on the wire."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def _record(self, request: httpx.Request) -> None:
        if request.method == "POST":
            self.methods.append(json.loads(request.content)["method"])

    async def send(
        self, url: str, parts: list[Part] | str, context_id: str | None = None, *, streaming: bool
    ) -> list[StreamResponse]:
        async with httpx.AsyncClient(event_hooks={"request": [self._record]}) as http:
            config = ClientConfig(streaming=streaming, httpx_client=http)
            client = await ClientFactory(config).create_from_url(url)
            if isinstance(parts, str):
                message = new_text_message(parts, context_id=context_id, role=Role.ROLE_USER)
            else:
                message = Message(
                    role=Role.ROLE_USER,
                    message_id=str(uuid.uuid4()),
                    parts=parts,
                    context_id=context_id,
                )
            events = [e async for e in client.send_message(SendMessageRequest(message=message))]
            await client.close()
        return events


def reply_of(events: list[StreamResponse]) -> tuple[str, str]:
    """The reply text and contextId from a Message reply or a completed Task."""
    last = events[-1]
    if last.HasField("message"):
        return get_message_text(last.message), last.message.context_id
    if last.HasField("task"):
        task = last.task
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        # the answer lives in the artifact only, never again in the status message
        assert not get_message_text(task.status.message)
        return get_artifact_text(task.artifacts[-1]), task.context_id
    artifacts = [e.artifact_update for e in events if e.HasField("artifact_update")]
    assert last.HasField("status_update")
    assert last.status_update.status.state == TaskState.TASK_STATE_COMPLETED
    return get_artifact_text(artifacts[-1].artifact), last.status_update.context_id


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_card_advertises_the_requested_interfaces(
    oracles: dict[str, RunningAgent], protocol: str
) -> None:
    running = oracles[protocol]
    card = httpx.get(running.url + CARD_PATH).json()
    assert card["name"] == "tau2observe-oracle"
    assert card["capabilities"]["streaming"] is True
    assert card["skills"][0]["id"] == "tau2-oracle"
    interfaces = card["supportedInterfaces"]
    expected = {"both": ["1.0", "0.3"], "1.0": ["1.0"], "0.3": ["0.3"]}[protocol]
    assert [i["protocolVersion"] for i in interfaces] == expected
    assert {i["url"] for i in interfaces} == {running.url}
    assert {i["protocolBinding"] for i in interfaces} == {"JSONRPC"}
    if protocol == "1.0":
        assert "url" not in card  # no 0.3 fields: a 0.3 client cannot use this agent
    else:
        assert card["url"] == running.url


async def test_card_urls_are_the_public_url() -> None:
    settings = AgentSettings("noop", public_url="http://agents.example:8443/noop")
    async with serve_in_background(settings) as running, httpx.AsyncClient() as http:
        assert running.url == "http://agents.example:8443/noop/"
        assert running.listen_url.startswith("http://127.0.0.1:")
        card = (await http.get(running.listen_url + CARD_PATH)).json()
    assert card["url"] == running.url
    assert {i["url"] for i in card["supportedInterfaces"]} == {running.url}


@pytest.mark.parametrize("streaming", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("protocol", ["1.0", "0.3"])
@pytest.mark.parametrize("fmt", ["tau2", "agentbeats-tutorial", "agentify"])
async def test_oracle_conversation_over_a2a(
    oracles: dict[str, RunningAgent], fmt: str, protocol: str, streaming: bool
) -> None:
    task = task_material("airline", "14")
    url = oracles[protocol].url
    exchange = Exchange()
    reply, context_id = reply_of(
        await exchange.send(url, opening(fmt, "airline", task.user_text), streaming=streaming)
    )
    assert parse_reply(fmt, reply) == expected_call(fmt, *task.gold[0])
    reply, same_context = reply_of(
        await exchange.send(url, tool_result(fmt, "{}"), context_id, streaming=streaming)
    )
    assert same_context == context_id
    assert parse_reply(fmt, reply) == expected_call(fmt, *task.gold[1])
    reply, _ = reply_of(
        await exchange.send(url, tool_result(fmt, "{}"), context_id, streaming=streaming)
    )
    text = reply if fmt == "tau2" else parse_reply(fmt, reply)["arguments"]["content"]
    assert text.startswith(DONE_PREFIX)
    assert all(info in text for info in task.communicate_info)
    wire = {
        ("1.0", False): "SendMessage",
        ("1.0", True): "SendStreamingMessage",
        ("0.3", False): "message/send",
        ("0.3", True): "message/stream",
    }[(protocol, streaming)]
    assert set(exchange.methods) == {wire}


@pytest.mark.parametrize("streaming", [False, True], ids=["send", "stream"])
async def test_task_pattern_completes_with_the_reply_as_artifact(streaming: bool) -> None:
    async with serve_in_background(AgentSettings("noop", reply="task")) as running:
        task = task_material("airline", "14")
        events = await Exchange().send(
            running.url, opening("tau2", "airline", task.user_text), streaming=streaming
        )
        reply, context_id = reply_of(events)
        assert reply == NOOP_REPLY
        assert context_id
        if streaming:
            kinds = [e.WhichOneof("payload") for e in events]
            assert kinds[0] == "task"
            assert "artifact_update" in kinds


async def test_task_pattern_reads_as_one_reply_to_a_client_joining_status_and_artifacts(
    index: TaskIndex,
) -> None:
    """The AgentBeats tutorial's client joins status-message and artifact texts."""
    settings = AgentSettings("oracle", reply="task", protocol="0.3")
    task = task_material("airline", "14")
    async with serve_in_background(settings) as running:
        [event] = await Exchange().send(
            running.url,
            opening("agentbeats-tutorial", "airline", task.user_text),
            streaming=False,
        )
    joined = get_message_text(event.task.status.message) + "".join(
        get_artifact_text(a) for a in event.task.artifacts
    )
    assert json.loads(joined) == expected_call("agentbeats-tutorial", *task.gold[0])


async def test_raw_0_3_message_send_continues_by_context_id(
    oracles: dict[str, RunningAgent],
) -> None:
    task = task_material("airline", "14")

    def body(text: str, context_id: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "kind": "message",
            "messageId": str(uuid.uuid4()),
            "role": "user",
            "parts": [{"kind": "text", "text": text}],
        }
        if context_id:
            message["contextId"] = context_id
        return {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": message}}

    async with httpx.AsyncClient() as http:
        url = oracles["both"].url
        first = (await http.post(url, json=body(opening("tau2", "airline", task.user_text)))).json()
        result = first["result"]
        assert result["kind"] == "message"
        assert result["role"] == "agent"
        assert result["parts"][0]["kind"] == "text"
        assert json.loads(result["parts"][0]["text"]) == expected_call("tau2", *task.gold[0])
        second = (
            await http.post(url, json=body(tool_result("tau2", "{}"), result["contextId"]))
        ).json()
        assert second["result"]["contextId"] == result["contextId"]
        assert json.loads(second["result"]["parts"][0]["text"]) == expected_call(
            "tau2", *task.gold[1]
        )


@pytest.mark.parametrize("protocol", ["1.0", "0.3"])
async def test_messages_without_text_get_a_text_reply(
    oracles: dict[str, RunningAgent], protocol: str
) -> None:
    url = oracles[protocol].url
    for parts in ([new_data_part({"order": 1})], [Part(text="   ")], [Part(url="https://x/y.png")]):
        reply, _ = reply_of(await Exchange().send(url, parts, streaming=False))
        assert reply == NO_TEXT_REPLY


async def test_a_message_without_parts_is_rejected_by_the_sdk_naming_the_field(
    oracles: dict[str, RunningAgent],
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            oracles["both"].url,
            headers={"A2A-Version": "1.0"},
            json={
                "jsonrpc": "2.0",
                "id": 9,
                "method": "SendMessage",
                "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}},
            },
        )
    error = response.json()["error"]
    assert error["code"] == -32602
    assert "message.parts" in json.dumps(error)


@pytest.mark.parametrize("kind", ["noop", "flawed", "llm"])
async def test_every_kind_serves_both_formats(index: TaskIndex, kind: str) -> None:
    llm = {"model": "gpt-4.1", "llm_args": {"mock_response": "Hello from the model."}}
    settings = AgentSettings(kind, seed=5, **(llm if kind == "llm" else {}))  # type: ignore[arg-type]
    task = task_material("retail", "40")
    async with serve_in_background(settings) as running:
        for fmt in ("tau2", "agentbeats-tutorial", "agentify"):
            reply, _ = reply_of(
                await Exchange().send(
                    running.url, opening(fmt, "retail", task.user_text), streaming=True
                )
            )
            if kind == "llm":
                assert reply == "Hello from the model."
            elif kind == "noop":
                assert parse_reply(fmt, reply) in (
                    None,
                    {"name": "respond", "arguments": {"content": NOOP_REPLY}},
                )
            else:
                assert reply  # the seeded plan: a call, a malformed call or text


async def test_server_stops_when_the_block_exits() -> None:
    async with serve_in_background(AgentSettings("noop")) as running:
        url = running.url
        async with httpx.AsyncClient() as http:
            assert (await http.get(url + CARD_PATH)).status_code == 200
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url + CARD_PATH)


def test_settings_name_the_bad_value() -> None:
    with pytest.raises(SettingsError, match=re.escape("protocol='2.0'")):
        AgentSettings("noop", protocol="2.0").validate()  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match=re.escape("model=None")):
        AgentSettings("llm").validate()
    with pytest.raises(SettingsError, match=re.escape("public_url='agents.example'")):
        AgentSettings("noop", public_url="agents.example").validate()
    with pytest.raises(SettingsError, match=re.escape("port=70000")):
        AgentSettings("noop", port=70000).validate()
