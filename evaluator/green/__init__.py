"""The green agent: the evaluator behind an A2A face (``tau2observe serve``).

A requester (a person, the AgentBeats client or gateway) asks over A2A for an evaluation
of a purple agent; the green agent turns the request into the same ``EvalConfig`` that
``tau2observe eval`` builds, runs the same runner (through the in-process sidecar), and
reports progress and results as A2A task events. Module map::

    reading.py      what a request asks for: Assessment, DomainListing, ResultsQuery,
                    Question (input-required) or Refused; pure
     ├ structured.py  AgentBeats' {"participants": ..., "config": ...}; pure
     ├ words.py       plain language, by fixed rules; pure
     └ llm_reader.py  plain language through litellm, when a model is configured
    outcome.py      a RunResult as the artifact (AgentBeats' numbers and ours) and the
                    status lines; pure
    evaluations.py  the bounded set of running evaluations: runner in a thread, progress,
                    cancellation, queueing
    executor.py     GreenExecutor: a2a-sdk AgentExecutor; TaskUpdater writes every event
    store.py        FileTaskStore: a2a-sdk TaskStore on files under --data-dir
    server.py       settings, agent card, bearer auth, the app, recovery after a restart
    cli.py          ``tau2observe serve``
    client.py       send an assessment and follow its stream (scenario runner, demo)
    scenario.py     ``tau2observe scenario run scenario.toml``, as AgentBeats' runner
"""
