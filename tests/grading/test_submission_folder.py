"""Reading a submission folder as an attacker's data (grader/grading/coordinator/submission.py), without grading."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from grader.grading.coordinator.submission import FolderLimits, Refused, read_submission, read_tree, unusable_student_id

ASSIGNMENT = "a1"


def _folder(tmp_path: Path, student: str = "s1") -> Path:
    folder = tmp_path / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "a1.ipynb").write_text('{"cells": []}')
    return folder


def _read(tmp_path, student="s1", limits=None, ignore=(".ipynb_checkpoints", "*.pyc")):
    return read_submission(tmp_path / "submitted", student, ASSIGNMENT, ["a1"], list(ignore), limits or FolderLimits())


def _find_regular_files(folder: Path) -> set[str]:
    """GNU find, which never follows links unless told: the reference for what is a regular file."""
    out = subprocess.run(["find", ".", "-type", "f", "!", "-name", "*.ipynb"], cwd=folder, capture_output=True,
                         text=True, check=True).stdout
    return {line.removeprefix("./") for line in out.splitlines()}


def test_only_regular_files_are_copied_whatever_else_is_there(tmp_path):
    folder = _folder(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("root only")
    secret.chmod(0o600)
    (folder / "data").mkdir()
    (folder / "data" / "x.csv").write_text("1,2\n")
    (folder / "data" / "deep").mkdir()
    (folder / "data" / "deep" / "y.txt").write_text("y")
    os.symlink(secret, folder / "notes.txt")
    os.symlink("/nonexistent", folder / "dangling")
    os.symlink(tmp_path, folder / "data" / "up")               # a link to a folder, deeper down
    os.symlink("/dev/zero", folder / "zeros")
    os.mkfifo(folder / "pipe")
    submission, files = _read(tmp_path)
    assert set(files) == _find_regular_files(folder) == {"data/x.csv", "data/deep/y.txt"}
    assert files["data/x.csv"] == b"1,2\n"
    assert sorted(submission.skipped) == sorted([
        "notes.txt: a symbolic link, not copied", "dangling: a symbolic link, not copied",
        "data/up: a symbolic link, not copied", "zeros: a symbolic link, not copied",
        "pipe: a named pipe (FIFO), not copied"])
    assert submission.notebooks == {"a1": b'{"cells": []}'}


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_is_never_opened(tmp_path):
    folder = _folder(tmp_path)
    os.mknod(folder / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))     # /dev/zero's numbers
    submission, files = _read(tmp_path)
    assert files == {} and submission.skipped == ["zero: a device, not copied"]


def test_a_notebook_that_is_a_link_or_a_fifo_is_refused_not_read(tmp_path):
    folder = _folder(tmp_path)
    classmate = _folder(tmp_path, "s2")
    (folder / "a1.ipynb").unlink()
    os.symlink(classmate / "a1.ipynb", folder / "a1.ipynb")
    submission, _ = _read(tmp_path)
    assert submission.notebooks == {} and submission.refused == {"a1": "a1.ipynb: a symbolic link, not read"}
    (folder / "a1.ipynb").unlink()
    os.mkfifo(folder / "a1.ipynb")                     # reading a FIFO would block the run forever
    submission, _ = _read(tmp_path)
    assert submission.refused == {"a1": "a1.ipynb: a named pipe (FIFO), not read"}
    (folder / "a1.ipynb").unlink()
    submission, _ = _read(tmp_path)
    assert submission.missing == ["a1"] and not submission.refused


@pytest.mark.parametrize("linked", ["student", "assignment"])
def test_a_linked_student_or_assignment_folder_is_refused(tmp_path, linked):
    classmate = _folder(tmp_path, "s2")
    if linked == "student":
        os.symlink(classmate.parent, tmp_path / "submitted" / "s1")
        where = "s1"
    else:
        (tmp_path / "submitted" / "s1").mkdir()
        os.symlink(classmate, tmp_path / "submitted" / "s1" / ASSIGNMENT)
        where = f"s1/{ASSIGNMENT}"
    with pytest.raises(Refused, match=f"^{where}: a symbolic link, not a folder: not graded$"):
        _read(tmp_path)


def test_sizes_are_capped_per_file_per_folder_and_per_notebook(tmp_path):
    folder = _folder(tmp_path)
    limits = FolderLimits(notebook_bytes=10, file_bytes=100, folder_bytes=150, files=3)
    (folder / "a.bin").write_bytes(b"a" * 100)              # at the cap: copied
    (folder / "b.bin").write_bytes(b"b" * 101)              # over the file cap
    (folder / "c.bin").write_bytes(b"c" * 60)               # fits a file, not what is left of the folder
    (folder / "d.bin").write_bytes(b"d" * 10)
    (folder / "e.bin").write_bytes(b"e")
    (folder / "f.bin").write_bytes(b"f")                    # one file too many
    submission, files = _read(tmp_path, limits=limits)
    assert set(files) == {"a.bin", "d.bin", "e.bin"}
    assert submission.skipped == ["b.bin: 101 bytes, over the limit of 100 bytes, not copied",
                                  "c.bin: the folder's files together would be over 150 bytes, not copied",
                                  "f.bin: more than 3 files in the folder, not copied"]
    assert submission.refused == {"a1": "a1.ipynb: 13 bytes, over the limit of 10 bytes, not read"}


def test_a_sparse_huge_file_is_not_read(tmp_path):
    folder = _folder(tmp_path)
    with open(folder / "huge.bin", "wb") as huge:
        huge.truncate(1 << 40)                              # 1 TiB, sparse: reading it would never end
    submission, files = _read(tmp_path)
    assert files == {} and submission.skipped == ["huge.bin: 1048576.0 MiB, over the limit of 16.0 MiB, not copied"]


def test_deep_folders_stop_at_the_depth_limit(tmp_path):
    folder = _folder(tmp_path)
    deep = folder
    for level in range(5):
        deep = deep / f"d{level}"
        deep.mkdir()
        (deep / "f.txt").write_text(str(level))
    submission, files = _read(tmp_path, limits=FolderLimits(depth=3))
    assert set(files) == {"d0/f.txt", "d0/d1/f.txt"}
    assert submission.skipped == ["d0/d1/d2/: nested more than 3 folders deep, not copied"]


def test_nbgrader_s_ignore_globs_and_max_file_size_apply(tmp_path):
    folder = _folder(tmp_path)
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "x.txt").write_text("x")
    (folder / "m.pyc").write_bytes(b"\0")
    (folder / "keep.py").write_text("k")
    (folder / "big.txt").write_bytes(b"b" * 2048)
    from traitlets.config import Config
    config = Config()
    config.CourseDirectory.max_file_size = 1          # kilobytes, as nbgrader counts
    submission, files = _read(tmp_path, limits=FolderLimits.from_config(config))
    assert set(files) == {"keep.py"}
    assert submission.skipped == ["big.txt: 2048 bytes, over the limit of 1024 bytes, not copied"]


def test_timestamps_are_read_as_nbgrader_reads_them_and_a_bad_one_is_a_reason(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    folder = _folder(tmp_path)
    (folder / "timestamp.txt").write_text("2026-12-01 10:30:00.000000 UTC\n")
    submission, files = _read(tmp_path)
    assert submission.timestamp == CourseDirectory().get_existing_timestamp(str(folder))
    assert "timestamp.txt" in files                     # nbgrader copies it to autograded/ too
    for text in ("yesterday-ish", "23:59", "2024-01-01 00:00:00 /etc/shadow"):   # dateutil would read the last two
        (folder / "timestamp.txt").write_text(text)
        submission, _ = _read(tmp_path)
        assert submission.timestamp is None
        assert submission.skipped == [f"timestamp.txt: not a time as nbgrader writes it ({text!r}); "
                                      f"submission time unknown"]


def test_read_tree_reads_the_grader_s_own_copies_the_same_way(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "n.ipynb").write_text("{}")
    os.symlink("/etc/hostname", tmp_path / "link")
    files, skipped = read_tree(tmp_path)
    assert files == {"a.txt": b"a"} and skipped == ["link: a symbolic link, not copied"]


@pytest.mark.parametrize("name", ["nl\nname", "bad\udcffname", "<img src=x onerror=alert(1)>", "*", "[h]onest",
                                  ".hidden", "x" * 101, "a b"])
def test_a_folder_name_that_is_no_plain_id_is_no_student(name):
    reason = unusable_student_id(name)
    assert reason is not None and reason.endswith("not graded")
    assert reason.isprintable() and "\n" not in reason


@pytest.mark.parametrize("name", ["alice", "a.b@example.edu", "student_01", "émile", "x" * 100, "jo-ann+1"])
def test_plain_ids_are_students(name):
    assert unusable_student_id(name) is None


def test_a_path_too_long_for_the_grader_s_copies_is_skipped(tmp_path):
    folder = _folder(tmp_path)
    deep = folder
    for level in range(5):
        deep = deep / (str(level) * 250)
        deep.mkdir()
    (deep / "f.txt").write_text("f")
    submission, files = _read(tmp_path)
    assert files == {} and len(submission.skipped) == 1 and "a path longer than 1024 characters" in submission.skipped[0]
