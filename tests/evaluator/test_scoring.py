import pytest

from evaluator import scoring
from evaluator.scoring import Scored


def trials(table: dict[str, list[float]], unscored: dict[str, int] | None = None) -> list[Scored]:
    out = [Scored(task, r, "user_stop") for task, rewards in table.items() for r in rewards]
    for task, n in (unscored or {}).items():
        out += [Scored(task, 0.0, "user_error", scored=False)] * n
    return out


def test_pass_hat_k_is_the_binomial_ratio() -> None:
    # 4 trials, 3 successes: C(3,1)/C(4,1) = 3/4, C(3,2)/C(4,2) = 3/6, C(3,3)/C(4,3) = 1/4
    assert scoring.pass_hat_k(4, 3, 1) == pytest.approx(0.75)
    assert scoring.pass_hat_k(4, 3, 2) == pytest.approx(0.5)
    assert scoring.pass_hat_k(4, 3, 3) == pytest.approx(0.25)
    assert scoring.pass_hat_k(4, 3, 4) == 0.0
    with pytest.raises(ValueError, match="k=5"):
        scoring.pass_hat_k(4, 3, 5)


def test_pass_hat_ks_average_over_tasks_hand_computed() -> None:
    # task a: 2/2 successes, task b: 1/2, task c: 0/2
    # pass^1 = (1 + 1/2 + 0) / 3 = 0.5 ; pass^2 = (1 + 0 + 0) / 3
    ks = scoring.pass_hat_ks(trials({"a": [1, 1], "b": [1, 0.5], "c": [0, 0]}))
    assert ks == {1: pytest.approx(0.5), 2: pytest.approx(1 / 3)}


def test_partial_rewards_are_not_successes() -> None:
    assert not scoring.is_successful(0.999)
    assert scoring.is_successful(1 - 1e-7)
    assert scoring.success_rate(trials({"a": [0.5, 1.0]})) == 0.5


def test_unscored_trials_leave_the_averages_and_their_task_leaves_pass_hat_k() -> None:
    # a has 3 trials, one of which was not scored: a is judged on no pass^k at all,
    # b on all three of its trials; the averages keep a's two scored trials.
    table = trials({"a": [1, 1], "b": [1, 0, 1]}, unscored={"a": 1})
    assert scoring.pass_hat_ks(table) == {
        1: pytest.approx(2 / 3),
        2: pytest.approx(1 / 3),
        3: pytest.approx(0.0),
    }
    assert scoring.pass_hat_k_tasks(table) == (1, 2)
    assert scoring.average_reward(table) == pytest.approx(4 / 5)
    assert scoring.termination_counts(table) == {"user_stop": 5, "user_error": 1}


def test_short_tasks_of_an_unfinished_run_leave_pass_hat_k() -> None:
    table = trials({"a": [1, 1], "b": [1]})
    assert scoring.pass_hat_ks(table, num_trials=2) == {1: 1.0, 2: 1.0}
    assert scoring.pass_hat_k_tasks(table, num_trials=2) == (1, 2)
    assert scoring.pass_hat_ks(table) == {1: 1.0}  # without the plan: k up to the shortest


def test_wilson_interval_is_wide_for_few_tasks_and_narrows_with_more() -> None:
    five = scoring.wilson_interval(1.0, 5)
    assert five is not None
    assert five[1] == 1.0
    assert five[0] == pytest.approx(0.5655, abs=1e-3)  # 5 of 5 is not certainty
    hundred = scoring.wilson_interval(0.5, 100)
    assert hundred is not None
    assert hundred[0] == pytest.approx(0.4038, abs=1e-3)
    assert hundred[1] == pytest.approx(0.5962, abs=1e-3)
    assert scoring.wilson_interval(0.5, 0) is None


def test_nothing_counted_gives_no_scores() -> None:
    only_broken = trials({}, unscored={"a": 2})
    assert scoring.pass_hat_ks(only_broken) == {}
    assert scoring.average_reward(only_broken) is None
    assert scoring.success_rate(only_broken) is None


@pytest.mark.parametrize(
    ("actions", "checks", "tier"),
    [(0, 1, "easy"), (2, 0, "easy"), (3, 1, "medium"), (5, 1, "hard"), (5, 2, "expert")],
)
def test_complexity_tiers(actions: int, checks: int, tier: str) -> None:
    assert scoring.complexity_tier(scoring.complexity_score(actions, checks)) == tier


def test_failure_rates_pool_runs() -> None:
    run_a = trials({"x": [1, 0], "y": [1, 1]})
    run_b = trials({"x": [0, 0]})
    assert scoring.failure_rates(run_a) == {"x": 0.5, "y": 0.0}
    assert scoring.pooled_failure_rates([run_a, run_b]) == {"x": 0.75, "y": 0.0}
