"""Every student their own numbers: a student's locked cells and their personal release notebook.

A student's notebook is the assignment's release notebook (nbgrader's generate_assignment output:
solution stubs, hidden tests removed, nbgrader's checksums) with its locked cells (title, setup,
prompts, inputs, test cells) replaced by the same cells rendered with that student's values
(grader.render.assignment_cell_specs, keyed by grader.variants.variant_key_for). The hidden tests
are removed by nbgrader's own ClearHiddenTests and every replaced cell gets the checksum nbgrader's
ComputeChecksums would give it (nbgrader.utils.compute_checksum), so `nbgrader validate` and
nbgrader's locked-cell checks treat it as a release notebook. Every personal notebook passes the
release leak check (grader.release.find_leaks) for that student's values before it is returned.

Personalizing a class runs one process per core (fork: the bank and the release notebook are
loaded once); `make bench-personalize` times 300 students.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from grader.bank import Bank
from grader.course import paths_of
from grader.errors import GraderError
from grader.protocol import cell_grade_id
from grader.release import find_leaks
from grader.release_record import values_digest
from grader.render import CellSpec, assignment_cell_specs, check_assignment, notebook_text, problem_variants
from grader.variants import is_per_student

Values = dict[str, Any]


# --- a student's locked cells --------------------------------------------------------------------

@functools.cache
def _hidden_tests_clearer() -> Any:
    from nbgrader.preprocessors import ClearHiddenTests
    return ClearHiddenTests()


def without_hidden_tests(spec: CellSpec) -> str:
    """The cell's source as nbgrader's release writes it: its hidden-test region removed by
    nbgrader's own ClearHiddenTests (the same delimiters, the same lines kept)."""
    cell = nbformat.from_dict({"cell_type": spec.cell_type, "source": spec.source, "metadata": {"nbgrader": {
        "grade_id": spec.grade_id, "grade": spec.grade, "solution": spec.solution, "locked": spec.locked,
        "points": spec.points}}})
    cleared, _ = _hidden_tests_clearer().preprocess_cell(cell, {}, 0)
    return str(cleared.source)


def locked_sources_of(specs: list[CellSpec], hidden_tests: bool) -> dict[str, str]:
    return {spec.grade_id: spec.source if hidden_tests else without_hidden_tests(spec)
            for spec in specs if spec.locked}


def locked_cell_specs(bank: Bank, assignment: str, student: str | None) -> list[CellSpec]:
    """The locked cells (title, setup, prompts, inputs, test cells) of `student`'s notebook (None:
    the instructor's copy), as rendered."""
    return assignment_cell_specs(bank, assignment, student, locked_only=True)


def locked_sources(bank: Bank, assignment: str, student: str | None, hidden_tests: bool) -> dict[str, str]:
    """{grade id: source} of every locked cell of `student`'s notebook (locked_cell_specs).
    hidden_tests=True: as in source/ (what grading runs); False: as released to the student (the
    hidden part removed as nbgrader does)."""
    return locked_sources_of(locked_cell_specs(bank, assignment, student), hidden_tests)


# --- a student's release notebook ----------------------------------------------------------------

def is_locked(cell: Any) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))


def with_locked_sources(released: Any, sources: dict[str, str], where: str) -> Any:
    """A copy of the release notebook with each locked cell's source replaced and its nbgrader
    checksum recomputed (the other cells are shared with `released`: treat both as read-only).
    GraderError when the notebook's locked cells are not `sources`' cells."""
    from nbgrader.utils import compute_checksum

    locked = [cell_grade_id(cell) for cell in released.cells if is_locked(cell)]
    if set(locked) != set(sources) or len(locked) != len(sources):
        missing, extra = sorted(set(sources) - set(locked)), sorted(set(locked) - set(sources))
        raise GraderError(f"{where}: the release notebook's locked cells are not the bank's "
                          f"(missing {missing or 'none'}, not in the bank {extra or 'none'}); "
                          f"run `python -m grader render` and `python -m grader release`")
    notebook = NotebookNode({**released, "cells": [with_source(cell, sources) if is_locked(cell) else cell
                                                   for cell in released.cells]})
    for cell in notebook.cells:
        if is_locked(cell) and "checksum" in cell.metadata.nbgrader:
            cell.metadata.nbgrader.checksum = compute_checksum(cell)
    return notebook


def with_source(cell: Any, sources: dict[str, str]) -> Any:
    """A copy of a locked cell with its source from `sources` (its metadata copied, the rest shared)."""
    metadata = NotebookNode({**cell.metadata, "nbgrader": NotebookNode(dict(cell.metadata.nbgrader))})
    return NotebookNode({**cell, "source": sources[cell_grade_id(cell)], "metadata": metadata})


@dataclass(frozen=True)
class PersonalNotebook:
    student: str
    notebook: Any                  # nbformat NotebookNode
    digests: dict[str, str]        # problem id -> values_digest of the values the student got

    @property
    def text(self) -> str:
        return notebook_text(self.notebook)


def release_notebook_path(course: str | Path, assignment: str) -> Path:
    return paths_of(course).release(assignment) / f"{assignment}.ipynb"


def read_release_notebook(course: str | Path, assignment: str) -> Any:
    path = release_notebook_path(course, assignment)
    if not path.is_file():
        raise GraderError(f"{path}: no release notebook; run `python -m grader release --assignment {assignment}`")
    return nbformat.read(path, as_version=4)


def personal_notebook(bank: Bank, assignment: str, student: str, released: Any,
                      where: str = "release notebook") -> PersonalNotebook:
    """`student`'s release notebook made from the assignment's (`released`); leak-checked."""
    variants = problem_variants(bank, assignment, student)
    specs = assignment_cell_specs(bank, assignment, student, variants, locked_only=True)
    notebook = with_locked_sources(released, locked_sources_of(specs, hidden_tests=False), where)
    # A shared problem's cells are the release notebook's, leak-checked when it was released.
    own = [variant for variant in variants if is_per_student(bank, assignment, variant.problem)]
    leaks = find_leaks(notebook, bank, assignment, student, own)
    if leaks:
        raise GraderError(f"{assignment}: the notebook of student {student!r} would leak:\n  " + "\n  ".join(leaks))
    return PersonalNotebook(student, notebook, {v.problem.id: values_digest(v.values) for v in variants})


def student_release(course: str | Path, bank: Bank, assignment: str, student: str) -> Any:
    """`student`'s release notebook (a NotebookNode): release/<a>/<a>.ipynb with their own locked cells."""
    check_assignment(bank, assignment)
    released = read_release_notebook(course, assignment)
    return personal_notebook(bank, assignment, student, released,
                             str(release_notebook_path(course, assignment))).notebook


# --- a class ---------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _start_worker(bank: Bank, assignment: str, released: Any, where: str) -> None:
    _WORKER.update(bank=bank, assignment=assignment, released=released, where=where)


def _personalize_in_worker(student: str) -> tuple[str, str, dict[str, str]]:
    made = personal_notebook(_WORKER["bank"], _WORKER["assignment"], student, _WORKER["released"], _WORKER["where"])
    return made.student, made.text, made.digests


@dataclass(frozen=True)
class PersonalText:
    student: str
    text: str                      # the notebook as written to disk
    digests: dict[str, str]


def personalize_class(course: str | Path, bank: Bank, assignment: str, students: list[str],
                      workers: int | None = None) -> list[PersonalText]:
    """Every student's notebook text and value digests, in the order of `students`; one process
    per core (fork), or in this process for a handful of students or workers=1."""
    check_assignment(bank, assignment)
    released = read_release_notebook(course, assignment)
    where = str(release_notebook_path(course, assignment))
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(students) < 8:
        made = [personal_notebook(bank, assignment, student, released, where) for student in students]
        return [PersonalText(m.student, m.text, m.digests) for m in made]
    chunk = max(1, len(students) // (workers * 4))
    with ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=_start_worker,
                             initargs=(bank, assignment, released, where)) as pool:
        return [PersonalText(*item) for item in pool.map(_personalize_in_worker, students, chunksize=chunk)]
