"""grader.integrity: answers read without running them, ghost answers against classmates' numbers (checked
against the kinds' own grading, brute force), their p-value against an enumeration by hand, code alike
against the class's background, and small simulated classes whose copying is known."""

import csv
import io
import itertools
import math
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader import integrity
from grader.bank import load_bank
from grader.integrity import Handed, PairEvidence, analyse, answer_value, flagged_pairs
from grader.kinds import grade_answer, kind_of
from grader.render import problem_variants
from grader.simulate import Copying, _value_answer, integrity_class, student_ids
from grader.variants import draw_for

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "cnn-detection"
REFERENCE = 200          # reference variants per problem: enough for the tests, fast


@pytest.fixture(scope="module")
def bank():
    return load_bank(REPO / "questions.yaml")


# --- reading answers without running them ---------------------------------------------------------

@pytest.mark.parametrize("source, value", [
    ("q1 = 16", 16),
    ("q1 = -0.25", -0.25),
    ("import numpy as np\nq1 = np.array([[1.0, 2.0], [3.5, -4.0]])", np.array([[1.0, 2.0], [3.5, -4.0]])),
    ("a = 43\nq1 = (a - 3 + 2 * 3) // 3 + 1", 16),
    ("q1 = np.sqrt(6 / (4 + 3))", math.sqrt(6 / 7)),
    ("q1 = [{'z1': 0.0, 'kept': True}, {'z1': 2.5, 'kept': False}]", [{"z1": 0.0, "kept": True}, {"z1": 2.5, "kept": False}]),
    ("q1 = {'A', 'C'}", {"A", "C"}),
    ("q1 = 3\nq1 += 1", 4),
    ("q1 = 1\nq1 = 2", 2),
    ("q1 = x @ w", np.array([3.0])),
    ('q1 = float("nan")', None),
])
def test_a_value_written_out_is_read(source, value):
    ok, found = answer_value(source, "q1", {"x": np.array([[1.0, 2.0]]), "w": np.array([1.0, 1.0])})
    assert ok
    if value is None:
        assert math.isnan(found)
    elif isinstance(value, np.ndarray):
        np.testing.assert_allclose(found, value)
    else:
        assert found == value


@pytest.mark.parametrize("source", [
    "q1 = open('/etc/passwd').read()",
    "q1 = __import__('os').getcwd()",
    "q1 = (lambda: 3)()",
    "q1 = 10 ** 10 ** 10",
    "q1 = 'x' * 10 ** 9",
    "q1 = np.zeros(10 ** 12)",
    "q1 = engine.conv_output_size(32, 5, 2, 1)",
    "q1 = 3\nfor i in range(2):\n    q1 = q1 + i",
    "def f():\n    return 3\nq1 = f()",
    "q1 = (1 +",
    "x = 5",
    "q1 = [i for i in range(3)]",
])
def test_what_is_not_a_value_written_out_is_not_read(source):
    """Nothing runs: calls outside a few numpy/math functions, names the cell did not set as values,
    loops, comprehensions and oversized values are not read (the answer is then not tested)."""
    assert answer_value(source, "q1", {}) == (False, None)


# --- ghost answers: the kinds' own rule ------------------------------------------------------------

def _brute_fits(problem, answer, values_by_owner):
    """Who the answer fits, by the kind's own right_for on each owner's right answer and misconception
    values (no stacking, no slack)."""
    import dataclasses
    kind = kind_of(problem)
    found = {}
    for owner, values in values_by_owner.items():
        targets = [("right", kind.expected(problem, values))]
        for m in problem.misconceptions:
            try:
                targets.append((f"misconception:{m.id}", kind.misconception_answer(problem, m, values)))
            except Exception:
                continue
        for label, value in targets:
            fixed = dataclasses.replace(problem, answer=integrity._Fixed(value), misconceptions=[])
            try:
                if kind.right_for(fixed, answer, values):
                    found[owner] = label
                    break
            except Exception:
                continue
    return found


def test_the_stacked_targets_find_what_the_kind_finds(bank):
    """The slack that passes over far targets never hides a match: on every per-student problem of an
    assignment, each student's right answer, misconception values, a wrong value, a value rounded to 2
    figures, tuple rows for dict rows and a list for an array fit exactly the classmates the kind's own
    comparison says they fit (and some do fit)."""
    students = student_ids(12)
    some_fit = 0
    for variant in problem_variants(bank, ASSIGNMENT, students[0]):
        problem = variant.problem
        if problem.shared or problem.function is not None:
            continue
        values = {s: draw_for(bank, problem, ASSIGNMENT, s) for s in students}
        targets = integrity._ProblemTargets(problem)
        for student, v in values.items():
            targets.add(student, v)
        answers = []
        for student in students[:6]:
            own = next(x for x in problem_variants(bank, ASSIGNMENT, student) if x.problem.id == problem.id)
            answers.append(own.expected)
            answers.extend(own.kind.misconception_value(own, m) for m in problem.misconceptions)
            answers.append(own.kind.wrong_value(own))
            if isinstance(own.expected, float):
                answers.append(float(f"{own.expected:.2g}"))
            if isinstance(own.expected, np.ndarray):
                answers.append(own.expected.tolist())
            if isinstance(own.expected, list) and own.expected and isinstance(own.expected[0], dict):
                answers.append([tuple(row.values()) for row in own.expected])
        for answer in answers:
            if answer is None:
                continue
            expected = _brute_fits(problem, answer, values)
            assert targets.fits(answer) == expected, (problem.id, answer)
            some_fit += len(expected)
    assert some_fit > 40


def test_the_ghost_p_value_is_the_upper_tail_counted_by_hand():
    """P(at least k matches) over independent Bernoulli(q_i), against an enumeration of every outcome."""
    qs = [0.3, 0.05, 0.001, 0.2, 0.01]
    for k in range(1, 6):
        pair = PairEvidence("a", "b", tested=qs, matches=[None] * k)
        by_hand = sum(math.prod(q if hit else 1 - q for q, hit in zip(qs, outcome))
                      for outcome in itertools.product([0, 1], repeat=len(qs)) if sum(outcome) >= k)
        assert pair.ghost_p == pytest.approx(by_hand, rel=1e-9)
    assert PairEvidence("a", "b", tested=qs).ghost_p == 1.0


def test_the_combined_p_value_is_tippetts():
    pair = PairEvidence("a", "b", tested=[0.1], matches=[None], code=[("x", "f", 3.0, 0.5)], code_p=0.02)
    assert pair.combined_p == pytest.approx(1 - (1 - min(0.1, 0.02)) ** 2)
    assert PairEvidence("a", "b", tested=[0.1]).combined_p == 1.0


# --- code alike --------------------------------------------------------------------------------------

SIGMOID = "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"


def test_names_comments_and_whitespace_do_not_count():
    renamed = "def sigmoid( t ):   # logistic\n\n    return 1/(1+np.exp(-t))   # done\n"
    assert integrity.normalized_code(SIGMOID) == integrity.normalized_code(renamed)
    assert integrity.fingerprints(SIGMOID) == integrity.fingerprints(renamed)
    other = "def sigmoid(z):\n    z = np.clip(z, -500, 500)\n    return np.exp(z) / (1 + np.exp(z))\n"
    assert integrity.fingerprints(SIGMOID) != integrity.fingerprints(other)


def test_a_standard_answer_everyone_writes_is_background_and_an_unusual_one_shared_by_two_is_not():
    rng = np.random.default_rng(5)
    extras = ["z = np.asarray(z, dtype=float)", "assert z is not None", "shape = np.shape(z)",
              "z = np.atleast_1d(z)", "eps = 1e-12", "n = len(z)", "z = z.astype(float)", "z = np.copy(z)"]
    sources = {f"s{i:02d}": SIGMOID for i in range(20)}          # the standard answer, twenty times
    for i in range(20, 40):                                     # each their own extra lines
        chosen = [line for line in extras if rng.random() < 0.5]
        sources[f"s{i:02d}"] = "def sigmoid(z):\n" + "".join(f"    {line}\n" for line in chosen) + \
            "    return 1 / (1 + np.exp(-z))\n"
    unusual = ("def sigmoid(z):\n    out = np.empty_like(z)\n    pos = z >= 0\n    out[pos] = 1 / (1 + np.exp(-z[pos]))\n"
               "    out[~pos] = np.exp(z[~pos]) / (1 + np.exp(z[~pos]))\n    return out\n")
    sources["s40"] = unusual
    sources["s41"] = unusual.replace("out", "res").replace("pos", "mask") + "# mine\n"
    scores = integrity.code_scores(sources)
    assert scores[("s40", "s41")][1] == min(p for _, p in scores.values())
    assert scores[("s40", "s41")][1] <= 2 / len(scores)
    assert scores[("s00", "s01")][1] > 0.1        # identical, but so is a tenth of the class


# --- simulated classes with known copying ------------------------------------------------------------

def _analyse(bank, students, plans, assignments=(ASSIGNMENT,), seed=7):
    handed = {}
    for assignment in assignments:
        cells = integrity_class(bank, assignment, students, plans, seed=seed)
        handed[assignment] = [Handed(assignment, s, p, src) for s in students for p, src in cells[s].items()]
    return analyse(bank, handed, REFERENCE)


def test_copiers_are_found_in_the_right_direction_and_nobody_else(bank):
    """A student who copies a whole assignment (after the source in the class list), one who copies
    five answers across kinds from a student after them, and one who copies two answers in each of two
    assignments: each pair is flagged, A -> B only, and no other pair is."""
    students = student_ids(24)
    problems = bank.assignments[ASSIGNMENT].problems
    plans = [Copying("student010", "student004", ASSIGNMENT, list(problems)),
             Copying("student002", "student017", ASSIGNMENT,
                     ["conv2d-small", "conv1x1-apply", "cnn-summary", "iou-boxes", "nms-table"]),
             Copying("student021", "student013", ASSIGNMENT, ["maxpool-small", "separable-summary"]),
             Copying("student021", "student013", "losses-activations-backprop", ["sgd-step", "activation-grads"])]
    pairs = _analyse(bank, students, plans, (ASSIGNMENT, "losses-activations-backprop"))
    assert flagged_pairs(pairs) == {("student010", "student004"), ("student002", "student017"),
                                    ("student021", "student013")}
    whole = pairs[("student010", "student004")]
    assert whole.ghost_p < 1e-9 and len(whole.matches) >= 5
    assert {m.what.split(":")[0] for m in whole.matches} <= {"right", "misconception"}
    assert not pairs[("student004", "student010")].matches


def test_an_honest_class_with_the_same_mistakes_flags_nobody(bank):
    """Half the answers wrong, most of them the class's common misconceptions on each one's own
    numbers: no pair is flagged."""
    students = student_ids(30)
    handed = {}
    cells = integrity_class(bank, ASSIGNMENT, students, [], seed=11, mistakes=0.5)
    handed[ASSIGNMENT] = [Handed(ASSIGNMENT, s, p, src) for s in students for p, src in cells[s].items()]
    pairs = analyse(bank, handed, REFERENCE)
    tested = sum(len(pair.tested) for pair in pairs.values())
    assert tested > 1000                          # wrong answers were tested against classmates
    assert flagged_pairs(pairs) == set()


def test_a_copy_of_a_wrong_value_or_of_a_shared_answer_is_no_evidence(bank):
    """Copying a shared problem (everyone's answer) or an answer right for nobody's numbers leaves no
    ghost: the pair has no match, and is not flagged."""
    students = student_ids(10)
    variants = {v.problem.id: v for v in problem_variants(bank, ASSIGNMENT, "student003")}
    cells = integrity_class(bank, ASSIGNMENT, students, [], seed=3)
    for problem_id in ("conv2d-small", "iou-boxes"):
        cells["student003"][problem_id] = _value_answer(variants[problem_id], variants[problem_id].kind.wrong_value(
            variants[problem_id]))
        cells["student008"][problem_id] = cells["student003"][problem_id]
    cells["student008"]["same-padding"] = cells["student003"]["same-padding"]
    handed = {ASSIGNMENT: [Handed(ASSIGNMENT, s, p, src) for s in students for p, src in cells[s].items()]}
    pairs = analyse(bank, handed, REFERENCE)
    assert not pairs[("student008", "student003")].matches
    assert ("student008", "student003") not in flagged_pairs(pairs)


# --- what the report reads and writes ----------------------------------------------------------------

def _notebook(bank, student, answers, right):
    from grader.protocol import Role, grade_id
    cells = []
    for variant in problem_variants(bank, ASSIGNMENT, student):
        problem = variant.problem
        source = answers.get(problem.id, variant.kind.correct_source(variant))
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade_id": grade_id(problem.id, Role.ANSWER), "solution": True}
        cells.append(cell)
        test = nbformat.v4.new_code_cell("# hidden")
        test.metadata["nbgrader"] = {"grade_id": grade_id(problem.id, Role.TEST), "grade": True}
        result = grade_answer(problem, answer_value(source, variant.variable)[1], variant.values) \
            if problem.id in answers else None
        correct = right if result is None else result.correct
        test.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
            f'GRADER_RESULT {{"problem":"{problem.id}","correct":{str(correct).lower()}}}\n'))]
        cells.append(test)
    return nbformat.v4.new_notebook(cells=cells)


def test_the_report_reads_the_autograded_answer_cells_and_writes_csvs_for_tas(bank, tmp_path, monkeypatch):
    """write_integrity_reports reads each student's autograded notebook (answer cells, and whether grading
    found each right), and writes reports/<a>/integrity.csv and the course-wide CSV; the copier's row says
    whose numbers the answers fit, even when the source's own notebook cannot be read."""
    from grader.course import course_config
    from grader.grading.notebook.config import write_config

    write_config(course_config(REPO), tmp_path / "nbgrader_config.py", tmp_path, f"sqlite:///{tmp_path / 'gb.db'}")
    config = course_config(tmp_path)
    students = student_ids(16)
    theirs = {v.problem.id: v for v in problem_variants(bank, ASSIGNMENT, "student005")}
    copied = {pid: theirs[pid].kind.correct_source(theirs[pid])
              for pid in ("conv2d-small", "maxpool-small", "conv1x1-apply", "iou-boxes", "nms-table")}
    for student in students:
        folder = tmp_path / "autograded" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nb = _notebook(bank, student, copied if student == "student011" else {}, right=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    # the source's own notebook cannot be read: their numbers are still the class's
    (tmp_path / "autograded" / "student005" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text("<<<<<<< HEAD\n")
    monkeypatch.setattr(integrity, "graded_students", lambda config: {ASSIGNMENT: students, "mixed-quiz": []})
    monkeypatch.setattr(integrity, "REFERENCE_VARIANTS", REFERENCE)
    found = integrity.write_integrity_reports(config, bank, ASSIGNMENT, reference=REFERENCE)
    assert found["flagged"] == 1 and found["course_flagged"] == 1
    for path in (found["assignment_csv"], found["course_csv"]):
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        assert [(r["student"], r["fits_numbers_of"], r["flagged"]) for r in rows] == [("student011", "student005", "yes")]
        assert rows[0]["ghost_matches"] == "5" and "student011 used student005's work" in rows[0]["direction"]
    assert found["assignment_csv"] == tmp_path / "reports" / ASSIGNMENT / "integrity.csv"
    assert found["course_csv"] == tmp_path / "reports" / "integrity-all-assignments.csv"


DETERMINISM = """
import sys
from grader.bank import load_bank
from grader.integrity import Handed, analyse, integrity_csv
from grader.simulate import Copying, integrity_class, student_ids
bank = load_bank(sys.argv[1])
students = student_ids(14)
plans = [Copying("student009", "student002", "cnn-detection", ["conv2d-small", "iou-function", "nms-table"])]
cells = integrity_class(bank, "cnn-detection", students, plans, seed=5)
handed = {"cnn-detection": [Handed("cnn-detection", s, p, c) for s in students for p, c in cells[s].items()]}
sys.stdout.write(integrity_csv(analyse(bank, handed, 100)).decode())
"""


def test_the_same_class_gives_the_same_table_whatever_python_hashes():
    """copydetect hashes k-grams with Python's salted hash(); ours are stable, and nothing else depends on
    set order: two processes with different hash seeds write the same bytes."""
    import os
    import subprocess
    import sys

    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", DETERMINISM, str(REPO / "questions.yaml")], cwd=REPO,
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and "student009,student002,yes" in outputs[0]


def test_a_disguised_copy_differs_as_text_and_not_as_code():
    """The simulator's copier renames what the cell assigns and rewords comments: another text, the same
    normalized code (what copydetect compares)."""
    import random

    from grader.simulate import disguised
    source = ("def iou(box_a, box_b):\n    # overlap first\n    inter = max(0, min(box_a[2], box_b[2]) - max(box_a[0], box_b[0]))\n"
              "    area = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])\n    return inter / area\n")
    copy = disguised(source, random.Random(1))
    import re
    assert copy != source and not re.search(r"\bbox_a\b|\binter\b", copy) and "overlap first" not in copy
    assert integrity.normalized_code(copy) == integrity.normalized_code(source)


def test_the_density_window_is_used_for_continuous_answers_only(bank):
    """Integer answers (a conv output size) keep the plain count, whose floor is 1 / (reference + 1):
    a window counts them as it counts a grid, and the check on the reference variants sees it. A float
    answer (an IoU) gets the window, and its chance rate is never below the share it actually fits."""
    discrete = integrity.reference_targets(bank, ASSIGNMENT, "conv-output-size", REFERENCE)
    continuous = integrity.reference_targets(bank, ASSIGNMENT, "iou-boxes", REFERENCE)
    assert discrete.widening == (1.0, 1.0)
    assert continuous.widening[0] > 50 and continuous.widening[1] < integrity.CONTINUOUS
    finder = integrity.GhostFinder(bank, ASSIGNMENT, student_ids(3), REFERENCE)
    assert finder.chance("conv-output-size", 10 ** 6) == pytest.approx(1 / (REFERENCE + 1))
    assert finder.chance("iou-boxes", 0.123456) < 1 / (REFERENCE + 1)
    common = continuous.entries[0][2].answer.value            # a reference variant's own right answer
    assert finder.chance("iou-boxes", common) >= len(continuous.fits(common)) / (REFERENCE + 1)


@pytest.mark.nbgrader
@pytest.mark.xdist_group("grading")
def test_a_class_graded_through_nbgrader_shows_its_copier_to_tas(tmp_path):
    """End to end: render, release, 8 students hand in their own notebooks (one copies 5 answers of a
    classmate, tables and arrays among them), grade, then the report's integrity table names the copier
    and the source, that way round, and nobody else; the copier's grades are grading's own."""
    import copy
    import os
    import shutil
    import subprocess
    import sys

    from grader.grading import grade_assignment
    from grader.grading.notebook.config import effective_config
    from grader.personalize import personal_notebook
    from grader.protocol import Role, cell_grade_id, problem_of

    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "questions.yaml", root / "questions.yaml")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    for command in ("render", "release"):
        subprocess.run([sys.executable, "-m", "grader", "--course", str(root), command, "--assignment", ASSIGNMENT],
                       check=True, capture_output=True, env=env)
    bank = load_bank(root / "questions.yaml")
    students = student_ids(8)
    plans = [Copying("student006", "student002", ASSIGNMENT,
                     ["conv2d-small", "maxpool-small", "conv1x1-apply", "cnn-summary", "nms-table"])]
    cells = integrity_class(bank, ASSIGNMENT, students, plans, seed=9)
    released = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for student in students:
        nb = copy.deepcopy(personal_notebook(bank, ASSIGNMENT, student, released).notebook)
        for cell in nb.cells:
            problem = problem_of(cell_grade_id(cell), Role.ANSWER)
            if problem in cells[student]:
                cell.source = cells[student][problem]
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    config = effective_config(root)
    grade_assignment(root, ASSIGNMENT, config=config)
    found = integrity.write_integrity_reports(config, bank, ASSIGNMENT, reference=REFERENCE)
    rows = list(csv.DictReader(io.StringIO(found["assignment_csv"].read_text())))
    flagged = [(r["student"], r["fits_numbers_of"]) for r in rows if r["flagged"] == "yes"]
    assert flagged == [("student006", "student002")]
    assert int(rows[0]["ghost_matches"]) >= 4
