"""Bank -> nbgrader source notebooks: source/<assignment>/<assignment>.ipynb.

One notebook per assignment (nbformat 4.5, nbgrader cell metadata schema 3). Per problem:
a locked prompt (Markdown), a locked cell defining the problem's array inputs, the answer
cell (solution: the problem's answer expression turned into code that calls the engine),
and the test cell (visible format checks, then the hidden `grader.runtime.check` call).

Rendering is deterministic: cell ids derive from grade ids, JSON keys are sorted and
nothing depends on the clock, so re-rendering an unchanged bank gives the same bytes.
"""

import ast
import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from grader.bank.expressions import Expression, name_kind
from grader.bank.templates import python_literal, render_prompt
from grader.compare import rule_statement
from grader.errors import GraderError
from grader.files import write_atomic
from grader.variants import draw, variant_key_for

SOURCE_DIR = "source"
RENDERED_MARK = "from grader.runtime import check"   # in every notebook this module writes
NBGRADER_SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
CELL_ID_MAX = 64
SETUP_SOURCE = "import numpy as np"
KIND_WORDS = {
    "numeric": "a number",
    "array": "a NumPy array",
    "choice": "a string holding one option key",
    "function": "a function",
    "table": "a list of rows",
}


@dataclass(frozen=True)
class ProblemVariant:
    """One problem as one assignment shows it: its number, drawn values and expected answer."""

    number: int
    problem: object
    values: dict
    expected: object

    @property
    def variable(self):
        """Where the student puts the answer: `q<N>`, or the function's name."""
        if self.problem.kind == "function":
            return self.problem.function.name
        return f"q{self.number}"

    @property
    def input_names(self):
        """Parameters the student receives as variables (the loader defaults them to the arrays)."""
        return list(self.problem.inputs)


# --- notebook cells -------------------------------------------------------------------------

def cell_id(grade_id):
    """A valid nbformat cell id (1-64 chars of [A-Za-z0-9_-]) that depends only on the grade id."""
    if len(grade_id) <= CELL_ID_MAX:
        return grade_id
    digest = hashlib.sha256(grade_id.encode("utf-8")).hexdigest()[:12]
    return f"{grade_id[:CELL_ID_MAX - 13]}-{digest}"


def nbgrader_metadata(grade_id, *, locked=False, solution=False, grade=False, points=None):
    metadata = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        metadata["points"] = points
    return {"nbgrader": metadata}


def markdown_cell(grade_id, source):
    return nbformat.v4.new_markdown_cell(
        source=source, id=cell_id(grade_id), metadata=nbgrader_metadata(grade_id, locked=True))


def code_cell(grade_id, source, **flags):
    return nbformat.v4.new_code_cell(
        source=source, id=cell_id(grade_id), metadata=nbgrader_metadata(grade_id, **flags))


# --- the answer as code ----------------------------------------------------------------------

class _EngineCode(ast.NodeTransformer):
    """Rewrites a bank expression as notebook code: engine/helper names qualified, values inlined."""

    def __init__(self, literals):
        self.literals = literals
        self.modules = set()

    def visit_Name(self, node):
        if node.id in self.literals:
            return copy.deepcopy(self.literals[node.id])
        kind = name_kind(node.id)
        if kind == "engine function":
            self.modules.add("engine")
            return ast.Attribute(value=ast.Name(id="engine", ctx=ast.Load()), attr=node.id, ctx=ast.Load())
        if kind == "helper":
            self.modules.add("helpers")
            return ast.Attribute(value=ast.Name(id="helpers", ctx=ast.Load()), attr=node.id, ctx=ast.Load())
        return node


MODULE_IMPORTS = {"engine": "from grader import engine", "helpers": "from grader.bank import helpers"}


def expression_code(expression, variant):
    """(imports, code) computing `expression` for the variant: inputs by name, other parameters inlined."""
    inputs = set(variant.input_names)
    literals = {
        name: ast.parse(python_literal(value), mode="eval").body
        for name, value in variant.values.items() if name not in inputs
    }
    transformer = _EngineCode(literals)
    tree = transformer.visit(ast.parse(expression.source, mode="eval"))
    imports = [MODULE_IMPORTS[module] for module in sorted(transformer.modules)]
    return imports, ast.unparse(ast.fix_missing_locations(tree))


def function_solution(variant):
    """`def name(args): return engine.f(args)`: the student's function, delegated to the engine."""
    problem = variant.problem
    signature = problem.function.signature
    try:
        definition = ast.parse(f"def {signature}:\n    pass").body[0]
    except SyntaxError as exc:
        raise GraderError(f"problem {problem.id!r}: function signature {signature!r} is not valid: {exc.msg}")
    if definition.name != problem.function.name:
        raise GraderError(f"problem {problem.id!r}: signature {signature!r} does not define "
                          f"{problem.function.name!r}")
    arguments = definition.args
    call_args = [arg.arg for arg in arguments.posonlyargs + arguments.args]
    call_args += [f"*{arguments.vararg.arg}"] if arguments.vararg else []
    call_args += [f"{arg.arg}={arg.arg}" for arg in arguments.kwonlyargs]
    call_args += [f"**{arguments.kwarg.arg}"] if arguments.kwarg else []
    imports, callee = expression_code(problem.answer, variant)
    body = f"def {signature}:\n    return {callee}({', '.join(call_args)})"
    return imports, body


def choice_literal(keys):
    """`"B"` for one key; a set display for several (python_literal sorts it)."""
    if isinstance(keys, (list, tuple, set, frozenset)):
        return python_literal(set(keys))
    return python_literal(keys)


def solution_lines(variant):
    problem = variant.problem
    if problem.kind == "function":
        imports, body = function_solution(variant)
        return imports + [body]
    if problem.kind == "choice":
        return [f"{variant.variable} = {choice_literal(variant.expected)}"]
    imports, code = expression_code(problem.answer, variant)
    return imports + [f"{variant.variable} = {code}"]


# --- the student-facing text and checks ------------------------------------------------------

def shape_is_given(variant):
    """True when every dimension of the answer's shape is a dimension of an input or an integer
    parameter: then checking the shape tells the student nothing the prompt does not (for, e.g.,
    the indices NMS keeps, the length IS part of the answer and is not checked visibly)."""
    known = set()
    for value in variant.values.values():
        if isinstance(value, np.ndarray):
            known.update(value.shape)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            known.add(int(value))
    return all(dim in known for dim in np.shape(variant.expected))


def answer_shape(variant):
    return tuple(int(dim) for dim in np.shape(variant.expected))


def row_labels(variant):
    labels = variant.problem.table.row_labels
    if isinstance(labels, Expression):
        labels = labels.evaluate(variant.values)
    return [str(label) for label in labels]


def format_checks(variant):
    """Visible assertions on the answer's type and shape (never on its value)."""
    problem, name = variant.problem, variant.variable
    if problem.kind == "function":
        return [f'assert callable({name}), "{name} should be a function"']
    if problem.kind == "choice":
        if problem.multiple:
            return [f'assert isinstance({name}, (set, frozenset, list, tuple)), '
                    f'"{name} should be a set of option keys"']
        return [f'assert isinstance({name}, str), "{name} should be a string (an option key)"']
    if problem.kind == "table":
        count = len(row_labels(variant))
        return [f'assert isinstance({name}, (list, tuple)), "{name} should be a list of rows"',
                f'assert len({name}) == {count}, "{name} should have {count} rows, one per table row"']
    shape = answer_shape(variant)
    numeric = f"np.issubdtype(np.asarray({name}).dtype, np.number)"
    if problem.kind == "numeric" and shape == ():
        return [f'assert np.ndim({name}) == 0 and {numeric}, "{name} should be a single number"']
    checks = [f'assert {numeric}, "{name} should hold numbers"']
    if shape_is_given(variant):
        checks.append(f'assert np.shape({name}) == {shape!r}, "{name} should have shape {shape!r}"')
    else:
        checks.append(f'assert np.ndim({name}) == {len(shape)}, '
                      f'"{name} should have {len(shape)} dimension(s)"')
    return checks


def answer_instructions(variant):
    problem, name = variant.problem, variant.variable
    if problem.kind == "function":
        return f"Define the function `{problem.function.signature}` in the answer cell."
    if problem.kind == "choice" and problem.multiple:
        return (f"Assign the set of every correct option key to `{name}` "
                f'(for example `{name} = {{"X", "Y"}}`).')
    if problem.kind == "choice":
        return f'Assign the key of the correct option to `{name}` as a string (for example `{name} = "X"`).'
    if problem.kind == "table":
        columns = ", ".join(f"`{column}`" for column in problem.table.columns)
        return (f"Assign to `{name}` a list with one row per table row, in order; each row is a dict "
                f"with the keys {columns} (or a tuple in that order).")
    shape = answer_shape(variant)
    if problem.kind == "array" and shape_is_given(variant):
        return f"Assign your answer to `{name}` (a NumPy array of shape {shape!r})."
    return f"Assign your answer to `{name}` ({KIND_WORDS[problem.kind]})."


def plural(count, word):
    return f"{count:g} {word}" + ("" if count == 1 else "s")


def points_text(points):
    return plural(float(points), "point")


def prompt_markdown(variant):
    problem = variant.problem
    parts = [f"## Problem {variant.number}: {problem.title} ({points_text(problem.points)})",
             render_prompt(problem, variant.values).strip()]
    if problem.kind == "choice":
        parts.append("\n".join(f"- **{key}.** {text}" for key, text in problem.options.items()))
    if problem.kind == "table":
        columns = list(problem.table.columns)
        header = "| row | " + " | ".join(columns) + " |"
        rule = "|---|" + "---|" * len(columns)
        rows = [f"| {label} |" + " |" * len(columns) for label in row_labels(variant)]
        parts.append("\n".join([header, rule, *rows]))
    if variant.input_names:
        names = ", ".join(f"`{name}`" for name in variant.input_names)
        parts.append(f"The cell below defines {names}.")
    if problem.hints:
        parts.append("**Hints**\n\n" + "\n".join(f"- {hint}" for hint in problem.hints))
    parts.append(f"**Your answer.** {answer_instructions(variant)}")
    statement = rule_statement(problem, variant.values)
    parts.append(f"**How it is checked.** {statement[0].upper()}{statement[1:]}.")
    return "\n\n".join(parts)


def inputs_source(variant):
    return "\n".join(f"{name} = {python_literal(variant.values[name])}" for name in variant.input_names)


def test_source(variant, assignment_id):
    problem = variant.problem
    call = (f"check({json.dumps(problem.id)}, {variant.variable}, assignment={json.dumps(assignment_id)}, "
            f"digest={json.dumps(problem.digest)})")
    return "\n".join([
        "# Format checks. The values are checked when the assignment is graded.",
        *format_checks(variant),
        "### BEGIN HIDDEN TESTS",
        "from grader.runtime import check",
        call,
        "### END HIDDEN TESTS",
    ])


def problem_cells(variant, assignment_id):
    pid = variant.problem.id
    cells = [markdown_cell(f"{pid}-prompt", prompt_markdown(variant))]
    if variant.input_names:
        cells.append(code_cell(f"{pid}-inputs", inputs_source(variant), locked=True))
    solution = "\n".join(["### BEGIN SOLUTION", *solution_lines(variant), "### END SOLUTION"])
    cells.append(code_cell(f"{pid}-answer", solution, solution=True))
    cells.append(code_cell(f"{pid}-test", test_source(variant, assignment_id), grade=True, locked=True,
                           points=variant.problem.points))
    return cells


# --- notebooks -------------------------------------------------------------------------------

def expected_answer(problem, values):
    """The expected answer of one variant (for `function`: None; the cases are graded at run time)."""
    if problem.kind == "function":
        return None
    return problem.answer.evaluate(values)


def problem_variants(bank, assignment_id):
    """The assignment's problems with their drawn values (variant key: the assignment)."""
    assignment = bank.assignments[assignment_id]
    variants = []
    for number, problem_id in enumerate(assignment.problems, start=1):
        problem = bank.problems[problem_id]
        values = draw(bank, problem, assignment_id, variant_key_for(bank, assignment_id))
        variants.append(ProblemVariant(number, problem, values, expected_answer(problem, values)))
    return variants


def render_assignment(bank, assignment_id):
    """The source notebook of one assignment (a NotebookNode)."""
    if assignment_id not in bank.assignments:
        known = ", ".join(bank.assignments) or "none"
        raise GraderError(f"{bank.path}: no assignment {assignment_id!r} (assignments: {known})")
    if bank.variant_key != "assignment":
        raise GraderError(f"{bank.path}: render supports variant_key 'assignment' only "
                          f"(got {bank.variant_key!r}): one notebook per assignment")
    assignment = bank.assignments[assignment_id]
    variants = problem_variants(bank, assignment_id)
    total = sum(float(variant.problem.points) for variant in variants)
    title = (f"# {bank.course}: {assignment.title}\n\n"
             f"{plural(len(variants), 'problem')}, {points_text(total)}. Write each answer in the cell marked "
             f"for it, then run the test cell below it: it checks the answer's format only. "
             f"The values are checked when the assignment is graded.")
    cells = [markdown_cell("title", title), code_cell("setup", SETUP_SOURCE, locked=True)]
    for variant in variants:
        cells.extend(problem_cells(variant, assignment_id))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)})
    notebook.nbformat_minor = 5
    return notebook


def notebook_text(notebook):
    """The notebook as the exact text written to disk (validated; sorted keys; final newline)."""
    captured = {}
    text = nbformat.writes(notebook, capture_validation_error=captured)
    if "ValidationError" in captured:
        raise GraderError(f"rendered notebook is not valid nbformat: {captured['ValidationError']}")
    return text if text.endswith("\n") else text + "\n"


def notebook_path(course, assignment_id, directory=SOURCE_DIR):
    return Path(course) / directory / assignment_id / f"{assignment_id}.ipynb"


def render_bank(bank, course, assignment_ids=None):
    """{path: text} for every requested assignment, all rendered in memory (nothing written)."""
    assignment_ids = list(bank.assignments) if assignment_ids is None else list(assignment_ids)
    return {notebook_path(course, assignment_id): notebook_text(render_assignment(bank, assignment_id))
            for assignment_id in assignment_ids}


def out_of_date(rendered):
    """Paths whose file on disk is missing or differs from the rendered text."""
    return [path for path, text in rendered.items()
            if not path.is_file() or path.read_bytes() != text.encode("utf-8")]


def orphaned(bank, course):
    """Notebooks this renderer wrote for assignments the bank no longer has."""
    return [path for path in sorted((Path(course) / SOURCE_DIR).glob("*/*.ipynb"))
            if path.stem == path.parent.name and path.stem not in bank.assignments
            and RENDERED_MARK in path.read_text(encoding="utf-8")]


def remove_orphans(paths):
    for path in paths:
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()


def write_rendered(rendered):
    """Write the notebooks that changed; return their paths."""
    changed = out_of_date(rendered)
    for path in changed:
        write_atomic(path, rendered[path].encode("utf-8"))
    return changed
