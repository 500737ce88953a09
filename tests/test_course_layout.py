"""A course that renames nbgrader's folders in nbgrader_config.py (issue #20, item 6): render, release,
release --check and the release records follow CourseDirectory's source_directory, release_directory
and submitted_directory, and the notebooks are byte for byte those of a course with the default names."""

import json
from pathlib import Path

from render_kit import ASSIGNMENT, make_course

from grader.bank import load_bank
from grader.cli import main
from grader.release_record import changes_since_release

RENAMED = ('\nc.CourseDirectory.source_directory = "src"\n'
           'c.CourseDirectory.release_directory = "out"\n'
           'c.CourseDirectory.submitted_directory = "handins"\n')


def notebooks(directory):
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(Path(directory).rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts}


def render_and_release(course):
    assert main(["--course", str(course), "render"]) == 0
    assert main(["--course", str(course), "release"]) == 0


def test_a_course_with_renamed_folders_renders_releases_and_checks_where_its_config_says(tmp_path, capsys):
    default = make_course(tmp_path / "default")
    renamed = make_course(tmp_path / "renamed")
    with open(renamed / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(RENAMED)
    render_and_release(default)
    render_and_release(renamed)

    # the files land in src/ and out/, nowhere else, and are the default course's, byte for byte
    assert not (renamed / "source").exists() and not (renamed / "release").exists()
    assert notebooks(renamed / "src") == notebooks(default / "source") != {}
    assert notebooks(renamed / "out") == notebooks(default / "release") != {}
    assert sorted(notebooks(renamed / "out")) == [f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "fixture-b/fixture-b.ipynb"]

    # the release record hashes the locked cells of out/ (the same as the default course's)
    record = json.loads((renamed / "release-records" / f"{ASSIGNMENT}.json").read_text(encoding="utf-8"))
    assert record["locked_cells"]
    default_record = json.loads((default / "release-records" / f"{ASSIGNMENT}.json").read_text(encoding="utf-8"))
    assert record["locked_cells"] == default_record["locked_cells"]

    # --check compares out/ with what src/ generates, and names out/ when it differs
    capsys.readouterr()
    assert main(["--course", str(renamed), "render", "--check"]) == 0, capsys.readouterr().out
    assert main(["--course", str(renamed), "release", "--check"]) == 0, capsys.readouterr().out
    released = renamed / "out" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    released.write_text(released.read_text(encoding="utf-8").replace("Every kind of problem", "Edited by hand"),
                        encoding="utf-8")
    capsys.readouterr()
    assert main(["--course", str(renamed), "release", "--check"]) == 1
    assert f"out of date: out/{ASSIGNMENT}/{ASSIGNMENT}.ipynb (differs)" in capsys.readouterr().out
    assert main(["--course", str(renamed), "release"]) == 0
    assert notebooks(renamed / "out") == notebooks(default / "release")

    # submissions are counted in handins/
    (renamed / "handins" / "s1" / ASSIGNMENT).mkdir(parents=True)
    bank = renamed / "questions.yaml"
    bank.write_text(bank.read_text(encoding="utf-8").replace("W: {int: [40, 64]}", "W: {int: [40, 80]}"),
                    encoding="utf-8")
    changes = changes_since_release(renamed, load_bank(bank), [ASSIGNMENT])
    assert [(c.problem, c.what, c.submissions) for c in changes] == [("conv-out", "grading", 1)]


def test_assignments_dropped_from_the_bank_are_found_in_the_renamed_folders(tmp_path, capsys):
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(RENAMED)
    render_and_release(course)
    bank = course / "questions.yaml"
    bank.write_text(bank.read_text(encoding="utf-8").replace(
        "  - id: fixture-b\n    title: One problem\n    problems: [conv-out]\n", ""), encoding="utf-8")
    capsys.readouterr()
    assert main(["--course", str(course), "render", "--check"]) == 1
    assert main(["--course", str(course), "release", "--check"]) == 1
    out = capsys.readouterr().out
    assert "not in the bank: src/fixture-b/fixture-b.ipynb" in out
    assert "not in the bank: out/fixture-b/" in out
    render_and_release(course)
    assert not (course / "src" / "fixture-b").exists() and not (course / "out" / "fixture-b").exists()
    assert (course / "src" / ASSIGNMENT).is_dir() and (course / "out" / ASSIGNMENT).is_dir()
