"""Plain `nbgrader autograde` in a course of ours grades through `python -m grader grade`, or stops.

Hidden tests only report answers (answers.py): graded by nbgrader alone, a report would be "no
error, no result", which nbgrader counts as full marks. And nbgrader runs the kernel with the
grader's own rights, next to the gradebook and the solutions. So the course's nbgrader_config.py
adds this step to nbgrader's sanitize phase; `python -m grader grade` leaves it out
(pipeline.NotebookGrader) and grades the reports in its own process, each kernel sandboxed.
"""

from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool
from traitlets.config import Config

from grader.course import BANK_FILENAME
from grader.grading.notebook import answers
from grader.grading.notebook.answers import GradeReportedAnswers, StudentKey
from grader.variants import ClassVariants

MESSAGE = ("this course's hidden tests only report answers; they are graded outside the student's "
           "kernel by `python -m grader grade ASSIGNMENT` (run from the course directory), which also "
           "sandboxes every kernel. Plain `nbgrader autograde` would give full marks to every "
           "answer, so it stops here and records nothing.")


class PlainAutogradeRefused(RuntimeError):
    """Raised for every notebook plain nbgrader autograde tries to grade."""


class RefusePlainAutograde(Preprocessor):
    enabled = Bool(True)       # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        raise PlainAutogradeRefused(MESSAGE)


def grade_through_grader() -> None:
    """Plain `nbgrader autograde` and formgrader's Autograde button grade through `python -m grader
    grade` (one run per assignment, for the submissions nbgrader found), before nbgrader touches
    autograded/: nbgrader's own loop would first remove the graded folder (--force, which the
    button passes) and then meet the refusal above, leaving the student ungraded. The course's
    nbgrader_config.py calls this in every nbgrader process that loads it."""
    from nbgrader.converters.autograde import Autograde

    if Autograde.convert_notebooks is not _convert_with_grader:
        _NBGRADERS_OWN.append(Autograde.convert_notebooks)
        Autograde.convert_notebooks = _convert_with_grader


_NBGRADERS_OWN: list = []      # Autograde.convert_notebooks as nbgrader wrote it


def _refuses(autograde) -> bool:
    """Whether this Autograde's configuration is a course's (refuse_plain_autograde), not the bench's
    baseline (nbgrader_grades_reports), which grades with nbgrader's own loop."""
    return any(step is RefusePlainAutograde or step == f"{__name__}.RefusePlainAutograde"
               for step in autograde.sanitize_preprocessors)


def _convert_with_grader(self) -> None:
    import re
    import subprocess
    import sys

    from nbgrader.converters.base import NbGraderException

    if not _refuses(self):
        return _NBGRADERS_OWN[0](self)

    pattern = self._format_source("(?P<assignment_id>.*)", "(?P<student_id>.*)", escape=True)
    students: dict[str, list[str]] = {}
    for path in sorted(self.assignments):
        found = re.match(pattern, path)
        if found is None:
            raise NbGraderException(f"Could not match '{path}' with regexp '{pattern}'")
        students.setdefault(found["assignment_id"], []).append(found["student_id"])
    for assignment, ids in students.items():
        command = [sys.executable, "-m", "grader", "--course", str(self.coursedir.root), "grade", assignment]
        for student in ids:
            command += ["--student", student]
        self.log.info("Grading %s of %d student(s) with %s", assignment, len(ids), " ".join(command[1:]))
        done = subprocess.run(command, capture_output=True, text=True)
        for line in (done.stdout + done.stderr).splitlines():
            self.log.info("grader: %s", line)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise NbGraderException(f"python -m grader grade {assignment} failed (exit {done.returncode}); "
                                    f"nothing of nbgrader's was changed: {said[-1] if said else 'no output'}")


def refuse_plain_autograde(config: Config) -> Config:
    """Add the refusal to nbgrader's sanitize phase (the course's nbgrader_config.py calls this)."""
    from nbgrader.converters.autograde import Autograde

    default = Autograde.class_traits()["sanitize_preprocessors"].default()
    steps = list(config.Autograde.get("sanitize_preprocessors", default))
    if RefusePlainAutograde not in steps:
        steps.insert(0, RefusePlainAutograde)
    config.Autograde.sanitize_preprocessors = steps
    return config


# --- nbgrader's own autograde, grading the reports (the bench's baseline; never sandboxed) ------

class PersonalizeUnderNbgrader(Preprocessor):
    """Puts the student's own locked cells back after nbgrader's OverwriteCells (as `grade` does)."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        answers.personalize_locked_cells(nb, student_key(self.config, resources))
        return nb, resources


class ExecuteWithReporter(Execute):
    """nbgrader's Execute that first defines, silently, what the hidden tests call (answers.prelude)."""

    def preprocess(self, nb, resources=None, km=None):
        self._prelude = answers.prelude(student_key(self.config, resources).cases())
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        answers.run_prelude(self, self._prelude)
        self._prelude = ""
        return super().preprocess_cell(cell, resources, index)


class GradeReportsUnderNbgrader(GradeReportedAnswers):
    """GradeReportedAnswers with the student's key taken from nbgrader's resources."""

    def preprocess(self, nb, resources):
        self.key = student_key(self.config, resources)
        return super().preprocess(nb, resources)


def student_key(config: Config, resources: dict) -> StudentKey:
    info = resources["nbgrader"]
    root = Path(config.CourseDirectory.root)
    bank = answers.course_bank(root / BANK_FILENAME)
    return StudentKey(bank, info["assignment"], info["student"], _the_class(config, bank, info["assignment"]))


_CLASSES: dict[tuple, ClassVariants] = {}


def _the_class(config: Config, bank, assignment: str) -> ClassVariants:
    """The class of the course's submitted/ folder (and per-student release), drawn once per run."""
    root = Path(config.CourseDirectory.root)
    key = (str(root), assignment)
    if key not in _CLASSES or _CLASSES[key].bank is not bank:
        submitted = root / CourseDirectory(config=config).submitted_directory
        students = [folder.parent.name for folder in submitted.glob(f"*/{assignment}")]
        _CLASSES[key] = ClassVariants(bank, assignment, answers.class_of(root, assignment, students))
    return _CLASSES[key]


def nbgrader_grades_reports(config: Config) -> Config:
    """`config` for plain `nbgrader autograde` that grades the reports the way `grade` does, in
    nbgrader's own sequential loop, with no sandbox: for the bench's baseline and tests only."""
    from nbgrader.converters.autograde import Autograde

    traits = Autograde.class_traits()
    config.Autograde.sanitize_preprocessors = traits["sanitize_preprocessors"].default()
    steps = []
    for step in traits["autograde_preprocessors"].default():
        steps.extend([PersonalizeUnderNbgrader, ExecuteWithReporter, GradeReportsUnderNbgrader]
                     if step is Execute else [step])
    config.Autograde.autograde_preprocessors = steps
    return config
