"""A student's submission folder, read as an attacker's data.

Everything under submitted/<student>/<assignment>/ was written by a student, or by whoever
unpacked an LMS archive there, and the grader reads it with more rights than the student has. So
nothing in it is followed or trusted:

* every step is opened relative to its parent's file descriptor with O_NOFOLLOW: a symbolic
  link (to the grader package, questions.yaml, a root-only file, a classmate's notebook) is
  never followed, at any depth, including the student's and the assignment's own folders;
* only regular files are read, each opened with O_NONBLOCK and checked with fstat on the open
  descriptor (so a FIFO, a socket or a device node is skipped, never read, and a file swapped
  for a link after it was listed is refused by the open itself);
* sizes are capped per file, per folder (in bytes and in files) and per notebook, and a file
  that grows past its cap while being read is skipped;
* each thing skipped is one reason for the TA ("data/x.npy: a symbolic link, not copied").

The grader then works on its own copies only: the notebooks it grades are staged in the run's
private directory and the other files are copied into autograded/<student>/<assignment>/, so no
later step (a worker, a Dask worker, the kernel's copy-in) opens the submission folder again.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nbgrader.utils import parse_utc

MiB = 1 << 20
TIMESTAMP = "timestamp.txt"        # nbgrader's submission time, written by its exchange
MAX_TIMESTAMP_BYTES = 100
# what nbgrader's exchange writes ("2026-12-01 10:30:00.000000 UTC"), with an optional offset
NBGRADER_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?( ?(UTC|Z|[+-]\d{2}:?\d{2}))?")
MAX_PATH = 1024                    # of a file inside the folder: the grader's copies sit deeper than it
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_OPEN_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


@dataclass(frozen=True)
class FolderLimits:
    """What one submission may bring. The other files are copied into the kernel's scratch
    filesystem, so together they stay well inside its size (sandbox.Limits)."""

    notebook_bytes: int = 32 * MiB
    file_bytes: int = 16 * MiB
    folder_bytes: int = 32 * MiB        # all the other files together
    files: int = 1000
    depth: int = 16

    @classmethod
    def from_config(cls, config) -> "FolderLimits":
        """nbgrader's own CourseDirectory.max_file_size (kilobytes) lowers the cap per file."""
        limits = cls()
        max_file_size = config.CourseDirectory.get("max_file_size")
        if isinstance(max_file_size, int) and 0 < max_file_size * 1024 < limits.file_bytes:
            return cls(file_bytes=max_file_size * 1024)
        return limits


STUDENT_ID = re.compile(r"[^\W][\w.@+-]*")     # a letter, digit or _ first; then those, . @ + -
MAX_STUDENT_ID = 100


def unusable_student_id(name: str) -> str | None:
    """Why a folder under submitted/ cannot be a student id, or None. The id becomes a gradebook key,
    part of every path nbgrader builds (and matches as a glob: `[h]onest` is honest's folder to
    it), and text in pages formgrader does not escape, so only a plain name is graded."""
    if len(name) <= MAX_STUDENT_ID and STUDENT_ID.fullmatch(name) and name.isprintable():
        return None
    return (f"{printable_name(name)[:60]!r}: a folder name that is no student id (letters, digits and "
            f"_ . @ + - only, at most {MAX_STUDENT_ID} characters): not graded")


def printable_name(name: str) -> str:
    """`name` as a terminal and a log can show it: escapes for control characters and bytes that
    are no UTF-8 (a folder name is any bytes but / and NUL)."""
    return "".join(ch if ch.isprintable() else ch.encode("utf-8", "surrogateescape").decode("latin-1")
                   .encode("unicode_escape").decode("ascii") for ch in name)


class Refused(Exception):
    """This entry of the folder is not read: the message says why (for the TA)."""


@dataclass
class Submission:
    """What the grader takes from one folder: notebook contents, other files, the time, the reasons."""

    notebooks: dict[str, bytes] = field(default_factory=dict)   # notebook name (no .ipynb) -> content
    missing: list[str] = field(default_factory=list)             # expected notebooks not there at all
    refused: dict[str, str] = field(default_factory=dict)        # notebook name -> why it is not graded
    timestamp: datetime | None = None
    skipped: list[str] = field(default_factory=list)             # other entries not copied, and why


def describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def open_folder(root: Path, *parts: str) -> int:
    """A descriptor of root/parts..., each part a real folder (Refused names the first that is not).
    `root` is the course's own folder (trusted); the parts are the submission's."""
    fd = os.open(root, _OPEN_DIR)
    try:
        for index, part in enumerate(parts):
            where = "/".join(parts[:index + 1])
            try:
                child = os.open(part, _OPEN_DIR, dir_fd=fd)
            except OSError as exc:
                raise Refused(f"{where}: {_kind_at(fd, part) or exc.strerror}, not a folder: not graded") from None
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _kind_at(dir_fd: int, name: str) -> str | None:
    try:
        return describe(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return None


def read_file(dir_fd: int, name: str, cap: int, where: str, action: str = "not read") -> bytes:
    """The bytes of the regular file `name` in `dir_fd`, at most `cap` of them (else Refused)."""
    try:
        fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
    except OSError as exc:
        raise Refused(f"{where}: {_kind_at(dir_fd, name) or exc.strerror}, {action}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{where}: {describe(info.st_mode)}, {action}")
        if info.st_size > cap:
            raise Refused(f"{where}: {_size(info.st_size)}, over the limit of {_size(cap)}, {action}")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while chunk := os.read(fd, min(cap + 1 - total, 1 << 20)):
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise Refused(f"{where}: grew past the limit of {_size(cap)} while read, {action}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def _ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def read_submission(root: Path, student: str, assignment: str, notebooks: list[str],
                    ignore: list[str], limits: FolderLimits) -> tuple[Submission, dict[str, bytes]]:
    """The submission in root/<student>/<assignment>/ and its other files ({relative path: bytes},
    nbgrader's `ignore` globs and notebooks left out). Refused when the folder itself cannot be read."""
    folder = open_folder(root, student, assignment)
    submission = Submission()
    try:
        for notebook in notebooks:
            filename = f"{notebook}.ipynb"
            if _kind_at(folder, filename) is None:
                submission.missing.append(notebook)
                continue
            try:
                submission.notebooks[notebook] = read_file(folder, filename, limits.notebook_bytes, filename)
            except Refused as refusal:
                submission.refused[notebook] = str(refusal)
        submission.timestamp = _timestamp(folder, submission.skipped)
        files: dict[str, bytes] = {}
        _walk(folder, "", 0, ignore + ["*.ipynb"], limits, files, submission.skipped)
    finally:
        os.close(folder)
    return submission, files


def submission_time(root: Path, student: str, assignment: str) -> datetime | None:
    """The time in root/<student>/<assignment>/timestamp.txt, read as read_submission reads it;
    None when there is none or it cannot be read."""
    try:
        folder = open_folder(root, student, assignment)
    except (Refused, OSError):
        return None
    try:
        return _timestamp(folder, [])
    finally:
        os.close(folder)


def _timestamp(folder: int, skipped: list[str]) -> datetime | None:
    """nbgrader's timestamp.txt, as its CourseDirectory.get_existing_timestamp reads it, but never
    followed, never blocking, and a bad one is a reason, not a crash of the whole run."""
    if _kind_at(folder, TIMESTAMP) is None:
        return None
    try:
        text = read_file(folder, TIMESTAMP, MAX_TIMESTAMP_BYTES, TIMESTAMP).decode("utf-8", "replace").strip()
    except Refused as refusal:
        skipped.append(f"{refusal}; submission time unknown")
        return None
    if not text:
        return None
    if not NBGRADER_TIME.fullmatch(text):       # dateutil would fill in today's date for "23:59"
        skipped.append(f"{TIMESTAMP}: not a time as nbgrader writes it ({text[:40]!r}); submission time unknown")
        return None
    try:
        return parse_utc(text)
    except (ValueError, OverflowError):
        skipped.append(f"{TIMESTAMP}: not a time ({text[:40]!r}); submission time unknown")
        return None


def _walk(dir_fd: int, prefix: str, depth: int, ignore: list[str], limits: FolderLimits,
          files: dict[str, bytes], skipped: list[str]) -> None:
    with os.scandir(dir_fd) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        where = prefix + entry.name
        if _ignored(entry.name, ignore):
            continue
        if len(where) > MAX_PATH:
            skipped.append(f"{where[:60]}...: a path longer than {MAX_PATH} characters, not copied")
            continue
        info = entry.stat(follow_symlinks=False)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            if depth + 1 >= limits.depth:
                skipped.append(f"{where}/: nested more than {limits.depth} folders deep, not copied")
                continue
            try:
                child = os.open(entry.name, _OPEN_DIR, dir_fd=dir_fd)
            except OSError as exc:
                skipped.append(f"{where}/: {_kind_at(dir_fd, entry.name) or exc.strerror}, not copied")
                continue
            try:
                _walk(child, where + "/", depth + 1, ignore, limits, files, skipped)
            finally:
                os.close(child)
            continue
        if not stat.S_ISREG(mode):
            skipped.append(f"{where}: {describe(mode)}, not copied")
            continue
        if len(files) >= limits.files:
            skipped.append(f"{where}: more than {limits.files} files in the folder, not copied")
            continue
        left = limits.folder_bytes - sum(len(data) for data in files.values())
        if limits.file_bytes >= info.st_size > left:
            skipped.append(f"{where}: the folder's files together would be over {_size(limits.folder_bytes)}, "
                           f"not copied")
            continue
        cap = limits.file_bytes if info.st_size > limits.file_bytes else min(limits.file_bytes, left)
        try:
            files[where] = read_file(dir_fd, entry.name, cap, where, "not copied")
        except Refused as refusal:
            skipped.append(str(refusal))


# The grader's own folders (autograded/: the submission's files, already capped, and the source's):
# read without following links, but with no cap a student's folder has.
OWN_FOLDER = FolderLimits(file_bytes=sys.maxsize, folder_bytes=sys.maxsize, files=sys.maxsize)


def read_tree(path: Path, limits: FolderLimits = OWN_FOLDER) -> tuple[dict[str, bytes], list[str]]:
    """The regular files under `path` but notebooks ({relative path: bytes}), read as read_submission
    reads a submission (within `limits`), and what was skipped."""
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    folder = os.open(path, _OPEN_DIR)
    try:
        _walk(folder, "", 0, ["*.ipynb"], limits, files, skipped)
    finally:
        os.close(folder)
    return files, skipped


def write_tree(files: dict[str, bytes], dest: Path) -> None:
    """Write `files` ({relative path: bytes}, as read above) under `dest`, a folder of the grader's."""
    for relative, data in files.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
