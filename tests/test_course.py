"""grader.course: one nbgrader config loader, paths through CourseDirectory.format_path, the gradebook."""

import pytest

from grader.course import CoursePaths, course_config, load_config, open_gradebook
from grader.errors import GraderError


def test_missing_or_broken_config_is_a_grader_error_naming_the_file(tmp_path):
    with pytest.raises(GraderError, match="nbgrader_config.py: no nbgrader_config.py in the course directory"):
        load_config(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text("c = get_config(\n")
    with pytest.raises(GraderError, match="cannot load the nbgrader configuration"):
        load_config(tmp_path)


def test_paths_follow_the_course_config(course):
    (course / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text() + '\nc.CourseDirectory.autograded_directory = "graded"\n'
        'c.CourseDirectory.feedback_directory = "returned"\n')
    config = course_config(course)
    paths = CoursePaths(config)
    assert paths.autograded("ada", "hw1") == course.resolve() / "graded" / "ada" / "hw1"
    assert paths.feedback("ada", "hw1") == course.resolve() / "returned" / "ada" / "hw1"
    assert paths.submitted("ada", "hw1") == course.resolve() / "submitted" / "ada" / "hw1"
    assert paths.release("hw1") == course.resolve() / "release" / "hw1"
    assert config.CourseDirectory.db_url == f"sqlite:///{course.resolve() / 'gradebook.db'}"
    (paths.autograded("ada", "hw1")).mkdir(parents=True)
    (paths.submitted("bob", "hw1")).mkdir(parents=True)
    assert paths.student_dirs("hw1") == [paths.submitted("bob", "hw1"), paths.autograded("ada", "hw1")]


def test_the_gradebook_opens_at_the_config_url(course, tmp_path, monkeypatch):
    import os
    import sys
    from pathlib import Path

    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    config = course_config(course, root=tmp_path, db_url=f"sqlite:///{tmp_path / 'gb.db'}")
    with open_gradebook(config) as gb:
        assert gb.students == []
    assert (tmp_path / "gb.db").is_file() and config.CourseDirectory.root == str(tmp_path.resolve())
