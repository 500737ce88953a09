"""One grading task for every backend (#20): the coordinator alone builds a GradeTask, the task is
frozen, and the Dask path hands the worker's session the coordinator's task with only its three paths
moved into the worker's scratch course. (The Dask path once rebuilt tasks by hand and dropped the
class and the earlier releases; test_cluster grades a class both ways, this is the fast check.)"""

import ast
import dataclasses
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.grading.coordinator.cluster import GraderPlugin, ShippedTask, shipped_task
from grader.grading.coordinator.runner import Staged, plan_tasks
from grader.grading.notebook.tasks import GradeTask

GRADER = Path(__file__).resolve().parents[2] / "grader"
PATHS = {"submitted", "workdir", "release"}          # where the task's files are: the one thing a worker changes


def _calls(tree: ast.AST):
    """(enclosing def or None, called name, first argument's text) for every call in a module."""
    found = []

    def visit(node, where):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else where
            if isinstance(child, ast.Call):
                func = child.func
                name = func.id if isinstance(func, ast.Name) else \
                    f"{func.value.id}.{func.attr}" if isinstance(func, ast.Attribute) and \
                    isinstance(func.value, ast.Name) else None
                found.append((where, name, ast.unparse(child.args[0]) if child.args else ""))
            visit(child, inner)

    visit(tree, None)
    return found


def _builders(root: Path = GRADER):
    """Every place in the package at `root` that makes a GradeTask: calls the type, or copies an
    instance with dataclasses.replace (the only other way to build one) in a module that handles
    tasks (imports grader.grading.notebook.tasks) or on something named a task."""
    places = set()
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        imported = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        handles_tasks = any(node.module == "grader.grading.notebook.tasks" for node in imported) or path.name == "tasks.py"
        imports_replace = any(node.module == "dataclasses" and any(alias.name == "replace" for alias in node.names)
                              for node in imported)
        for where, name, first in _calls(tree):
            copies = name == "dataclasses.replace" or (name == "replace" and imports_replace)
            if name in ("GradeTask", "tasks.GradeTask") or (copies and (handles_tasks or "task" in first.lower())):
                places.add((str(path.relative_to(root.parent)), where, name))
    return places


def test_only_the_coordinator_builds_a_task():
    """runner.plan_tasks is the one constructor; the two copies change named fields of a planned task
    and carry the rest (a worker's paths; a notebook graded again alone starts no next kernel)."""
    assert _builders() == {
        ("grader/grading/coordinator/runner.py", "plan_tasks", "GradeTask"),
        ("grader/grading/coordinator/runner.py", "_run_parallel", "replace"),
        ("grader/grading/notebook/tasks.py", "relocated", "dataclasses.replace"),
    }


def test_the_static_check_sees_a_task_built_elsewhere(tmp_path):
    """The check above can fail: a Dask worker that builds its own task is caught."""
    fake = tmp_path / "grader"
    for room in ("coordinator", "notebook"):
        (fake / "grading" / room).mkdir(parents=True)
    (fake / "grading" / "coordinator" / "cluster.py").write_text(
        "from grader.grading.notebook.tasks import GradeTask\n"
        "def grade(self, shipped):\n"
        "    return GradeTask(student=shipped.task.student)\n")
    (fake / "grading" / "notebook" / "session.py").write_text(
        "import dataclasses\n"
        "def grade(self, shipped):\n"
        "    return dataclasses.replace(shipped.task, classmates=())\n")
    (fake / "integrity.py").write_text(       # a copy of something else, in a module that has no task
        "import dataclasses\n"
        "def add(record):\n"
        "    return dataclasses.replace(record, count=1)\n")
    assert _builders(fake) == {("grader/grading/coordinator/cluster.py", "grade", "GradeTask"),
                               ("grader/grading/notebook/session.py", "grade", "dataclasses.replace")}


def _tasks(tmp_path) -> list[GradeTask]:
    staged = []
    for student in ("s1", "s2", "s3"):
        workdir = tmp_path / "autograded" / student / "a1"
        (workdir / "data").mkdir(parents=True)
        (workdir / "data" / "points.csv").write_text(f"x\n{student}\n")
        submitted = tmp_path / "run" / student / "a1.ipynb"
        submitted.parent.mkdir(parents=True)
        submitted.write_text(f'{{"student": "{student}"}}')
        staged.append(Staged(student, "a1", submitted, workdir))
    release = tmp_path / "release" / "a1"
    release.mkdir(parents=True)
    (release / "a1.ipynb").write_text("{}")
    return plan_tasks("a1", staged, release, {"p1-prompt": ["00aa", "11bb"]}, ["s1", "s2", "s3", "s9"], workers=2)


def test_a_task_is_frozen_and_planned_with_every_field(tmp_path):
    tasks = _tasks(tmp_path)
    first = tasks[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.classmates = ()                                   # type: ignore[misc]
    assert first.classmates == ("s1", "s2", "s3", "s9")
    assert first.earlier_hashes() == {"p1-prompt": ("00aa", "11bb")}
    assert first.release == str(tmp_path / "release" / "a1" / "a1.ipynb")
    assert [task.prestart_next for task in tasks] == [True, False, False]   # the last `workers` start none


def test_the_dask_path_grades_the_coordinators_task_with_only_its_paths_moved(tmp_path):
    """What a Dask worker's session is handed equals the planned task in every field but the three
    paths, which name the worker's own copies of the shipped bytes."""
    tasks = _tasks(tmp_path)
    release_bytes = Path(tasks[0].release).read_bytes()
    course = {"snapshot": b"", "bank": None, "assignment": "a1", "release": {"a1": release_bytes},
              "config": {}, "sandboxed": False}
    plugin = GraderPlugin(course)
    plugin.setup(SimpleNamespace(address="tcp://w0", local_directory=str(tmp_path / "worker")))
    graded = []

    class Session:
        def grade(self, task):
            assert isinstance(task, GradeTask)
            graded.append((task, Path(task.submitted).read_bytes(),
                           (Path(task.workdir) / "data" / "points.csv").read_text(), Path(task.release).read_bytes()))
            return {"student": task.student, "notebook": task.notebook, "notebook_json": None}

    plugin._session = Session
    for task in tasks:
        shipped = pickle.loads(pickle.dumps(shipped_task(task)))          # as Dask sends it
        assert isinstance(shipped, ShippedTask) and shipped.task == task
        assert plugin.grade(shipped)["worker"] == "tcp://w0"
    plugin.teardown(None)
    assert len(graded) == len(tasks)
    for task, (given, notebook, data, release) in zip(tasks, graded):
        for field in dataclasses.fields(GradeTask):
            if field.name not in PATHS:
                assert getattr(given, field.name) == getattr(task, field.name), field.name
        assert all(str(getattr(given, name)).startswith(str(plugin.root)) for name in PATHS)
        assert notebook == Path(task.submitted).read_bytes()
        assert data == f"x\n{task.student}\n" and release == release_bytes
