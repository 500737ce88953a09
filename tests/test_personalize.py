"""Per-student notebooks: a student's locked cells, their release notebook, the class, the records.

References independent of grader.personalize: nbgrader's own generate_assignment run on a
student's rendered source notebook, nbgrader's validator, and the variant draws themselves.
"""

import json

import nbformat
import pytest
from render_kit import ASSIGNMENT, FIXTURE_BANK, make_course

from grader import render
from grader.bank import load_bank_text
from grader.course import course_config
from grader.errors import GraderError
from grader.kinds import kind_of
from grader.personalize import (
    locked_sources,
    personal_notebook,
    personalize_class,
    read_release_notebook,
    student_release,
)
from grader.protocol import Role, cell_grade_id, problem_of
from grader.release import find_leaks, generate_into, python_scripts_on_path, release
from grader.release_record import check_student_variants, drawn_digests, variant_changes
from grader.variants import draw_for

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]

PER_STUDENT_TEXT = FIXTURE_BANK.read_text(encoding="utf-8").replace("variant_key: assignment", "variant_key: student")


@pytest.fixture(scope="module")
def per_student_bank():
    return load_bank_text(PER_STUDENT_TEXT, FIXTURE_BANK)


@pytest.fixture(scope="module")
def released_course(tmp_path_factory, per_student_bank):
    """A course with the fixture bank keyed per student, rendered and released through nbgrader."""
    course = make_course(tmp_path_factory.mktemp("personal") / "course", PER_STUDENT_TEXT)
    render.write_rendered(render.render_bank(per_student_bank, course, [ASSIGNMENT]))
    release(course, per_student_bank, [ASSIGNMENT])
    return course


def locked_cells(notebook):
    return {cell_grade_id(cell): cell.source for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("locked")}


def test_render_accepts_per_student_keying_and_source_is_the_instructors_copy(released_course, per_student_bank):
    source = nbformat.read(render.notebook_path(released_course, ASSIGNMENT), as_version=4)
    assert locked_cells(source) == locked_sources(per_student_bank, ASSIGNMENT, None, hidden_tests=True)
    # the instructor's copy is keyed by the assignment: the same values as an assignment-keyed bank
    conv = per_student_bank.problems["conv-out"]
    assert draw_for(per_student_bank, conv, ASSIGNMENT, None) == draw_for(per_student_bank, conv, ASSIGNMENT, ASSIGNMENT)


def test_locked_sources_without_hidden_tests_are_the_release_notebooks_cells(released_course, per_student_bank):
    released = read_release_notebook(released_course, ASSIGNMENT)
    assert locked_cells(released) == locked_sources(per_student_bank, ASSIGNMENT, None, hidden_tests=False)
    graded = locked_sources(per_student_bank, ASSIGNMENT, "alice", hidden_tests=True)
    assert "BEGIN HIDDEN TESTS" in graded["conv-out-test"]
    assert "BEGIN HIDDEN TESTS" not in locked_sources(per_student_bank, ASSIGNMENT, "alice", False)["conv-out-test"]


def test_two_students_get_different_numbers(released_course, per_student_bank):
    conv = per_student_bank.problems["conv-out"]
    alice_values, bob_values = (draw_for(per_student_bank, conv, ASSIGNMENT, s) for s in ("alice", "bob"))
    assert alice_values != bob_values
    alice, bob = (locked_cells(student_release(released_course, per_student_bank, ASSIGNMENT, s)) for s in ("alice", "bob"))
    assert alice["conv-out-prompt"] != bob["conv-out-prompt"]
    assert f"${alice_values['W']}\\times{alice_values['W']}$" in alice["conv-out-prompt"]
    assert f"${bob_values['W']}\\times{bob_values['W']}$" in bob["conv-out-prompt"]
    assert alice["title"] == bob["title"]                       # the same assignment around the numbers


def test_a_students_release_is_what_nbgrader_generates_from_their_own_source(released_course, per_student_bank, tmp_path):
    """The independent reference: the student's source notebook through nbgrader generate_assignment."""
    scratch_course = make_course(tmp_path / "alice-course", PER_STUDENT_TEXT)
    alice_source = render.render_assignment(per_student_bank, ASSIGNMENT, "alice")
    render.write_rendered({render.notebook_path(scratch_course, ASSIGNMENT): render.notebook_text(alice_source)})
    generated = generate_into(scratch_course, tmp_path / "scratch", [ASSIGNMENT], use_database=False)
    expected = (generated / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    released = read_release_notebook(released_course, ASSIGNMENT)
    made = personal_notebook(per_student_bank, ASSIGNMENT, "alice", released)
    assert made.text == expected


def answered(notebook, bank, student):
    """The notebook with `student`'s correct answers written in."""
    variants = render.problem_variants(bank, ASSIGNMENT, student)
    sources = {v.problem.id: kind_of(v.problem).correct_source(v) for v in variants}
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in notebook.cells:
        problem = problem_of(cell_grade_id(cell), Role.ANSWER)
        if problem in sources:
            cell.source = sources[problem]
    return notebook


def test_a_students_notebook_passes_nbgrader_validate(released_course, per_student_bank, tmp_path):
    from nbgrader.validator import Validator

    validator = Validator(config=course_config(released_course))
    notebook = student_release(released_course, per_student_bank, ASSIGNMENT, "alice")
    path = tmp_path / "alice" / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir()
    with python_scripts_on_path():
        nbformat.write(answered(notebook, per_student_bank, "alice"), path)
        assert validator.validate(str(path)) == {}
        nbformat.write(notebook, path)                            # unanswered: every test fails
        assert len(validator.validate(str(path)).get("failed", [])) == 5
        stale = answered(notebook, per_student_bank, "alice")     # a locked cell edited, checksum kept
        next(c for c in stale.cells if cell_grade_id(c) == "conv-out-prompt").source += " (edited)"
        nbformat.write(stale, path)
        assert "changed" in validator.validate(str(path))


def test_the_leak_check_runs_on_each_students_own_values(released_course, per_student_bank):
    released = read_release_notebook(released_course, ASSIGNMENT)
    made = personal_notebook(per_student_bank, ASSIGNMENT, "alice", released)
    assert find_leaks(made.notebook, per_student_bank, ASSIGNMENT, "alice") == []
    alice_answer = render.problem_variants(per_student_bank, ASSIGNMENT, "alice")[0].expected
    prompt = next(c for c in made.notebook.cells if cell_grade_id(c) == "conv-out-prompt")
    prompt.source += f"\n\nThe answer is {alice_answer}."
    assert any("expected value" in leak for leak in find_leaks(made.notebook, per_student_bank, ASSIGNMENT, "alice"))


def test_personalizing_is_deterministic_and_the_same_on_one_or_two_processes(released_course, per_student_bank):
    students = [f"s{n:02d}" for n in range(12)]
    one = personalize_class(released_course, per_student_bank, ASSIGNMENT, students, workers=1)
    two = personalize_class(released_course, per_student_bank, ASSIGNMENT, students, workers=2)
    assert [(p.student, p.text, p.digests) for p in one] == [(p.student, p.text, p.digests) for p in two]
    assert len({p.text for p in one}) == len(students)


def test_a_release_notebook_out_of_date_with_the_bank_is_refused(released_course, per_student_bank):
    released = read_release_notebook(released_course, ASSIGNMENT)
    released.cells = [c for c in released.cells if cell_grade_id(c) != "conv-out-prompt"]
    with pytest.raises(GraderError, match=r"missing \['conv-out-prompt'\]"):
        personal_notebook(per_student_bank, ASSIGNMENT, "alice", released)


# --- what each student was given ------------------------------------------------------------------

def bank_with(text_changes):
    text = PER_STUDENT_TEXT
    for old, new in text_changes:
        assert old in text
        text = text.replace(old, new)
    return load_bank_text(text, FIXTURE_BANK)


def test_a_change_to_another_problem_or_the_roster_changes_no_one_elses_variant(per_student_bank):
    students = ["alice", "bob", "carol"]
    given = drawn_digests(per_student_bank, ASSIGNMENT, students)
    other_problem_changed = bank_with([("z: {array: {shape: [2, 3], dist: normal, mean: 0, std: 2, decimals: 2}}",
                                        "z: {array: {shape: [2, 3], dist: normal, mean: 0, std: 3, decimals: 2}}")])
    now = drawn_digests(other_problem_changed, ASSIGNMENT, students)
    assert {(c.student, c.problem) for c in variant_changes(given, now)} == {(s, "softmax-rows") for s in students}
    bigger_class = drawn_digests(per_student_bank, ASSIGNMENT, ["zoe", *students, "dave"])
    assert variant_changes(given, bigger_class) == []
    assert drawn_digests(per_student_bank, ASSIGNMENT, students) == given        # a re-release


def test_check_student_variants_names_student_and_problem(tmp_path, per_student_bank):
    from grader.release_record import record_students

    course = tmp_path
    record_students(course, ASSIGNMENT, drawn_digests(per_student_bank, ASSIGNMENT, ["alice", "bob"]))
    assert check_student_variants(course, per_student_bank, ASSIGNMENT, ["alice", "bob", "newcomer"]) == []
    changed = bank_with([("W: {int: [40, 64]}", "W: {int: [65, 99]}")])
    with pytest.raises(GraderError, match=r"student 'alice', problem 'conv-out'") as caught:
        check_student_variants(course, changed, ASSIGNMENT, ["alice", "bob"])
    assert "student 'bob', problem 'conv-out'" in str(caught.value) and "softmax-rows" not in str(caught.value)
    assert f"`python -m grader release {ASSIGNMENT} --per-student --force`" in str(caught.value)   # a command that exists
    forced = check_student_variants(course, changed, ASSIGNMENT, ["alice"], force=True)
    assert [(c.student, c.problem) for c in forced] == [("alice", "conv-out")]
    assert check_student_variants(course, changed, ASSIGNMENT, ["newcomer"]) == []   # no record: not checked
