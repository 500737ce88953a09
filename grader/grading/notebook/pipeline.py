"""Autograde one submitted notebook with nbgrader's own preprocessors, without touching the gradebook.

The two phases are nbgrader's (converters/autograde.py): sanitize (ClearOutput, DeduplicateIds,
OverwriteKernelspec, OverwriteCells, CheckCellMetadata) then autograde (Execute, IgnorePattern,
ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata).
Execute is followed by GradeReportedAnswers (answers.py): hidden tests only report answers, and
the answers are graded here, in the grading process, never in the student's kernel. Two more
replacements, both for robustness:

* Execute -> ResilientExecute: takes a pre-started kernel, and when the kernel dies in a cell
  (os._exit, the OOM killer) it marks that cell with an error and runs the notebook again in a
  fresh kernel without it, so the student keeps every other score (nbgrader gives up on the
  whole submission);
* SaveAutoGrades and AssignLatePenalties run in the parent (gradebook.py), the only process that
  writes to the gradebook. Workers read a private snapshot of it (OverwriteCells needs the
  source cells), so SQLite never sees two writers. As the snapshot never changes while the
  worker lives, OverwriteCells -> SnapshotOverwriteCells reads each source cell from it once,
  not once per cell of every notebook, and OverwriteKernelspec -> SnapshotOverwriteKernelspec
  reads the kernelspec from it once (nbgrader opens the gradebook anew for every notebook).

And one speed-up inside nbgrader: its metadata check (CheckCellMetadata, twice per notebook)
calls `jsonschema.validate`, which re-validates nbgrader's own constant schema for every cell,
a third of a worker's CPU. `_SchemaCheckedOnce` does the same validation with the schema
checked once.
"""

import copy
import json
import math
import os
import time
import traceback
from pathlib import Path

import fastjsonschema
import jsonschema
import nbformat
import nbgrader.nbgraderformat.common
from nbclient.exceptions import DeadKernelError
from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.converters.autograde import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, Execute, OverwriteCells, OverwriteKernelspec, SaveAutoGrades
from traitlets import Integer
from traitlets.config import Config

from grader.bank import Bank
from grader.course import BANK_FILENAME, course_id, open_gradebook
from grader.grading.notebook.answers import (
    GradeReportedAnswers,
    StudentKey,
    course_bank,
    personalize_locked_cells,
    prelude,
    run_prelude,
)
from grader.grading.notebook.inert_outputs import KeepInertOutputs
from grader.grading.notebook.plain import RefusePlainAutograde
from grader.grading.notebook.tasks import GradeResult, GradeTask
from grader.protocol import KERNEL_DIED, OUT_OF_TIME
from grader.variants import ClassVariants

MAX_KERNEL_DEATHS = 3


class _SchemaCheckedOnce:
    """The jsonschema module, with `validate` reusing one validator per schema, compiled by
    fastjsonschema; an instance it rejects gets jsonschema's own error (the same as before).
    nbgrader reads its schema file again for every notebook (a new dict each time), so schemas
    are told apart by content, not identity; the last one is kept for the cells that follow."""

    def __init__(self):
        self._validators = {}
        self._schema = None
        self._current = None

    def validate(self, instance, schema):
        if schema is not self._schema:
            key = json.dumps(schema, sort_keys=True)
            if key not in self._validators:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                self._validators[key] = (fastjsonschema.compile(schema), cls(schema))
            self._schema, self._current = schema, self._validators[key]
        fast, full = self._current
        try:
            fast(instance)
            return
        except fastjsonschema.JsonSchemaException:
            pass
        error = jsonschema.exceptions.best_match(full.iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(jsonschema, name)


nbgrader.nbgraderformat.common.jsonschema = _SchemaCheckedOnce()


class _Memoized:
    """A Gradebook whose find_* answers are kept: it must not change while this object lives."""

    def __init__(self, gradebook: Gradebook):
        self._gradebook = gradebook
        self._found: dict = {}

    def __getattr__(self, name):
        method = getattr(self._gradebook, name)
        if not name.startswith("find_"):
            return method

        def found(*args):
            if (name, args) not in self._found:
                self._found[name, args] = method(*args)
            return self._found[name, args]
        return found


class SnapshotOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells over the worker's unchanging gradebook snapshot, kept open."""

    snapshot: _Memoized | None = None

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id, self.db_url = info["notebook"], info["assignment"], info["db_url"]
        if self.snapshot is None:
            self.snapshot = _Memoized(open_gradebook(db_url=self.db_url, course=course_id(self.config)))
        self.gradebook = self.snapshot
        for cell in nb.cells:
            # DeduplicateIds empties a copied cell's nbgrader metadata, which nbgrader's own
            # add_missing_task_cells then reads a grade_id from (KeyError: the whole notebook lost)
            if cell.metadata.get("nbgrader", None) == {}:
                del cell.metadata["nbgrader"]
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)    # nbgrader's cell loop
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class SnapshotOverwriteKernelspec(OverwriteKernelspec):
    """nbgrader's OverwriteKernelspec (the source notebook's kernelspec replaces the submitted one)
    over the worker's unchanging gradebook snapshot, kept open."""

    snapshot: _Memoized | None = None

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        if self.snapshot is None:
            self.snapshot = _Memoized(open_gradebook(db_url=info["db_url"], course=course_id(self.config)))
        kernelspec = self.snapshot.find_notebook(info["notebook"], info["assignment"]).kernelspec
        if kernelspec:
            nb.metadata["kernelspec"] = json.loads(kernelspec)
        return nb, resources


class ResilientExecute(Execute):
    """nbgrader's Execute, fed by a KernelPool, surviving kernel deaths, within a time budget."""

    notebook_timeout = Integer(300, help="Wall-time budget of one notebook, in seconds, across all its cells "
                                         "and the reruns after a kernel death (each cell also has "
                                         "Execute.timeout); cells left when it is spent are not run. "
                                         "0: no budget.").tag(config=True)

    pool = None          # set by the worker: a KernelPool
    prestart_next = True
    workdir = None       # autograded/<student>/<assignment>/: the kernel's files (see _enter_workdir)
    prelude = ""         # run silently before the first cell: defines what hidden tests call (answers.prelude)
    deadline: float | None = None   # time.monotonic() when the notebook's budget is spent

    def preprocess(self, nb, resources=None, km=None):
        """Run the notebook; again without a cell the kernel died in; again once, in a fresh kernel,
        when the kernel could not be started or reached (its connection file or sockets gone: an
        OSError in the grader, never an error of the notebook's cells). All of it within
        `notebook_timeout` seconds of the first cell: no notebook holds a worker longer."""
        pristine = copy.deepcopy(nb)
        self.dead_cells = {}
        self.deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None
        unreachable = 0
        attempt = nb
        while True:
            self._current_index = None
            kernel_name = attempt.metadata.get("kernelspec", {}).get("name", "python3")
            prestart = self.prestart_next and not self.dead_cells and not unreachable
            km = None
            try:
                km = self.pool.take(kernel_name, prestart_next=prestart)
                return super().preprocess(attempt, resources, km=km)
            except DeadKernelError:
                if self._current_index is None or len(self.dead_cells) >= MAX_KERNEL_DEATHS:
                    raise
                self.dead_cells[self._current_index] = "The kernel died while running this cell."
            except OSError:
                if unreachable:
                    raise
                unreachable += 1
                self.pool._discard_next()
            finally:
                if km is not None:
                    self._stop(km)
            attempt = copy.deepcopy(pristine)

    def _stop(self, km):
        from grader.grading.kernel.pool import shutdown
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
            self.kc = None
        shutdown(km)

    def preprocess_cell(self, cell, resources, index):
        if self._current_index is None:
            self._enter_workdir()
        self._current_index = index
        if index in self.dead_cells or self._seconds_left() == 0:
            cell.outputs = [kernel_died_output(self.dead_cells[index]) if index in self.dead_cells
                            else out_of_time_output(self.notebook_timeout)]
            cell.execution_count = None
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    def _seconds_left(self) -> int | None:
        """Whole seconds left of the notebook's budget (0: spent); None without a budget."""
        if self.deadline is None:
            return None
        return max(0, math.ceil(self.deadline - time.monotonic()))

    def _get_timeout(self, cell):
        """A cell's timeout (nbclient interrupts the kernel when it passes) is cut to what is left
        of the notebook's budget."""
        timeout = super()._get_timeout(cell)
        left = self._seconds_left()
        if left is None or cell is None:
            return timeout
        return max(1, left) if timeout is None else max(1, min(timeout, left))

    def _enter_workdir(self):
        """Give the kernel the notebook's files. Sandboxed, the kernel already runs in a fresh scratch
        directory of its own: the files of `workdir` (the submission's and the source's, as
        nbgrader gathers them in autograded/) are copied in from here, and the kernel never sees
        autograded/. Unsandboxed, the kernel changes into `workdir` itself."""
        process = getattr(self.km.provisioner, "process", None)
        if getattr(process, "scratch", None) is not None:
            if self.workdir:
                process.copy_in(self.workdir)
        elif self.workdir:
            # silent: no execution count, no `_`, and no name left in the student's namespace
            msg_id = self.kc.execute(f"__import__('os').chdir({str(self.workdir)!r})",
                                     silent=True, store_history=False)
            self.wait_for_reply(msg_id)
        run_prelude(self, self.prelude)


def kernel_died_output(message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=KERNEL_DIED, evalue=message,
                        traceback=[f"{KERNEL_DIED}: {message}"])


def out_of_time_output(budget: int) -> NotebookNode:
    message = f"Not run: the notebook's time budget ({budget} s for all its cells) was spent."
    return NotebookNode(output_type="error", ename=OUT_OF_TIME, evalue=message, traceback=[f"{OUT_OF_TIME}: {message}"])


def _is(step, cls) -> bool:
    """A preprocessor list names `cls` as the class itself or its dotted name (as config files do)."""
    return step is cls or step == f"{cls.__module__}.{cls.__qualname__}" or \
        step == f"nbgrader.preprocessors.{cls.__qualname__}"


class Steps:
    """nbgrader's preprocessors, in order, run on one notebook. nbconvert's exporter would copy the
    notebook three times and validate it after every step; here it is validated once, as the
    autograded notebook is written."""

    def __init__(self, config: Config, preprocessors):
        exporter = NotebookExporter(config=config)      # builds each step as nbconvert does
        exporter._preprocessors = []
        for pp in preprocessors:
            exporter.register_preprocessor(pp)
        self.preprocessors = exporter._preprocessors

    def run(self, nb, resources):
        for preprocessor in self.preprocessors:
            nb, resources = preprocessor(nb, resources)
        return nb, resources

    def find(self, cls):
        return next(pp for pp in self.preprocessors if isinstance(pp, cls))


class NotebookGrader:
    """Per-worker state: nbgrader's preprocessor chain under the course config."""

    def __init__(self, config: Config, snapshot_db_url: str, pool, bank: Bank | None = None):
        config = copy.deepcopy(config)
        config.Exporter.default_preprocessors = []
        config.CourseDirectory.db_url = snapshot_db_url
        self.config = config
        self.db_url = snapshot_db_url
        autograde = Autograde(coursedir=CourseDirectory(config=config), config=config)
        snapshot_steps = {OverwriteCells: SnapshotOverwriteCells, OverwriteKernelspec: SnapshotOverwriteKernelspec}
        self.sanitize = Steps(config, [next((ours for theirs, ours in snapshot_steps.items() if _is(pp, theirs)), pp)
                                       for pp in autograde.sanitize_preprocessors if not _is(pp, RefusePlainAutograde)])
        steps = []
        for pp in autograde.autograde_preprocessors:
            if _is(pp, SaveAutoGrades) or _is(pp, AssignLatePenalties):
                continue
            steps.extend([ResilientExecute, GradeReportedAnswers, KeepInertOutputs] if _is(pp, Execute) else [pp])
        self.autograde = Steps(config, steps)
        self.execute = self.autograde.find(ResilientExecute)
        self.execute.pool = pool
        self.answers = self.autograde.find(GradeReportedAnswers)
        self.bank_path = Path(config.CourseDirectory.root) / BANK_FILENAME
        self.bank = bank       # the grading run's bank; None: the course's file, as it is now
        self.key: StudentKey | None = None     # the last notebook's student key
        self.classmates: ClassVariants | None = None   # kept from notebook to notebook of one class

    def grade(self, task: GradeTask) -> GradeResult:
        """Sanitize and execute one notebook; return the autograded notebook as JSON text."""
        started = time.monotonic()
        result: GradeResult = {"student": task.student, "notebook": task.notebook, "notebook_json": None,
                  "dead_cells": [], "error": None}
        resources = {"unique_key": task.notebook, "output_files_dir": f"{task.notebook}_files",
                     "nbgrader": {"student": task.student, "assignment": task.assignment,
                                  "notebook": task.notebook, "db_url": self.db_url}}
        try:
            nb, _ = self.sanitize.run(nbformat.read(task.submitted, as_version=4), copy.deepcopy(resources))
            nb = nbformat.from_dict(nb)     # nbgrader's repairs may add plain dicts; later steps read attributes
            bank = self.bank if self.bank is not None else course_bank(self.bank_path)
            self.classmates = ClassVariants.kept(self.classmates, bank, task.assignment, task.classmates)
            key = StudentKey(bank, task.assignment, task.student, self.classmates, tries=task.tries,
                             submitted_at=task.submitted_at, extension=task.extension)
            personalize_locked_cells(nb, key)
            self.key = key
            resources["metadata"] = {"name": task.notebook, "path": task.workdir}
            self.execute.workdir = task.workdir
            self.answers.key = key
            self.execute.prelude = prelude(key.cases())
            self.execute.prestart_next = task.prestart_next
            previous = os.environ.get("NBGRADER_EXECUTION")
            os.environ["NBGRADER_EXECUTION"] = "autograde"
            try:
                nb, _ = self.autograde.run(nb, resources)
            finally:
                _restore_env("NBGRADER_EXECUTION", previous)
            result["notebook_json"] = nbformat.writes(nb)
            result["dead_cells"] = sorted(self.execute.dead_cells)
        except Exception as exc:
            result["error"] = describe_failure(exc)
            result["traceback"] = traceback.format_exc()
        result["seconds"] = time.monotonic() - started
        return result



def _restore_env(name, value):
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def describe_failure(exc: BaseException) -> str:
    """One line for the TA: why nothing could be run."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, nbformat.reader.NotJSONError) or "NotJSONError" in name or "JSONDecodeError" in name:
        return f"not a notebook (not valid JSON): {text[:160]}"
    if isinstance(exc, DeadKernelError):
        return f"the kernel died {MAX_KERNEL_DEATHS + 1} times"
    return f"{name}: {text[:200]}"
