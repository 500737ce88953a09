"""No-hub check tokens: `distribute --checks-url` (grader/distribute.py, its token part).

The render kit's per-student course, its first assignment given `attempts: {checks: 2}`; the tokens
are checked against the course database (Store.student_of_token), as the service checks them.
"""

import csv
import importlib
import io
import json
import stat
import zipfile

import pytest
from render_kit import ASSIGNMENT, FIXTURE_BANK, make_course

from grader import cli
from grader.attempts.store import Store
from grader.cli import build_parser
from grader.course import course_config, open_gradebook
from grader.distribute import CHECKS_FILE
from grader.errors import GraderError
from grader.release import python_scripts_on_path

pytestmark = [pytest.mark.nbgrader, pytest.mark.xdist_group("nbgrader")]

URL = "http://checks.example.edu:8765/"
ROSTER = ("alice", "bob", "carol")
BANK_WITH_CHECKS = FIXTURE_BANK.read_text(encoding="utf-8").replace("variant_key: assignment", "variant_key: student") \
    .replace("    title: Every kind of problem\n", "    title: Every kind of problem\n    attempts: {checks: 2}\n", 1)


def grader(course, *args):
    return cli.main(["--course", str(course), *args])


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Rendered and released per student, once, for the module (each test starts with --force or
    looks only at the students it gives tokens to)."""
    assert "attempts: {checks: 2}" in BANK_WITH_CHECKS
    course = make_course(tmp_path_factory.mktemp("tokens") / "course", BANK_WITH_CHECKS)
    with python_scripts_on_path(), open_gradebook(course_config(course)) as gb:
        for student in ROSTER:
            gb.add_student(student, first_name=student.title())
    assert grader(course, "render") == 0
    assert grader(course, "release", ASSIGNMENT, "--per-student") == 0
    return course


def store_of(course):
    return Store.of_course(course_config(course))


def token_files(archive):
    return {name.split("/")[0]: json.loads(archive.read(name)) for name in archive.namelist() if name.endswith(CHECKS_FILE)}


def test_zip_tokens_then_refused_without_force_then_reissued(released, tmp_path, capsys):
    first = tmp_path / "first.zip"
    assert grader(released, "distribute", ASSIGNMENT, "--zip", str(first), "--checks-url", URL.rstrip("/")) == 0
    assert "3 new token(s)" in capsys.readouterr().out
    with zipfile.ZipFile(first) as archive:
        files = token_files(archive)
        manifest = archive.read("manifest.csv").decode()
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()
                 if info.filename.endswith(CHECKS_FILE)}
    assert sorted(files) == list(ROSTER)
    assert all(entry["url"] == URL for entry in files.values())              # the base URL, with its slash
    assert set(modes.values()) == {0o600}
    store = store_of(released)
    assert {student: store.student_of_token(entry["token"]) for student, entry in files.items()} == \
        {student: student for student in ROSTER}
    # the manifest is mailed out: no token in it, only where each student's file is
    for entry in files.values():
        assert entry["token"] not in manifest
    rows = list(csv.DictReader(io.StringIO(manifest)))
    assert [row["checks_file"] for row in rows] == [f"{s}/{CHECKS_FILE}" for s in ROSTER]
    assert stat.S_IMODE(first.stat().st_mode) == 0o600                     # the zip holds tokens too

    # again without --force: the students hold tokens that cannot be written again: refused, nothing written
    second = tmp_path / "second.zip"
    with pytest.raises(GraderError, match="3 student\\(s\\) already hold a check token"):
        run_raising(released, ASSIGNMENT, "--zip", str(second), "--checks-url", URL)
    assert not second.exists()
    assert all(store.student_of_token(entry["token"]) for entry in files.values())   # the old ones still work

    # --force: new tokens for everyone, the old stop working
    assert grader(released, "distribute", ASSIGNMENT, "--zip", str(second), "--checks-url", URL, "--force") == 0
    with zipfile.ZipFile(second) as archive:
        renewed = token_files(archive)
    assert all(store.student_of_token(entry["token"]) is None for entry in files.values())
    assert {s: store.student_of_token(e["token"]) for s, e in renewed.items()} == {s: s for s in ROSTER}


def test_homes_keep_a_students_token_and_write_it_0600(released, tmp_path, capsys):
    homes = tmp_path / "home"
    for student in ("alice", "bob"):
        (homes / student).mkdir(parents=True)
    pattern = str(homes / "{student}")
    assert grader(released, "distribute", ASSIGNMENT, "--homes", pattern, "--checks-url", URL, "--force") == 1   # carol
    capsys.readouterr()
    path = homes / "alice" / ASSIGNMENT / CHECKS_FILE
    token = json.loads(path.read_text())["token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store_of(released).student_of_token(token) == "alice"
    # a re-distribute (a wording fix) without --force: alice keeps her token, found in her home
    assert grader(released, "distribute", ASSIGNMENT, "--homes", pattern, "--checks-url", URL,
                  "--student", "alice") == 0
    assert json.loads(path.read_text())["token"] == token
    assert "0 new token(s), 1 kept" in capsys.readouterr().out
    # her file lost: she holds a token nobody can write again; listed, not re-issued without --force
    path.unlink()
    assert grader(released, "distribute", ASSIGNMENT, "--homes", pattern, "--checks-url", URL,
                  "--student", "alice") == 1
    assert f"alice: holds a check token but no {CHECKS_FILE}" in capsys.readouterr().out
    assert store_of(released).student_of_token(token) == "alice" and not path.exists()


def test_checks_url_refused_for_an_assignment_without_checks_or_a_bad_url(released, tmp_path):
    with pytest.raises(GraderError, match="'fixture-b' has no problem with checks"):
        run_raising(released, "fixture-b", "--zip", str(tmp_path / "b.zip"), "--checks-url", URL)
    with pytest.raises(GraderError, match="not the check service's base URL"):
        run_raising(released, ASSIGNMENT, "--zip", str(tmp_path / "c.zip"), "--checks-url", "checks.example.edu")
    assert not (tmp_path / "b.zip").exists() and not (tmp_path / "c.zip").exists()


def run_raising(course, assignment, *options):
    """The distribute command's run() itself, so that its GraderError reaches the test (cli.main prints it)."""
    args = build_parser().parse_args(["--course", str(course), "distribute", assignment, *options])
    args.course = args.course.resolve()
    args.bank = args.course / "questions.yaml"
    return importlib.import_module(args.module).run(args)
