"""The renderer: notebook structure, solutions through the engine, determinism, --check, atomicity."""

import re

import nbformat
import numpy as np
import pytest
from nbgrader.nbgraderformat import MetadataValidator
from render_kit import ASSIGNMENT, FIXTURE_BANK

from grader import engine, render
from grader.bank import load_bank
from grader.cli import main
from grader.variants import draw

CELL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def rendered_notebook(bank, assignment=ASSIGNMENT):
    return nbformat.reads(render.notebook_text(render.render_assignment(bank, assignment)), as_version=4)


def cells_by_grade_id(notebook):
    return {cell.metadata.nbgrader.grade_id: cell for cell in notebook.cells}


def solution_code(cell):
    lines = cell.source.splitlines()
    begin, end = lines.index("### BEGIN SOLUTION"), lines.index("### END SOLUTION")
    return "\n".join(lines[begin + 1:end])


def visible_checks(cell):
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


def run_problem_setup(notebook, problem_id):
    """Execute the setup cell and the problem's input cell; return the namespace."""
    cells = cells_by_grade_id(notebook)
    namespace = {}
    exec(cells["setup"].source, namespace)
    if f"{problem_id}-inputs" in cells:
        exec(cells[f"{problem_id}-inputs"].source, namespace)
    return namespace


# --- determinism --------------------------------------------------------------------------------

def test_rendering_twice_from_two_loads_gives_identical_bytes(tmp_path):
    first = render.render_bank(load_bank(FIXTURE_BANK), tmp_path)
    second = render.render_bank(load_bank(FIXTURE_BANK), tmp_path)
    assert list(first) == list(second)
    assert all(first[path].encode() == second[path].encode() for path in first)


def test_render_command_is_idempotent(course, capsys):
    assert main(["--course", str(course), "render"]) == 0
    paths = sorted((course / "source").rglob("*.ipynb"))
    assert [p.relative_to(course).as_posix() for p in paths] == [
        "source/fixture-a/fixture-a.ipynb", "source/fixture-b/fixture-b.ipynb"]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}
    capsys.readouterr()
    assert main(["--course", str(course), "render"]) == 0
    assert "0 changed" in capsys.readouterr().out
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths} == before


# --- structure ------------------------------------------------------------------------------------

def test_notebook_passes_nbgraders_metadata_validator(fixture_bank):
    notebook = rendered_notebook(fixture_bank)
    MetadataValidator().validate_nb(notebook)   # raises nbgrader's ValidationError when invalid
    assert notebook.nbformat == 4 and notebook.nbformat_minor == 5
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        assert cell.metadata.nbgrader.schema_version == 3
        assert cell.metadata.nbgrader.task is False
        assert CELL_ID.match(cell.id)


def test_each_problem_has_prompt_inputs_answer_and_test_cells_in_order(fixture_bank):
    notebook = rendered_notebook(fixture_bank)
    grade_ids = [cell.metadata.nbgrader.grade_id for cell in notebook.cells]
    assert len(set(grade_ids)) == len(grade_ids)
    expected = ["title", "setup"]
    for problem_id in fixture_bank.assignments[ASSIGNMENT].problems:
        problem = fixture_bank.problems[problem_id]
        expected += [f"{problem_id}-prompt"] + ([f"{problem_id}-inputs"] if problem.inputs else [])
        expected += [f"{problem_id}-answer", f"{problem_id}-test"]
    assert grade_ids == expected
    cells = cells_by_grade_id(notebook)
    for problem_id in fixture_bank.assignments[ASSIGNMENT].problems:
        answer, test = cells[f"{problem_id}-answer"].metadata.nbgrader, cells[f"{problem_id}-test"].metadata.nbgrader
        assert (answer.solution, answer.grade, answer.locked) == (True, False, False)
        assert (test.solution, test.grade, test.locked) == (False, True, True)
        assert test.points == fixture_bank.problems[problem_id].points
        assert cells[f"{problem_id}-prompt"].metadata.nbgrader.locked is True


def test_prompt_shows_the_variants_values_and_where_to_answer(fixture_bank):
    values = draw(fixture_bank, fixture_bank.problems["conv-out"], ASSIGNMENT)
    prompt = cells_by_grade_id(rendered_notebook(fixture_bank))["conv-out-prompt"].source
    assert f"${values['W']}\\times{values['W']}$" in prompt
    assert f"$K = {values['K']}$" in prompt and f"$P = {values['P']}$" in prompt
    assert "O = ⌊(W − K + 2P)/S⌋ + 1" in prompt           # the hint
    assert "`q1`" in prompt and "(2 points)" in prompt


def test_test_cells_only_report_the_answer_with_the_problems_digest(fixture_bank):
    cells = cells_by_grade_id(rendered_notebook(fixture_bank))
    variables = {"conv-out": "q1", "softmax-rows": "q2", "relu-init": "q3", "softmax-fn": "softmax",
                 "net-table": "q5"}
    for problem_id, variable in variables.items():
        digest = fixture_bank.problems[problem_id].digest
        hidden = cells[f"{problem_id}-test"].source.split("### BEGIN HIDDEN TESTS\n")[1]
        assert hidden == (f'globals().get("_grader_report", lambda *answer, **spec: None)'
                          f'("{problem_id}", {variable}, spec="{digest}")\n'
                          f'### END HIDDEN TESTS')
        assert "grader" not in hidden.replace("_grader_report", "")   # nothing of ours is imported


# --- solutions go through the engine --------------------------------------------------------------

def test_solutions_are_engine_calls_that_compute_the_banks_answer(fixture_bank):
    notebook = rendered_notebook(fixture_bank)
    cells = cells_by_grade_id(notebook)
    for number, problem_id in enumerate(fixture_bank.assignments[ASSIGNMENT].problems, start=1):
        problem = fixture_bank.problems[problem_id]
        values = draw(fixture_bank, problem, ASSIGNMENT)
        code = solution_code(cells[f"{problem_id}-answer"])
        namespace = run_problem_setup(notebook, problem_id)
        exec(code, namespace)
        if problem.kind == "choice":
            assert namespace[f"q{number}"] == "B"
            continue
        assert "from grader import engine" in code and "engine." in code
        if problem.kind == "function":
            student = namespace["softmax"]
            for z in (values["z"], np.array([[1000.0, -1000.0, 0.0]])):
                np.testing.assert_allclose(student(z), engine.softmax(z), rtol=1e-12)
            continue
        expected = problem.answer.evaluate(values)   # the bank's own evaluation of the expression
        got = namespace[f"q{number}"]
        if problem.kind == "table":
            assert got == expected
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_solution_inlines_scalar_parameters_and_names_array_inputs(fixture_bank):
    cells = cells_by_grade_id(rendered_notebook(fixture_bank))
    values = draw(fixture_bank, fixture_bank.problems["conv-out"], ASSIGNMENT)
    assert solution_code(cells["conv-out-answer"]) == (
        "from grader import engine\n"
        f"q1 = engine.conv_output_size({values['W']}, {values['K']}, {values['P']}, {values['S']})")
    assert solution_code(cells["softmax-rows-answer"]) == "from grader import engine\nq2 = engine.softmax(z)"
    assert solution_code(cells["softmax-fn-answer"]) == (
        "from grader import engine\ndef softmax(z):\n    return engine.softmax(z)")


# --- visible format checks --------------------------------------------------------------------------

@pytest.mark.parametrize("problem_id, good, bad", [
    ("conv-out", "q1 = 7", "q1 = '7'"),
    ("conv-out", "q1 = 7.5", "q1 = [7]"),
    ("softmax-rows", "q2 = np.ones((2, 3))", "q2 = np.ones((3, 2))"),
    ("relu-init", "q3 = 'C'", "q3 = 2"),
    ("softmax-fn", "softmax = lambda z: z", "softmax = 3"),
    ("net-table", "q5 = [0, 0, 0, 0]", "q5 = [0, 0, 0]"),
])
def test_visible_checks_test_the_format_only(fixture_bank, problem_id, good, bad):
    notebook = rendered_notebook(fixture_bank)
    checks = visible_checks(cells_by_grade_id(notebook)[f"{problem_id}-test"])
    namespace = run_problem_setup(notebook, problem_id)
    exec(good, namespace)
    exec(checks, namespace)          # a wrong value of the right format passes
    namespace = run_problem_setup(notebook, problem_id)
    exec(bad, namespace)
    with pytest.raises(AssertionError):
        exec(checks, namespace)


def test_cell_ids_of_long_grade_ids_are_valid_distinct_and_stable():
    long_a, long_b = "p" * 70 + "-answer", "p" * 70 + "-test"
    ids = [render.cell_id(long_a), render.cell_id(long_b)]
    assert all(CELL_ID.match(i) for i in ids) and ids[0] != ids[1]
    assert render.cell_id(long_a) == ids[0]
    assert render.cell_id("conv-out-test") == "conv-out-test"


# --- --check and atomic writes -------------------------------------------------------------------------

def snapshot(directory):
    return {p: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_render_check_fails_after_the_bank_changes_and_passes_after_rerender(course, capsys):
    assert main(["--course", str(course), "render"]) == 0
    assert main(["--course", str(course), "render", "--check"]) == 0
    bank = course / "questions.yaml"
    bank.write_text(bank.read_text().replace("What is the output's spatial size", "Compute the output size"))
    before = snapshot(course / "source")
    capsys.readouterr()
    assert main(["--course", str(course), "render", "--check"]) == 1
    out = capsys.readouterr().out
    # conv-out is in both assignments: both notebooks are out of date, and --check wrote nothing
    assert "out of date: source/fixture-a/fixture-a.ipynb" in out
    assert "out of date: source/fixture-b/fixture-b.ipynb" in out
    assert snapshot(course / "source") == before
    assert main(["--course", str(course), "render"]) == 0
    assert main(["--course", str(course), "render", "--check"]) == 0
    assert "Compute the output size" in (course / "source/fixture-b/fixture-b.ipynb").read_text()


def test_render_check_on_a_missing_notebook_fails(course, capsys):
    assert main(["--course", str(course), "render", "--check"]) == 1
    assert not (course / "source").exists()


def test_a_failure_in_any_assignment_writes_nothing(course, monkeypatch, capsys):
    real = render.render_assignment

    def failing(bank, assignment_id):
        if assignment_id == "fixture-b":
            raise render.GraderError("boom in fixture-b")
        return real(bank, assignment_id)

    monkeypatch.setattr(render, "render_assignment", failing)
    assert main(["--course", str(course), "render"]) == 2
    assert "boom in fixture-b" in capsys.readouterr().err
    assert not (course / "source").exists()


def test_unknown_assignment_is_a_clear_error(course, capsys):
    assert main(["--course", str(course), "render", "--assignment", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no assignment 'nope'" in err and "fixture-a" in err
    assert not (course / "source").exists()


def test_only_the_requested_assignment_is_rendered(course):
    assert main(["--course", str(course), "render", "--assignment", "fixture-b"]) == 0
    assert [p.name for p in (course / "source").iterdir()] == ["fixture-b"]


def test_every_prompt_says_how_its_answer_is_checked(fixture_bank):
    """The precision needed is stated before grading: 0.79 for 0.79256 must not be a surprise."""
    from grader.render import render_assignment

    prompts = {cell.metadata.nbgrader.grade_id: cell.source for cell in render_assignment(fixture_bank, "fixture-a").cells
               if cell.metadata.nbgrader.grade_id.endswith("-prompt")}
    statements = {grade_id.removesuffix("-prompt"): source.split("**How it is checked.** ")[1]
                  for grade_id, source in prompts.items()}
    assert statements == {
        "conv-out": "Must equal the expected integer exactly.",
        "softmax-rows": "Each entry accepted within ±0.1 % of the expected value (±1e-06 near zero); "
                        "give at least 4 significant figures (do not round early).",
        "relu-init": "Must pick exactly the correct option(s).",
        "softmax-fn": "Your function is called on 2 inputs, some of them edge cases; each output accepted "
                      "within ±0.1 % of the expected value (±1e-06 near zero).",
        "net-table": "Integers and tuples must match exactly; other numbers within ±0.1 %: give at least "
                     "4 significant figures (do not round early).",
    }


def test_the_precision_advice_passes_its_own_rule():
    """A value given to the advised number of significant figures is accepted by the rule it
    describes, for expected values across magnitudes."""
    from grader.kinds.rules import compare_number, precision_advice

    for rtol in (1e-2, 1e-3, 1e-4):
        rule = {"rule": "close", "rtol": rtol, "atol": 0.0}
        figures = int(precision_advice(rule).split("at least ")[1].split()[0])
        for expected in (0.79256, 123.456789, 9.99951e-7, 5.55555):
            given = float(f"{expected:.{figures - 1}e}")
            assert compare_number(given, expected, rule).ok, (rtol, expected, given)


# --- the public checks' helper: defined once, in the locked setup cell ---------------------------

# The helper as every test cell defined it before it moved to the setup cell (grader/kinds/checks.py
# at 35c810c): the reference its verdicts are compared with.
OLD_PER_CELL_HELPER = """import contextlib, io
def _public_check(passes, says):
    try:
        with np.errstate(all='ignore'), contextlib.redirect_stdout(io.StringIO()):
            ok = bool(passes())
    except Exception:
        ok = False
    print(('public check passed: ' if ok else 'PUBLIC CHECK FAILED: ') + says)"""

SHIPPED = render.Path(__file__).resolve().parents[1]


def _shipped_notebooks():
    bank = load_bank(SHIPPED / "questions.yaml")
    for assignment in bank.assignments:
        for folder in ("source", "release"):
            yield assignment, folder, nbformat.read(render.notebook_path(SHIPPED, assignment, folder), as_version=4)


def test_the_public_checks_helper_is_defined_once_in_the_locked_setup_cell():
    with_checks = 0
    for assignment, folder, notebook in _shipped_notebooks():
        defining = [cell for cell in notebook.cells if "def _public_check(" in cell.source]
        calling = [cell for cell in notebook.cells if "_public_check(lambda" in cell.source]
        if not calling:
            assert not defining, (assignment, folder)
            continue
        with_checks += 1
        assert [cell.metadata.nbgrader.grade_id for cell in defining] == ["setup"], (assignment, folder)
        (setup,) = defining
        assert setup.metadata.nbgrader.locked and not setup.metadata.nbgrader.solution
        assert setup.source.count("def _public_check(") == 1
        if folder == "release":      # nbgrader's checksum of the locked cell holds
            from nbgrader.utils import compute_checksum
            assert setup.metadata.nbgrader.checksum == compute_checksum(setup), assignment
        for cell in calling:
            assert "def _public_check" not in cell.source and "import contextlib" not in cell.source
            assert cell.metadata.nbgrader.locked and cell.metadata.nbgrader.grade
    assert with_checks >= 8          # 4 or more assignments with checks, source and release


def _check_calls(cell):
    return "\n".join(line for line in visible_checks(cell).splitlines() if line.startswith("_public_check("))


def test_the_checks_print_what_the_per_cell_helper_printed_for_right_and_wrong_answers():
    """Every check line of every shipped problem, run after the setup cell, prints the same verdicts
    as it did with the helper defined in its own test cell, for the right answer and for wrong ones;
    a student's `io`, `contextlib` or `numpy` of their own does not change them."""
    import contextlib as std_contextlib
    import io as std_io

    from grader.kinds import kind_of

    bank = load_bank(SHIPPED / "questions.yaml")
    compared = 0
    for assignment in bank.assignments:
        notebook = rendered_notebook(bank, assignment)
        cells = cells_by_grade_id(notebook)
        for variant in render.problem_variants(bank, assignment):
            problem = variant.problem
            calls = _check_calls(cells[f"{problem.id}-test"])
            if not calls:
                continue
            kind = kind_of(problem)
            answers = [value for _, value in kind.right_answers(variant)] + list(kind.wrong_answers(variant))
            for answer in answers:
                printed = []
                for helper in (cells["setup"].source, "import numpy as np\n" + OLD_PER_CELL_HELPER):
                    namespace = {}
                    exec(helper, namespace)
                    exec(cells[f"{problem.id}-inputs"].source if f"{problem.id}-inputs" in cells else "", namespace)
                    namespace[variant.variable] = answer
                    if helper is cells["setup"].source:
                        namespace.update(io=None, contextlib=None, numpy=None)     # a student's own names
                    out = std_io.StringIO()
                    with std_contextlib.redirect_stdout(out):
                        exec(calls, namespace)
                    printed.append(out.getvalue())
                assert printed[0] == printed[1] and printed[0], (problem.id, printed)
                compared += 1
    assert compared >= 100
