"""Simulated students checking answers before the deadline (grader.simulate.simulate_checks): each
check goes through the service's own Checker and is recorded; each answer's planned share follows
the credit list from the plan's own count of tries."""

import random
import re
from pathlib import Path

import pytest

from grader.attempts.store import Store
from grader.bank import load_bank_text
from grader.grading.kernel.in_kernel import encode
from grader.render import problem_variants
from grader.service.check import Checker
from grader.simulate import SimulatedStudent, _planned_share, answer_for, simulate_checks

# the shipped bank without its homework's own `attempts:` lines: this test gives the policy itself
SHIPPED = re.sub(r"(?m)^    attempts: \{[^\n]*\}\n", "",
                 (Path(__file__).parents[1] / "questions.yaml").read_text(encoding="utf-8"))
HEADER = "  - id: cnn-detection\n    title: CNNs and object detection\n"
POLICY = "    attempts: {checks: 2, credit: [1, 0.75, 0.5], interval: 1min}\n"


@pytest.mark.parametrize("verdicts, right, share", [
    ([], True, 1.0), (["right"], True, 1.0), (["not right", "right"], True, 0.75),
    (["not right"], True, 0.75), (["not right", "not right"], True, 0.5), (["partly right"], False, 0.75),
    (["right", "not right"], False, 0.5),
])
def test_the_planned_share(verdicts, right, share):
    assert _planned_share((1, 0.75, 0.5), verdicts, right) == share


def test_checks_are_recorded_as_the_service_records_them_and_shares_follow(tmp_path):
    bank = load_bank_text(SHIPPED.replace(HEADER, HEADER + POLICY))
    store = Store(f"sqlite:///{tmp_path / 'gradebook.db'}", "elen521")
    clock = [1_800_000_000.0]

    def ticking():
        clock[0] += 61           # past the interval: the simulated students are patient
        return clock[0]

    checker = Checker(bank, store, clock=ticking)
    plan = []
    for index in range(12):
        student = f"student{index:03d}"
        rng = random.Random(index)
        answers = [answer_for(variant, rng.choice(["correct", "misconception"]), rng)[1]
                   for variant in problem_variants(bank, "cnn-detection", student)]
        plan.append(SimulatedStudent(student, "correct", answers))
    made = simulate_checks(bank, "cnn-detection", plan, checker.check, encode)
    recorded = store.attempts("cnn-detection")
    assert made == len(recorded) > 12
    for simulated in plan:
        for answer in simulated.answers:
            mine = [one for one in recorded if one.student == simulated.student and one.problem == answer.problem]
            assert [one.correct for one in mine] == [verdict == "right" for verdict in answer.checks]
            assert [one.try_number for one in mine] == list(range(1, len(mine) + 1))
            if bank.problems[answer.problem].kind == "function":
                assert mine == []
            if mine and mine[-1].correct and answer.fraction >= 1:
                first = next(one.try_number for one in mine if one.correct)
                assert answer.share == [1, 0.75, 0.5][first - 1]
    assert {answer.share for simulated in plan for answer in simulated.answers} >= {1.0, 0.75}
