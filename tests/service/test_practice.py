"""Practice after the deadline (grader.service.practice): the student is shown the problem on a round's
fresh numbers and checks answers to it; nothing counts, nothing is shown before answers stop counting."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from service_kit import DUE
from test_check import STUDENT, Clock, send

from grader import engine
from grader.attempts.store import Store
from grader.bank import load_bank
from grader.service.check import Checker, practice_key
from grader.service.practice import practice_round
from grader.variants import draw, draw_for

CLOSED = (DUE + dt.timedelta(days=2, seconds=1)).timestamp()


@pytest.fixture
def course(service_course):
    bank = load_bank(service_course / "questions.yaml")
    store = Store(f"sqlite:///{service_course}/gradebook.db", "service-kit")
    clock = Clock((DUE - dt.timedelta(days=1)).timestamp())
    return bank, store, clock, Checker(bank, store, clock=clock)


def shown_values(inputs_source: str) -> dict:
    namespace: dict = {"np": np, "array": np.array}
    exec(inputs_source, namespace)
    return {name: value for name, value in namespace.items() if name in ("y", "p")}


def test_practice_is_refused_while_answers_count(course):
    bank, store, clock, checker = course
    reply = practice_round(checker, STUDENT, "hw", "mse", 1)
    assert reply.status == 403 and "practice opens" in reply.body["error"]
    clock.now = (DUE + dt.timedelta(days=1)).timestamp()      # late, but answers still count
    assert practice_round(checker, STUDENT, "hw", "mse", 1).status == 403
    assert store.attempts("hw") == []


def test_a_round_shows_fresh_numbers_and_a_right_answer_to_them_is_right(course):
    bank, store, clock, checker = course
    clock.now = CLOSED
    own = draw_for(bank, bank.problems["mse"], "hw", STUDENT)
    rounds = [practice_round(checker, STUDENT, "hw", "mse", number) for number in (1, 2)]
    assert [reply.status for reply in rounds] == [200, 200]
    shown = [shown_values(reply.body["inputs"]) for reply in rounds]
    practice_values = draw(bank, bank.problems["mse"], "hw", practice_key(STUDENT, 1))
    np.testing.assert_allclose(shown[0]["y"], practice_values["y"])
    assert not np.array_equal(shown[0]["y"], own["y"]) and not np.array_equal(shown[0]["y"], shown[1]["y"])
    assert "Problem 1: Mean squared error" in rounds[0].body["prompt"]
    expected = float(engine.mse(shown[0]["y"], shown[0]["p"]))      # from the numbers the student was shown
    assert str(round(expected, 4)) not in json.dumps(rounds[0].body)
    right = send(checker, {"assignment": "hw", "problem": "mse", "answer": expected, "practice": 1})
    wrong_round = send(checker, {"assignment": "hw", "problem": "mse", "answer": expected, "practice": 2})
    assert (right.status, right.body["verdict"], right.body["practice"]) == (200, "right", True)
    assert wrong_round.body["verdict"] != "right"
    assert [one.try_number for one in store.attempts("hw", STUDENT)] == [None, None]


def test_bad_rounds_and_problems(course):
    bank, store, clock, checker = course
    clock.now = CLOSED
    assert practice_round(checker, STUDENT, "hw", "mse", 0).status == 400
    assert practice_round(checker, STUDENT, "hw", "nope", 1).status == 404
    assert practice_round(checker, STUDENT, "nope", "mse", 1).status == 404
    assert practice_round(checker, STUDENT, "hw", "pick", 1).status == 403     # checks: 0, graded only
