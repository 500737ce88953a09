"""grader.runtime.check on known answers, against the engine and nbgrader's own partial-credit reader."""

import json
import os
import re
from types import SimpleNamespace

import numpy as np
import pytest
from nbgrader.utils import get_partial_grade
from render_kit import ASSIGNMENT, FIXTURE_BANK

from grader import engine, render, runtime
from grader.errors import GraderError
from grader.variants import draw


@pytest.fixture
def in_course(course, monkeypatch):
    """Run from a subdirectory of the course, as nbgrader does (autograded/<student>/<assignment>/)."""
    monkeypatch.delenv(runtime.BANK_ENV, raising=False)
    workdir = course / "autograded" / "student1" / ASSIGNMENT
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    return course


def values_of(bank, problem_id):
    return draw(bank, bank.problems[problem_id], ASSIGNMENT)


def run_check(bank, problem_id, answer, capsys):
    earned = runtime.check(problem_id, answer, assignment=ASSIGNMENT, digest=bank.problems[problem_id].digest)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    results = [i for i, line in enumerate(lines) if line.startswith("GRADER_RESULT ")]
    assert len(results) == 1, captured.out
    at = results[0]
    return earned, json.loads(lines[at][len("GRADER_RESULT "):]), lines[at + 1:], captured.err


def numbers_in(text):
    return {float(token) for token in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", text)}


def test_right_answer_earns_every_point_as_a_plain_float(fixture_bank, in_course, capsys):
    v = values_of(fixture_bank, "conv-out")
    right = engine.conv_output_size(v["W"], v["K"], v["P"], v["S"])
    earned, result, human, err = run_check(fixture_bank, "conv-out", right, capsys)
    assert type(earned) is float and earned == 2.0
    assert result["correct"] is True and result["problem"] == "conv-out"
    assert human == ["conv-out: 2/2 points. Correct."]
    assert err == ""


def test_misconception_earns_its_credit_and_says_why(fixture_bank, in_course, capsys):
    v = values_of(fixture_bank, "conv-out")
    right = engine.conv_output_size(v["W"], v["K"], v["P"], v["S"])
    forgot_padding = engine.conv_output_size(v["W"], v["K"], 0, v["S"])
    earned, result, human, _ = run_check(fixture_bank, "conv-out", forgot_padding, capsys)
    assert earned == 0.25 * 2
    assert result["misconception"] == "forgot-padding"
    assert human == ["conv-out: 0.5/2 points. The padding adds 2P to the input size before the kernel slides."]
    assert float(right) not in numbers_in(human[0])


def test_array_misconception_gets_partial_credit(fixture_bank, in_course, capsys):
    z = values_of(fixture_bank, "softmax-rows")["z"]
    column_softmax = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)   # reference written out here
    earned, result, _, _ = run_check(fixture_bank, "softmax-rows", column_softmax, capsys)
    assert earned == 0.5 * 3 and result["misconception"] == "wrong-axis"


@pytest.mark.parametrize("answer", [float("nan"), "52", None, -1, 10**6])
def test_wrong_or_malformed_answers_earn_zero_quietly(fixture_bank, in_course, capsys, answer):
    earned, result, _, err = run_check(fixture_bank, "conv-out", answer, capsys)
    assert earned == 0.0 and result["correct"] is False and result["misconception"] is None
    assert err == ""


def test_a_missing_answer_variable_raises_name_error_in_the_test_cell(fixture_bank, in_course):
    notebook = render.render_assignment(fixture_bank, ASSIGNMENT)
    test_cell = next(c for c in notebook.cells if c.metadata.nbgrader.grade_id == "conv-out-test")
    with pytest.raises(NameError, match="q1"):
        exec(test_cell.source, {"np": np})


def test_the_returned_value_is_what_nbgrader_reads_as_partial_credit(fixture_bank, in_course, capsys):
    v = values_of(fixture_bank, "conv-out")
    for answer, points in [(engine.conv_output_size(v["W"], v["K"], 0, v["S"]), 0.5), (float("nan"), 0.0)]:
        earned, _, _, _ = run_check(fixture_bank, "conv-out", answer, capsys)
        # IPython shows the cell's value as repr(); nbgrader parses that text
        assert get_partial_grade({"data": {"text/plain": repr(earned)}}, 2.0) == points


def test_student_code_writing_to_stderr_does_not_zero_the_cell(fixture_bank, in_course, capsys):
    import sys
    import warnings

    def noisy_softmax(z):
        print("debugging", file=sys.stderr)
        warnings.warn("a student warning", stacklevel=1)
        return engine.softmax(z)

    earned, result, _, err = run_check(fixture_bank, "softmax-fn", noisy_softmax, capsys)
    assert earned == 2.0 and result["correct"] is True
    assert err == ""
    runtime.check("softmax-fn", noisy_softmax, assignment=ASSIGNMENT,
                  digest=fixture_bank.problems["softmax-fn"].digest)
    assert "debugging" in capsys.readouterr().out   # moved to stdout, not lost


def test_bank_found_through_the_environment_variable(fixture_bank, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(runtime.BANK_ENV, str(FIXTURE_BANK))
    monkeypatch.chdir(tmp_path)
    earned, _, _, _ = run_check(fixture_bank, "relu-init", "B", capsys)
    assert earned == 1.0


def test_no_bank_anywhere_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(runtime.BANK_ENV, raising=False)
    with pytest.raises(GraderError, match="no questions.yaml"):
        runtime.find_bank(tmp_path)
    monkeypatch.setenv(runtime.BANK_ENV, str(tmp_path / "missing.yaml"))
    with pytest.raises(GraderError, match="GRADER_BANK"):
        runtime.find_bank(tmp_path)


def test_nearest_parent_bank_wins(tmp_path, monkeypatch):
    monkeypatch.delenv(runtime.BANK_ENV, raising=False)
    (tmp_path / "questions.yaml").write_text("outer")
    inner = tmp_path / "inner"
    (inner / "a" / "b").mkdir(parents=True)
    (inner / "questions.yaml").write_text("inner")
    assert runtime.find_bank(inner / "a" / "b") == (inner / "questions.yaml").resolve()


def test_a_changed_problem_is_refused(fixture_bank, in_course):
    with pytest.raises(runtime.BankChangedError, match="changed since this notebook was rendered"):
        runtime.check("conv-out", 1, assignment=ASSIGNMENT, digest="0123456789ab")


def test_editing_the_bank_changes_the_digest_and_the_cache_reloads(fixture_bank, in_course, capsys):
    digest = fixture_bank.problems["conv-out"].digest
    bank_path = in_course / "questions.yaml"
    assert runtime.load_bank_cached(bank_path) is runtime.load_bank_cached(bank_path)
    bank_path.write_text(bank_path.read_text().replace("credit: 0.25", "credit: 0.5"))
    os.utime(bank_path, ns=(1, 1))   # a different mtime, whatever the clock's resolution
    with pytest.raises(runtime.BankChangedError):
        runtime.check("conv-out", 1, assignment=ASSIGNMENT, digest=digest)


@pytest.mark.parametrize("problem_id, assignment, message", [
    ("softmax-rows", "fixture-b", "has no problem 'softmax-rows'"),
    ("conv-out", "nope", "no assignment 'nope'"),
])
def test_problem_outside_its_assignment_is_a_clear_error(fixture_bank, in_course, problem_id, assignment, message):
    with pytest.raises(GraderError, match=message):
        runtime.check(problem_id, 1, assignment=assignment, digest=fixture_bank.problems[problem_id].digest)


def test_variant_key_is_the_assignment_or_the_student_in_the_autograded_path(tmp_path):
    by_assignment = SimpleNamespace(variant_key="assignment")
    by_student = SimpleNamespace(variant_key="student")
    graded = tmp_path / "autograded" / "ada" / "hw1"
    assert runtime.variant_key(by_assignment, "hw1", graded) == "hw1"
    assert runtime.variant_key(by_student, "hw1", graded) == "ada"
    assert runtime.variant_key(by_student, "hw1", tmp_path / "source" / "hw1") == "hw1"
    assert runtime.student_from_path(tmp_path / "autograded" / "ada" / "hw2", "hw1") is None
