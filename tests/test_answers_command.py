"""`python -m grader answers A --student S`: a student's numbers, answers and misconception values,
checked against the variant drawn directly (grader.variants.draw_for) and against grading itself:
the printed answer earns full marks and each printed misconception is graded as that misconception."""

import re

import numpy as np
import pytest
from render_kit import ASSIGNMENT, FIXTURE_BANK, make_course

from grader import cli
from grader.bank import load_bank
from grader.kinds import grade_answer
from grader.variants import draw_for

PER_STUDENT_TEXT = FIXTURE_BANK.read_text(encoding="utf-8").replace("variant_key: assignment", "variant_key: student")
STUDENTS = ("alice", "bob")


@pytest.fixture
def course(tmp_path):
    course = make_course(tmp_path / "course", PER_STUDENT_TEXT)
    for student in STUDENTS:
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
    return course


def answers(course, capsys, *args):
    code = cli.main(["--course", str(course), "answers", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def parse(out):
    """{problem id: {"numbers": {name: text}, "answer": [lines], "misconceptions": {id: [lines] or None}}}."""
    problems, current, target = {}, None, None
    for line in out.splitlines():
        heading = re.match(r"\d+\. ([\w-]+): ", line)
        if heading:
            current = problems.setdefault(heading[1], {"numbers": {}, "answer": [], "misconceptions": {}})
            continue
        if current is None or not line.strip():
            continue
        if line == "   numbers:" or line == "   numbers: none":
            target = current["numbers"]
        elif (found := re.match(r"     (\w+) = (.*)$", line)) and target is current["numbers"]:
            target[found[1]] = found[2]
        elif line.startswith("   answer:"):
            target = current["answer"]
            target += [line.split(": ", 1)[1]] if line.split(":", 1)[1].strip() else []
        elif found := re.match(r"   misconception ([\w-]+) \(credit [\d.]+\):(.*)$", line):
            if found[2].strip() == "does not apply to these numbers":
                current["misconceptions"][found[1]] = None
                target = None
            else:
                target = current["misconceptions"].setdefault(found[1], [])
                target += [found[2].strip()] if found[2].strip() else []
        elif line.startswith("   rule:"):
            target = None
        elif line.startswith("     ") and isinstance(target, list):
            target.append(line.strip())
    return problems


def value_of(text):
    return eval(text, {"np": np})  # noqa: S307 (our own literals, made by python_literal)


def printed_value(lines):
    """The value a non-function answer prints: its first line (a choice adds its options' text)."""
    return value_of(lines[0])


def test_the_printed_numbers_are_the_students_variant_and_the_answers_grade_as_grading_does(course, capsys):
    bank = load_bank(course / "questions.yaml")
    printed = {}
    for student in STUDENTS:
        code, out, _ = answers(course, capsys, ASSIGNMENT, "--student", student)
        assert code == 0
        assert f"{ASSIGNMENT}, student {student}: their own numbers" in out
        found = parse(out)
        assert list(found) == bank.assignments[ASSIGNMENT].problems
        printed[student] = found
        for problem_id, shown in found.items():
            problem = bank.problems[problem_id]
            values = draw_for(bank, problem, ASSIGNMENT, student)
            assert shown["numbers"].keys() == values.keys()
            for name, text in shown["numbers"].items():
                same = np.array_equal if isinstance(values[name], np.ndarray) else (lambda a, b: a == b)
                assert same(value_of(text), values[name]), (student, problem_id, name)
            if problem.kind == "function":
                reference = problem.answer.evaluate(values)
                cases = [[argument.evaluate(values) for argument in case] for case in problem.function.cases]
                assert len(shown["answer"]) == len(cases)
                for line, arguments in zip(shown["answer"], cases):
                    assert np.allclose(value_of(line.split(" = ", 1)[1]), reference(*arguments), rtol=0, atol=1e-15)
                continue
            result = grade_answer(problem, printed_value(shown["answer"]), values)
            assert result.correct, (student, problem_id, result.message)
            assert set(shown["misconceptions"]) == {m.id for m in problem.misconceptions}
            for misconception_id, lines in shown["misconceptions"].items():
                assert lines is not None
                wrong = grade_answer(problem, printed_value(lines), values)
                assert not wrong.correct and wrong.misconception == misconception_id, (problem_id, misconception_id)
    assert printed["alice"]["conv-out"]["numbers"] != printed["bob"]["conv-out"]["numbers"]     # their own
    assert printed["alice"]["relu-init"] == printed["bob"]["relu-init"]


def test_answers_writes_no_file(course, capsys):
    before = {path: path.stat().st_mtime_ns for path in course.rglob("*")}
    code, out, _ = answers(course, capsys, ASSIGNMENT, "--student", "alice")
    assert code == 0 and "written to no file" in out
    assert {path: path.stat().st_mtime_ns for path in course.rglob("*")} == before


def test_an_unknown_student_or_assignment_is_a_clear_error_with_a_suggestion(course, capsys):
    code, out, err = answers(course, capsys, ASSIGNMENT, "--student", "alise")
    assert code == 2 and out == ""
    assert "no student 'alise'" in err and "did you mean 'alice'?" in err
    code, out, err = answers(course, capsys, "fixture-x", "--student", "alice")
    assert code == 2 and out == ""
    assert "no assignment 'fixture-x'" in err and "did you mean 'fixture-" in err


def test_its_help_says_it_prints_to_stdout_only(capsys):
    with pytest.raises(SystemExit):
        cli.main(["answers", "--help"])
    assert "stdout only" in " ".join(capsys.readouterr().out.split())
