"""Sampler plug-ins on synthetic rewards: which problems each picks, the pool's bounds, the schedule's
boundaries, state round trips, and the config errors, all before any model is built."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from rlvr.training.builders import build_sampler, build_task  # noqa: E402
from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.rollout import ProblemStream  # noqa: E402
from rlvr.training.samplers import SAMPLERS, make_sampler, vps  # noqa: E402

WIDE = {"num_ops": 1, "operators": ["+"], "min_operand": 0, "max_operand": 999}
"""A problem space large enough that fresh problems of a short test never repeat an id."""


def task_and_stream(difficulty=WIDE, seed=0):
    task = build_task(load_config({"difficulty": difficulty}))
    return task, ProblemStream(task, seed, difficulty, "train")


def bound(name, settings=None, batch=4, seed=0, difficulty=WIDE):
    sampler = make_sampler(name, settings)
    _, stream = task_and_stream(difficulty, seed)
    sampler.bind(stream, batch, seed)
    return sampler


def observe(sampler, problems, accuracies, group=4):
    """Groups of `group` rollouts whose share of correct ones is each problem's accuracy."""
    correct = torch.tensor([[1.0 if g < round(a * group) else 0.0 for g in range(group)] for a in accuracies])
    sampler.observe(problems, correct.clone(), correct)


def ids(problems):
    return [problem.problem_id for problem in problems]


# ---- the registry ------------------------------------------------------------------------------------------


def test_every_sampler_has_a_source_and_documented_settings():
    assert {"stream", "variance", "curriculum"} <= set(SAMPLERS)
    for name, cls in SAMPLERS.items():
        assert cls.name == name and cls.source, name
        for setting, (_default, doc) in cls.settings().items():
            assert doc, (name, setting)


def test_an_unbound_sampler_says_what_is_missing():
    with pytest.raises(RuntimeError, match=r"sampler 'stream' has no problem stream yet: call bind"):
        make_sampler("stream").select(0)


# ---- stream ------------------------------------------------------------------------------------------------


def test_stream_gives_the_streams_next_problems():
    sampler = bound("stream", batch=3)
    _, reference = task_and_stream()
    assert ids(sampler.select(0)) == ids(reference.take(3))
    assert ids(sampler.select(0)) == ids(reference.take(3))  # a refill: the next ones, as before
    assert sampler.stream.index == 6 and sampler.state_dict() == {} and sampler.metrics() == {}


# ---- variance ----------------------------------------------------------------------------------------------


def test_vps_worked_numbers_of_the_spec():
    assert [vps(p) for p in (0.0, 0.5, 1.0)] == [0.0, 0.25, 0.0]


def test_variance_starts_fresh_then_redraws_only_problems_whose_groups_split():
    sampler = bound("variance", {"share": 0.5}, batch=4)
    _, reference = task_and_stream()
    first = sampler.select(0)
    assert ids(first) == ids(reference.take(4))  # an empty pool: all fresh, the stream's own
    observe(sampler, first, [0.0, 0.5, 1.0, 0.25])
    second = sampler.select(1)
    assert set(ids(second[:2])) == {first[1].problem_id, first[3].problem_id}  # VPS > 0 only
    assert ids(second[2:]) == ids(reference.take(2))  # the rest fresh from the stream
    assert sampler.metrics()["sampler_reused"] == 2


def test_variance_with_fewer_candidates_than_its_share_fills_from_the_stream():
    sampler = bound("variance", {"share": 1.0}, batch=4)
    first = sampler.select(0)
    observe(sampler, first, [0.5, 0.0, 0.0, 1.0])
    second = sampler.select(1)
    assert second[0].problem_id == first[0].problem_id and len(second) == 4
    assert not set(ids(second[1:])) & set(ids(first))


def test_variance_draws_in_proportion_to_p_times_one_minus_p():
    sampler = bound("variance", {"share": 0.5}, batch=2)
    first = sampler.select(0)
    observe(sampler, first, [0.5, 0.25])  # VPS 0.25 and 0.1875: expect 0.25 / 0.4375 = 0.571
    draws = 3000
    hits = sum(sampler.select(step)[0].problem_id == first[0].problem_id for step in range(1, draws + 1))
    assert abs(hits / draws - 0.25 / 0.4375) < 0.03, hits / draws


def test_variance_never_gives_a_pooled_problem_twice_in_one_step():
    sampler = bound("variance", {"share": 1.0}, batch=2)
    first = sampler.select(0)
    observe(sampler, first, [0.5, 0.5])
    again = sampler.select(1) + sampler.select(1)  # DAPO's refill within step 1
    pooled = [key for key in ids(again) if key in ids(first)]
    assert sorted(pooled) == sorted(ids(first))


@settings(max_examples=40, deadline=None)
@given(accuracies=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=12),
       share=st.floats(0.0, 1.0), pool_size=st.integers(1, 8), batch=st.integers(1, 6))
def test_variance_keeps_its_bounds(accuracies, share, pool_size, batch):
    sampler = bound("variance", {"share": share, "pool_size": pool_size}, batch=batch)
    step = 0
    for start in range(0, len(accuracies), batch):
        problems = sampler.select(step)
        chosen = accuracies[start:start + batch] + [0.5] * max(0, batch - len(accuracies[start:start + batch]))
        observe(sampler, problems, chosen[:len(problems)])
        step += 1
        assert len(sampler.pool) <= pool_size
    with_signal = [key for key, entry in sampler.pool.items() if vps(entry.accuracy) > 0]
    problems = sampler.select(step)
    reused = [key for key in ids(problems) if key in sampler.pool]
    assert len(problems) == batch
    assert set(reused) <= set(with_signal)
    assert len(reused) == min(int(share * batch + 0.5), len(with_signal))


def test_a_full_pool_drops_the_lowest_score_first_then_the_oldest():
    sampler = bound("variance", {"pool_size": 3}, batch=3)
    first = sampler.select(0)
    observe(sampler, first, [0.5, 0.0, 0.25])
    newer = sampler.select(1)
    fresh = [problem for problem in newer if problem.problem_id not in ids(first)]
    observe(sampler, fresh[:1], [0.75])
    # VPS: 0.25, 0, 0.1875, 0.1875 -> the zero goes; the rest stay, newest last
    assert list(sampler.pool) == [first[0].problem_id, first[2].problem_id, fresh[0].problem_id]
    observe(sampler, sampler.select(2)[-1:], [0.75])
    # 0.25, 0.1875 (older), 0.1875, 0.1875 -> the oldest of the lowest goes
    assert first[2].problem_id not in sampler.pool and len(sampler.pool) == 3


def test_variance_state_round_trips_as_plain_values_and_regenerates_its_problems():
    sampler = bound("variance", batch=4)
    first = sampler.select(0)
    observe(sampler, first, [0.5, 0.25, 1.0, 0.75])
    state = sampler.state_dict()
    assert set(state) == {"ids", "indices", "accuracy", "seen"}
    assert all(isinstance(value, (int, float, str)) for column in state.values() for value in column)
    restored = make_sampler("variance")
    _, stream = task_and_stream()
    stream.load_state_dict(sampler.stream.state_dict())
    restored.bind(stream, 4, 0)
    restored.load_state_dict(state)
    assert [p.prompt for p in restored.select(1)] == [p.prompt for p in sampler.select(1)]


def test_a_pool_from_another_stream_is_refused_when_its_problems_are_regenerated():
    sampler = bound("variance", {"share": 1.0}, batch=2)
    observe(sampler, sampler.select(0), [0.5, 0.5])
    other = bound("variance", {"share": 1.0}, batch=2, seed=7)
    other.load_state_dict(sampler.state_dict())
    with pytest.raises(ValueError, match=r"the task, its difficulty or the seed changed since the checkpoint"):
        other.select(1)


def test_variance_refuses_observations_it_cannot_use():
    sampler = bound("variance", batch=2)
    _, stream = task_and_stream(seed=3)
    with pytest.raises(ValueError, match=r"observed problem \w+ it did not select"):
        observe(sampler, stream.take(2), [0.5, 0.5])
    problems = sampler.select(0)
    with pytest.raises(ValueError, match=r"expects correct shaped \[2, G\].*got \(3, 4\)"):
        sampler.observe(problems, torch.zeros(3, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"state needs equally long lists"):
        sampler.load_state_dict({"ids": ["a"], "indices": []})


# ---- curriculum ----------------------------------------------------------------------------------------------

SCHEDULE = {"num_ops": [[0, 1], [200, 2]], "max_operand": [[100, 9]]}


def test_the_schedule_changes_at_its_boundaries():
    sampler = bound("curriculum", {"schedule": SCHEDULE}, batch=3, difficulty={**WIDE, "max_operand": 99})
    expected = {0: (1, 99), 99: (1, 99), 100: (1, 9), 199: (1, 9), 200: (2, 9), 10_000: (2, 9)}
    for step, (num_ops, max_operand) in expected.items():
        problems = sampler.select(step)
        assert {(p.difficulty["num_ops"], p.difficulty["max_operand"]) for p in problems} == {(num_ops, max_operand)}
        assert sampler.metrics() == {"curriculum_stage": float(sampler.stage_at(step)),
                                     "curriculum_num_ops": num_ops, "curriculum_max_operand": max_operand}
        assert all(p.difficulty["operators"] == ("+",) for p in problems)  # unscheduled knobs: the run's
    assert sampler.stream.index == 3 * len(expected) and sampler.state_dict() == {}


def test_before_its_first_pair_a_knob_keeps_the_runs_difficulty():
    sampler = bound("curriculum", {"schedule": {"max_operand": [[5, 9]]}}, difficulty={**WIDE, "max_operand": 50})
    assert sampler.stage_at(4) == -1 and {p.difficulty["max_operand"] for p in sampler.select(4)} == {50}
    assert {p.difficulty["max_operand"] for p in sampler.select(5)} == {9}


def test_curriculum_problems_are_the_streams_at_the_scheduled_difficulty():
    sampler = bound("curriculum", {"schedule": {"max_operand": [[0, 999]]}}, batch=4)
    _, reference = task_and_stream()
    assert ids(sampler.select(0)) == ids(reference.take(4))  # the schedule equals the run: the stream


# ---- config errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "message"), [
    ({"sampler": "varianse"}, r"config sampler must be one of .*got 'varianse' \(did you mean: variance\?\)"),
    ({"sampler": "variance", "sampler_settings": {"pool": 3}},
     r"config sampler 'variance' takes settings \['share', 'pool_size'\], got 'pool' \(did you mean: pool_size\?\)"),
    ({"sampler": "stream", "sampler_settings": {"share": 0.5}}, r"sampler 'stream' takes no settings, got 'share'"),
    ({"sampler": "variance", "sampler_settings": {"share": 1.5}}, r"setting share must be in \[0.0, 1.0\], got 1.5"),
    ({"sampler": "variance", "sampler_settings": {"pool_size": 2.5}}, r"setting pool_size expects int, got 2.5"),
    ({"sampler": "variance", "sampler_settings": {"share": True}}, r"setting share expects float, got True"),
    ({"sampler": "variance", "sampler_settings": {"share": float("nan")}}, r"expects a finite number, got nan"),
    ({"sampler_settings": 3}, r"config sampler_settings expects dict, got 3"),
    ({"sampler": "curriculum"}, r"setting schedule expects \{knob: \[\[step, value\], ...\]\}.*got \{\}"),
    ({"sampler": "curriculum", "sampler_settings": {"schedule": {"num_op": [[0, 1]]}}},
     r"schedule at step 0: unknown difficulty knob 'num_op'.*\(did you mean: num_ops\?\)"),
    ({"sampler": "curriculum", "sampler_settings": {"schedule": {"num_ops": [[0, "two"]]}}},
     r"schedule at step 0: difficulty knob 'num_ops' expects int, got 'two'"),
    ({"sampler": "curriculum", "sampler_settings": {"schedule": {"num_ops": [[10, 1], [10, 2]]}}},
     r"knob 'num_ops' needs steps >= 0 in increasing order, got 10 after 10"),
    ({"sampler": "curriculum", "sampler_settings": {"schedule": {"num_ops": [[-1, 1]]}}},
     r"needs steps >= 0 in increasing order, got -1 after the start"),
    ({"sampler": "curriculum", "sampler_settings": {"schedule": {"num_ops": [3]}}},
     r"expects \[step, value\] pairs; knob 'num_ops' has 3"),
    ({"sampler": "curriculum", "sampler_settings": {"schedule": {"num_ops": 2}}}, r"knob 'num_ops' has 2"),
])
def test_config_refuses_bad_samplers_before_any_work(values, message):
    with pytest.raises(ValueError, match=message):
        load_config(values)


def test_a_good_sampler_config_loads_and_builds_bound_to_the_train_stream():
    config = load_config({"difficulty": WIDE}, ["sampler=variance", "sampler_settings={share: 1, pool_size: 8}",
                                                "prompts_per_step=5", "seed=3"])
    assert config.sampler_settings == {"share": 1, "pool_size": 8}
    _, stream = task_and_stream(seed=3)
    sampler = build_sampler(config, stream)
    assert sampler.share == 1.0 and isinstance(sampler.share, float) and sampler.pool_size == 8
    assert sampler.stream is stream and sampler.prompts_per_step == 5 and sampler.seed == 3
