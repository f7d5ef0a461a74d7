"""A local OpenAI-compatible chat-completions server: LLM calls without a network.

litellm reaches it through its real OpenAI path (``model="openai/<name>"``,
``api_base=<url>/v1``), so everything litellm does (the OpenAI client, usage, cost from
its price map) runs as it would against a provider. Answers are scripted per model:

- a user-simulator model (``USER_MODEL``) says ``USER_LINES`` in turn, then tau2's stop
  token, so a tau2 conversation ends after a known number of turns;
- any other model answers ``AGENT_REPLY``.

Usage is counted in words, so tests can compare token totals with what arrived. Every
request is recorded (body and headers), for tests to assert on.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests.fakes.loopback import LoopbackServer

# gpt-4o-mini is in litellm's local price map, so calls to it have a cost.
USER_MODEL = "gpt-4o-mini"
AGENT_MODEL = "gpt-4.1-mini"
USER_LINES = (
    "Hi, I need help with my account.",
    "Can you tell me what you can do for me?",
)
STOP = "###STOP###"
AGENT_REPLY = "I can help with that. What is your user id?"
API_KEY = "sk-local-test-0000"


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    headers: dict[str, str]


def words(text: str) -> int:
    return len(text.split())


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[ChatCompletionsServer]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            self._send(400, {"error": {"message": "body is not JSON"}})
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not isinstance(body.get("model"), str):
            self._send(400, {"error": {"message": "model and messages are required"}})
            return
        request = ChatRequest(
            body["model"], messages, {k.lower(): v for k, v in self.headers.items()}
        )
        self._send(200, self.fake.answer(request))

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ChatCompletionsServer(LoopbackServer):
    handler_class = _Handler

    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()
        self._count = 0

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    def litellm_args(self) -> dict[str, Any]:
        """Keyword arguments that send a litellm call here."""
        return {"api_base": self.api_base, "api_key": API_KEY}

    def reply_to(self, request: ChatRequest) -> str:
        if request.model != USER_MODEL:
            return AGENT_REPLY
        # The simulator's own earlier lines are the "assistant" messages it is shown.
        said = sum(1 for m in request.messages if m.get("role") == "assistant")
        return USER_LINES[said] if said < len(USER_LINES) else STOP

    def answer(self, request: ChatRequest) -> dict[str, Any]:
        text = self.reply_to(request)
        prompt = sum(words(str(m.get("content") or "")) for m in request.messages)
        with self._lock:
            self.requests.append(request)
            self._count += 1
            number = self._count
        return {
            "id": f"chatcmpl-local-{number}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": words(text),
                "total_tokens": prompt + words(text),
            },
        }
