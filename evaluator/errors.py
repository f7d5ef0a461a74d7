"""What an evaluation can fail with, and whether the agent is to blame.

    Tau2ObserveError                      (proxy.errors)
     ├── UsageError                       bad command line (the dispatcher exits 2)
     │    ├── UnknownDomain               --domain names no domain tau2 or a folder has
     │    ├── UnknownTask                 --task-ids names a task the domain lacks
     │    └── DomainFolderError           a --domain folder that cannot be loaded
     └── EvaluationError                  one A2A exchange or agent failed
          ├── AgentUnreachable            connection refused, DNS, reset      (infrastructure)
          ├── AgentTimeout                no answer within --agent-a2a-timeout (infrastructure)
          ├── NotAnA2AAgent               the URL serves no usable agent card  (infrastructure)
          ├── AgentProtocolError          JSON-RPC error, failed/rejected task (agent)
          └── AgentReplyError             a reply with no text to act on       (agent)

Infrastructure errors end a trial as ``infrastructure_error`` and are left out of the
averages and pass^k, as tau2 does; agent errors end it as ``agent_error`` (reward 0).
Messages never contain credentials: they are built from URLs and status codes only.
"""

from __future__ import annotations

from proxy.errors import Tau2ObserveError, UsageError


class UnknownDomain(UsageError):
    def __init__(self, domain: str, known: list[str]) -> None:
        super().__init__(
            f"--domain {domain!r}: unknown domain; known: {', '.join(known)} "
            "(or give a domain folder's path, such as ./my_domain, or add its parent "
            "folder to TAU2OBSERVE_DOMAINS)"
        )


class UnknownTask(UsageError):
    def __init__(self, domain: str, task_ids: list[str]) -> None:
        listed = ", ".join(repr(t) for t in task_ids)
        super().__init__(f"--task-ids: domain {domain!r} has no task {listed}")


class EvaluationError(Tau2ObserveError):
    """One exchange with the agent under test failed; ``error_type`` goes on spans."""

    error_type = "evaluation_error"
    infrastructure = False


class AgentUnreachable(EvaluationError):
    error_type = "agent_unreachable"
    infrastructure = True


class AgentTimeout(EvaluationError):
    error_type = "agent_timeout"
    infrastructure = True


class NotAnA2AAgent(EvaluationError):
    error_type = "not_an_a2a_agent"
    infrastructure = True


class AgentProtocolError(EvaluationError):
    error_type = "agent_protocol_error"


class AgentReplyError(EvaluationError):
    error_type = "agent_reply_error"
