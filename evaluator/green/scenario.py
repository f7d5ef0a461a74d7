"""``tau2observe scenario run scenario.toml``: an assessment end to end, as AgentBeats runs one.

A scenario file names the green agent, the participants and the assessment's config,
in the AgentBeats tutorial's TOML layout::

    [green_agent]
    endpoint = "http://127.0.0.1:9009"
    cmd = "tau2observe serve --port 9009 --data-dir out/scenario-green"   # optional

    [[participants]]
    role = "agent"
    endpoint = "http://127.0.0.1:9019"
    cmd = "tau2observe agent oracle --port 9019"                          # optional
    # agentbeats_id = "..."   (written to results.json instead of the endpoint)

    [config]
    domain = "mock"
    num_tasks = 3

The runner starts every ``cmd`` (a command starting with ``tau2observe`` runs this
tau2observe, with this Python), waits for each agent card, sends the assessment to the
green agent as AgentBeats' client does (the JSON request as one text part, streaming),
prints the status updates, and writes ``{"status", "participants", "results"}`` (the
artifacts' data, AgentBeats' ``results.json`` shape). It stops what it started, always.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proxy.errors import UsageError

if TYPE_CHECKING:
    from evaluator.green.client import Followed

HELP = "run an AgentBeats-style scenario: start the agents, assess, write results.json"
DESCRIPTION = __doc__ or HELP
CARD_PATH = ".well-known/agent-card.json"


@dataclass(frozen=True)
class Agent:
    role: str
    endpoint: str
    cmd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    agentbeats_id: str | None = None

    def argv(self) -> list[str]:
        """The command; ``tau2observe ...`` runs this tau2observe with this Python."""
        assert self.cmd is not None
        argv = shlex.split(self.cmd)
        if argv and argv[0] == "tau2observe":
            return [sys.executable, "-m", "evaluator.cli", *argv[1:]]
        return argv


@dataclass(frozen=True)
class Scenario:
    green: Agent
    participants: tuple[Agent, ...]
    config: Mapping[str, Any]

    def request(self) -> dict[str, Any]:
        return {
            "participants": {p.role: p.endpoint for p in self.participants},
            "config": dict(self.config),
        }


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; :class:`UsageError` names the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not TOML: {exc}") from None
    unknown = sorted(set(data) - {"green_agent", "participants", "config"})
    if unknown:
        raise UsageError(f"{path}: unknown table(s) {', '.join(unknown)}")
    green = _agent(path, data.get("green_agent"), "[green_agent]", role="green")
    raw = data.get("participants")
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"{path}: needs at least one [[participants]] with role and endpoint")
    participants = tuple(
        _agent(path, item, f"[[participants]] #{i + 1}") for i, item in enumerate(raw)
    )
    roles = [p.role for p in participants]
    if len(set(roles)) < len(roles):
        raise UsageError(f"{path}: participant roles must differ: {', '.join(roles)}")
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise UsageError(f"{path}: [config] must be a table")
    return Scenario(green, participants, config)


def _agent(path: Path, item: Any, where: str, role: str | None = None) -> Agent:
    if not isinstance(item, dict):
        raise UsageError(f"{path}: {where} is missing or not a table")
    unknown = sorted(set(item) - {"role", "name", "endpoint", "cmd", "env", "agentbeats_id"})
    if unknown:
        raise UsageError(f"{path}: {where}: unknown key(s) {', '.join(unknown)}")
    endpoint = item.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise UsageError(f"{path}: {where}.endpoint must be an http(s) URL, not {endpoint!r}")
    name = role or item.get("role") or item.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f"{path}: {where} needs a role")
    cmd = item.get("cmd")
    if cmd is not None and (not isinstance(cmd, str) or not cmd.strip()):
        raise UsageError(f"{path}: {where}.cmd must be a command line")
    env = item.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise UsageError(f"{path}: {where}.env must be a table of strings")
    agentbeats_id = item.get("agentbeats_id")
    return Agent(name, endpoint.rstrip("/") + "/", cmd, env, agentbeats_id or None)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="scenario_command", metavar="ACTION", required=True)
    run_parser = sub.add_parser(
        "run",
        help="start the agents, send the assessment, write the results",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_parser.add_argument("scenario", type=Path, help="the scenario's TOML file")
    run_parser.add_argument(
        "--output",
        type=Path,
        default=Path("results.json"),
        metavar="PATH",
        help="where to write the results (default: results.json)",
    )
    run_parser.add_argument(
        "--show-logs", action="store_true", help="let the agents' logs through to stderr"
    )
    run_parser.add_argument(
        "--startup-timeout",
        type=float,
        default=180.0,
        metavar="S",
        help="seconds to wait for the agents' cards (default: 180)",
    )
    run_parser.add_argument(
        "--auth-token", metavar="TOKEN", help="bearer token for the green agent"
    )


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    with started(scenario, show_logs=args.show_logs) as processes:
        wait_for_cards(scenario, processes, args.startup_timeout)
        followed = asyncio.run(assess(scenario, token=args.auth_token))
    return write_results(scenario, followed, args.output)


@contextmanager
def started(scenario: Scenario, *, show_logs: bool) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Every agent with a ``cmd``, started; stopped on the way out whatever happens."""
    processes: dict[str, subprocess.Popen[bytes]] = {}
    output = None if show_logs else subprocess.DEVNULL
    try:
        for agent in (scenario.green, *scenario.participants):
            if agent.cmd is None:
                continue
            print(f"starting {agent.role}: {agent.cmd}", file=sys.stderr)
            try:
                processes[agent.role] = subprocess.Popen(  # noqa: S603 (the scenario's own)
                    agent.argv(),
                    stdout=output,
                    stderr=output,
                    env={**os.environ, **agent.env},
                )
            except OSError as exc:
                raise UsageError(f"{agent.role}: cannot start {agent.cmd!r}: {exc}") from None
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for role, process in processes.items():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print(f"{role} did not stop in 15 s: killed", file=sys.stderr)
                process.kill()
                process.wait()


def wait_for_cards(
    scenario: Scenario, processes: Mapping[str, subprocess.Popen[bytes]], timeout_s: float
) -> None:
    """Each agent's card answers, or :class:`UsageError` says which did not and why."""
    import httpx

    deadline = time.monotonic() + timeout_s
    for agent in (scenario.green, *scenario.participants):
        url = agent.endpoint + CARD_PATH
        while True:
            process = processes.get(agent.role)
            if process is not None and process.poll() is not None:
                raise UsageError(
                    f"{agent.role} exited with status {process.returncode} before its card "
                    f"answered at {url} (--show-logs shows why)"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    print(f"{agent.role} is ready at {agent.endpoint}", file=sys.stderr)
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise UsageError(f"{agent.role}: no agent card at {url} after {timeout_s:.0f} s")
            time.sleep(0.25)


async def assess(scenario: Scenario, *, token: str | None = None) -> Followed:
    """Send the assessment and follow it, printing each status update as it comes."""
    from evaluator.green.client import request_assessment

    printed = 0

    def show(followed: Followed) -> None:
        nonlocal printed
        for line in followed.updates[printed:]:
            print(f"[{followed.state}] {line}", file=sys.stderr, flush=True)
        printed = len(followed.updates)

    return await request_assessment(
        scenario.green.endpoint, scenario.request(), token=token, on_update=show
    )


def write_results(scenario: Scenario, followed: Followed, output: Path) -> int:
    """AgentBeats' results.json; 0 when the assessment completed."""
    results = {
        "status": followed.state,
        "participants": {p.role: p.agentbeats_id or p.endpoint for p in scenario.participants},
        "results": followed.results,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for text in followed.texts:
        print(text)
    print(f"{followed.state}; results written to {output}")
    return 0 if followed.state == "completed" else 1
