"""Moodle XML of the whole shipped bank, graded back through Moodle's documented rules."""

import contextlib
import io
import itertools
import math
import re

import numpy as np
import pytest
from conftest import ROOT, VARIANTS, run_cli
from lxml import etree
from quiz_rules import (
    MOODLE_GRADE_PERCENTS,
    cloze_fields,
    moodle_choice_grade,
    moodle_cloze_extract,
    moodle_cloze_mark,
    moodle_numerical_grade,
    moodle_shortanswer_accepts,
    shown_text,
)

from grader.bank import load_bank
from grader.kinds import grade_answer
from grader.variants import draw

pytestmark = pytest.mark.xdist_group("export-moodle")


@pytest.fixture(scope="module")
def runs(bank, tmp_path_factory):
    """{assignment id: (parsed <quiz>, what the command printed)} for every assignment of the shipped bank."""
    folder = tmp_path_factory.mktemp("moodle")
    found = {}
    for assignment in bank.assignments:
        out = folder / f"{assignment}.xml"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert run_cli("export", "moodle", assignment, "--variants", VARIANTS, "--out", out) == 0
        found[assignment] = (etree.parse(str(out)).getroot(), printed.getvalue())
    return found


@pytest.fixture(scope="module")
def exports(runs):
    """{assignment id: parsed <quiz>} for every assignment of the shipped bank."""
    return {assignment: quiz for assignment, (quiz, _) in runs.items()}


def questions(exports, bank, qtype):
    """(problem, values, expected, question element) for every question of that Moodle type."""
    for assignment, quiz in exports.items():
        for question in quiz.iter("question"):
            if question.get("type") != qtype:
                continue
            problem_id, key = question.findtext("name/text").split()
            problem = bank.problems[problem_id]
            values = draw(bank, problem, assignment, key)
            yield problem, values, problem.answer.evaluate(values), question


def numerical_answers(question):
    return [(float(a.get("fraction")) / 100, float(a.findtext("text")), float(a.findtext("tolerance")))
            for a in question.findall("answer")]


def test_every_assignment_exports_with_categories_of_n_variants(exports, bank):
    for assignment, quiz in exports.items():
        categories = [q.findtext("category/text") for q in quiz.iter("question") if q.get("type") == "category"]
        exported = [c.rsplit("/", 1)[1] for c in categories]
        assert all(c.startswith(f"$course$/top/{bank.course}/{assignment}/") for c in categories)
        assert set(exported) <= set(bank.assignments[assignment].problems)
        names = [q.findtext("name/text") for q in quiz.iter("question") if q.get("type") != "category"]
        assert len(names) == len(exported) * VARIANTS == len(set(names))
    kinds = {bank.problems[q.findtext("name/text").split()[0]].kind
             for quiz in exports.values() for q in quiz.iter("question") if q.get("type") != "category"}
    assert kinds == {"numeric", "choice", "table", "array"}


def test_numerical_accepts_the_engine_answer_and_grades_misconceptions_like_the_engine(exports, bank):
    checked = 0
    for problem, values, expected, question in questions(exports, bank, "numerical"):
        answers = numerical_answers(question)
        assert moodle_numerical_grade(answers, float(expected)) == 1.0, problem.id
        for misconception in problem.misconceptions:
            wrong = float(misconception.answer.evaluate(values))
            notebook = grade_answer(problem, wrong, values)
            assert not notebook.correct
            assert moodle_numerical_grade(answers, wrong) == pytest.approx(notebook.fraction), \
                (problem.id, misconception.id)
            checked += 1
        _, centre, tolerance = answers[0]
        for edge in (centre - tolerance * (1 - 1e-9), centre + tolerance * (1 - 1e-9)):
            assert grade_answer(problem, edge, values).correct, (problem.id, "Moodle accepts what the notebook rejects")
    assert checked > 50


def test_choice_fractions_are_moodles_and_every_pick_earns_what_the_notebook_gives(exports, bank):
    checked = 0
    for problem, values, _expected, question in questions(exports, bank, "multichoice"):
        single = question.findtext("single") == "true"
        assert single == (not problem.multiple)
        fractions = {}
        for answer in question.findall("answer"):
            assert float(answer.get("fraction")) in MOODLE_GRADE_PERCENTS, answer.get("fraction")
            key = etree.fromstring(f"<x>{answer.findtext('text')}</x>").findtext("b").rstrip(".")
            fractions[key] = float(answer.get("fraction")) / 100
        assert list(fractions) == list(problem.options)
        sizes = [1] if single else range(1, len(fractions) + 1)
        for size in sizes:
            for picked in map(set, itertools.combinations(fractions, size)):
                notebook = grade_answer(problem, picked, values).fraction
                assert moodle_choice_grade(fractions, picked, single) == pytest.approx(notebook, abs=1e-6), \
                    (problem.id, picked)
                checked += 1
    assert checked > 100


def _flat_cells(problem, table):
    """Cell values in Cloze field order: rows, then columns, tuple cells entry by entry."""
    flat = []
    for row in table:
        row = row if isinstance(row, dict) else dict(zip(problem.table.columns, row))
        for column in problem.table.columns:
            cell = row[column]
            flat.extend(cell if isinstance(cell, (tuple, list)) else [cell])
    return flat


def _cloze_grade(field, value):
    weight, kind, answers = field
    if kind == "NUMERICAL":
        return moodle_numerical_grade([(f, float(a), t) for f, a, t, _ in answers], float(value))
    if kind == "MULTICHOICE":
        return next((f for f, a, _, _ in answers if a == str(bool(value))), 0.0)
    return next((f for f, a, _, _ in answers if a.casefold() == str(value).casefold()), 0.0)


def test_cloze_fields_accept_every_expected_cell_and_reject_misconception_cells(exports, bank):
    checked = 0
    for problem, values, expected, question in questions(exports, bank, "cloze"):
        fields = cloze_fields(question.findtext("questiontext/text"))
        if problem.kind == "table":
            flat, wrong = _flat_cells(problem, expected), []
            for misconception in problem.misconceptions:
                table = misconception.answer.evaluate(values)
                cells = _flat_cells(problem, table)
                wrong.append(cells if len(cells) == len(flat) else None)
        else:
            flat = np.asarray(expected).ravel().tolist()
            wrong = [np.asarray(m.answer.evaluate(values)).ravel().tolist() for m in problem.misconceptions]
        assert len(fields) == len(flat), problem.id
        for index, (field, cell) in enumerate(zip(fields, flat)):
            assert _cloze_grade(field, cell) == 1.0, (problem.id, index)
            for cells in wrong:
                if cells is not None and len(cells) == len(flat) and cells[index] != cell and not (
                        isinstance(cell, float) and math.isclose(cells[index], cell, rel_tol=1e-3, abs_tol=1e-6)):
                    assert _cloze_grade(field, cells[index]) < 1.0, (problem.id, index)
            checked += 1
    assert checked > 200


def _shares(problem, expected):
    """Each Cloze box's intended share of the grade, in field order: a table's cells weigh the same
    (the notebook averages its cells), a tuple cell's share split over its entries; an array's
    entries weigh the same."""
    if problem.kind == "array":
        size = np.asarray(expected).size
        return [1 / size] * size
    cells = [row[column] if isinstance(row, dict) else dict(zip(problem.table.columns, row))[column]
             for row in expected for column in problem.table.columns]
    shares = []
    for cell in cells:
        parts = len(cell) if isinstance(cell, (tuple, list)) else 1
        shares.extend([1 / (len(cells) * parts)] * parts)
    return shares


def _cloze_weights_and_marks(runs, bank):
    """(problem, key, Moodle's mark, [field weights], [intended shares], the run's note) of every Cloze variant."""
    for quiz, printed in runs.values():
        note = next((line for line in printed.splitlines() if "Cloze boxes" in line or "Cloze question" in line), "")
        for question in quiz.iter("question"):
            if question.get("type") != "cloze":
                continue
            problem_id, key = question.findtext("name/text").split()
            problem = bank.problems[problem_id]
            text = question.findtext("questiontext/text")
            weights = [weight for weight, _, _ in cloze_fields(text)]
            yield (problem, key, moodle_cloze_mark(text), weights,
                   _shares(problem, draw_answer(bank, problem, quiz, key)), note)


def test_every_variant_of_every_problem_is_worth_its_points_in_moodle(runs, bank):
    """Moodle makes a Cloze question's mark the sum of its fields' whole-number weights (its XML import
    ignores <defaultgrade> for Cloze): read the exported text as qtype_multianswer does, and every
    variant of every exported problem, Cloze or not, is worth exactly the problem's points."""
    counted = {"cloze": set(), "other": set()}
    for quiz, _ in runs.values():
        for question in quiz.iter("question"):
            if question.get("type") in ("category", None):
                continue
            problem_id, key = question.findtext("name/text").split()
            points = bank.problems[problem_id].points
            if question.get("type") == "cloze":
                mark = moodle_cloze_mark(question.findtext("questiontext/text"))
                counted["cloze"].add(problem_id)
            else:
                mark = float(question.findtext("defaultgrade"))
                counted["other"].add(problem_id)
            assert mark == points, (problem_id, key, mark, points)
    assert len(counted["cloze"]) >= 30 and len(counted["other"]) >= 30


def test_cloze_weights_are_the_intended_shares_of_the_points_as_whole_numbers(runs, bank):
    """Each box's weight is the floor or the ceiling of points x its intended share (a table's cells
    weigh the same, a tuple cell splits its share; an array's entries weigh the same), so no box
    weighs more than a whole point off its share; boxes weigh the same wherever whole weights can
    say so; every problem whose boxes do not is named in the export's note, with its boxes of weight 0."""
    even, uneven, notes = set(), set(), {}
    for problem, key, _mark, weights, shares, note in _cloze_weights_and_marks(runs, bank):
        notes[problem.id] = note
        assert len(weights) == len(shares), (problem.id, key)
        for weight, share in zip(weights, shares):
            quota = problem.points * share
            assert math.floor(quota + 1e-9) <= weight <= math.ceil(quota - 1e-9), (problem.id, key, weights)
        if len(set(weights)) == 1:
            even.add(problem.id)
            continue
        uneven.add(problem.id)
        named = re.search(re.escape(problem.id) + r"(?: \((\d+) of (\d+) boxes weigh 0\))?[;.]", note)
        assert named, (problem.id, note)
        assert (0 in weights) <= bool(named.group(1)), (problem.id, note)
    assert len(even - uneven) >= 5 and len(uneven) >= 5
    for problem_id in even - uneven:
        assert not re.search(re.escape(problem_id) + r"[ ;.]", notes[problem_id]), problem_id


def test_equal_cloze_weights_keep_every_box_alike_and_say_the_marks(tmp_path, bank):
    """--cloze-weights equal: every cell weighs the same (a tuple cell's entries split it), and the
    note names each problem whose questions' own mark is then not its points."""
    out = tmp_path / "equal.xml"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run_cli("export", "moodle", "cnn-detection", "--variants", 2, "--cloze-weights", "equal",
                       "--out", out) == 0
    quiz = etree.parse(str(out)).getroot()
    note = next(line for line in printed.getvalue().splitlines() if "--cloze-weights equal" in line)
    marks_off = 0
    for problem, key, mark, weights, shares, _ in _cloze_weights_and_marks({"a": (quiz, "")}, bank):
        assert [weight / sum(weights) for weight in weights] == pytest.approx(shares), (problem.id, key)
        if mark != problem.points:
            assert f"{problem.id}: " in note and f"(points {problem.points:g})" in note, problem.id
            marks_off += 1
    assert marks_off


@pytest.mark.parametrize("points, shares, weights", [
    (3, [1 / 12] * 12, [0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0]),
    (4, [1 / 2] * 2, [2, 2]),
    (4, [1 / 3] * 3, [1, 2, 1]),
    (5, [1 / 10] * 10, [0, 1] * 5),
    (2, [1 / 4, 1 / 4, 1 / 6, 1 / 6, 1 / 6], [1, 1, 0, 0, 0]),
    (7, [1 / 7] * 7, [1] * 7),
])
def test_cloze_weights_add_up_to_the_points(points, shares, weights):
    from grader.export.moodle import cloze_weights

    problem = type("P", (), {"id": "p", "points": points})
    assert cloze_weights(problem, shares) == weights
    assert sum(cloze_weights(problem, shares)) == points


def test_cloze_weights_refuse_points_no_whole_weights_can_add_up_to():
    from grader.export.common import ExportError
    from grader.export.moodle import cloze_weights

    with pytest.raises(ExportError, match=r"problem 'p': 1\.5 points cannot be a Moodle Cloze question's mark"):
        cloze_weights(type("P", (), {"id": "p", "points": 1.5}), [0.5, 0.5])
    assert cloze_weights(type("P", (), {"id": "p", "points": 1.5}), [1 / 6] * 3 + [1 / 2], "equal") == [1, 1, 1, 3]


def draw_answer(bank, problem, quiz, key):
    assignment = next(c.findtext("category/text").split("/")[3] for c in quiz.iter("question")
                      if c.get("type") == "category")
    return problem.answer.evaluate(draw(bank, problem, assignment, key))


def test_cloze_feedback_reads_as_written_once_moodle_has_parsed_it(exports, bank):
    """What a student reads under a Cloze box is the misconception's own feedback, character for
    character, once Moodle's parser has cut the field and decoded it (no stray backslash in ∂L/∂w)."""
    shown = []
    for problem, _values, _expected, question in questions(exports, bank, "cloze"):
        written = {"Correct."} | {m.feedback for m in problem.misconceptions}
        text, fields = moodle_cloze_extract(question.findtext("questiontext/text"))
        assert "{#%d}" % len(fields) in text and not any(f"{{{w}:" in text for w, _, _ in fields), problem.id
        for _weight, _kind, answers in fields:
            for _fraction, _answer, _tolerance, feedback in answers:
                if feedback:
                    assert shown_text(feedback) in written, (problem.id, feedback)
                    shown.append(shown_text(feedback))
    assert sum("/" in text for text in shown) >= 20     # the texts that showed "∂L\\/∂w" before


HOSTILE_TEXTS = ["∂L/∂w = (p̂ − y)/B", "s_{t−1} ~ h_{t−1}", "a } b # c ~ d", "x \\} y \\# z \\ w \\/ v \\",
                 "<b>not bold</b> & &amp; &lt; &#126; \"quoted\" 'single'", "50 % * 2 = 100 %", "end with \\"]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_a_cloze_feedback_of_any_text_is_shown_as_that_text(text):
    from grader.export.moodle import cloze_feedback

    field = "{1:NUMERICAL:=1:0#Correct.~%50%2:0#" + cloze_feedback(text) + "~%0%3:0#after}"
    _, [(_weight, _kind, answers)] = moodle_cloze_extract(f"<p>before</p><td>{field}</td><p>after {{x}}</p>")
    assert [(fraction, answer) for fraction, answer, _, _ in answers] == [(1.0, "1"), (0.5, "2"), (0.0, "3")]
    assert shown_text(answers[1][3]) == text
    assert shown_text(answers[2][3]) == "after"


@pytest.mark.parametrize("text", [t for t in HOSTILE_TEXTS if "\\" not in t] + ["*", "a*b", "same"])
def test_a_cloze_short_answer_of_any_text_accepts_exactly_that_text(text):
    from grader.export.moodle import cloze_answer, cloze_feedback

    problem = type("P", (), {"id": "p"})
    field = "{1:SHORTANSWER:=" + cloze_answer(problem, text) + "#" + cloze_feedback("right") + "~*#wrong}"
    _, [(_weight, _kind, answers)] = moodle_cloze_extract(field)
    (fraction, pattern, _, feedback), (_, star, _, _) = answers
    assert (fraction, shown_text(feedback), star) == (1.0, "right", "*")
    assert moodle_shortanswer_accepts(pattern, text)
    assert not moodle_shortanswer_accepts(pattern, text + "x") and not moodle_shortanswer_accepts(pattern, "x" + text)


def test_a_cloze_short_answer_with_a_backslash_is_refused():
    from grader.export.common import ExportError
    from grader.export.moodle import cloze_answer

    with pytest.raises(ExportError, match="problem 'p'.*backslash"):
        cloze_answer(type("P", (), {"id": "p"}), "a\\}b")


def test_prompts_keep_their_latex_for_moodles_tex_filter(exports):
    texts = [q.findtext("questiontext/text") for quiz in exports.values() for q in quiz.iter("question")
             if q.get("type") != "category"]
    assert any("\\(" in text for text in texts) and any("$$" in text for text in texts)
    for text in texts:
        assert text.replace("$$", "").count("$") == 0, text[:200]
        assert text.count("$$") % 2 == 0


def test_same_bank_same_bytes(tmp_path):
    for name in ("a.xml", "b.xml"):
        assert run_cli("export", "moodle", "cnn-detection", "--variants", 3, "--out", tmp_path / name) == 0
    assert (tmp_path / "a.xml").read_bytes() == (tmp_path / "b.xml").read_bytes()


def test_problems_option_exports_those_problems(tmp_path):
    out = tmp_path / "two.xml"
    assert run_cli("export", "moodle", "--problems", "conv-params,l1-vs-l2", "--variants", 2, "--out", out) == 0
    names = [q.findtext("name/text") for q in etree.parse(str(out)).getroot().iter("question")
             if q.get("type") != "category"]
    assert names == ["conv-params v1", "conv-params v2", "l1-vs-l2 v1", "l1-vs-l2 v2"]


@pytest.mark.parametrize("argv, named", [
    (["nope"], "'nope'"),
    (["--problems", "conv-params,bogus"], "'bogus'"),
])
def test_unknown_names_are_one_line_exit_2_and_nothing_written(tmp_path, capsys, argv, named):
    out = tmp_path / "x.xml"
    assert run_cli("export", "moodle", *argv, "--out", out) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and named in error
    assert not out.exists()


def test_a_credit_moodle_cannot_express_is_refused_naming_the_problem(tmp_path, capsys):
    text = (ROOT / "tests" / "bank" / "fixtures" / "mini.yaml").read_text()
    assert "credit: 0.25" in text
    bank_file = tmp_path / "questions.yaml"
    bank_file.write_text(text.replace("credit: 0.25", "credit: 0.37", 1))
    load_bank(bank_file)   # a valid bank: only Moodle cannot hold 37 %
    out = tmp_path / "mini.xml"
    from grader.cli import main

    assert main(["--course", str(tmp_path), "export", "moodle", "mini-one", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "problem 'conv-size'" in error and "0.37" in error
    assert not out.exists()


def test_every_kind_has_an_export_and_a_preview_and_no_export_names_an_unknown_kind():
    """The registries keyed by kind (Moodle, Canvas QTI, the preview's answer view) name exactly the kinds."""
    from grader.export.moodle import MOODLE_BY_KIND
    from grader.export.preview import ANSWER_VIEW_BY_KIND
    from grader.export.qti import QTI_BY_KIND
    from grader.kinds import KINDS

    for registry in (MOODLE_BY_KIND, QTI_BY_KIND, ANSWER_VIEW_BY_KIND):
        assert set(registry) == set(KINDS)
