"""Per-student notebooks through nbgrader's own exchange (its ExchangeFactory plugins).

nbgrader's exchange publishes one folder per assignment, `<exchange>/<course>/outbound/<a>/`, and
every student's Fetch copies it. An assignment keyed per student has a notebook per student
(`python -m grader release A --per-student` writes release-students/<student>/<a>/), so:

* `PersonalReleaseAssignment` (the instructor's `nbgrader release_assignment`, formgrader's
  Release button): publishes release/<a>/ as nbgrader does, but each notebook in outbound/<a>/ is
  a stub that says how to get one's own, and every student's own notebook goes to
  `<exchange>/<course>/personal/<a>/<student>/` (the assignment's folder there can be traversed,
  not listed). A per-student assignment with no personal notebooks yet is refused, never
  published as the common notebook.
* `PersonalFetchAssignment` (the student's `nbgrader fetch_assignment`, the Assignment List's
  Fetch): copies outbound/<a>/ as nbgrader does and puts the student's own notebook in place of
  each stub; a student with no notebook of their own gets a clear message and nothing.

This module imports nothing of grader on the students' side: a student's server needs only this
file and nbgrader (the engine and the bank stay on the course's machine), e.g.
`c.ExchangeFactory.fetch_assignment = "grader.exchange.PersonalFetchAssignment"` in the students'
nbgrader_config.py (README, *nbgrader's exchange*).
"""

import json
import os
import shutil
from stat import S_IRGRP, S_IROTH, S_IRUSR, S_IWUSR, S_IXGRP, S_IXOTH, S_IXUSR

from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.utils import get_username

STUDENTS_DIR = "release-students"           # the course's per-student notebooks (grader.distribute)
PERSONAL_DIR = "personal"                   # <exchange>/<course>/personal/<assignment>/<student>/
STUB_MARK = "elen521_per_student"           # notebook metadata key of the stub published in outbound/
READABLE_DIR = S_IRUSR | S_IWUSR | S_IXUSR | S_IRGRP | S_IXGRP | S_IROTH | S_IXOTH     # 0755
TRAVERSABLE_DIR = S_IRUSR | S_IWUSR | S_IXUSR | S_IXGRP | S_IXOTH                      # 0711
READABLE_FILE = S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH                                  # 0644


def stub_notebook(assignment: str, notebook: str) -> str:
    """What outbound/<a>/<notebook>.ipynb holds for a per-student assignment: no one's numbers."""
    text = (f"# {assignment}: every student has their own notebook\n\n"
            f"This is not your notebook: **{notebook}.ipynb** of *{assignment}* is handed out per student, "
            f"with numbers of your own. Delete this folder and fetch the assignment again from the "
            f"Assignment List; if you still see this page, your Jupyter server is not set up for this "
            f"course's exchange (`c.ExchangeFactory.fetch_assignment`): tell the course staff.")
    return json.dumps({"cells": [{"cell_type": "markdown", "id": "per-student-stub", "metadata": {},
                                  "source": text}],
                       "metadata": {STUB_MARK: {"assignment": assignment, "notebook": notebook}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def is_stub(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return STUB_MARK in json.load(handle).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return False


class PersonalReleaseAssignment(ExchangeReleaseAssignment):
    """nbgrader's release_assignment, publishing each student's own notebook of a per-student assignment."""

    def copy_files(self):
        assignment = self.coursedir.assignment_id
        personal = self._personal_notebooks(assignment)
        super().copy_files()
        if personal is None:
            return
        for notebook in sorted(os.listdir(self.dest_path)):
            if notebook.endswith(".ipynb"):
                with open(os.path.join(self.dest_path, notebook), "w", encoding="utf-8") as handle:
                    handle.write(stub_notebook(assignment, notebook[:-len(".ipynb")]))
        target = os.path.join(self.course_path, PERSONAL_DIR, assignment)
        self.ensure_directory(os.path.dirname(target), READABLE_DIR)
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.makedirs(target)
        for student, folder in personal.items():
            shutil.copytree(folder, os.path.join(target, student), ignore=shutil.ignore_patterns(*self.coursedir.ignore))
        self.set_perms(target, fileperms=READABLE_FILE, dirperms=READABLE_DIR)
        os.chmod(target, TRAVERSABLE_DIR)
        self.log.info("Released %d personal notebook(s) of %s to %s", len(personal), assignment, target)

    def _personal_notebooks(self, assignment: str) -> dict | None:
        """{student: their folder under release-students/} of a per-student assignment, None for a
        shared one; refused when the bank keys it per student and no one has a notebook yet."""
        root = os.path.join(self.coursedir.root, STUDENTS_DIR)
        found = {}
        if os.path.isdir(root):
            for student in sorted(os.listdir(root)):
                folder = os.path.join(root, student, assignment)
                if os.path.isdir(folder) and not os.path.islink(folder):
                    found[student] = folder
        if found:
            return found
        if _keyed_per_student(self.coursedir.root, assignment):
            self.fail(f"{assignment} gives every student their own numbers, and no student has a notebook "
                      f"yet: run `python -m grader release {assignment} --per-student` first (the common "
                      f"notebook in release/ is never published)")
        return None


def _keyed_per_student(course_root: str, assignment: str) -> bool:
    """Whether the course's bank keys `assignment` per student (instructor's side only)."""
    from pathlib import Path

    from grader.course import BANK_FILENAME
    from grader.grading.notebook.answers import course_bank
    from grader.variants import is_per_student

    bank_path = Path(course_root) / BANK_FILENAME
    if not bank_path.is_file():
        return False
    bank = course_bank(bank_path)
    return assignment in bank.assignments and is_per_student(bank, assignment)


class PersonalFetchAssignment(ExchangeFetchAssignment):
    """nbgrader's fetch_assignment, giving the student their own notebook of a per-student assignment."""

    def do_copy(self, src, dest):
        stubs = [name for name in sorted(os.listdir(src)) if name.endswith(".ipynb") and is_stub(os.path.join(src, name))]
        if not stubs:
            return super().do_copy(src, dest)
        student = self.coursedir.student_id if self.coursedir.student_id not in ("", "*") else get_username()
        assignment = self.coursedir.assignment_id
        own = os.path.join(self.course_path, PERSONAL_DIR, assignment, student)
        missing = [name for name in stubs if not os.path.isfile(os.path.join(own, name))]
        if missing:
            self.fail(f"{assignment} gives every student their own notebook, and there is none for "
                      f"{student!r} yet ({', '.join(missing)}): ask the course staff to release yours "
                      f"(`python -m grader release {assignment} --per-student --student {student}`, then "
                      f"`nbgrader release_assignment {assignment} --force`)")
        super().do_copy(src, dest)
        for name in stubs:
            target = os.path.join(dest, name)
            if is_stub(target) or not os.path.exists(target):
                shutil.copyfile(os.path.join(own, name), target)
        self.log.info("Fetched %s's own notebook(s) of %s: %s", student, assignment, ", ".join(stubs))
