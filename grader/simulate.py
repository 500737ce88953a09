"""A synthetic class: realistic submissions under submitted/<student>/<assignment>/, deterministic from a seed.

Every student hands in their own release notebook (grader.personalize: the assignment's, with
their own values in the locked cells when the assignment is keyed per student) with answers for
their own variant; a "copied" student hands in the correct answers of a neighbour's variant (the
student before them), which earn nothing on per-student problems (unless the neighbour's answer
happens to be theirs too: a table that is right for a classmate's numbers scores 0 even where some
of its cells are the same for everyone, grader.kinds.grade_own_answer) and full marks on shared ones.

Each student follows a profile. The first students cover every profile once (so a class of 30
shows every kind of breakage), the rest are drawn from the ordinary ones. For every problem the
plan records what the student wrote and the fraction of the points it should earn, computed
in-process with the bank's own rule (grader.kinds.grade_own_answer) on the value written, or 0
when the answer cell cannot produce a value; grading the notebooks must agree with the plan.
"""

from __future__ import annotations

import copy
import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader.bank.templates import python_literal
from grader.course import paths_of
from grader.errors import GraderError
from grader.files import write_atomic
from grader.kinds import ProblemVariant, grade_own_answer
from grader.personalize import personal_notebook
from grader.protocol import Role, cell_grade_id, problem_of
from grader.render import problem_variants
from grader.variants import ClassVariants

ORDINARY = ["correct", "partial", "misconception", "partial", "correct"]
# breakage in one answer cell (the problem loses its points, every other problem is graded)
CELL_BREAKAGE = {
    "syntax-error": "{var} = (1 +",
    "exception": "{var} = 1 / 0",
    "infinite-loop": "while True:\n    pass",
    "kernel-exit": "import os\nos._exit(1)",
    "kernel-killed": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does",
    "memory-error": "{var} = bytearray(10 ** 15)",
    "huge-output": "for i in range(200000):\n    print(i)\n{var} = None",
    "nan-answer": "{var} = float('nan')",
    "inf-answer": "{var} = float('inf')",
    "none-answer": "{var} = None",
    "string-answer": "{var} = 'forty-two'",
    "wrong-shape": "import numpy as np\n{var} = np.zeros((7, 5))",
}
# breakage of the notebook's structure (every answer is right; nbgrader must undo the damage)
NOTEBOOK_BREAKAGE = ["deleted-cells", "added-cells", "edited-locked", "skip-tag", "not-json"]
PROFILES = ["correct", "partial", "misconception", "empty", *CELL_BREAKAGE, *NOTEBOOK_BREAKAGE, "copied"]
BROKEN = set(CELL_BREAKAGE) | set(NOTEBOOK_BREAKAGE)


@dataclass
class Answer:
    problem: str
    what: str            # correct | misconception:<id> | wrong | empty | copied | <breakage>
    fraction: float      # of the problem's points, expected
    points: float
    # the value written, when the cell assigns one (what a check sends); not compared: it may be an array,
    # and the cell's source, which it is written from, is
    value: Any = field(default=None, compare=False, repr=False)
    share: float = 1.0   # what the checks made before submitting leave of the points (simulate_checks)
    checks: list = field(default_factory=list)   # the verdicts of the checks made, in order


@dataclass
class SimulatedStudent:
    student: str
    profile: str
    answers: list = field(default_factory=list)
    copied_from: str = ""        # the neighbour whose answers a "copied" student handed in

    @property
    def expected_score(self):
        return sum(a.fraction * a.points * a.share for a in self.answers)

    def planned_points(self, problem_ids) -> float:
        """The planned score on these problems only (e.g. the per-student ones)."""
        return sum(a.fraction * a.points * a.share for a in self.answers if a.problem in set(problem_ids))


def student_ids(count: int) -> list[str]:
    return [f"student{number:03d}" for number in range(1, count + 1)]


def profile_of(index: int, rng: random.Random) -> str:
    return PROFILES[index] if index < len(PROFILES) else rng.choice(ORDINARY)


def _value_answer(variant: ProblemVariant, value: Any) -> str:
    return f"{variant.variable} = {python_literal(value)}"


def _fraction(variant: ProblemVariant, value: Any, classmates=()) -> float:
    """The fraction grading gives `value`, with the class's other numbers (`classmates`: their
    values of this problem) against which a copied answer is spotted."""
    return float(grade_own_answer(variant.problem, value, variant.values, classmates).fraction)


def answer_for(variant: ProblemVariant, what: str, rng: random.Random, classmates=()) -> tuple[str | None, Answer]:
    """(cell source, Answer) for one problem (`classmates`: as for _fraction)."""
    problem, points, kind = variant.problem, float(variant.problem.points), variant.kind
    if what == "correct":
        return kind.correct_source(variant), Answer(problem.id, "correct", 1.0, points, variant.expected)
    if what == "misconception":
        for misconception in problem.misconceptions:
            value = kind.misconception_value(variant, misconception)
            if value is not None:
                return (_value_answer(variant, value),
                        Answer(problem.id, f"misconception:{misconception.id}",
                               _fraction(variant, value, classmates), points, value))
        what = "wrong"
    if what == "wrong":
        value = kind.wrong_value(variant)
        if value is not None:
            return _value_answer(variant, value), Answer(problem.id, "wrong", _fraction(variant, value, classmates),
                                                         points, value)
        return None, Answer(problem.id, "empty", 0.0, points)
    if what == "empty":
        return None, Answer(problem.id, "empty", 0.0, points)
    if what in CELL_BREAKAGE:
        return CELL_BREAKAGE[what].format(var=variant.variable), Answer(problem.id, what, 0.0, points)
    raise GraderError(f"simulate: unknown answer kind {what!r}")


def copied_answer(own: ProblemVariant, theirs: ProblemVariant, classmates=()) -> tuple[str, Answer]:
    """(cell source, Answer): the neighbour's correct answer cell, graded against the student's own
    variant (`classmates`: as for _fraction)."""
    source = theirs.kind.correct_source(theirs)
    if source == own.kind.correct_source(own):          # the same cell (a shared problem, a function)
        fraction = 1.0
    else:
        fraction = _fraction(own, theirs.expected, classmates)
    return source, Answer(own.problem.id, "copied", fraction, float(own.problem.points))


def plan_answers(variants, profile: str, rng: random.Random, neighbour_variants=None,
                 classmates=lambda problem: (), harder=None):
    """{problem id: (source or None, Answer)} following the profile (`neighbour_variants`: the
    variants whose answers a "copied" student hands in; `classmates(problem)`: the class's other
    values of a problem, as grading sees them; `harder(variant)`: True when a right answer of this
    variant turns wrong, a difficulty that depends on the numbers drawn, simulate_class's `difficulty`)."""
    broken_problem = rng.randrange(len(variants))
    plan = {}
    for index, variant in enumerate(variants):
        others = classmates(variant.problem)
        if profile == "copied":
            plan[variant.problem.id] = copied_answer(variant, neighbour_variants[index], others)
            continue
        if profile == "partial":
            what = rng.choice(["correct", "misconception", "wrong", "correct"])
        elif profile in ("misconception", "empty"):
            what = profile
        elif profile in CELL_BREAKAGE and index == broken_problem:
            what = profile
        else:
            what = "correct"
        if what == "correct" and harder is not None and harder(variant):
            what = "wrong"
        plan[variant.problem.id] = answer_for(variant, what, rng, others)
    return plan


def _break_notebook(nb, profile: str, rng: random.Random) -> None:
    tests = [c for c in nb.cells if problem_of(cell_grade_id(c), Role.TEST) is not None]
    victim = tests[rng.randrange(len(tests))]
    if profile == "deleted-cells":
        nb.cells.remove(victim)
        markdown = [c for c in nb.cells if c.cell_type == "markdown"]
        if markdown:
            nb.cells.remove(markdown[0])
    elif profile == "added-cells":
        at = nb.cells.index(victim)
        # fixed cell ids: nbformat would draw random ones, and the class must be the same every time
        nb.cells.insert(at, nbformat.v4.new_code_cell("# scratch work\nscratch = [1, 2, 3]\nsum(scratch)",
                                                      id="student-scratch"))
        nb.cells.append(nbformat.v4.new_markdown_cell("My notes: check the formula sheet.", id="student-notes"))
    elif profile == "edited-locked":
        for cell in tests:
            cell.source = "# I am sure my answer is right\npass"
    elif profile == "skip-tag":
        for cell in tests:
            cell.metadata.setdefault("tags", []).append("skip-execution")


def _rng(seed: int, *parts) -> random.Random:
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def simulate_class(bank, course: Path, assignment: str, students: int, seed: int = 521,
                   difficulty=None) -> list[SimulatedStudent]:
    """Write `students` submissions of `assignment` under course/submitted/; return the plan.
    `difficulty(problem, values)`: the chance (0..1) that a student who would answer a problem right
    answers it wrong on these numbers (a class where some numbers are harder on purpose, to test
    grader.fairness); drawn from its own stream, so the rest of the class is the same with or without it."""
    if students < 1:
        raise GraderError(f"simulate: --students must be at least 1 (got {students})")
    paths = paths_of(course)
    release = paths.release(assignment) / f"{assignment}.ipynb"
    if not release.is_file():
        raise GraderError(f"{release}: no released notebook; run `python -m grader release` first")
    released = nbformat.read(release, as_version=4)
    answer_cells = {problem_of(cell_grade_id(c), Role.ANSWER) for c in released.cells}
    missing = [pid for pid in bank.assignments[assignment].problems if pid not in answer_cells]
    if missing:
        raise GraderError(f"{release}: no answer cell for {', '.join(missing)}; release the assignment again")
    students_ = student_ids(students)
    the_class = ClassVariants(bank, assignment, students_)
    class_plan = []
    for index, student in enumerate(students_):
        profile = profile_of(index, _rng(seed, assignment, "profile", index))
        rng = _rng(seed, assignment, student)
        personal = personal_notebook(bank, assignment, student, released, str(release))
        variants = problem_variants(bank, assignment, student)
        neighbour = students_[index - 1] if index > 0 else (students_[1] if len(students_) > 1 else student)
        theirs = problem_variants(bank, assignment, neighbour) if profile == "copied" else None
        harder = None if difficulty is None else (
            lambda variant, student=student: _rng(seed, assignment, student, "harder", variant.problem.id).random()
            < difficulty(variant.problem, variant.values))
        plan = plan_answers(variants, profile, rng, theirs,
                            lambda problem, student=student: the_class.others(problem, student), harder)
        nb = copy.deepcopy(personal.notebook)
        for cell in nb.cells:
            problem = problem_of(cell_grade_id(cell), Role.ANSWER)
            if problem in plan and plan[problem][0] is not None:
                cell.source = plan[problem][0]
        _break_notebook(nb, profile, rng)
        answers = [answer for _, answer in plan.values()]
        path = paths.submitted(student, assignment) / f"{assignment}.ipynb"
        if profile == "not-json":
            text = nbformat.writes(nb)[: 400] + "\n<<<<<<< HEAD (a merge conflict)\n"
            answers = [Answer(a.problem, "not-json", 0.0, a.points) for a in answers]
        else:
            text = nbformat.writes(nb)
        write_atomic(path, text)
        class_plan.append(SimulatedStudent(student, profile, answers, neighbour if profile == "copied" else ""))
    return class_plan


# --- checks before the deadline (grader.service.check, through the caller's `check`) ------------------

CHECKING = ("none", "none", "final", "wrong-then-final")   # how a student uses a problem's checks


def simulate_checks(bank, assignment: str, class_plan: list, check, encode, seed: int = 521) -> int:
    """Students of ordinary profiles check answers before submitting, through `check(student, body)`
    (a grader.service.check.Checker's, so what is recorded is what the service records; `encode`: the
    kernel's encoder of plain data): per problem with checks, none, the answer they hand in, or first
    a wrong value and then that answer. Each Answer's `share` is set from the bank's credit list by this
    plan's own count of the tries (not by grader.attempts.rules, which grading uses): a right answer keeps
    the credit of its first right check, anything else that of one try more than the checks made.
    Returns the number of checks recorded. Function answers are not checked here (their checks call
    the student's code in the kernel)."""
    import json

    rules = bank.assignments[assignment].rules
    made = 0
    for simulated in class_plan:
        if simulated.profile not in ORDINARY:
            continue
        for answer in simulated.answers:
            policy = rules.policy_for(answer.problem)
            problem = bank.problems[answer.problem]
            if policy.checks <= 0 or answer.value is None or problem.kind == "function":
                continue
            how = _rng(seed, assignment, simulated.student, "checks", answer.problem).choice(CHECKING)
            values = {"none": [], "final": [answer.value]}.get(how)
            if values is None:
                wrong = _a_wrong_value(bank, assignment, simulated.student, problem)
                values = [answer.value] if wrong is None else [wrong, answer.value]
            for value in values[:policy.checks]:
                body = json.dumps({"assignment": assignment, "problem": answer.problem, "answer": encode(value)})
                reply = check(simulated.student, body.encode())
                if reply.status != 200:
                    raise GraderError(f"simulate: {simulated.student}'s check of {answer.problem} was refused: "
                                      f"{reply.body.get('error')}")
                answer.checks.append(reply.body["verdict"])
                made += 1
            answer.share = _planned_share(policy.credit, answer.checks, answer.fraction >= 1.0)
    return made


def _a_wrong_value(bank, assignment: str, student: str, problem) -> Any:
    variant = next(v for v in problem_variants(bank, assignment, student) if v.problem.id == problem.id)
    for misconception in problem.misconceptions:
        value = variant.kind.misconception_value(variant, misconception)
        if value is not None:
            return value
    return variant.kind.wrong_value(variant)


def _planned_share(credit: tuple, verdicts: list, right: bool) -> float:
    firsts = [number for number, verdict in enumerate(verdicts, 1) if verdict == "right"]
    number = firsts[0] if right and firsts else len(verdicts) + 1
    return float(credit[min(number, len(credit)) - 1])


# --- classes for the integrity benchmark (grader.integrity, make bench-integrity) ---------------------
# Answer cells only (no notebooks): honest students make the class's common mistakes on their own
# numbers, and copiers hand in some of a classmate's cells as that classmate handed them in.

HONEST_MISTAKES = ("misconception", "misconception", "wrong", "rounded")
# Statements an honest student may add to a function answer (each student their own mix).
_FUNCTION_EXTRAS = (
    "{arg} = np.asarray({arg}, dtype=float)",
    "{arg} = np.array({arg}, copy=True)",
    "assert {arg} is not None, 'missing input'",
    "if np.ndim({arg}) == 0:\n        {arg} = np.atleast_1d({arg})",
    "shape_in = np.shape({arg})",
    "# formula sheet, section {section}",
    "# TODO check the edge cases",
)
_FUNCTION_ENDINGS = (
    "return _reference({call})",
    "result = _reference({call})\n    return result",
    "out = np.asarray(_reference({call}))\n    return out if out.ndim else out.item()",
    "value = _reference({call})\n    assert value is not None\n    return value",
)


@dataclass
class Copying:
    """`copier` hands in `source`'s cells of `problems` in `assignment`, as `source` handed them in."""

    copier: str
    source: str
    assignment: str
    problems: list


def _rounded(value: Any) -> Any:
    """A value rounded to 2 significant figures (an honest student who rounds too early)."""
    import numpy as np
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(f"{float(value):.2g}")
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return np.array([float(f"{v:.2g}") for v in value.ravel()]).reshape(value.shape)
    return None


def honest_function_source(variant: ProblemVariant, rng: random.Random) -> str:
    """A function answer as an honest student writes it: the engine's own function (what every right
    answer contains) wrapped in the student's own mix of conversions, checks, comments and names."""
    spec = variant.problem.function
    name = spec.name
    params = spec.signature[len(name) + 1:-1]
    args = [part.split("=")[0].strip() for part in params.split(",") if part.strip()]
    body = []
    for extra in _FUNCTION_EXTRAS:
        if rng.random() < 0.4:
            body.append(extra.format(arg=rng.choice(args) if args else "_", section=variant.problem.section))
    if rng.random() < 0.5:
        body.insert(0, f'"""{rng.choice(["my", "the", "a"])} {name}, written for the homework"""')
    body.append(rng.choice(_FUNCTION_ENDINGS).format(call=", ".join(args)))
    wrapper = f"def {name}({params}):\n" + "\n".join(f"    {line}" for line in body)
    return f"{variant.kind.correct_source(variant)}\n\n_reference = {name}\n\n\n{wrapper}\n"


def disguised(source: str, rng: random.Random) -> str:
    """A copied cell made to look different: every name the cell assigns renamed, comments reworded."""
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        tree = __import__("ast").parse(source)
    except (SyntaxError, tokenize.TokenError):
        return source
    import ast as ast_
    own = {node.id for node in ast_.walk(tree) if isinstance(node, ast_.Name) and isinstance(node.ctx, ast_.Store)}
    own |= {arg.arg for node in ast_.walk(tree) if isinstance(node, ast_.FunctionDef) for arg in node.args.args}
    own -= {node.name for node in ast_.walk(tree) if isinstance(node, ast_.FunctionDef) and node.col_offset == 0}
    suffix = rng.choice(["_", "2", "_mine", "_x"])
    out = []
    for token in tokens:
        if token.type == tokenize.NAME and token.string in own:
            token = token._replace(string=token.string + suffix)
        elif token.type == tokenize.COMMENT:
            token = token._replace(string="# " + rng.choice(["my own work", "see lecture 4", "checked"]))
        out.append(token)
    return tokenize.untokenize(out)


def integrity_class(bank, assignment: str, students: list, copying: list, seed: int = 521,
                    mistakes: float = 0.35) -> dict:
    """{student: {problem id: answer cell source}} of `assignment` for `students`.

    Honest students answer right, or (each answer with probability `mistakes`) make one of the
    class's common mistakes on their own numbers: a misconception (any that applies), a plausible
    wrong value (5 % and 1 off) or a value rounded too early; their function answers are each their
    own mix around the engine's function. Then each Copying of this assignment replaces the copier's
    cells of its problems with the source's cells (function answers renamed and recommented)."""
    rng_of = {student: _rng(seed, assignment, "integrity", student) for student in students}
    cells = {}
    for student in students:
        rng = rng_of[student]
        cells[student] = {}
        for variant in problem_variants(bank, assignment, student):
            problem = variant.problem
            if problem.function is not None:
                cells[student][problem.id] = honest_function_source(variant, rng)
                continue
            what = rng.choice(HONEST_MISTAKES) if rng.random() < mistakes else "correct"
            source = None
            if what == "misconception":
                found = [value for value in (variant.kind.misconception_value(variant, m)
                                             for m in problem.misconceptions) if value is not None]
                source = _value_answer(variant, rng.choice(found)) if found else None
            elif what in ("wrong", "rounded"):
                value = variant.kind.wrong_value(variant) if what == "wrong" else _rounded(variant.expected)
                source = _value_answer(variant, value) if value is not None else None
            cells[student][problem.id] = source if source is not None else variant.kind.correct_source(variant)
    for plan in copying:
        if plan.assignment != assignment:
            continue
        rng = _rng(seed, assignment, "copying", plan.copier, plan.source)
        for problem_id in plan.problems:
            theirs = cells[plan.source][problem_id]
            copied = disguised(theirs, rng) if bank.problems[problem_id].function is not None else theirs
            cells[plan.copier][problem_id] = copied
    return cells
