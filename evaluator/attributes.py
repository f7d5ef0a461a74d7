"""Attribute keys of the evaluator's spans and metrics (``dashboards/metrics.yaml``)."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai

ATTR_DOMAIN = "tau2.domain"
ATTR_TASK_ID = "tau2.task.id"
ATTR_TRIAL = "tau2.trial"
ATTR_REWARD = "tau2.reward"
ATTR_SUCCESS = "tau2.success"
ATTR_TERMINATION = "tau2.termination_reason"
ATTR_COMPLEXITY = "tau2.task.complexity"
ATTR_COMPONENT = "tau2.reward.component"
ATTR_K = "tau2.k"
ATTR_RUN_ID = "tau2.run.id"
ATTR_ATTEMPT = "tau2.attempt"
ATTR_STATUS = "tau2.trial.status"
ATTR_CAUSE = "tau2.failure.cause"
ATTR_TOKEN_TYPE = gen_ai.GEN_AI_TOKEN_TYPE
ATTR_AGENT = gen_ai.GEN_AI_AGENT_NAME
ATTR_OPERATION = gen_ai.GEN_AI_OPERATION_NAME
ATTR_CONVERSATION = gen_ai.GEN_AI_CONVERSATION_ID
