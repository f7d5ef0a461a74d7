"""The negative control: answers every message politely and never calls a tool.

Some tau2 tasks expect a refusal, so even this agent scores on a few of them; compare
other agents against its score rather than against zero.
"""

from __future__ import annotations

from evaluator.agents.scripted import Conversation, ScriptedAgent
from evaluator.agents.wire import Opening, Reply, SayText, Turn

NOOP_REPLY = "I'm sorry, I can't help with that right now."


class _Apology:
    def respond(self, turn: Turn) -> Reply:
        return SayText(NOOP_REPLY)


class NoopAgent(ScriptedAgent):
    async def open(self, opening: Opening) -> Conversation:
        return _Apology()
