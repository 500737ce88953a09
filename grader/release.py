"""source/ -> release/ through nbgrader's generate_assignment (its Python API), then a leak check.

The course's folders are where its nbgrader_config.py puts them (CoursePaths: a course may call
source/ `src`); nbgrader generates in a scratch course the grader configures, with nbgrader's
default layout (SOURCE_DIR, RELEASE_DIR), and the result is compared with, or copied into, the
course's release folder.

nbgrader clears the solution regions and the hidden tests, locks cells, computes the
checksums and records the source cells (hidden tests included) in the gradebook, which
autograding later restores. The release notebook is then checked for anything a student
must not see: solution or hidden-test code, the runtime, the digests, expected values.
"""

import ast
import filecmp
import functools
import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from grader.bank.templates import latex, python_literal
from grader.course import course_config, python_scripts_on_path
from grader.errors import GraderError
from grader.files import write_atomic
from grader.protocol import cell_grade_id, split_grade_id
from grader.render import (
    SOURCE_DIR,
    course_paths,
    in_course,
    matching,
    notebook_path,
    points_text,
    problem_variants,
    release_notebook,
)

RELEASE_DIR = "release"         # in the scratch course only; the course's own: CoursePaths.release
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "_grader_report", "engine.",
                "GRADER_RESULT", "from grader")
# A decimal rendering needs this many significant digits to count as a leak: 3 digits
# already pass the default `close` rule (rtol 1e-3) for many values, 2 digits do not.
MIN_LEAK_SIGFIGS = 3
NUMBER_TOKEN = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w])")
WORD_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_'-]*")


# --- nbgrader ---------------------------------------------------------------------------------

def generate_assignment(config, assignment_id):
    """Run nbgrader's generate_assignment for one assignment; raise GraderError with its log on failure."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    with python_scripts_on_path():
        result = api.generate_assignment(assignment_id, force=True, create=True)
    if not result["success"]:
        details = (result.get("log") or "") + (result.get("error") or "")
        raise GraderError(f"nbgrader generate_assignment {assignment_id!r} failed:\n{details.strip()}")


def generate_into(course, scratch, assignment_ids, use_database, db_url=None):
    """Generate the assignments in a scratch course (a copy of their source dirs, from wherever the
    course's configuration puts them, into nbgrader's default layout); return its release dir, where
    <release dir>/<a>/ is each assignment's release folder.

    With `use_database` the course's gradebook (or `db_url`) records the assignment (autograde
    needs it); otherwise nothing outside `scratch` is touched.
    """
    course, scratch = Path(course).resolve(), Path(scratch)
    paths = course_paths(course)
    for assignment_id in assignment_ids:
        source = paths.source(assignment_id)
        if not (source / f"{assignment_id}.ipynb").is_file():
            raise GraderError(f"no source notebook {source / (assignment_id + '.ipynb')}: "
                              f"run `python -m grader render` first")
        shutil.copytree(source, scratch / SOURCE_DIR / assignment_id)
    # nbgrader's SaveCells writes to a gradebook even with no_database set, so a run that must
    # leave the course alone gets a throwaway gradebook inside the scratch course.
    scratch_db = db_url if use_database else "sqlite:///" + str((scratch / "gradebook.db").resolve())
    config = course_config(course, root=scratch, db_url=scratch_db)
    # The scratch course is the grader's: nbgrader's default layout, whatever the course calls its folders.
    from nbgrader.coursedir import CourseDirectory
    config.CourseDirectory.source_directory = SOURCE_DIR
    config.CourseDirectory.release_directory = RELEASE_DIR
    config.CourseDirectory.directory_structure = CourseDirectory.class_traits()["directory_structure"].default()
    for assignment_id in assignment_ids:
        generate_assignment(config, assignment_id)
    return scratch / RELEASE_DIR


# --- leaks ------------------------------------------------------------------------------------

def leaves(value):
    """The scalars inside a value (arrays, lists, tuples, dicts, sets), as Python scalars."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [leaf for item in value for leaf in leaves(item)]
    if isinstance(value, np.ndarray):
        return [leaf for item in value.ravel().tolist() for leaf in leaves(item)]
    if isinstance(value, np.generic):
        return [value.item()]
    return [value]


LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")


@functools.lru_cache(maxsize=4096)
def number_tokens(text):
    """The unsigned numbers written in a text (`q3` is a name, `\\times52` shows 52); a tuple.
    Cached: personalizing a class checks the cells every student shares over and over."""
    return tuple(NUMBER_TOKEN.findall(LATEX_COMMAND.sub(" ", text)))


def token_value(token):
    return float(token)


def token_decimals(token):
    """Decimal places a token states (`0.731` -> 3, `7.31e-1` -> 3, `14` -> 0)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return decimals - int(exponent or 0)


def significant_digits(token):
    mantissa = token.lower().partition("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


def token_shows(token, number):
    """True when the text `token` is `number` (in absolute value) written out, rounded or truncated."""
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        return False
    value, target = token_value(token), abs(number)
    if float(target).is_integer() and value == target:
        return True
    if significant_digits(token) < MIN_LEAK_SIGFIGS:
        return False
    return abs(value - target) < 10.0 ** (-token_decimals(token))


def value_texts(value):
    """Every way the renderer may write a value: as Python and as LaTeX."""
    texts = [python_literal(value)]
    try:
        texts.append(latex(value))
    except TypeError:
        pass
    return texts


def release_expected(variant):
    """What a correct answer contains (for a function, each case's result; a case the engine
    rejects has no value to leak)."""
    return variant.kind.expected_values(variant.problem, variant.values, lenient=True)


def _same_value(a, b):
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    except Exception:
        return False


def shown_values(variant):
    """{name: value} of the parameters a problem may show, except an `expr` parameter equal to
    the answer (showing that one is showing the answer)."""
    shown = {}
    for name, value in variant.values.items():
        spec = variant.problem.params.get(name)
        if spec is not None and spec.sampler == "expr" and _same_value(value, variant.expected):
            continue
        shown[name] = value
    return shown


def cell_role(cell):
    """'prompt', 'inputs', 'answer' or 'test': the role in the cell's grade id."""
    parts = split_grade_id(cell_grade_id(cell))
    return parts[1] if parts else ""


def allowed_text(variant, role):
    """Text one of a problem's cells may show, by the cell's role. Every cell: the renderer's
    format checks (shape, number of dimensions and of rows). The prompt: also the template
    and the problem's own data, the shown parameter values and the rule statement. The inputs cell: also the
    shown values of the inputs. The test cell of a problem with public checks: what the prompt may
    show (a check's bound or argument is public when the prompt shows it: "IoU lies in [0, 1]"),
    never more. Answer cells: nothing else."""
    problem, kind = variant.problem, variant.kind
    parts = kind.format_numbers(variant)
    shown = shown_values(variant)
    if role == "test" and problem.checks:
        return "\n".join([allowed_text(variant, "prompt"), *parts])
    if role == "prompt":
        parts += [problem.title, problem.prompt, *problem.hints, points_text(problem.points),
                  f"Problem {variant.number}", kind.answer_instructions(variant),
                  kind.rule_statement(variant), *kind.prompt_words(variant)]
        parts += [text for value in shown.values() for text in value_texts(value)]
    elif role == "inputs":
        parts += [text for name in variant.input_names if name in shown for text in value_texts(shown[name])]
    return "\n".join(parts)


def shown_strings(variant, role):
    """The strings inside the parameter values a code cell of this role may hold."""
    if role != "inputs":
        return set()
    shown = shown_values(variant)
    return {leaf for name in variant.input_names if name in shown
            for leaf in leaves(shown[name]) if isinstance(leaf, str)}


def problem_cells(notebook, problem_id):
    return [cell for cell in notebook.cells if (split_grade_id(cell_grade_id(cell)) or ("",))[0] == problem_id]


@functools.lru_cache(maxsize=4096)
def code_strings(source):
    """The string constants of a code cell (its text when it does not parse); cached (see number_tokens)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset({source})
    return frozenset(node.value for node in ast.walk(tree)
                     if isinstance(node, ast.Constant) and isinstance(node.value, str))


def problem_leaks(notebook, variant, policy_text=""):
    """Expected values shown in the problem's release cells beyond what each cell's role explains
    (`policy_text`: the assignment's checks policy for the problem, which its prompt states)."""
    problem = variant.problem
    expected = [leaf for value in release_expected(variant) for leaf in leaves(value)]
    numbers = [leaf for leaf in expected if isinstance(leaf, (int, float)) and not isinstance(leaf, bool)]
    strings = {leaf for leaf in expected if isinstance(leaf, str)}
    found = []
    for cell in problem_cells(notebook, problem.id):
        role = cell_role(cell)
        allowed = allowed_text(variant, role) + ("\n" + policy_text if role == "prompt" else "")
        allowed_numbers = {token_value(token) for token in number_tokens(allowed)}
        where = f"{problem.id} cell {cell.metadata.nbgrader.grade_id}"
        for token in number_tokens(cell.source):
            if token_value(token) not in allowed_numbers and any(token_shows(token, n) for n in numbers):
                found.append(f"{where}: shows {token}, an expected value")
        if cell.cell_type == "code":
            for text in sorted(code_strings(cell.source) & strings - shown_strings(variant, role)):
                found.append(f"{where}: code holds the string {text!r}, an expected value")
        else:
            for word in sorted(set(WORD_TOKEN.findall(cell.source)) & strings - set(WORD_TOKEN.findall(allowed))):
                found.append(f"{where}: shows the word {word!r}, an expected value")
    return found


def find_leaks(notebook, bank, assignment_id, student=None, variants=None):
    """Everything in a release notebook a student must not see; [] when it is clean. `student`:
    the notebook is that student's (their values); `variants`: those values, already drawn."""
    found = []
    digests = {problem.digest for problem in bank.problems.values() if problem.digest}
    for cell in notebook.cells:
        texts = [cell.source] + [str(output) for output in cell.get("outputs", [])]
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
        for text in texts:
            found += [f"cell {grade_id}: contains {marker!r}" for marker in LEAK_MARKERS if marker in text]
            found += [f"cell {grade_id}: contains the digest {digest}" for digest in sorted(digests)
                      if digest in text]
    rules = bank.assignments[assignment_id].rules
    for variant in variants if variants is not None else problem_variants(bank, assignment_id, student):
        found += problem_leaks(notebook, variant, rules.policy_for(variant.problem.id).describe())
    return found


def check_no_leaks(notebooks, bank):
    """Raise GraderError listing every leak in the release notebooks {assignment id: path}."""
    found = []
    for assignment_id, path in notebooks.items():
        notebook = nbformat.read(path, as_version=4)
        found += [f"{path.name}: {leak}" for leak in find_leaks(notebook, bank, assignment_id)]
    if found:
        raise GraderError("release notebooks would leak to students:\n  " + "\n  ".join(found))


# --- release and check --------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    path: Path
    what: str


def tree_files(directory):
    directory = Path(directory)
    if not directory.is_dir():
        return set()
    return {path.relative_to(directory) for path in directory.rglob("*") if path.is_file()}


def compare_trees(expected_dir, actual_dir):
    """Files that differ between a freshly generated release dir and the committed one."""
    expected, actual = tree_files(expected_dir), tree_files(actual_dir)
    differences = [Difference(path, "missing") for path in sorted(expected - actual)]
    differences += [Difference(path, "not generated from source/") for path in sorted(actual - expected)]
    differences += [Difference(path, "differs") for path in sorted(expected & actual)
                    if not filecmp.cmp(expected_dir / path, actual_dir / path, shallow=False)]
    return differences


def orphaned_releases(bank, course):
    """release/<x>/ directories (the course's release folder) of assignments the bank no longer has."""
    paths = course_paths(course)
    return [path for path in matching(course, paths.release("*"), paths)
            if path.is_dir() and path.name not in bank.assignments]


def assignment_ids_of(bank, requested):
    ids = list(bank.assignments) if not requested else list(requested)
    unknown = [a for a in ids if a not in bank.assignments]
    if unknown:
        raise GraderError(f"{bank.path}: no assignment {', '.join(map(repr, unknown))} "
                          f"(assignments: {', '.join(bank.assignments)})")
    return ids


def release(course, bank, assignment_ids):
    """Generate, leak-check, then replace release/<a>/ (all or nothing); return the files that changed."""
    course = Path(course).resolve()
    paths = course_paths(course)
    with tempfile.TemporaryDirectory(prefix="grader-release-") as scratch:
        generated = generate_into(course, Path(scratch), assignment_ids, use_database=True)
        check_no_leaks({a: notebook_path(generated.parent, a, generated.name) for a in assignment_ids}, bank)
        changed = []
        for assignment_id in assignment_ids:
            released = paths.release(assignment_id)
            for difference in compare_trees(generated / assignment_id, released):
                target = released / difference.path
                if difference.what == "not generated from source/":
                    target.unlink()
                else:
                    write_atomic(target, (generated / assignment_id / difference.path).read_bytes())
                changed.append(target)
        return changed


def register_in_gradebook(course, assignment_id, db_url):
    """Record a released assignment in the gradebook at `db_url` (nbgrader's generate_assignment,
    in a scratch course), after checking that release/ is what source/ generates."""
    course = Path(course).resolve()
    released = course_paths(course).release(assignment_id)
    with tempfile.TemporaryDirectory(prefix="grader-register-") as scratch:
        generated = generate_into(course, Path(scratch) / "check", [assignment_id], use_database=False)
        if not released.is_dir() or compare_trees(generated / assignment_id, released):
            raise GraderError(f"{db_url}: no assignment '{assignment_id}' in the gradebook, and {released} "
                              f"is not what source/ generates; run `python -m grader release` first")
        generate_into(course, Path(scratch) / "register", [assignment_id], use_database=True, db_url=db_url)


def check_release(course, bank, assignment_ids):
    """Differences between release/ and a fresh generation from source/ (nothing is written)."""
    course = Path(course).resolve()
    paths = course_paths(course)
    with tempfile.TemporaryDirectory(prefix="grader-release-check-") as scratch:
        generated = generate_into(course, Path(scratch), assignment_ids, use_database=False)
        released = {a: release_notebook(course, a, paths) for a in assignment_ids}
        check_no_leaks({a: path for a, path in released.items() if path.is_file()}, bank)
        differences = []
        for assignment_id in assignment_ids:
            folder = paths.release(assignment_id)
            shown = in_course(".", folder, paths)     # release/<a> relative to the course (its configured name)
            differences += [Difference(shown / d.path, d.what)
                            for d in compare_trees(generated / assignment_id, folder)]
        return differences
